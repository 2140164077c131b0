"""Clocks, jittered exponential backoff and an adaptive rate limiter.

Every wait goes through a :class:`Clock`, so tests can shrink time (``ScaledClock``) instead
of sleeping for real Retry-After seconds.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime


class Clock:
    """Wall clock. ``now()`` is seconds since the epoch, ``sleep()`` blocks."""

    scale: float = 1.0

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ScaledClock(Clock):
    """Real clock whose waits are multiplied by ``scale`` (tests: 0.01 => 100x faster)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds * self.scale)

    def monotonic(self) -> float:
        # Limiter windows are expressed in unscaled seconds: stretch monotonic time.
        return time.monotonic() / self.scale if self.scale > 0 else time.monotonic()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


@dataclass
class Backoff:
    """Full-jitter exponential backoff: sleep uniform(0, min(cap, base * 2**attempt))."""

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2**attempt))
        return self.rng.uniform(ceiling / 4, ceiling)


class RateLimiter:
    """Token bucket with adaptive rate (AIMD) and a shared 'blocked until' from Retry-After.

    - ``acquire()`` waits for a token.
    - ``on_throttle(retry_after)`` halves the rate and blocks every caller until the
      server's Retry-After has passed (or a backoff when the server gave none).
    - ``on_success()`` creeps the rate back up towards the configured ceiling.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Clock | None = None,
        min_rate: float = 0.2,
    ) -> None:
        self.max_rate = float(rate)
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        self.min_rate = min(min_rate, self.max_rate)
        self.clock = clock or Clock()
        self._tokens = self.burst
        self._last = self.clock.monotonic()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.throttled = 0

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self.clock.monotonic()
                if now < self._blocked_until:
                    wait = self._blocked_until - now
                else:
                    self._refill()
                    if self._tokens >= 1 - 1e-9:  # float slack: never spin on 1e-17
                        self._tokens = max(0.0, self._tokens - 1)
                        return
                    # at least 1 µs: a shorter wait may not move a large clock value
                    wait = max((1 - self._tokens) / self.rate, 1e-6)
            self.clock.sleep(wait)

    def on_throttle(self, retry_after: float | None, fallback: float = 1.0) -> float:
        with self._lock:
            self.throttled += 1
            self.rate = max(self.min_rate, self.rate / 2)
            self._tokens = 0
            wait = retry_after if retry_after is not None else fallback
            self._blocked_until = max(self._blocked_until, self.clock.monotonic() + wait)
            return wait

    def on_success(self) -> None:
        with self._lock:
            if self.rate < self.max_rate:
                self.rate = min(self.max_rate, self.rate + max(0.05 * self.max_rate, 0.1))

    def snapshot(self) -> dict:
        return {"rate": self.rate, "max_rate": self.max_rate, "throttled": self.throttled}


# A vendor's published limit on one endpoint (or a pool of endpoints sharing a quota):
# (method or "*", path regex, ((max requests, window seconds), ...)).
EndpointLimit = tuple[str, str, tuple[tuple[float, float], ...]]


def window_limiter(windows: tuple[tuple[float, float], ...], clock: Clock | None = None):
    """A token bucket that never exceeds any of the published sliding windows (n requests per
    w seconds): rate r and capacity b with b + r * w <= n for every window (a tenth below the
    vendor's figures, so requests that arrive bunched up still fit)."""
    rate = 0.9 * min(n / w for n, w in windows)
    burst = max(1.0, math.floor(0.9 * min(n - rate * w for n, w in windows)))
    return RateLimiter(rate, burst=burst, clock=clock)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()
