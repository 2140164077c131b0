"""The destinations' HTTP connections (reverse_etl/http_pool.py) against real local servers:
kept alive per thread, re-opened when the server closes them, retried by the transport when a
kept-alive connection dies or the server is too slow, and routed through the environment's
proxy (with its credentials) unless NO_PROXY exempts the host."""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reverse_etl.destinations.base import HttpTransport, TransientError
from reverse_etl.http_pool import NETWORK_ERRORS, ConnectionPool
from reverse_etl.ratelimit import Backoff, RateLimiter, ScaledClock


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with srv.lock:
            srv.seen.append(
                {
                    "line": self.requestline,
                    "peer": self.client_address,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            n = len(srv.seen)
        if srv.delay_s:
            time.sleep(srv.delay_s)
        out = json.dumps({"n": n, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        if srv.close_after:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(out)
        except OSError:  # the client gave up waiting (the timeout test)
            self.close_connection = True

    do_GET = do_POST = _answer  # noqa: N815 (http.server names)


@contextmanager
def _server(*, close_after: bool = False, delay_s: float = 0.0):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.seen = []
    srv.close_after = close_after
    srv.delay_s = delay_s
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def _peers(srv) -> set:
    return {r["peer"] for r in srv.seen}


def test_a_thread_keeps_its_connection_alive():
    with _server() as (srv, url):
        pool = ConnectionPool(url, {"User-Agent": "t/1"}, timeout_s=5)
        answers = [pool.request("POST", "/a", content=b'{"x":1}') for _ in range(20)]
        assert [a.json()["n"] for a in answers] == list(range(1, 21))
        assert len(_peers(srv)) == 1  # one TCP connection for all twenty
        with ThreadPoolExecutor(3) as ex:
            list(ex.map(lambda _i: pool.request("GET", "/b"), range(30)))
        assert len(_peers(srv)) <= 4  # at most one more per thread
        pool.close()
    first = srv.seen[0]
    assert first["line"] == "POST /a HTTP/1.1" and first["body"] == b'{"x":1}'
    assert first["headers"]["User-Agent"] == "t/1"


def test_params_headers_and_absolute_urls():
    with _server() as (srv, url):
        pool = ConnectionPool(url + "/", {"X-Base": "1"}, timeout_s=5)
        got = pool.request("GET", "/p?a=1", params={"b": "x y", "c": [1, 2]}, headers={"X-Y": "2"})
        assert got.status_code == 200 and got.headers.get("content-type") == "application/json"
        assert got.json()["path"] == "/p?a=1&b=x+y&c=1&c=2"
        assert pool.request("GET", f"{url}/next?page=2").json()["path"] == "/next?page=2"
        pool.close()
    assert srv.seen[0]["headers"]["X-Base"] == "1" and srv.seen[0]["headers"]["X-Y"] == "2"


def test_a_connection_the_server_closes_is_opened_again():
    with _server(close_after=True) as (srv, url):
        pool = ConnectionPool(url, {}, timeout_s=5)
        assert [pool.request("GET", "/").json()["n"] for _ in range(5)] == [1, 2, 3, 4, 5]
        assert len(_peers(srv)) == 5
        assert len(pool._opened) == 0  # closed connections are not kept
        pool.close()


def _transport(url: str, **kw) -> HttpTransport:
    clock = ScaledClock(0.001)
    return HttpTransport(
        url,
        clock=clock,
        limiter=RateLimiter(1000, burst=1000, clock=clock),
        backoff=Backoff(base=0.01, cap=0.05),
        **kw,
    )


def test_a_dead_kept_alive_connection_is_retried_by_the_transport():
    with _server() as (srv, url):
        t = _transport(url)
        assert t.request("GET", "/one").status_code == 200
        # the server drops every idle connection (a restart, an idle timeout)
        for conn, _proxy in t.pool._local.conns.values():
            conn.sock.shutdown(2)
        assert t.request("GET", "/two").json()["path"] == "/two"
        assert t.stats.retries == 1 and len(srv.seen) == 2
        t.close()


def test_a_server_slower_than_the_timeout_is_a_network_error_then_transient():
    with _server(delay_s=0.5) as (_srv, url):
        pool = ConnectionPool(url, {}, timeout_s=0.1)
        with pytest.raises(NETWORK_ERRORS):
            pool.request("GET", "/slow")
        pool.close()
        t = _transport(url, timeout_s=0.1, max_attempts=2)
        with pytest.raises(TransientError, match="gave up after 2 attempts"):
            t.request("GET", "/slow")
        t.close()


def test_requests_go_through_the_environment_proxy_unless_exempt(monkeypatch):
    with _server() as (proxy, proxy_url):
        monkeypatch.setenv("HTTP_PROXY", proxy_url.replace("://", "://shop%40user:pa%3Ass@"))
        monkeypatch.delenv("http_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        pool = ConnectionPool("http://api.vendor.invalid/v1", {}, timeout_s=5)
        assert pool.request("POST", "/profiles", content=b"{}").status_code == 200
        pool.close()
        line, headers = proxy.seen[0]["line"], proxy.seen[0]["headers"]
        assert line == "POST http://api.vendor.invalid/v1/profiles HTTP/1.1"
        assert (
            headers["Proxy-Authorization"]
            == "Basic " + base64.b64encode(b"shop@user:pa:ss").decode()
        )
        # exempt: straight to the (unresolvable) host, never to the proxy
        monkeypatch.setenv("NO_PROXY", "vendor.invalid")
        pool = ConnectionPool("http://api.vendor.invalid/v1", {}, timeout_s=5)
        with pytest.raises(NETWORK_ERRORS):
            pool.request("GET", "/profiles")
        pool.close()
        assert len(proxy.seen) == 1
