"""Model quality floor: a champion below the configured quality fails its check."""

import math

import dagster as dg

from ml.tasks import TASKS
from orchestration.defs.ml.assets import model_key
from orchestration.resources import MLResource, WarehouseResource
from warehouse.settings import get_settings

MODEL = "gradient_boosting"


def quality_floor(
    task: str, summary: dict, min_auc: float, served: str = MODEL
) -> tuple[bool, dict]:
    """Whether a champion's backtest summary clears the floor, and why.

    The champion serves `served` (the model, or the baseline that beat it). Classifiers:
    its ROC AUC >= `min_auc`. Regressors (no AUC exists for them): no baseline in the same
    backtest beats it on the main metric."""
    spec = TASKS[task]
    model = summary.get(served, {})
    if spec.kind == "classifier":
        auc = model.get("roc_auc", float("nan"))
        passed = auc is not None and not math.isnan(auc) and auc >= min_auc
        return passed, {"served_model": served, "backtest_roc_auc": auc, "min_auc": min_auc}
    metric = spec.main_metric
    value = model.get(metric, float("nan"))
    others = {
        name: vals.get(metric, float("nan"))
        for name, vals in summary.items()
        if name not in (served, MODEL, "champion")
    }
    passed = not math.isnan(value) and bool(others) and all(value <= v for v in others.values())
    return passed, {"served_model": served, f"backtest_{metric}": value, **others}


def _floor_check(task: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=model_key(task),
        name="champion_quality_floor",
        blocking=True,  # a bad champion must not score anyone in the same run
        description="The champion's backtest ROC AUC is at least RW_ML_MIN_AUC (classifiers) "
        "or no baseline beats it on the main metric (regressors).",
    )
    def check(warehouse: WarehouseResource, ml: MLResource) -> dg.AssetCheckResult:
        from ml.registry import Registry

        registry = Registry(ml.settings(warehouse.database).artifacts_dir)
        champion = registry.champion(task)
        if champion is None:
            return dg.AssetCheckResult(passed=False, metadata={"reason": "no champion"})
        summary = registry.metrics(task, champion).get("summary", {})
        served = registry.served_model(task, champion)
        passed, meta = quality_floor(task, summary, get_settings().ml.min_auc, served)
        return dg.AssetCheckResult(passed=passed, metadata={"champion": champion, **meta})

    return check


QUALITY_CHECKS = [_floor_check(task) for task in TASKS]
