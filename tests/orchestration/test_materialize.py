"""The whole platform materializes in-process on a small generated shop, and its checks pass:
ingest -> dbt (staging, identity, marts, ML features) -> models -> scores -> audiences and
sync models -> reverse-ETL syncs to the file outbox."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import defs
from orchestration.translator import GROUPS
from tests.orchestration.conftest import CUSTOMERS, SEED


class _Runs:
    """Events of several runs, read like one ExecuteInProcessResult."""

    def __init__(self, *results):
        self.results = results
        self.success = all(r.success for r in results)
        self.all_events = [e for r in results for e in r.all_events]

    def get_asset_materialization_events(self):
        return [e for r in self.results for e in r.get_asset_materialization_events()]


@pytest.fixture(scope="module")
def materialized(platform_env: dict[str, str], today: str):
    """Every asset, in two runs as in operations: ingest, then everything downstream (one
    run of the whole graph would split dbt once more, for the seeds, which precede ingest)."""
    definitions = defs()
    job = definitions.resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.ephemeral()
    raw = dg.AssetSelection.groups("raw").resolve(definitions.get_repository_def().asset_graph)
    ingest = job.execute_in_process(
        run_config={
            "ops": {
                "raw_tables": {
                    "config": {"customers": CUSTOMERS, "seed": SEED, "as_of_date": today}
                }
            }
        },
        instance=instance,
        asset_selection=list(raw),
        raise_on_error=False,
    )
    everything_else = job.execute_in_process(
        instance=instance,
        asset_selection=list(
            (dg.AssetSelection.all() - dg.AssetSelection.groups("raw")).resolve(
                definitions.get_repository_def().asset_graph
            )
        ),
        raise_on_error=False,
    )
    return definitions, _Runs(ingest, everything_else), instance


def _materialized_keys(result) -> set[dg.AssetKey]:
    return {e.asset_key for e in result.get_asset_materialization_events()}


def test_run_succeeds(materialized):
    _, result, _ = materialized
    failures = [
        f"{e.step_key}: {e.event_specific_data.error.message[-3000:]}"
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    ]
    assert result.success, "\n".join(failures)


def test_every_asset_materialized(materialized):
    definitions, result, _ = materialized
    graph = definitions.get_repository_def().asset_graph
    expected = {k for k in graph.materializable_asset_keys}
    assert expected - _materialized_keys(result) == set()
    groups = {graph.get(k).group_name for k in expected}
    assert groups == set(GROUPS)


def test_all_checks_pass(materialized):
    _, result, _ = materialized
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert len(evaluations) > 50  # dbt data tests + platform checks
    failed = [
        f"{ev.asset_key.to_user_string()}:{ev.check_name}" for ev in evaluations if not ev.passed
    ]
    assert failed == []
    names = {ev.check_name for ev in evaluations}
    assert {
        "raw_orders_freshness",
        "champion_quality_floor",
        "score_drift_psi",
        "sync_error_rate",
    } <= names


def test_models_report_metrics(materialized):
    _, result, _ = materialized
    churn = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["ml", "churn_model"])
    ][0]
    assert churn.metadata["backtest_roc_auc"].value > 0.6
    assert "model_card" in churn.metadata


def test_scores_written(platform_env, materialized):
    with duckdb.connect(platform_env["RW_DUCKDB_PATH"], read_only=True) as con:
        (persons,) = con.execute("select count(*) from ml.customer_scores").fetchone()
        (customers,) = con.execute("select count(*) from core.dim_customers").fetchone()
    assert persons == customers > 0


def test_file_sync_delivered(platform_env, materialized):
    _, result, _ = materialized
    sync = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["activation", "test_file_profiles"])
    ][0]
    stats = {k: sync.metadata[k].value for k in ("sent", "changed", "failed", "skipped")}
    assert stats["sent"] == stats["changed"] > 0
    assert stats["failed"] == 0
    files = list(Path(platform_env["RW_OUTBOX_DIR"]).rglob("*.jsonl"))
    assert files
    lines = sum(len(f.read_text().splitlines()) for f in files)
    assert lines >= stats["sent"] / 2  # JSONL records (batched or one per row)
    first = json.loads(files[0].read_text().splitlines()[0])
    assert first


def test_retention_report(platform_env, materialized):
    _, result, _ = materialized
    report = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["reports", "retention_report"])
    ][0]
    html = Path(report.metadata["path"].value)
    assert html.is_file() and "<html" in html.read_text()[:500].lower()
    assert report.metadata["cohort_retention_chart"].value.startswith("![")
    assert "data:image/png;base64," in report.metadata["lift_chart"].value
