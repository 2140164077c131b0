"""Local marketing-platform emulator: one loopback HTTP server for every vendor in
``emulator/vendors/`` (Klaviyo, HubSpot, SALESmanago, Braze and a Standard Webhooks
receiver), with deterministic fault injection. This module is the shared plumbing; each
vendor's API lives in its own module.

Control endpoints
- ``GET  /__emu/state``     what each platform now holds, plus side-effect counters
- ``GET  /__emu/requests``  request log (method, path, status, fault, items)
- ``POST /__emu/reset``     forget everything (keeps config unless ``{"config": true}``)
- ``POST /__emu/config``    faults / rate limits / job polls / validation, see ``EmulatorConfig``

Faults are drawn from ``random.Random(seed)`` in request-arrival order, so a single-threaded
client sees the same faults on every run with the same seed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reverse_etl.emulator.state import EmulatorConfig, EmulatorState
from reverse_etl.emulator.vendors import VENDORS, Request, vendor_name

log = logging.getLogger(__name__)


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet
        log.debug("emulator: " + fmt, *args)

    # -- plumbing --------------------------------------------------------------------------
    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        ctype: str = "application/json",
    ) -> None:
        data = (
            b""
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        self.send_response(status)
        if data or status not in (204,):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)
        self._status = status

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self._status = 0

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        st = self.server.state
        url = urlsplit(self.path)
        path = url.path
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self._body()
        self._status = 0
        self._items = None
        entry: dict[str, Any] = {"t": time.time(), "method": method, "path": path, "fault": None}
        if path.startswith("/__emu/"):
            self._control(method, path, body)
            return
        vendor = vendor_name(path)
        entry["vendor"] = vendor
        if st.config.log_bodies:
            entry["query"] = query
            entry["body"] = body.decode("utf-8", "replace")
            entry["headers"] = {
                k: v for k, v in self.headers.items() if k.lower() not in ("authorization",)
            }
        fault = st.draw_fault()
        entry["fault"] = fault
        with st.lock:
            st.requests.append(entry)
        try:
            wait = st.rate_limited(vendor)
            if wait is not None:
                entry["fault"] = "rate_limit_window"
                self._throttle(vendor, wait)
                return
            limited = st.endpoint_limited(vendor, method, path)
            if limited is not None:
                entry["fault"] = "vendor_rate_limit"
                self._send(*limited)
                return
            if fault in ("429_retry_after", "429_http_date", "429_bare"):
                self._throttle(vendor, st.config.retry_after_s, kind=fault)
                return
            if fault in ("500", "503"):
                self._send(
                    int(fault),
                    {
                        "errors": [
                            {
                                "id": str(uuid.uuid4()),
                                "status": int(fault),
                                "code": "error",
                                "title": "Server error",
                                "detail": "injected",
                            }
                        ]
                    },
                )
                return
            if fault == "timeout_before":
                time.sleep(st.config.timeout_s)
                self._drop()
                return
            if fault == "drop_before":
                self._drop()
                return
            if fault == "slow":
                time.sleep(st.config.slow_s)
            status, resp, headers = self._route(vendor, method, path, query, body, fault)
            entry["items"] = self._items
            if fault == "timeout_after":
                time.sleep(st.config.timeout_s)
                self._drop()
                return
            if fault == "drop_after":
                self._drop()
                return
            ctype = st.vendors[vendor].content_type if vendor in st.vendors else "application/json"
            self._send(status, resp, headers, ctype=ctype)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            entry["status"] = self._status

    def _throttle(self, vendor: str, wait: float, kind: str = "429_retry_after") -> None:
        headers = {}
        secs = max(1, int(-(-wait // 1)))
        if kind == "429_retry_after":
            headers["Retry-After"] = str(secs)
        elif kind == "429_http_date":
            headers["Retry-After"] = format_datetime(
                datetime.fromtimestamp(time.time() + secs, UTC), usegmt=True
            )
        if vendor == "braze":
            headers["X-RateLimit-Reset"] = str(int(time.time()) + secs)
        self._send(
            429,
            {
                "errors": [
                    {
                        "id": str(uuid.uuid4()),
                        "status": 429,
                        "code": "throttled",
                        "title": "Request was throttled.",
                        "detail": "Request was throttled.",
                    }
                ]
            },
            headers,
        )

    def _control(self, method: str, path: str, body: bytes) -> None:
        st = self.server.state
        if path == "/__emu/state":
            self._send(200, st.snapshot())
        elif path == "/__emu/requests":
            with st.lock:
                self._send(200, st.requests)
        elif path == "/__emu/reset" and method == "POST":
            opts = json.loads(body or b"{}")
            if opts.get("config"):
                st.config = EmulatorConfig()
            st.reset()
            self._send(200, {"ok": True})
        elif path == "/__emu/config":
            if method == "POST":
                new = {**asdict(st.config), **json.loads(body or b"{}")}
                st.config = EmulatorConfig(**new)
                with st.lock:
                    st.rng = random.Random(st.config.seed)
            cfg = asdict(st.config)
            cfg["credentials"] = {k: "***" for k in cfg["credentials"]}
            self._send(200, cfg)
        else:
            self._send(404, {"error": "unknown control endpoint"})

    # -- routing ---------------------------------------------------------------------------

    # -- routing ---------------------------------------------------------------------------
    def _route(self, vendor, method, path, query, body, fault):
        st = self.server.state
        if vendor not in st.vendors:
            return 404, {"error": "not found"}, None
        req = Request(method, path, query, body, dict(self.headers.items()), fault, st)
        try:
            return st.vendors[vendor].handle(req)
        finally:
            self._items = req.items


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None
    ) -> None:
        super().__init__((host, port), Handler)
        self.state = EmulatorState(config or EmulatorConfig(), VENDORS)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # clients that time out or get killed mid-request are expected here
        super().handle_error(request, client_address)


class RunningEmulator:
    """Context manager: start the emulator on a free loopback port in a background thread."""

    def __init__(self, config: EmulatorConfig | None = None, port: int = 0) -> None:
        self.server = EmulatorServer(port=port, config=config)
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def state(self) -> EmulatorState:
        return self.server.state

    def __enter__(self) -> RunningEmulator:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
