"""Guard rails: mass removals and empty sources are refused, invalid rows are never removals,
batch-level auth/404/413 errors fail the run without bisection, partial runs exit non-zero."""

from __future__ import annotations

import json

import duckdb
import httpx
import pytest
import yaml
from typer.testing import CliRunner

from reverse_etl.cli import app

from .conftest import engine_for, make_customers, state_rows, sync_config


def _sql(db, sql: str) -> None:
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()


def _outbox_lines(tmp_path, sync_name: str) -> list[dict]:
    files = sorted((tmp_path / "outbox" / sync_name).glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def _file(**overrides):
    from reverse_etl.config import SyncConfig

    spec = {
        "name": "outbox_people",
        "source": "dim_customers",
        "primary_key": "person_id",
        "mode": "mirror",
        "destination": {"type": "file"},
        "fields": {"email": "email", "first_name": "first_name"},
        **overrides,
    }
    return SyncConfig.model_validate(spec)


def test_mass_removal_is_refused_and_the_share_is_per_sync(tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 100)
    engine = engine_for(_file(), db, None, tmp_path)
    assert engine.run().status == "success"
    sent_before = len(_outbox_lines(tmp_path, "outbox_people"))
    _sql(db, "delete from dim_customers where person_id >= 'P000080'")  # 20 of 100 leave

    refused = engine.run()
    assert refused.status == "failed" and "max_removal_share" in refused.error
    assert refused.plan.removals == 20 and refused.plan.refused
    assert len(_outbox_lines(tmp_path, "outbox_people")) == sent_before  # nothing sent
    assert len(state_rows(db, "outbox_people")) == 100
    assert engine.plan().refused  # the dry run says so too

    lenient = engine_for(_file(guard={"max_removal_share": 0.25}), db, None, tmp_path)
    r = lenient.run()
    assert r.status == "success" and r.confirmed == 20
    assert len(state_rows(db, "outbox_people")) == 80


def test_empty_source_is_refused(tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    engine = engine_for(_file(guard={"max_removal_share": 1.0}), db, None, tmp_path)
    engine.run()
    _sql(db, "delete from dim_customers")
    r = engine.run()
    assert r.status == "failed" and "is empty" in r.error
    assert len(state_rows(db, "outbox_people")) == 30
    allowed = _file(guard={"max_removal_share": 1.0, "allow_empty_source": True})
    assert engine_for(allowed, db, None, tmp_path).run().confirmed == 30
    assert state_rows(db, "outbox_people") == {}


def test_duplicate_primary_key_is_invalid_never_a_removal(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 40)
    sync = sync_config("braze", mode="mirror")
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    _sql(db, "insert into dim_customers select * from dim_customers where person_id = 'P000003'")
    r = engine.run()
    assert r.plan.removals == 0 and r.plan.invalid == 2
    assert r.plan.invalid_sample[0]["reason"] == "duplicate primary key"
    assert "P000003" in state_rows(db, sync.name)
    snap = emulator.state.snapshot()
    assert "P000003" in snap["braze"]["users"]
    assert snap["effects"].get("braze.users_deleted", 0) == 0


def _failing_transport(status: int, calls: list):
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(status, json={"status": "error", "message": "nope"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("status", [401, 403, 404, 413])
def test_batch_level_auth_404_413_fail_the_run_without_bisection(status, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 64)
    calls: list[str] = []
    engine = engine_for(
        sync_config("hubspot", destination={"batch_size": 64}), db, "http://hubspot.test", tmp_path
    )
    engine.context.transport = _failing_transport(status, calls)
    r = engine.run()
    assert r.status == "failed" and f"HTTP {status}" in r.error
    assert len(calls) == 1  # no bisection into 2N-1 calls
    assert state_rows(db, "hubspot_customers") == {}


def test_batch_level_400_is_still_bisected(secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 8)
    calls: list[str] = []
    engine = engine_for(
        sync_config("hubspot", destination={"batch_size": 8}), db, "http://hubspot.test", tmp_path
    )
    engine.context.transport = _failing_transport(400, calls)
    r = engine.run()
    assert r.status == "partial" and r.rejected == 8
    assert len(calls) == 2 * 8 - 1


def test_partial_and_failed_runs_exit_non_zero(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 20, bad_emails=1)  # one address HubSpot refuses
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    spec = sync_config("hubspot").model_dump(mode="json", exclude_defaults=True)
    (syncs / "h.yml").write_text(yaml.safe_dump(spec))
    common = ["--syncs-dir", str(syncs), "--duckdb-path", str(db), "--base-url", emulator.url]
    r = CliRunner().invoke(app, ["run", *common])
    assert "partial" in r.output and r.exit_code == 1, r.output
    _sql(db, "delete from dim_customers")
    r = CliRunner().invoke(app, ["run", *common])
    assert "failed" in r.output and r.exit_code == 1, r.output
