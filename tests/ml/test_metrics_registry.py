"""Code tests: metrics, PSI drift, baselines and the registry's promotion gates / rollback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from ml import drift
from ml import metrics as mx
from ml.backtest import TaskBacktest
from ml.models import gbm
from ml.models.baselines import OwnCadence, RecencyRank, RFMRule, TrailingRevenue
from ml.registry import PromotionRefusedError, Registry
from ml.tasks import TASKS
from ml.train import served_baseline


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


def test_expected_calibration_error():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.0, 0.4, 200_000)
    y = (rng.random(p.size) < p).astype(int)
    calibrated = mx.classification_metrics(y, p)
    assert calibrated["ece"] < 0.005
    assert calibrated["calibration_ratio"] == pytest.approx(1.0, abs=0.01)
    # every probability 0.05 too low: each decile is off by 0.05
    low = mx.classification_metrics(y, np.clip(p - 0.05, 0, 1))
    assert low["ece"] == pytest.approx(0.05, abs=0.01)
    assert low["calibration_ratio"] < 0.8


def test_rfm_rule_learns_cell_rates():
    frame = _frame(3000)
    y = (frame["days_since_last_order"].fillna(9999) > 180).astype(int).to_numpy()
    pred = RFMRule(TASKS["churn"]).fit(frame, y).predict(frame)
    assert mx.classification_metrics(y, pred)["roc_auc"] > 0.95


def test_recency_rank_is_a_calibrated_recency_ranking():
    frame = _frame(3000)
    rng = np.random.default_rng(4)
    recency = frame["days_since_last_order"].to_numpy()
    rate = np.where(np.isnan(recency), 0.02, 0.5 * np.exp(-np.nan_to_num(recency) / 200))
    y = (rng.random(len(frame)) < rate).astype(int)
    baseline = RecencyRank(TASKS["propensity_30d"]).fit(frame, y)
    pred = baseline.predict(frame)
    buyers = ~np.isnan(recency)
    # most recent buyers first: never ranks a longer-lapsed buyer above a more recent one
    order = np.argsort(recency[buyers])
    assert (np.diff(pred[buyers][order]) <= 1e-12).all()
    assert pred[~buyers] == pytest.approx(y[~buyers].mean())
    assert pred.mean() == pytest.approx(y.mean(), abs=1e-9)  # isotonic keeps the mean
    assert mx.classification_metrics(y, pred)["roc_auc"] > 0.6


def test_trailing_revenue_and_own_cadence():
    frame = _frame()
    ltv = TrailingRevenue(TASKS["ltv_12m"]).fit(frame, np.zeros(len(frame))).predict(frame)
    np.testing.assert_array_equal(ltv, frame["net_revenue_365d"].to_numpy())
    pred = OwnCadence(TASKS["next_order"]).fit(frame, np.full(len(frame), 365.0))
    out = pred.predict(frame)
    assert ((out >= 0) & (out <= 365)).all()


def test_a_served_baseline_scores_like_a_model(tmp_path):
    import joblib

    frame = _frame(2000)
    y = (frame["days_since_last_order"].fillna(9999) < 100).astype(int).to_numpy()
    task = TASKS["propensity_30d"]
    pipeline = served_baseline(task, "recency_rank").fit(frame, y)
    direct = RecencyRank(task).fit(frame, y).predict(frame)
    np.testing.assert_allclose(gbm.predict(task, pipeline, frame), direct)
    # scoring passes the selected matrix, as ml.score does; and it survives the registry
    joblib.dump(pipeline, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_allclose(gbm.predict(task, loaded, gbm.feature_matrix(loaded, frame)), direct)


def _register(
    reg: Registry,
    task: str,
    value: float,
    baselines: dict[str, float] | None = None,
    served: str = "gradient_boosting",
    champion: tuple[str, float] | None = None,
) -> str:
    import time

    time.sleep(0.002)  # versions are timestamps
    from ml.registry import new_version

    version = new_version()
    metric = TASKS[task].main_metric
    summary = {"gradient_boosting": {metric: value}}
    summary.update({k: {metric: v} for k, v in (baselines or {"btyd": 0.5}).items()})
    if champion:
        summary["champion"] = {metric: champion[1]}
    reg.save(
        task,
        version,
        DummyClassifier().fit([[0], [1]], [0, 1]),
        {
            "summary": summary,
            "folds": [],
            "served_model": served,
            "champion_version": champion[0] if champion else None,
        },
        {
            "version": version,
            "trained_at": pd.Timestamp.now(tz="UTC").isoformat(),
            "n_train": 10,
            "data_end_date": "2026-11-16",
        },
    )
    return version


def test_promotion_compares_with_the_champion_on_the_same_folds(tmp_path):
    reg = Registry(tmp_path)
    v1 = _register(reg, "churn", 0.80)
    assert reg.promote("churn") == v1  # first version: no champion to beat
    # worse than the champion's recipe on the same folds
    v2 = _register(reg, "churn", 0.78, champion=(v1, 0.79))
    with pytest.raises(PromotionRefusedError, match="same folds"):
        reg.promote("churn", v2)
    assert reg.champion("churn") == v1
    # a backtest that did not include the current champion proves nothing about it
    v3 = _register(reg, "churn", 0.95)
    with pytest.raises(PromotionRefusedError, match="not compared"):
        reg.promote("churn", v3)
    v4 = _register(reg, "churn", 0.80, champion=(v1, 0.80))  # equal is "not worse"
    assert reg.promote("churn", v4) == v4
    assert reg.promote("churn", v2, force=True) == v2
    assert reg.rollback("churn") == v4
    assert reg.rollback("churn") == v1
    with pytest.raises(LookupError):
        reg.rollback("churn")
    table = reg.table()
    assert table.loc[table["is_champion"], "model_version"].tolist() == [v1]
    assert set(table["model_version"]) == {v1, v2, v3, v4}
    # lower-is-better metric, with a tolerance
    r1 = _register(reg, "ltv_12m", 100.0, {"btyd": 150.0})
    reg.promote("ltv_12m", r1)
    r2 = _register(reg, "ltv_12m", 120.0, {"btyd": 150.0}, champion=(r1, 100.0))
    with pytest.raises(PromotionRefusedError):
        reg.promote("ltv_12m", r2)
    reg.promote("ltv_12m", r2, tolerance=25.0)
    assert reg.champion("ltv_12m") == r2


def test_a_model_that_loses_to_a_baseline_is_never_champion(tmp_path):
    # issue 10: ltv_12m RMSE 869.26 against BG/NBD 868.44 was promoted and synced
    reg = Registry(tmp_path)
    baselines = {"btyd": 868.44, "rfm_rule": 1035.6, "trailing_revenue": 1000.2}
    loser = _register(reg, "ltv_12m", 869.26, baselines)
    for force in (False, True):
        with pytest.raises(PromotionRefusedError, match="lost to the btyd baseline"):
            reg.promote("ltv_12m", loser, force=force)
    assert reg.champion("ltv_12m") is None
    # what training does instead: the backtest serves the best baseline ...
    task = TASKS["ltv_12m"]
    summary = {"gradient_boosting": {"rmse": 869.26}}
    summary.update({k: {"rmse": v} for k, v in baselines.items()})
    backtest = TaskBacktest(task, summary=summary)
    assert not backtest.beats_baselines
    assert backtest.served_model == "btyd"
    assert "lost to btyd" in backtest.decision
    # ... which is registered and promoted, and the registry says so
    served = _register(reg, "ltv_12m", 869.26, baselines, served="btyd")
    assert reg.promote("ltv_12m", served) == served
    row = reg.table().set_index("model_version").loc[served]
    assert row["is_champion"] and row["served_model"] == "btyd"
    assert row["main_metric_value"] == pytest.approx(868.44)
    assert not reg.table().set_index("model_version").loc[loser, "is_champion"]
    # a model that beats every baseline is served as itself
    summary["gradient_boosting"] = {"rmse": 850.0}
    assert TaskBacktest(task, summary=summary).served_model == "gradient_boosting"
    # rollback never restores a version that lost to a baseline
    with pytest.raises(LookupError):
        reg.rollback("ltv_12m")


def test_season_exponent_recovers_a_seasonal_intensity():
    from ml import season

    rng = np.random.default_rng(5)
    rate = rng.gamma(0.5, 0.1, 50_000)  # purchases per window in an average season
    p_average = 1 - np.exp(-rate)
    y = (rng.random(rate.size) < 1 - np.exp(-1.6 * rate)).astype(int)  # a season 1.6x busier
    k = season.exponent(y, p_average)
    assert k == pytest.approx(1.6, rel=0.05)
    adjusted = season.apply(p_average, k)
    assert adjusted.mean() == pytest.approx(y.mean(), rel=0.02)
    # ranking is kept: same order, so ROC/PR AUC do not move
    assert (np.argsort(adjusted, kind="stable") == np.argsort(p_average, kind="stable")).all()
    # few events: shrunk towards 1; none: no correction at all
    few = season.exponent(y[:400], p_average[:400])
    assert 1.0 < few < k
    assert season.exponent(y[:100], p_average[:100]) == 1.0
    # the same season, across year ends
    cutoffs = pd.Series(pd.to_datetime(["2025-11-13", "2025-12-28", "2025-08-13", "2024-01-02"]))
    assert season.same_season(cutoffs, pd.Timestamp("2026-11-16")).tolist() == [
        True,
        True,
        False,
        False,
    ]
    assert season.same_season(cutoffs, pd.Timestamp("2026-01-10")).tolist() == [
        False,
        True,
        False,
        True,
    ]
