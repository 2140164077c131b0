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

import base64
import contextlib
import itertools
import json
import logging
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reverse_etl.emulator.openapi import OpenApiValidator, find_klaviyo_spec_dir
from reverse_etl.emulator.vendors import VENDORS, Request, vendor_name

log = logging.getLogger(__name__)

FAULT_KINDS = (
    "429_retry_after",  # 429 with Retry-After: <seconds>
    "429_http_date",  # 429 with Retry-After: <HTTP date>
    "429_bare",  # 429 without Retry-After
    "500",
    "503",
    "timeout_before",  # hang past the client's timeout, write NOT applied
    "timeout_after",  # apply the write, then hang past the client's timeout
    "drop_before",  # close the connection without a response, write NOT applied
    "drop_after",  # apply the write, then close the connection
    "slow",  # answer correctly after slow_s
    "reject_rows",  # vendor-shaped per-row rejection of some rows (not applied)
    "reject_batch",  # vendor-shaped whole-batch rejection (nothing applied)
)

DEFAULT_CREDENTIALS = {
    "klaviyo": "pk_emulator_key",
    "hubspot": "pat-emulator-token",
    "braze": "braze-emulator-key",
    "salesmanago_client_id": "emu-client",
    "salesmanago_api_key": "sm-emulator-key",
    "salesmanago_api_secret": "sm-emulator-secret",
    "webhook_secret": "whsec_" + base64.b64encode(b"emulator-webhook-secret-0123456").decode(),
}


@dataclass
class EmulatorConfig:
    seed: int = 0
    fault_rate: float = 0.0
    fault_kinds: list[str] = field(default_factory=lambda: list(FAULT_KINDS))
    timeout_s: float = 1.0  # how long a "timeout" fault hangs (> client timeout)
    slow_s: float = 0.05
    retry_after_s: int = 1
    # rate-limit windows: vendor -> [max requests, window seconds]; 0 disables
    rate_limits: dict[str, list[float]] = field(default_factory=dict)
    # the vendors' published per-endpoint limits (``Vendor.limits``), enforced with windows
    # shrunk by this time scale (1.0 = real seconds; tests match their client clock's
    # scale); 0 disables
    vendor_limits: float = 0.0
    job_polls: int = 1  # polls before a Klaviyo bulk job reports 'complete'
    validation: str = "full"  # full | sample (first 50 array items) | off
    log_bodies: bool = False
    credentials: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CREDENTIALS))


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.validator = None
        spec = find_klaviyo_spec_dir()
        try:
            import jsonschema  # noqa: F401
        except ImportError:  # runtime install without the dev extras: no spec validation
            spec = None
        if spec is not None:
            self.validator = OpenApiValidator(spec)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.rng = random.Random(self.config.seed)
            self.ids = itertools.count(1)
            self.requests: list[dict[str, Any]] = []
            self.effects: dict[str, int] = {}
            self.windows: dict[Any, list[float]] = {}
            self.vendors = {name: cls(self) for name, cls in VENDORS.items()}
            self.spec_errors: list[dict[str, Any]] = []

    def effect(self, name: str, n: int = 1) -> None:
        self.effects[name] = self.effects.get(name, 0) + n

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids):08d}"

    def draw_fault(self) -> str | None:
        cfg = self.config
        with self.lock:
            if cfg.fault_rate <= 0 or not cfg.fault_kinds:
                return None
            if self.rng.random() >= cfg.fault_rate:
                return None
            return self.rng.choice(cfg.fault_kinds)

    def rate_limited(self, vendor: str) -> float | None:
        """Sliding window; returns seconds until a slot frees when over the limit."""
        limit = self.config.rate_limits.get(vendor)
        if not limit or not limit[0]:
            return None
        max_n, window = int(limit[0]), float(limit[1])
        now = time.monotonic()
        with self.lock:
            hits = [t for t in self.windows.get(vendor, []) if now - t < window]
            if len(hits) >= max_n:
                self.windows[vendor] = hits
                return window - (now - hits[0])
            hits.append(now)
            self.windows[vendor] = hits
            return None

    def endpoint_limited(self, vendor: str, method: str, path: str) -> Any:
        """The vendor's 429 when a published window of this endpoint is full, else None."""
        scale = self.config.vendor_limits
        impl = self.vendors.get(vendor)
        if scale <= 0 or impl is None:
            return None
        now = time.monotonic()
        for i, (m, pattern, windows) in enumerate(impl.limits):
            if m not in (method, "*") or not re.match(pattern, path):
                continue
            with self.lock:
                keys = [(vendor, i, j) for j in range(len(windows))]
                for key, (n, secs) in zip(keys, windows, strict=True):
                    hits = [t for t in self.windows.get(key, []) if now - t < secs * scale]
                    self.windows[key] = hits
                    if len(hits) >= n:
                        wait = (secs * scale - (now - hits[0])) / scale
                        return impl.throttled(wait, n, secs)
                for key in keys:
                    self.windows[key].append(now)
            return None  # the first matching entry governs, as on the client
        return None

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                **{name: vendor.snapshot() for name, vendor in self.vendors.items()},
                "effects": dict(self.effects),
                "spec_errors": list(self.spec_errors),
                "request_count": len(self.requests),
            }


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
        self.state = EmulatorState(config or EmulatorConfig())

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
