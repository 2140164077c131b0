"""What every emulated vendor shares: the request it is handed and the registry.

A vendor module subclasses ``Vendor``, keeps its own records (``reset``), answers the paths
under its ``prefixes`` (``handle``) and says what it holds (``snapshot``); ``@register`` makes
the server route to it. The shared server (``emulator/server.py``) does the rest: auth-free
plumbing, fault injection, rate-limit windows, the request log and control endpoints.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reverse_etl.emulator.state import EmulatorState

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")

Response = tuple[int, Any, "dict[str, str] | None"]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]  # as sent (case preserved)
    fault: str | None
    state: EmulatorState
    items: int | None = None  # records in the request, for the request log

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    def header(self, name: str, default: str = "") -> str:
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), default)


class Vendor:
    name = "vendor"
    prefixes: tuple[str, ...] = ()
    content_type = "application/json"
    # the vendor's published limits: (method or "*", path regex, ((requests, seconds), ...));
    # enforced as sliding windows when the emulator's ``vendor_limits`` time scale is set
    limits: tuple[tuple[str, str, tuple[tuple[float, float], ...]], ...] = ()

    def throttled(self, wait_s: float, limit: float, window_s: float) -> Response:
        """The vendor's own 429 for a full window (``wait_s``: vendor seconds until a slot
        frees). Default: Retry-After in seconds."""
        secs = max(1, math.ceil(wait_s))
        body = {
            "errors": [{"status": 429, "code": "throttled", "detail": "Request was throttled."}]
        }
        return 429, body, {"Retry-After": str(secs)}

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.reset()

    def reset(self) -> None:
        """Forget every record (called with the state lock held or before serving)."""

    def snapshot(self) -> dict[str, Any]:
        return {}

    def handle(self, req: Request) -> Response:  # pragma: no cover - interface
        raise NotImplementedError


VENDORS: dict[str, type[Vendor]] = {}


def register(cls: type[Vendor]) -> type[Vendor]:
    VENDORS[cls.name] = cls
    return cls


def vendor_name(path: str) -> str:
    """The vendor whose longest prefix matches ``path`` (``unknown`` when none does)."""
    best, best_len = "unknown", -1
    for name, cls in VENDORS.items():
        for prefix in cls.prefixes:
            if path.startswith(prefix) and len(prefix) > best_len:
                best, best_len = name, len(prefix)
    return best
