"""Keep-alive HTTP/1.1 connections for the destinations, on the standard library's http.client.

A sync's senders spend most of their CPU in the HTTP client: ``http.client`` costs about a
third of ``httpx.Client``'s CPU per request (``python -m bench.http_client_bench``), which
on a 2-core machine is a tenth of a 300k-row webhook sync's time. So the destinations send
through this small pool; retries, rate limits, Retry-After and secret scrubbing stay in
``destinations.base.HttpTransport``. Each thread keeps its own connection per origin
(http.client connections are not thread-safe). Proxies are taken from the environment
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``), as httpx did; HTTPS verifies against
certifi's CA bundle, as httpx did.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
import urllib.request
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

# What a request can fail with on the way (timeouts and resets are OSErrors): the answer,
# if any, is lost; the transport retries.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


class Response:
    """An HTTP answer: its status, headers (case-insensitive ``get``) and body."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Any, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi
    except ImportError:  # the system's CA store
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class ConnectionPool:
    """Sends requests to ``base_url`` (or an absolute URL) over kept-alive connections."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Response:
        """One request and its whole answer. Network failures raise one of
        ``NETWORK_ERRORS`` (the connection is dropped: the next request opens another)."""
        url = path if "://" in path else self.base_url + path
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if parts.query else "?") + urlencode(params, doseq=True)
        origin = (parts.scheme, parts.hostname or "", parts.port)
        conn, proxy_headers = self._connection(origin)
        sent_headers = {**self.headers, **(headers or {})}
        if proxy_headers is not None:  # plain HTTP through a proxy: the whole URL, its auth
            target = f"{parts.scheme}://{parts.netloc}{target}"
            sent_headers.update(proxy_headers)
        try:
            conn.request(method, target, body=content, headers=sent_headers)
            answer = conn.getresponse()
            body = answer.read()
        except NETWORK_ERRORS:
            self._drop(origin, conn)
            raise
        if answer.will_close:
            self._drop(origin, conn)
        return Response(answer.status, answer.headers, body)

    def _connection(self, origin: tuple[str, str, int | None]):
        conns = self._local.__dict__.setdefault("conns", {})
        found = conns.get(origin)
        if found is None:
            found = conns[origin] = self._open(*origin)
            with self._lock:
                self._opened.append(found[0])
        return found

    def _open(self, scheme: str, host: str, port: int | None):
        """A connection to ``host`` (through the environment's proxy for ``scheme``, if any),
        and, when plain HTTP requests go through a proxy, the headers they add for it."""
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme {scheme!r}")
        https = scheme == "https"
        port = port or (443 if https else 80)
        proxy = urllib.request.getproxies().get(scheme)
        if proxy and urllib.request.proxy_bypass(host):
            proxy = None
        if https and self._ssl is None:
            self._ssl = _ssl_context()
        if not proxy:
            if https:
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout_s, context=self._ssl
                )
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.timeout_s)
            return conn, None
        p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        auth = {}
        if p.username:
            token = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
            auth = {"Proxy-Authorization": "Basic " + base64.b64encode(token).decode()}
        if not https:
            conn = http.client.HTTPConnection(p.hostname, p.port or 80, timeout=self.timeout_s)
            return conn, auth
        tunnel = http.client.HTTPSConnection(
            p.hostname, p.port or 80, timeout=self.timeout_s, context=self._ssl
        )
        tunnel.set_tunnel(host, port, headers=auth)
        return tunnel, None

    def _drop(self, origin, conn: http.client.HTTPConnection) -> None:
        conn.close()
        conns = self._local.__dict__.get("conns", {})
        if conns.get(origin, (None,))[0] is conn:
            del conns[origin]
        with self._lock:  # a server that closes every connection must not grow the list
            self._opened = [c for c in self._opened if c is not conn]

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
