"""The emulator itself: control endpoints, fault shapes, rate-limit windows, determinism."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from reverse_etl.emulator import DEFAULT_CREDENTIALS, EmulatorConfig, RunningEmulator
from reverse_etl.ratelimit import parse_retry_after

from .conftest import engine_for, make_customers, sync_config

BRAZE = {"Authorization": f"Bearer {DEFAULT_CREDENTIALS['braze']}"}


def _track(url, n=1, **kw):
    attrs = [{"external_id": f"u{i}", "email": f"u{i}@shop.test"} for i in range(n)]
    return httpx.post(url + "/users/track", json={"attributes": attrs}, headers=BRAZE, **kw)


def test_control_endpoints(emulator):
    assert _track(emulator.url, 3).json() == {"message": "success", "attributes_processed": 3}
    state = httpx.get(emulator.url + "/__emu/state").json()
    assert set(state["braze"]["users"]) == {"u0", "u1", "u2"}
    assert state["effects"]["braze.users_created"] == 3
    log = httpx.get(emulator.url + "/__emu/requests").json()
    assert log[0]["path"] == "/users/track" and log[0]["status"] == 201
    cfg = httpx.post(emulator.url + "/__emu/config", json={"fault_rate": 0.5}).json()
    assert cfg["fault_rate"] == 0.5 and set(cfg["credentials"].values()) == {"***"}
    httpx.post(emulator.url + "/__emu/reset")
    assert httpx.get(emulator.url + "/__emu/state").json()["braze"]["users"] == {}


@pytest.mark.parametrize("kind", ["429_retry_after", "429_http_date", "429_bare"])
def test_throttle_shapes(emulator, kind):
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = [kind]
    r = _track(emulator.url)
    assert r.status_code == 429
    ra = r.headers.get("Retry-After")
    if kind == "429_bare":
        assert ra is None and r.headers["X-RateLimit-Reset"].isdigit()
    else:
        assert 0 <= parse_retry_after(ra) <= 2
    assert emulator.state.snapshot()["braze"]["users"] == {}  # nothing applied


def test_drop_after_applies_then_disconnects(emulator):
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = ["drop_after"]
    with pytest.raises(httpx.RemoteProtocolError):
        _track(emulator.url)
    assert "u0" in emulator.state.snapshot()["braze"]["users"]


def test_timeout_before_does_not_apply(emulator):
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = ["timeout_before"]
    emulator.state.config.timeout_s = 0.3
    with pytest.raises((httpx.ReadTimeout, httpx.RemoteProtocolError)):
        _track(emulator.url, timeout=0.1)
    assert emulator.state.snapshot()["braze"]["users"] == {}


def test_partial_rejection_shapes(emulator):
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = ["reject_rows"]
    body = _track(emulator.url, 5).json()
    assert body["message"] == "success" and len(body["errors"]) == 1
    assert body["errors"][0]["input_array"] == "attributes"


def test_faults_are_deterministic_per_seed():
    draws = []
    for _ in range(2):
        with RunningEmulator(EmulatorConfig(seed=11, fault_rate=0.5)) as emu:
            for _ in range(15):
                with contextlib.suppress(httpx.HTTPError):
                    _track(emu.url, timeout=0.05)
            draws.append([r["fault"] for r in emu.state.requests])
    assert draws[0] == draws[1] and any(draws[0])


def test_rate_limit_window_is_honoured_by_the_engine(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 200)
    emulator.state.config.rate_limits = {"braze": [3, 0.2]}  # 3 requests per 0.2 s
    sync = sync_config("braze", destination={"batch_size": 10, "requests_per_second": 1000})
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.status == "success" and r.confirmed == 200
    assert r.throttled > 0  # hit the window, waited, slowed down...
    assert r.destination_stats["limiter"]["rate"] < 1000  # ...and adapted its rate
    assert len(emulator.state.snapshot()["braze"]["users"]) == 200
