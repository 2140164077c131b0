"""Crash safety: SIGKILL a real `rw-sync run` process mid-run, re-run, converge, no duplicates."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from reverse_etl.config import load_syncs

from .cli_runs import REPO, run_and_kill, run_cmd, run_env, write_sync
from .conftest import desired_people, engine_for, make_customers, state_rows
from .platform_view import desired, view


@pytest.mark.slow
@pytest.mark.parametrize("dest", ["webhook", "klaviyo"])
def test_sigkill_mid_run_then_rerun_converges_without_duplicates(dest, emulator, tmp_path):
    db = tmp_path / "w.duckdb"
    n = 300
    make_customers(db, n)
    syncs = tmp_path / "syncs"
    name = f"crash_{dest}"
    if dest == "webhook":
        spec = {
            "source": "dim_customers",
            "primary_key": "person_id",
            "mode": "upsert",
            "destination": {
                "type": "webhook",
                "url": "http://127.0.0.1:9/webhooks/crm",
                "batch_size": 10,
            },
            "fields": {
                "email": "email",
                "first_name": "first_name",
                "segment": "segment",
                "net_revenue": "net_revenue",
            },
        }
    else:
        spec = {
            "source": "dim_customers",
            "primary_key": "person_id",
            "mode": "upsert",
            "destination": {"type": "klaviyo", "batch_size": 10, "poll_interval_s": 0.01},
            "fields": {
                "email": "email",
                "first_name": "first_name",
                "properties.segment": "segment",
                "properties.net_revenue": "net_revenue",
            },
        }
    write_sync(syncs, name, spec)
    # Every request is slow so the kill lands mid-run; the kill points differ per round.
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = ["slow"]
    emulator.state.config.slow_s = 0.02
    emulator.state.config.log_bodies = True
    kills = 0
    checkpoints = []  # (request index at kill, pks confirmed at kill)
    for kill_after in (4, 8):
        cmd = run_cmd(syncs, db, tmp_path / "outbox", emulator.url, name)
        kills += run_and_kill(cmd, emulator, kill_after)
        checkpoints.append((len(emulator.state.requests), set(state_rows(db, name))))
    assert kills >= 2, "the sync should have been killed mid-run"
    confirmed_before = len(state_rows(db, name))
    assert 0 < confirmed_before < n

    emulator.state.config.fault_rate = 0.0
    done = subprocess.run(
        run_cmd(syncs, db, tmp_path / "outbox", emulator.url, name),
        env=run_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(state_rows(db, name)) == n

    snap = emulator.state.snapshot()
    records, _ = view(snap, dest, name)
    assert records == desired(desired_people(db), dest)
    eff = snap["effects"]
    if dest == "webhook":
        # every row version applied exactly once, however many times it was transmitted
        assert eff["webhook.events_applied"] == n == len(snap["webhook"]["events"])
    else:
        assert eff["klaviyo.profiles_created"] == n
    # Rows confirmed before a kill are never sent again; only the few in-flight batches
    # (delivered, not yet confirmed when the process died) are sent twice.
    for index, confirmed in checkpoints:
        for req in emulator.state.requests[index:]:
            if req["method"] != "POST" or not req.get("body"):
                continue
            doc = json.loads(req["body"])
            if dest == "webhook":
                keys = {rec["key"] for rec in doc["data"]["records"]}
            else:
                keys = {
                    "P" + p["attributes"]["email"].split("@")[0][6:].zfill(6)
                    for p in doc["data"]["attributes"]["profiles"]["data"]
                }
            assert not keys & confirmed, "a confirmed row was sent again after the crash"
    sent_rows = sum(
        r.get("items") or 0
        for r in emulator.state.requests
        if r["method"] == "POST" and r.get("status") in (200, 202)
    )
    assert sent_rows <= n + kills * 3 * 10  # in-flight depth 2 + the batch being read

    # Nothing is left to send.
    sync = load_syncs(syncs)[name]
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0
    assert "planned=" in done.stdout


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_loses_nothing(emulator, tmp_path):
    import duckdb

    db = tmp_path / "w.duckdb"
    n = 200
    make_customers(db, n)
    syncs = tmp_path / "syncs"
    name = "term_webhook"
    write_sync(
        syncs,
        name,
        {
            "source": "dim_customers",
            "primary_key": "person_id",
            "mode": "upsert",
            "destination": {
                "type": "webhook",
                "url": "http://127.0.0.1:9/webhooks/crm",
                "batch_size": 10,
            },
            "fields": {
                "email": "email",
                "first_name": "first_name",
                "segment": "segment",
                "net_revenue": "net_revenue",
            },
        },
    )
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = ["slow"]
    emulator.state.config.slow_s = 0.03
    proc = subprocess.Popen(
        run_cmd(syncs, db, tmp_path / "outbox", emulator.url, name),
        env=run_env(),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while len(emulator.state.requests) < 5 and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    con = duckdb.connect(str(db))
    status, error = con.execute("select status, error from reverse_etl.runs").fetchone()
    locks = con.execute("select count(*) from reverse_etl.locks").fetchone()[0]
    con.close()
    # KeyboardInterrupt from the handler, or DuckDB's "Query interrupted" when the signal
    # lands inside a query: either way the run is recorded as failed and the lock released.
    assert status == "failed" and ("signal" in error or "interrupted" in error) and locks == 0
    emulator.state.config.fault_rate = 0.0
    done = subprocess.run(
        run_cmd(syncs, db, tmp_path / "outbox", emulator.url, name),
        env=run_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    snap = emulator.state.snapshot()
    assert view(snap, "webhook", name)[0] == desired(desired_people(db), "webhook")
    assert snap["effects"]["webhook.events_applied"] == n
