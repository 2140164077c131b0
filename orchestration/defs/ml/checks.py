"""Model quality floor: a champion below the configured quality fails its check."""

import math

import dagster as dg

from ml.tasks import TASKS
from orchestration.defs.ml.assets import model_key
from orchestration.resources import MLResource, WarehouseResource
from warehouse.settings import get_settings

NAIVE_BASELINE = "historical_average"


def quality_floor(task: str, summary: dict, min_auc: float) -> tuple[bool, dict]:
    """Whether a champion's backtest summary clears the floor, and why.

    Classifiers: ROC AUC of the model >= `min_auc`. Regressors: the main metric beats the
    naive historical-average baseline (no AUC exists for them)."""
    spec = TASKS[task]
    model = summary.get("gradient_boosting", {})
    if spec.kind == "classifier":
        auc = model.get("roc_auc", float("nan"))
        passed = auc is not None and not math.isnan(auc) and auc >= min_auc
        return passed, {"backtest_roc_auc": auc, "min_auc": min_auc}
    value = model.get(spec.main_metric, float("nan"))
    naive = summary.get(NAIVE_BASELINE, {}).get(spec.main_metric, float("nan"))
    passed = not math.isnan(value) and not math.isnan(naive) and value < naive
    return passed, {f"backtest_{spec.main_metric}": value, f"{NAIVE_BASELINE}": naive}


def _floor_check(task: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=model_key(task),
        name="champion_quality_floor",
        blocking=True,  # a bad champion must not score anyone in the same run
        description="The champion's backtest ROC AUC is at least RW_ML_MIN_AUC (classifiers) "
        "or beats the naive historical-average baseline (regressors).",
    )
    def check(warehouse: WarehouseResource, ml: MLResource) -> dg.AssetCheckResult:
        from ml.registry import Registry

        registry = Registry(ml.settings(warehouse.database).artifacts_dir)
        champion = registry.champion(task)
        if champion is None:
            return dg.AssetCheckResult(passed=False, metadata={"reason": "no champion"})
        summary = registry.metrics(task, champion).get("summary", {})
        passed, meta = quality_floor(task, summary, get_settings().ml.min_auc)
        return dg.AssetCheckResult(passed=passed, metadata={"champion": champion, **meta})

    return check


QUALITY_CHECKS = [_floor_check(task) for task in TASKS]
