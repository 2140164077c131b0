"""The definitions load and validate; groups, keys, jobs and dbt command lines are right."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.defs.dbt.project import (
    AS_OF_TAG,
    AS_OF_VAR,
    build_args,
    dbt_vars,
    parse_args,
    resolve_as_of,
)
from orchestration.translator import GROUPS, group_for_path


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


@pytest.fixture(scope="module")
def graph(definitions):
    return definitions.get_repository_def().asset_graph


def test_definitions_validate(definitions):
    dg.Definitions.validate_loadable(definitions)


def test_every_group_is_used(graph):
    groups = {graph.get(k).group_name for k in graph.materializable_asset_keys}
    assert groups == set(GROUPS)


@pytest.mark.parametrize(
    ("key", "group"),
    [
        (["raw", "orders"], "raw"),
        (["staging", "stg_shop__orders"], "staging"),
        (["intermediate", "int_identifiers_stitched"], "identity"),
        (["seeds", "identity_blocklist"], "identity"),
        (["snapshots", "snap_identifier_persons"], "identity"),
        (["core", "dim_customers"], "marts"),
        (["segmentation", "customer_rfm"], "segmentation"),
        (["ml", "ml_training_set"], "ml"),
        (["ml", "churn_model"], "ml"),
        (["ml", "customer_scores"], "ml"),
        (["activation", "test_file_profiles"], "activation"),
        (["reports", "retention_report"], "segmentation"),
    ],
)
def test_asset_groups(graph, key, group):
    assert graph.get(dg.AssetKey(key)).group_name == group


def test_python_assets_join_the_dbt_graph(graph):
    """Ingest feeds dbt staging, dbt feeds the models, scores feed the audiences, the sync
    reads its dbt model: one connected graph."""
    assert (
        dg.AssetKey(["raw", "orders"])
        in graph.get(dg.AssetKey(["staging", "stg_shop__orders"])).parent_keys
    )
    assert (
        dg.AssetKey(["ml", "ml_training_set"])
        in graph.get(dg.AssetKey(["ml", "churn_model"])).parent_keys
    )
    readers = graph.get(dg.AssetKey(["ml", "customer_scores"])).child_keys
    assert any(k.path[0] == "segmentation" for k in readers)
    assert (
        dg.AssetKey(["core", "dim_customers"])
        in graph.get(dg.AssetKey(["activation", "test_file_profiles"])).parent_keys
    )


def test_dbt_tests_are_asset_checks(graph):
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("core/dim_customers", "unique_dim_customers_person_id") in checks
    assert ("raw/orders", "raw_orders_freshness") in checks
    assert ("ml/churn_model", "champion_quality_floor") in checks
    assert ("ml/customer_scores", "score_drift_psi") in checks
    assert ("activation/test_file_profiles", "sync_error_rate") in checks


def test_syncs_are_automated(graph):
    node = graph.get(dg.AssetKey(["activation", "test_file_profiles"]))
    assert node.automation_condition is not None


def test_jobs(definitions):
    repo = definitions.get_repository_def()
    daily = repo.get_job("daily_build").asset_layer.selected_asset_keys
    assert dg.AssetKey(["ml", "customer_scores"]) in daily
    assert dg.AssetKey(["reports", "retention_report"]) in daily
    assert dg.AssetKey(["core", "dim_customers"]) in daily
    assert not any(k.path[0] in ("raw", "activation") for k in daily)
    assert dg.AssetKey(["ml", "churn_model"]) not in daily
    weekly = repo.get_job("weekly_retrain").asset_layer.selected_asset_keys
    assert dg.AssetKey(["ml", "churn_model"]) in weekly
    assert dg.AssetKey(["ml", "customer_scores"]) in weekly
    assert dg.AssetKey(["core", "dim_customers"]) not in weekly
    # the retraining job rebuilds the ML training cutoffs (incremental by cutoff otherwise)
    names = {k.path[-1] for k in weekly}
    assert {"ml_cutoffs", "ml_customer_features", "ml_labels", "ml_training_set"} <= names


def test_resources_read_the_environment(definitions, platform_env):
    """Set variables are bound as EnvVar (resolved at launch, shown as such in the UI)."""
    warehouse = definitions.resources["warehouse"]
    for field, name in (("duckdb_path", "RW_DUCKDB_PATH"), ("raw_dir", "RW_RAW_DIR")):
        value = getattr(warehouse, field)
        assert isinstance(value, dg.EnvVar)
        assert value.env_var_name == name
        assert value.get_value() == platform_env[name]
    reverse_etl = definitions.resources["reverse_etl"]
    assert reverse_etl.syncs_dir.env_var_name == "RW_SYNCS_DIR"


@pytest.mark.parametrize(
    ("folders", "group"),
    [
        (["staging", "shop"], "staging"),
        (["intermediate", "identity"], "identity"),
        (["intermediate", "orders"], "marts"),
        (["marts", "core"], "marts"),
        (["marts", "segmentation", "audiences"], "segmentation"),
        (["marts", "ml"], "ml"),
        (["marts", "sync"], "activation"),
        (["marts", "reporting"], "marts"),
        ([], None),
    ],
)
def test_group_for_path(folders, group):
    assert group_for_path(folders) == group


def test_build_args_plain():
    args = build_args()
    assert args[0] == "build"
    assert json.loads(args[args.index("--vars") + 1]) == {}


def test_build_args_options():
    args = build_args(as_of_date="2026-06-30", full_refresh=True, fail_fast=True)
    assert "--full-refresh" in args and "--fail-fast" in args
    dbt_vars_ = json.loads(args[args.index("--vars") + 1])
    assert dbt_vars_ == {AS_OF_VAR: "2026-06-30"}


def test_build_args_rejects_bad_dates():
    with pytest.raises(ValueError):
        build_args(as_of_date="30/06/2026")


def test_parse_and_build_use_the_same_vars():
    """Otherwise dbt cannot reuse the parse and the manifest differs from what runs."""
    parsed = json.loads(parse_args()[parse_args().index("--vars") + 1])
    assert parsed == dbt_vars()


def test_as_of_from_config_or_run_tag():
    assert resolve_as_of("2026-01-31", {AS_OF_TAG: "2025-12-31"}) == "2026-01-31"
    assert resolve_as_of(None, {AS_OF_TAG: "2025-12-31"}) == "2025-12-31"
    assert resolve_as_of(None, {}) is None


def test_hourly_sensor_waits_for_assets_of_the_daily_build(graph):
    """The keys the hourly sensor waits for are real assets the daily build materializes."""
    from orchestration.defs.automation.hourly import DAILY_BUILT_INPUTS
    from orchestration.defs.automation.jobs import daily_build_selection
    from orchestration.defs.dbt import definitions as dbt

    (dbt_models,) = dbt.defs().assets
    assert set(DAILY_BUILT_INPUTS) <= daily_build_selection(dbt_models).resolve(graph)
