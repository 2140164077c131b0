"""Per-endpoint rate limits from the vendors' published figures: the clients' token buckets
stay inside every published window, the emulator enforces the same windows with each vendor's
own 429 (Klaviyo Retry-After, HubSpot X-HubSpot-RateLimit-*, Braze X-RateLimit-Reset), and a
sync converges under them."""

from __future__ import annotations

import httpx
import pytest

from reverse_etl.destinations import DeliveryContext
from reverse_etl.destinations.base import HttpTransport
from reverse_etl.destinations.braze import Braze
from reverse_etl.destinations.hubspot import HubSpot
from reverse_etl.destinations.klaviyo import Klaviyo
from reverse_etl.destinations.salesmanago import SalesManago
from reverse_etl.emulator import EmulatorConfig, RunningEmulator
from reverse_etl.emulator.vendors import VENDORS
from reverse_etl.engine import SyncEngine
from reverse_etl.ratelimit import ScaledClock, window_limiter
from warehouse.settings import Settings

from .conftest import SECRET_ENV, desired_people, make_customers, sync_config
from .test_ratelimit import FakeClock

LIMITED = {"klaviyo": Klaviyo, "hubspot": HubSpot, "braze": Braze}


@pytest.mark.parametrize("vendor", sorted(LIMITED))
def test_client_and_emulator_use_the_same_published_limits(vendor):
    assert LIMITED[vendor].endpoint_limits == VENDORS[vendor].limits
    assert LIMITED[vendor].endpoint_limits  # every vendor with published figures has them


def test_salesmanago_publishes_no_per_endpoint_limits_so_one_configurable_limiter():
    # SALESmanago's API documentation publishes no per-endpoint figures: one limiter,
    # requests_per_second overrides it (see the README's known limits)
    assert SalesManago.endpoint_limits == () and VENDORS["salesmanago"].limits == ()


@pytest.mark.parametrize("dest", [Klaviyo, HubSpot, Braze])
def test_client_buckets_never_exceed_a_published_window(dest):
    for _method, pattern, windows in dest.endpoint_limits:
        clock = FakeClock()
        limiter = window_limiter(windows, clock)
        longest = max(w for _n, w in windows)
        limit_n = max(n for n, _w in windows)
        times = []
        while not times or times[-1] - times[0] < 3 * longest or len(times) < 3 * limit_n:
            limiter.acquire()
            times.append(clock.t)
        for n, w in windows:
            lo = 0
            for hi, t in enumerate(times):
                while t - times[lo] >= w:
                    lo += 1
                assert hi - lo + 1 <= n, (pattern, n, w)
        steady = min(n / w for n, w in windows)
        assert (len(times) - 1) / (times[-1] - times[0]) >= 0.8 * steady  # not needlessly slow


def _auth(vendor: str) -> dict[str, str]:
    if vendor == "klaviyo":
        return {"Authorization": f"Klaviyo-API-Key {SECRET_ENV['KLAVIYO_API_KEY']}"}
    key = SECRET_ENV["HUBSPOT_ACCESS_TOKEN" if vendor == "hubspot" else "BRAZE_API_KEY"]
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("vendor", "method", "path", "n", "header"),
    [
        ("klaviyo", "POST", "/api/data-privacy-deletion-jobs", 3, "Retry-After"),
        ("hubspot", "POST", "/crm/v3/objects/contacts/batch/read", 100,
         "X-HubSpot-RateLimit-Interval-Milliseconds"),
        ("braze", "POST", "/users/export/ids", 250, "X-RateLimit-Reset"),
    ],
)  # fmt: skip
def test_emulator_answers_a_full_window_with_the_vendors_own_429(vendor, method, path, n, header):
    with (
        RunningEmulator(EmulatorConfig(vendor_limits=1.0)) as emu,
        httpx.Client(base_url=emu.url, headers=_auth(vendor)) as client,
    ):
        statuses = [client.request(method, path, json={}).status_code for _ in range(n)]
        assert 429 not in statuses
        over = client.request(method, path, json={})
        assert over.status_code == 429 and header in over.headers
        if vendor == "hubspot":
            assert over.json()["policyName"] == "TEN_SECONDLY_ROLLING"
            assert "Retry-After" not in over.headers
        if vendor == "braze":
            assert "Retry-After" not in over.headers
        # another endpoint of the same vendor has its own window (HubSpot: one per account)
        other = client.post("/api/profiles" if vendor == "klaviyo" else "/users/track", json={})
        if vendor != "hubspot":
            assert other.status_code != 429


def _run(sync, db, url, tmp_path, scale):
    ctx = DeliveryContext(
        run_id="pending",
        outbox_dir=tmp_path / "outbox",
        clock=ScaledClock(scale),
        timeout_s=2.0,
        base_url=url,
        backoff_base=0.2,
        max_attempts=12,
    )
    settings = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
    return SyncEngine(sync, settings=settings, context=ctx).run()


def test_client_waits_out_hubspots_rolling_window_and_brazes_reset():
    clock = FakeClock()
    answers = iter(
        [
            lambda: httpx.Response(
                429, headers={"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
            ),
            lambda: httpx.Response(429, headers={"X-RateLimit-Reset": str(int(clock.t) + 7)}),
            lambda: httpx.Response(200, json={}),
        ]
    )
    t = HttpTransport(
        "http://x", clock=clock, transport=httpx.MockTransport(lambda req: next(answers)())
    )
    assert t.request("POST", "/crm/v3/objects/contacts/batch/read").status_code == 200
    assert t.stats.throttled == 2
    waited = clock.t - 1_000_000
    assert 17 <= waited < 18.5  # 10 s (HubSpot's window) + 7 s (Braze's reset), no guesswork


def test_hubspot_sync_converges_under_the_published_window(secrets_env, tmp_path):
    """100 requests per 10 s, enforced by the emulator on a shrunken time scale that the
    client's clock shares: the client's own bucket keeps every request inside the window."""
    scale = 0.05
    db = tmp_path / "w.duckdb"
    make_customers(db, 120)
    sync = sync_config("hubspot", destination={"batch_size": 1})
    with RunningEmulator(EmulatorConfig(vendor_limits=scale)) as emu:
        r = _run(sync, db, emu.url, tmp_path, scale)
        snap = emu.state.snapshot()["hubspot"]["contacts"]
        throttled = [q for q in emu.state.requests if q["fault"] == "vendor_rate_limit"]
    assert r.status == "success" and r.confirmed == 120
    assert set(snap) == {p["email"] for p in desired_people(db).values()}
    assert not throttled and r.throttled == 0
