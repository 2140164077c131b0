"""Code tests: metrics, PSI drift, baselines and the registry's promotion gate / rollback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from ml import drift
from ml import metrics as mx
from ml.models.baselines import HistoricalAverage, RFMRule
from ml.registry import PromotionRefusedError, Registry
from ml.tasks import TASKS


def test_classification_metrics_on_a_known_case():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.1, 0.8, 0.2, 0.3, 0.1, 0.2, 0.1, 0.4, 0.35])
    m = mx.classification_metrics(y, p)
    # positives {.9, .8, .35} vs 7 negatives: only (.35 < .4) is misordered -> 20 / 21 pairs
    assert m["roc_auc"] == pytest.approx(20 / 21)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    # top decile = the single highest score (a positive): captures 1 of 3, lift 1 / 0.3
    assert m["top_decile_capture"] == pytest.approx(1 / 3)
    assert m["top_decile_lift"] == pytest.approx(1 / 0.3)


def test_regression_metrics_and_decile_calibration():
    rng = np.random.default_rng(0)
    y = rng.gamma(0.5, 100, 1000)
    m = mx.regression_metrics(y, y)
    assert m["mae"] == 0 and m["rmse"] == 0 and m["spearman"] == pytest.approx(1.0)
    assert m["decile_calibration_mae"] == pytest.approx(0.0)
    top_share = np.sort(y)[-100:].sum() / y.sum()
    assert m["top_decile_revenue_capture"] == pytest.approx(top_share)
    table = mx.calibration_by_decile(y, y)
    assert list(table["decile"]) == list(range(1, 11))
    assert table["customers"].sum() == 1000
    assert table["cumulative_share"].iloc[-1] == pytest.approx(1.0)


def test_metric_direction():
    assert mx.better("roc_auc", 0.8, 0.79) and not mx.better("roc_auc", 0.7, 0.8)
    assert mx.better("rmse", 10.0, 11.0) and not mx.better("rmse", 12.0, 11.0)
    assert mx.better("rmse", 11.05, 11.0, tolerance=0.1)
    assert mx.better("mae", 1.0, float("nan"))  # no champion metric: anything passes


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 20_000)
    ref = drift.reference(a)
    assert drift.psi(ref, rng.normal(0, 1, 20_000)) < 0.01
    shifted = drift.psi(ref, rng.normal(1, 1, 20_000))
    assert shifted > 0.25 and drift.status(shifted) == "alert"
    # missing values get their own bin
    with_nan = np.where(rng.random(20_000) < 0.3, np.nan, rng.normal(0, 1, 20_000))
    assert drift.psi(ref, with_nan) > 0.25


def _frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    orders = rng.integers(0, 6, n)
    return pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "orders_count": orders,
            "days_since_last_order": np.where(orders > 0, rng.uniform(0, 700, n), np.nan),
            "days_since_first_order": np.where(orders > 0, rng.uniform(0, 900, n), np.nan),
            "net_revenue": orders * 100.0,
            "net_revenue_365d": orders * 50.0,
            "gap_mean_days": np.where(orders > 1, 60.0, np.nan),
        }
    )


def test_rfm_rule_learns_cell_rates():
    frame = _frame(3000)
    y = (frame["days_since_last_order"].fillna(9999) > 180).astype(int).to_numpy()
    pred = RFMRule(TASKS["churn"]).fit(frame, y).predict(frame)
    assert mx.classification_metrics(y, pred)["roc_auc"] > 0.95
    const = HistoricalAverage(TASKS["churn"]).fit(frame, y).predict(frame)
    assert np.allclose(const, y.mean())


def test_historical_average_next_order_uses_own_cadence():
    frame = _frame()
    pred = HistoricalAverage(TASKS["next_order"]).fit(frame, np.full(len(frame), 365.0))
    out = pred.predict(frame)
    assert ((out >= 0) & (out <= 365)).all()


def _register(reg: Registry, task: str, value: float) -> str:
    import time

    time.sleep(0.002)  # versions are timestamps
    from ml.registry import new_version

    version = new_version()
    metric = TASKS[task].main_metric
    reg.save(
        task,
        version,
        DummyClassifier().fit([[0], [1]], [0, 1]),
        {
            "summary": {"gradient_boosting": {metric: value}, "btyd": {metric: 0.5}},
            "folds": [],
            "beats_baselines": True,
        },
        {
            "version": version,
            "trained_at": pd.Timestamp.now(tz="UTC").isoformat(),
            "n_train": 10,
            "data_end_date": "2026-11-16",
        },
    )
    return version


def test_promotion_gate_and_rollback(tmp_path):
    reg = Registry(tmp_path)
    v1 = _register(reg, "churn", 0.80)
    assert reg.promote("churn") == v1  # first version: no champion to beat
    v2 = _register(reg, "churn", 0.78)
    with pytest.raises(PromotionRefusedError):
        reg.promote("churn", v2)
    assert reg.champion("churn") == v1
    v3 = _register(reg, "churn", 0.80)  # equal is "not worse"
    assert reg.promote("churn", v3) == v3
    assert reg.promote("churn", v2, force=True) == v2
    assert reg.rollback("churn") == v3
    assert reg.rollback("churn") == v1
    with pytest.raises(LookupError):
        reg.rollback("churn")
    table = reg.table()
    assert table.loc[table["is_champion"], "model_version"].tolist() == [v1]
    assert set(table["model_version"]) == {v1, v2, v3}
    # lower-is-better metric
    r1 = _register(reg, "ltv_12m", 100.0)
    reg.promote("ltv_12m", r1)
    r2 = _register(reg, "ltv_12m", 120.0)
    with pytest.raises(PromotionRefusedError):
        reg.promote("ltv_12m", r2)
    reg.promote("ltv_12m", r2, tolerance=25.0)
    assert reg.champion("ltv_12m") == r2
