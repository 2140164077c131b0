"""ML assets: one per model (backtest vs baselines, fit, register, promote) and the scores.

The training set and point-in-time features are dbt models (`models/marts/ml/`); the ml
package does the rest (`ml.train.train_all`, `ml.score.score`) with no Dagster import.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model
from pydantic import Field

from ml.tasks import TASKS
from orchestration.defs._metadata import markdown_file, markdown_table
from orchestration.defs.dbt.assets import WAREHOUSE_POOL
from orchestration.defs.dbt.project import resolve_as_of
from orchestration.resources import MLResource, WarehouseResource

ML_GROUP = "ml"
SCORES_KEY = dg.AssetKey(["ml", "customer_scores"])
SCORE_RUNS_KEY = dg.AssetKey(["ml", "score_runs"])
DRIFT_KEY = dg.AssetKey(["ml", "drift_reports"])
REGISTRY_KEY = dg.AssetKey(["ml", "model_registry"])
DRIFT_CHECK = "score_drift_psi"


def model_key(task: str) -> dg.AssetKey:
    return dg.AssetKey(["ml", f"{task}_model"])


MODEL_KEYS = {model_key(name): name for name in TASKS}


class TrainConfig(dg.Config):
    promote: bool = Field(
        default=True,
        description="Promote each new version that beats every baseline (else the best "
        "baseline is registered) and is not worse than the champion on the same backtest "
        "folds (RW_ML_PROMOTION_TOLERANCE).",
    )


class ScoreConfig(dg.Config):
    as_of_date: str | None = Field(
        default=None,
        description="As-of date to score (YYYY-MM-DD, inclusive; features cut off at the next "
        "midnight). Default: the run tag rw/as_of_date, else the latest built.",
    )


def _model_metadata(registry, task: str, version: str, promoted: bool, refused: str | None):
    metrics = registry.metrics(task, version)
    meta = registry.metadata(task, version)
    main = TASKS[task].main_metric
    summary = metrics.get("summary", {})
    directory = registry.version_dir(task, version)
    out = {
        "version": version,
        "champion": registry.champion(task) or "none",
        "promoted": promoted,
        "main_metric": main,
        f"backtest_{main}": float(registry.main_metric(task, version)),
        "served_model": registry.served_model(task, version),
        "decision": metrics.get("decision", ""),
        "beats_baselines": bool(metrics.get("beats_baselines", False)),
        "backtest_folds": len(metrics.get("folds", [])),
        "train_rows": int(meta["n_train"]),
        "data_end_date": str(meta["data_end_date"]),
        "baselines": dg.MetadataValue.md(
            markdown_table(
                [{"model": name, main: vals.get(main)} for name, vals in summary.items()]
            )
        ),
        "artifact_path": dg.MetadataValue.path(str(directory)),
    }
    served = summary.get(registry.served_model(task, version), {})
    if "roc_auc" in served:
        out["backtest_roc_auc"] = float(served["roc_auc"])
    if refused:
        out["promotion_refused"] = refused
    card = directory / "model_card.md"
    if card.exists():
        out["model_card"] = markdown_file(card)
    return out


def build_ml_assets(dbt_models: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    training_set = get_asset_key_for_model([dbt_models], "ml_training_set")
    features = get_asset_key_for_model([dbt_models], "ml_customer_features")

    @dg.multi_asset(
        name="ml_models",
        specs=[
            *[
                dg.AssetSpec(
                    model_key(name),
                    deps=[training_set],
                    group_name=ML_GROUP,
                    kinds={"scikitlearn"},
                    description=task.description,
                    skippable=True,
                    metadata={"main_metric": task.main_metric, "label": task.label},
                )
                for name, task in TASKS.items()
            ],
            dg.AssetSpec(
                REGISTRY_KEY,
                deps=[model_key(name) for name in TASKS],
                group_name=ML_GROUP,
                kinds={"duckdb"},
                description="Every registered model version with backtest metrics; "
                "is_champion marks the version used for scoring.",
                skippable=True,
            ),
        ],
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def ml_models(
        context: dg.AssetExecutionContext,
        config: TrainConfig,
        warehouse: WarehouseResource,
        ml: MLResource,
    ):
        """Backtest every selected model against its baselines over rolling cutoffs, fit it
        on all complete cutoffs, register the version and promote it if not worse."""
        from ml.registry import Registry
        from ml.train import train_all

        tasks = [MODEL_KEYS[k] for k in context.selected_asset_keys if k in MODEL_KEYS]
        settings = ml.settings(warehouse.database)
        out = train_all(settings, tasks or None, promote=config.promote)
        registry = Registry(settings.artifacts_dir)
        for name in tasks:
            version = out["versions"].get(name)
            if version is None:
                context.log.warning("%s: no rows with a complete label window; not trained", name)
                continue
            yield dg.MaterializeResult(
                asset_key=model_key(name),
                metadata=_model_metadata(
                    registry, name, version, name in out["promoted"], out["refused"].get(name)
                ),
            )
        if REGISTRY_KEY in context.selected_asset_keys:
            table = registry.table()
            champions = table[table["is_champion"]] if len(table) else table
            yield dg.MaterializeResult(
                asset_key=REGISTRY_KEY,
                metadata={
                    "dagster/row_count": len(table),
                    "champions": dg.MetadataValue.md(
                        markdown_table(
                            champions,
                            ["model_name", "model_version", "main_metric", "main_metric_value"],
                        )
                    ),
                    "timings_s": dg.MetadataValue.json(
                        {k: round(v, 1) for k, v in out["timings"].items()}
                    ),
                },
            )

    @dg.multi_asset(
        name="ml_scores",
        specs=[
            dg.AssetSpec(
                SCORES_KEY,
                deps=[features, *MODEL_KEYS],
                group_name=ML_GROUP,
                kinds={"duckdb", "scikitlearn"},
                description="Champion scores per person (churn, propensity 7/30d, 12-month "
                "LTV, next order date) as of the latest feature cutoff; read by the audiences.",
            ),
            dg.AssetSpec(
                SCORE_RUNS_KEY,
                deps=[features],
                group_name=ML_GROUP,
                kinds={"duckdb"},
                description="One row per scoring run.",
            ),
            dg.AssetSpec(
                DRIFT_KEY,
                deps=[features],
                group_name=ML_GROUP,
                kinds={"duckdb"},
                description="PSI per scoring run, model and variable against the training "
                "reference.",
            ),
        ],
        check_specs=[
            dg.AssetCheckSpec(
                DRIFT_CHECK,
                asset=SCORES_KEY,
                description="Population stability index of scores and key features against "
                "each champion's training reference stays below RW_ML_PSI_ALERT (warns).",
            )
        ],
        pool=WAREHOUSE_POOL,
    )
    def ml_scores(
        context: dg.AssetExecutionContext,
        config: ScoreConfig,
        warehouse: WarehouseResource,
        ml: MLResource,
    ):
        """Score every known person with the champion models; report drift."""
        from ml.score import score

        settings = ml.settings(warehouse.database)
        try:
            out = score(settings, resolve_as_of(config.as_of_date, context.run.tags))
        except LookupError as exc:  # no champion yet
            raise dg.Failure(
                f"{exc}. Materialize the ml models first (weekly_retrain job)."
            ) from exc
        drift = out["drift"]
        max_psi = float(drift["psi"].max()) if not drift.empty else 0.0
        yield dg.MaterializeResult(
            asset_key=SCORES_KEY,
            metadata={
                "dagster/row_count": out["persons_scored"],
                "as_of_date": out["as_of_date"],
                "score_run_id": out["run_id"],
                "model_versions": dg.MetadataValue.json(out["versions"]),
                "max_psi": max_psi,
                "seconds": round(out["timings"]["total"], 1),
            },
        )
        yield dg.MaterializeResult(asset_key=SCORE_RUNS_KEY, metadata={"run": out["run_id"]})
        flagged = drift[drift["status"] != "stable"] if not drift.empty else drift
        yield dg.MaterializeResult(
            asset_key=DRIFT_KEY,
            metadata={
                "dagster/row_count": len(drift),
                "not_stable": dg.MetadataValue.md(
                    markdown_table(
                        flagged, ["model_name", "variable", "psi", "status"], empty="_all stable_"
                    )
                ),
            },
        )
        alerts = drift[drift["status"] == "alert"] if not drift.empty else drift
        yield dg.AssetCheckResult(
            asset_key=SCORES_KEY,
            check_name=DRIFT_CHECK,
            passed=len(alerts) == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "max_psi": max_psi,
                "psi_alert": settings.ml.psi_alert,
                "alerts": dg.MetadataValue.md(
                    markdown_table(alerts, ["model_name", "variable", "psi"])
                ),
            },
        )

    return [ml_models, ml_scores]
