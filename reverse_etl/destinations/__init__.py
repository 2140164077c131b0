"""Destinations. Each module in this package declares its config model (a
``DestinationConfig`` subclass) and registers its class with ``@register``; importing the
package loads every module, so adding a destination is adding one file here.

``build_destination(sync, ctx)`` returns a ready destination for a sync. Imports run one
way: ``reverse_etl.config`` builds its union of destination configs from this registry, so
nothing here imports it back (a sync is typed ``Any``, as in the destination modules).
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reverse_etl.destinations.base import REGISTRY, Destination, DestinationConfig
from reverse_etl.ratelimit import Backoff, Clock

if TYPE_CHECKING:
    import httpx

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")


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
    # called with (job id, primary keys) when a destination starts an asynchronous job, so a
    # run that dies before the answer can be settled later by job id
    on_job: Callable[[str, list[str]], None] | None = None

    def backoff(self) -> Backoff:
        return Backoff(base=self.backoff_base, cap=30.0, rng=random.Random(self.seed))


def destination_configs() -> tuple[type[DestinationConfig], ...]:
    """Every registered destination's config model, in type-name order."""
    return tuple(REGISTRY[kind].config for kind in sorted(REGISTRY))


def destination_class(kind: str) -> type[Destination]:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ValueError(f"unknown destination type {kind!r}") from None


def build_destination(sync: Any, ctx: DeliveryContext) -> Destination:
    return destination_class(sync.destination.type)(sync, ctx)
