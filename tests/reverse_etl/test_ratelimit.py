"""Retry-After parsing, adaptive limiter and the retrying transport (injected clocks)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from reverse_etl.destinations.base import FatalError, HttpTransport, TransientError
from reverse_etl.ratelimit import Backoff, Clock, RateLimiter, parse_retry_after


class FakeClock(Clock):
    def __init__(self):
        self.t = 1_000_000.0
        self.sleeps: list[float] = []

    def now(self):
        return self.t

    def monotonic(self):
        return self.t

    def sleep(self, s):
        self.sleeps.append(s)
        self.t += max(s, 0)


def test_parse_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    now = time.time()
    date = format_datetime(datetime.fromtimestamp(now + 30, UTC), usegmt=True)
    assert 28 <= parse_retry_after(date, now) <= 31
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_limiter_spaces_requests_and_slows_down_on_throttle():
    clock = FakeClock()
    lim = RateLimiter(10, burst=1, clock=clock)
    for _ in range(11):
        lim.acquire()
    assert sum(clock.sleeps) == pytest.approx(1.0, rel=0.05)
    lim.on_throttle(5.0)
    assert lim.rate == 5
    t0 = clock.t
    lim.acquire()
    assert clock.t - t0 >= 5.0  # blocked until Retry-After passed
    for _ in range(50):
        lim.on_success()
    assert lim.rate == 10


def test_backoff_is_jittered_and_capped():
    import random

    b = Backoff(base=1, cap=8, rng=random.Random(1))
    delays = [b.delay(a) for a in range(10)]
    assert all(0 < d <= 8 for d in delays)
    assert len(set(delays)) == len(delays)


def _transport(responses, clock, **kw):
    it = iter(responses)
    calls = []

    def handler(request):
        calls.append(request)
        r = next(it)
        if isinstance(r, Exception):
            raise r
        return r

    t = HttpTransport(
        "http://x",
        limiter=RateLimiter(1000, clock=clock),
        clock=clock,
        backoff=Backoff(base=0.5),
        transport=httpx.MockTransport(handler),
        **kw,
    )
    return t, calls


def test_transport_honours_retry_after_and_retries_transients():
    clock = FakeClock()
    responses = [
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(503),
        httpx.ConnectError("reset"),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json={"ok": True}),
    ]
    t, calls = _transport(responses, clock)
    resp = t.request("POST", "/x", json_body={"a": 1})
    assert resp.status_code == 200 and len(calls) == 5
    assert t.stats.throttled == 1 and t.stats.retries == 4
    assert max(clock.sleeps) >= 3.0  # waited the Retry-After


def test_transport_gives_up_and_scrubs():
    clock = FakeClock()
    t, _ = _transport([httpx.Response(500)] * 3, clock, max_attempts=3, secrets=["s3cr3t"])
    with pytest.raises(TransientError, match="gave up after 3"):
        t.request("GET", "/x")
    t2, _ = _transport([httpx.Response(401)], clock)
    with pytest.raises(FatalError):
        t2.request("GET", "/x")
    assert t.scrub("token s3cr3t here") == "token *** here"
