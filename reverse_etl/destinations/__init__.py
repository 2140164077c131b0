"""Destination registry: ``build_destination(sync, ctx)`` returns a ready destination."""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reverse_etl.config import SyncConfig
from reverse_etl.destinations.base import Destination
from reverse_etl.ratelimit import Backoff, Clock


@dataclass
class DeliveryContext:
    run_id: str
    outbox_dir: Path
    clock: Clock = field(default_factory=Clock)
    seed: int | None = None
    timeout_s: float | None = None  # overrides the sync's timeout (tests)
    base_url: str | None = None  # overrides every destination's base URL (emulator)
    transport: httpx.BaseTransport | None = None
    max_attempts: int | None = None
    backoff_base: float = 0.5

    def backoff(self) -> Backoff:
        return Backoff(base=self.backoff_base, cap=30.0, rng=random.Random(self.seed))


_CLASSES = {
    "file": ("reverse_etl.destinations.file", "FileOutbox"),
    "webhook": ("reverse_etl.destinations.webhook", "SignedWebhook"),
    "klaviyo": ("reverse_etl.destinations.klaviyo", "Klaviyo"),
    "hubspot": ("reverse_etl.destinations.hubspot", "HubSpot"),
    "salesmanago": ("reverse_etl.destinations.salesmanago", "SalesManago"),
    "braze": ("reverse_etl.destinations.braze", "Braze"),
}


def destination_class(kind: str) -> type[Destination]:
    try:
        module, name = _CLASSES[kind]
    except KeyError:
        raise ValueError(f"unknown destination type {kind!r}") from None
    return getattr(importlib.import_module(module), name)


def build_destination(sync: SyncConfig, ctx: DeliveryContext) -> Destination:
    return destination_class(sync.destination.type)(sync, ctx)
