"""The emulator's state and configuration, apart from the HTTP plumbing (``server.py``) so
that vendor modules can name the state they are handed without importing the server. The
vendor classes are passed in: this module imports none of them."""

from __future__ import annotations

import base64
import itertools
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reverse_etl.emulator.openapi import OpenApiValidator, find_klaviyo_spec_dir

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
    """Everything the emulator holds: config, fault draws, rate-limit windows, request log,
    side-effect counters and one instance of each vendor class in ``vendors``."""

    def __init__(
        self, config: EmulatorConfig, vendors: dict[str, Callable[[EmulatorState], Any]]
    ) -> None:
        self.vendor_classes = vendors
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
            self.vendors = {name: cls(self) for name, cls in self.vendor_classes.items()}
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
