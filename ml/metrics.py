"""Backtest metrics for classifiers and regressors.

Classifiers: ROC AUC, PR AUC (average precision), Brier score, lift and capture in the top
decile, base rate, and calibration: expected calibration error (ECE) over the ten deciles
of the predicted probability (equal-mass bins, which stay informative when most
probabilities are small) and the ratio of the mean prediction to the observed rate.
Regressors (LTV, days to next order): MAE, RMSE, Spearman, share of the actual total
captured by the top predicted decile, and a calibration table by decile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics as skm

# Which direction is better for each metric (used by promotion and comparisons).
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "brier": False,
    "log_loss": False,
    "top_decile_lift": True,
    "top_decile_capture": True,
    "mae": False,
    "rmse": False,
    "spearman": True,
    "top_decile_revenue_capture": True,
    "decile_calibration_mae": False,
    "ece": False,
}


def _top_decile_mask(score: np.ndarray) -> np.ndarray:
    """The 10% highest scores, ties broken by position so the size is exact and stable."""
    n = len(score)
    k = max(1, int(np.ceil(n * 0.1)))
    order = np.lexsort((np.arange(n), -score))
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def classification_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    y = np.asarray(y_true, dtype="int8")
    p = np.clip(np.asarray(y_score, dtype="float64"), 0.0, 1.0)
    base = float(y.mean()) if len(y) else float("nan")
    out = {"n": int(len(y)), "base_rate": base}
    if len(np.unique(y)) < 2:
        out.update(dict.fromkeys(("roc_auc", "pr_auc", "top_decile_lift"), float("nan")))
    else:
        out["roc_auc"] = float(skm.roc_auc_score(y, p))
        out["pr_auc"] = float(skm.average_precision_score(y, p))
    out["brier"] = float(np.mean((p - y) ** 2)) if len(y) else float("nan")
    out["log_loss"] = float(skm.log_loss(y, p, labels=[0, 1])) if len(y) else float("nan")
    out["mean_predicted"] = float(p.mean()) if len(y) else float("nan")
    out["calibration_ratio"] = out["mean_predicted"] / base if base else float("nan")
    out["ece"] = expected_calibration_error(y, p) if len(y) else float("nan")
    top = _top_decile_mask(p)
    if y.sum() > 0:
        out["top_decile_capture"] = float(y[top].sum() / y.sum())
        out["top_decile_lift"] = float(y[top].mean() / base)
    else:
        out["top_decile_capture"] = float("nan")
        out["top_decile_lift"] = float("nan")
    return out


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(y_pred, dtype="float64")
    err = p - y
    out = {
        "n": int(len(y)),
        "mean_actual": float(y.mean()),
        "mean_predicted": float(p.mean()),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
    }
    if np.std(y) > 0 and np.std(p) > 0:
        out["spearman"] = float(stats.spearmanr(y, p).statistic)
    else:
        out["spearman"] = 0.0
    top = _top_decile_mask(p)
    total = y.sum()
    out["top_decile_revenue_capture"] = float(y[top].sum() / total) if total > 0 else float("nan")
    table = calibration_by_decile(y, p)
    out["decile_calibration_mae"] = float(
        (table["mean_actual"] - table["mean_predicted"]).abs().mean()
    )
    return out


def calibration_by_decile(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Mean prediction vs mean outcome per decile of the prediction (1 = highest)."""
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(y_pred, dtype="float64")
    n = len(p)
    order = np.lexsort((np.arange(n), -p))
    decile = np.empty(n, dtype="int64")
    decile[order] = np.arange(n) * 10 // max(n, 1) + 1
    frame = pd.DataFrame({"decile": decile, "actual": y, "predicted": p})
    table = frame.groupby("decile").agg(
        customers=("actual", "size"),
        mean_predicted=("predicted", "mean"),
        mean_actual=("actual", "mean"),
        sum_actual=("actual", "sum"),
    )
    total = table["sum_actual"].sum()
    table["share_of_actual"] = table["sum_actual"] / total if total else np.nan
    table["cumulative_share"] = table["share_of_actual"].cumsum()
    return table.reset_index()


def expected_calibration_error(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Share-weighted mean |predicted - observed rate| over the deciles of the prediction:
    0 = every decile gets exactly the probability it was given."""
    table = calibration_by_decile(y_true, y_score)
    weights = table["customers"] / table["customers"].sum()
    return float((weights * (table["mean_predicted"] - table["mean_actual"]).abs()).sum())


def strictly_better(metric: str, candidate: float, reference: float) -> bool:
    """Does `candidate` beat `reference` on `metric`? A missing reference cannot be beaten
    or lost to (True); a missing candidate never beats anything."""
    if reference is None or not np.isfinite(reference):
        return True
    if candidate is None or not np.isfinite(candidate):
        return False
    if HIGHER_IS_BETTER.get(metric, True):
        return candidate > reference
    return candidate < reference


def better(metric: str, candidate: float, reference: float, tolerance: float = 0.0) -> bool:
    """Is `candidate` not worse than `reference` on `metric` (within `tolerance`)?"""
    if reference is None or not np.isfinite(reference):
        return True
    if candidate is None or not np.isfinite(candidate):
        return False
    if HIGHER_IS_BETTER.get(metric, True):
        return candidate >= reference - tolerance
    return candidate <= reference + tolerance
