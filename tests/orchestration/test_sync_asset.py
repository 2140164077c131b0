"""A sync asset on a tiny warehouse: dry run plans without delivering; a run delivers to the
file outbox and reports sent / changed / failed / skipped; a second run sends nothing."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from orchestration.defs.reverse_etl.assets import build_sync_asset, sync_key
from orchestration.resources import ReverseEtlResource, WarehouseResource
from reverse_etl.config import SyncConfig

SYNC = SyncConfig.model_validate(
    {
        "name": "people_outbox",
        "source": "probe_people",
        "primary_key": "person_id",
        "destination": {"type": "file"},
        "fields": {"email": "email"},
        "required": ["email"],
    }
)
MODEL = dg.AssetSpec(dg.AssetKey(["probe_people"]))


@dg.multi_asset(specs=[MODEL])
def fake_dbt():
    yield dg.MaterializeResult(asset_key=MODEL.key)


@pytest.fixture
def resources(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table probe_people as select * from (values "
            "('p1', 'a@example.com'), ('p2', 'b@example.com'), ('p3', null)) "
            "as t(person_id, email)"
        )
    return {
        "warehouse": WarehouseResource(
            duckdb_path=str(path), raw_dir=str(tmp_path), truth_dir=str(tmp_path)
        ),
        "reverse_etl": ReverseEtlResource(
            syncs_dir=str(tmp_path), outbox_dir=str(tmp_path / "outbox")
        ),
    }


def _run(resources, **config):
    asset = build_sync_asset(SYNC, fake_dbt)
    return dg.materialize(
        [asset],
        resources=resources,
        selection=[sync_key(SYNC.name)],
        run_config={"ops": {asset.op.name: {"config": config}}},
    )


def _stats(result) -> dict:
    (event,) = result.get_asset_materialization_events()
    meta = event.materialization.metadata
    return {k: meta[k].value for k in ("sent", "changed", "failed", "skipped")}


def test_dry_run_delivers_nothing(resources, tmp_path):
    result = _run(resources, dry_run=True)
    assert result.success
    assert result.get_asset_materialization_events() == []
    observations = result.get_asset_observation_events()
    assert (
        observations[0].asset_observation_data.asset_observation.metadata["planned_creates"].value
        == 2
    )
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").rglob("*.jsonl"))


def test_run_then_nothing_to_send(resources, tmp_path):
    first = _run(resources)
    assert _stats(first) == {"sent": 2, "changed": 2, "failed": 0, "skipped": 1}
    (check,) = first.get_asset_check_evaluations()
    assert check.passed
    assert any((tmp_path / "outbox").rglob("*.jsonl"))
    second = _run(resources)
    assert _stats(second) == {"sent": 0, "changed": 0, "failed": 0, "skipped": 1}


def test_a_refused_or_failed_sync_is_a_failed_step(resources, tmp_path):
    _run(resources)
    with duckdb.connect(resources["warehouse"].duckdb_path) as con:
        con.execute("delete from probe_people")  # an emptied model: the guard rail refuses
    asset = build_sync_asset(SYNC, fake_dbt)
    result = dg.materialize(
        [asset],
        resources=resources,
        selection=[sync_key(SYNC.name)],
        raise_on_error=False,
    )
    assert not result.success
    assert result.get_asset_materialization_events() == []
