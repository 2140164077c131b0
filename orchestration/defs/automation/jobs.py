"""Asset jobs. Reverse-ETL syncs are not in them: they follow their models by automation."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.ingest.assets import raw_key
from orchestration.defs.ingest.checks import FRESHNESS_COLUMNS
from orchestration.defs.ml.assets import (
    DRIFT_KEY,
    MODEL_KEYS,
    REGISTRY_KEY,
    SCORE_RUNS_KEY,
    SCORES_KEY,
)
from orchestration.defs.reports.assets import REPORT_KEY

DAILY_BUILD = "daily_build"
WEEKLY_RETRAIN = "weekly_retrain"
SYNC_ALL = "sync_all"

SYNC_ASSETS = dg.AssetSelection.key_prefixes(["activation"])


def daily_build_selection(dbt_models: dg.AssetsDefinition) -> dg.AssetSelection:
    """Every dbt model and test, scoring with the current champions, the retention report,
    the champions' quality floor and raw-data freshness (raw data itself arrives by
    ingest/import)."""
    return (
        dg.AssetSelection.assets(dbt_models)
        | dg.AssetSelection.assets(SCORES_KEY, SCORE_RUNS_KEY, DRIFT_KEY, REPORT_KEY)
        | dg.AssetSelection.checks_for_assets(*[raw_key(t) for t in FRESHNESS_COLUMNS])
        | dg.AssetSelection.checks_for_assets(*MODEL_KEYS)
    )


# The dbt models that hold the ML training cutoffs: incremental by cutoff, so only the
# retraining job recomputes every cutoff of the schedule (var ml_rebuild_feature_cutoffs).
ML_FEATURE_MODELS = ("ml_cutoffs", "ml_customer_features", "ml_labels", "ml_training_set")


def weekly_retrain_selection(dbt_models: dg.AssetsDefinition) -> dg.AssetSelection:
    """Rebuild the ML training cutoffs, retrain (backtest, fit, promote) every model, then
    rescore and rebuild what reads the scores."""
    features = [get_asset_key_for_model([dbt_models], name) for name in ML_FEATURE_MODELS]
    retrain = dg.AssetSelection.assets(*MODEL_KEYS, REGISTRY_KEY).downstream()
    return (retrain.required_multi_asset_neighbors() | dg.AssetSelection.assets(*features)) - (
        SYNC_ASSETS
    )


def build_jobs(dbt_models: dg.AssetsDefinition) -> list[dg.UnresolvedAssetJobDefinition]:
    return [
        dg.define_asset_job(
            DAILY_BUILD,
            selection=daily_build_selection(dbt_models),
            description="Daily: dbt build (staging -> marts, audiences, sync models) and "
            "scoring; syncs follow by automation.",
        ),
        dg.define_asset_job(
            WEEKLY_RETRAIN,
            selection=weekly_retrain_selection(dbt_models),
            description="Weekly: recompute the ML features of every training cutoff, backtest "
            "and retrain every model, promote versions that earned it, rescore, rebuild what "
            "reads the scores.",
            config={
                "ops": {
                    "dbt_models": {"config": {"rebuild_ml_feature_cutoffs": True}},
                    "ml_models": {"config": {"promote": True}},
                }
            },
        ),
        dg.define_asset_job(
            SYNC_ALL,
            selection=SYNC_ASSETS,
            description="Run every enabled reverse-ETL sync now.",
        ),
    ]
