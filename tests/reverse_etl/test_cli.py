"""The rw-sync CLI: validate, plan, run, status, resync."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from reverse_etl.cli import app

from .conftest import make_customers

runner = CliRunner()


def _setup(tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / "f.yml").write_text(
        yaml.safe_dump(
            {
                "name": "outbox_people",
                "source": "dim_customers",
                "primary_key": "person_id",
                "mode": "mirror",
                "destination": {"type": "file"},
                "fields": {"email": "email", "first_name": "first_name"},
            }
        )
    )
    return db, syncs


def test_cli_plan_run_status_resync(tmp_path):
    db, syncs = _setup(tmp_path)
    common = ["--syncs-dir", str(syncs), "--duckdb-path", str(db)]
    r = runner.invoke(app, ["validate", "--syncs-dir", str(syncs)])
    assert r.exit_code == 0 and "1 sync(s) valid" in r.output
    r = runner.invoke(app, ["plan", *common, "--json"])
    assert r.exit_code == 0, r.output
    plan = json.loads(r.output)[0]
    assert plan["creates"] == 30 and plan["api_calls"] == {"upsert": 1}
    r = runner.invoke(app, ["plan", *common])
    assert "API calls" in r.output and "sample" in r.output
    r = runner.invoke(app, ["run", *common, "--outbox-dir", str(tmp_path / "out")])
    assert r.exit_code == 0 and "confirmed=30" in r.output, r.output
    r = runner.invoke(app, ["run", *common, "--outbox-dir", str(tmp_path / "out")])
    assert "planned=0" in r.output
    r = runner.invoke(
        app, ["resync", "outbox_people", *common, "--outbox-dir", str(tmp_path / "out")]
    )
    assert r.exit_code == 0 and "confirmed=30" in r.output
    r = runner.invoke(app, ["status", "--duckdb-path", str(db), "--json"])
    info = json.loads(r.output)
    assert [x["status"] for x in info["runs"]] == ["success"] * 3
    assert info["state_rows"] == {"outbox_people": 30}
    r = runner.invoke(app, ["status", "--duckdb-path", str(db)])
    assert r.exit_code == 0 and "outbox_people" in r.output


def test_cli_reports_invalid_config(tmp_path):
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / "bad.yml").write_text(
        "name: x\nsource: t\nprimary_key: id\ndestination: {type: carrier_pigeon}\n"
    )
    r = runner.invoke(app, ["validate", "--syncs-dir", str(syncs)])
    assert r.exit_code == 2 and "bad.yml" in r.output and "destination" in r.output


def test_cli_reconcile_says_when_a_destination_cannot_be_read_back(tmp_path):
    db, syncs = _setup(tmp_path)
    common = ["--syncs-dir", str(syncs), "--duckdb-path", str(db)]
    r = runner.invoke(
        app, ["reconcile", "outbox_people", *common, "--outbox-dir", str(tmp_path / "out")]
    )
    assert r.exit_code == 1 and "not reconciled" in r.output and "cannot read file" in r.output
