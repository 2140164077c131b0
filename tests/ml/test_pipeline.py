"""End to end on a generated shop: dbt features -> backtest -> registry -> scores.

Model-behaviour checks run on 3,000 persons, so they assert what is robust at that size
(real signal, baselines beaten where the margin is wide); the full comparison of every
model with every baseline is reported by bench/ml_bench.py on larger data.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ml.backtest import MODEL
from ml.cli import app
from ml.features import feature_columns, load_frame
from ml.models import gbm
from ml.registry import Registry
from ml.tasks import TASKS
from ml.train import prepare, train_all
from warehouse.connections import connect
from warehouse.settings import get_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(shop):
    cfg = get_settings(duckdb_path=shop["duckdb"], artifacts_dir=shop["artifacts"])
    return cfg, train_all(cfg)


def test_feature_table_shape(shop):
    with connect(get_settings(duckdb_path=shop["duckdb"]), read_only=True) as con:
        frame = load_frame(con, "ml_customer_features", None)
        cutoffs = con.fetch_df("select * from ml.ml_cutoffs order by cutoff_date")
    assert cutoffs["is_scoring_cutoff"].sum() == 1
    assert str(cutoffs["cutoff_date"].max().date()) == "2026-11-16"
    assert len(cutoffs) >= 8
    assert not frame.duplicated(["person_id", "cutoff_date"]).any()
    buyers = frame[frame["orders_count"] > 0]
    assert (buyers["days_since_last_order"] >= 0).all()
    assert (buyers["btyd_recency_days"] <= buyers["btyd_tenure_days"]).all()
    assert (buyers["btyd_frequency"] <= buyers["orders_count"] - 1).all()
    # features never include a label column
    assert not set(feature_columns(frame)) & {t.label for t in TASKS.values()}


def test_backtest_has_rolling_folds_and_models_beat_naive_baselines(trained):
    _, out = trained
    for name, result in out["backtest"].items():
        task = TASKS[name]
        assert len(result["folds"]) >= 3, name
        cutoffs = [f["cutoff"] for f in result["folds"]]
        assert cutoffs == sorted(set(cutoffs))
        for fold in result["folds"]:
            # every training cutoff's label window closed before the test cutoff
            latest_train = pd.Timestamp(max(fold["train_cutoffs"]))
            assert latest_train + pd.Timedelta(days=task.horizon_days) <= pd.Timestamp(
                fold["cutoff"]
            )
            assert set(fold["metrics"]) == {MODEL, "historical_average", "rfm_rule", "btyd"}
        summary = result["summary"]
        metric = task.main_metric
        naive = summary["historical_average"][metric]
        if metric in ("rmse", "mae"):
            assert summary[MODEL][metric] < naive, name
        else:
            assert summary[MODEL][metric] > naive, name
    churn = out["backtest"]["churn"]["summary"][MODEL]
    assert churn["roc_auc"] > 0.75  # the generator plants a real churn signal
    assert churn["roc_auc"] > out["backtest"]["churn"]["summary"]["rfm_rule"]["roc_auc"]
    for key in ("pr_auc", "brier", "top_decile_lift", "top_decile_capture"):
        assert np.isfinite(churn[key])
    ltv = out["backtest"]["ltv_12m"]["summary"][MODEL]
    for key in ("mae", "rmse", "spearman", "top_decile_revenue_capture", "decile_calibration_mae"):
        assert np.isfinite(ltv[key])


def test_registry_files_cards_and_warehouse_table(trained, shop):
    cfg, out = trained
    reg = Registry(cfg.artifacts_dir)
    for name in TASKS:
        version = out["versions"][name]
        assert reg.champion(name) == version
        directory = reg.version_dir(name, version)
        for f in (
            "model.joblib",
            "metrics.json",
            "metadata.json",
            "model_card.md",
            "calibration.png",
            "lift.png",
            "drift_reference.json",
        ):
            assert (directory / f).exists(), f
        meta = json.loads((directory / "metadata.json").read_text())
        assert meta["n_train"] > 0 and meta["features"]
        card = (directory / "model_card.md").read_text()
        assert "calibration.png" in card and TASKS[name].main_metric in card
    with duckdb.connect(str(shop["duckdb"]), read_only=True) as con:
        table = con.execute("select * from ml.model_registry").df()
    assert set(table["model_name"]) == set(TASKS)
    assert table.groupby("model_name")["is_champion"].sum().eq(1).all()


def test_scoring_writes_customer_scores_and_drift(trained, ml_env):
    result = CliRunner().invoke(app, ["score"])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(ml_env["duckdb"]), read_only=True) as con:
        scores = con.execute("select * from ml.customer_scores").df()
        features = con.execute(
            "select person_id, orders_count from ml.ml_customer_features "
            "where cutoff_date = (select max(cutoff_date) from ml.ml_cutoffs)"
        ).df()
        drift = con.execute("select * from ml.drift_reports").df()
        runs = con.execute("select * from ml.score_runs").df()
    expected = {
        "person_id",
        "churn_probability",
        "propensity_7d",
        "propensity_30d",
        "predicted_ltv_12m",
        "expected_next_order_date",
        "churn_model_version",
        "ltv_model_version",
        "scored_at",
    }
    assert expected <= set(scores.columns)
    assert scores["person_id"].is_unique
    assert set(scores["person_id"]) == set(features["person_id"])
    for col in ("churn_probability", "propensity_7d", "propensity_30d"):
        values = scores[col].dropna()
        assert values.between(0, 1).all(), col
    assert scores["propensity_30d"].notna().all()
    assert (scores["predicted_ltv_12m"] >= 0).all()
    buyers = scores.merge(features, on="person_id")
    has_orders = buyers["orders_count"] > 0
    assert buyers.loc[has_orders, "churn_probability"].notna().all()
    assert buyers.loc[~has_orders, "churn_probability"].isna().all()
    assert buyers.loc[has_orders, "expected_next_order_date"].notna().all()
    # 30-day propensity is at least as high as 7-day on average
    assert scores["propensity_30d"].mean() > scores["propensity_7d"].mean()
    assert len(runs) >= 1 and runs["persons_scored"].iloc[-1] == len(scores)
    assert {"score", "orders_count"} <= set(drift["variable"])
    assert drift["psi"].ge(0).all()


def test_promote_and_rollback_from_the_cli(trained, ml_env):
    cfg, out = trained
    runner = CliRunner()
    # a second training run registers new candidates (same data: same metrics -> promoted)
    result = runner.invoke(app, ["train", "--model", "propensity_7d"])
    assert result.exit_code == 0, result.output
    reg = Registry(cfg.artifacts_dir)
    versions = reg.versions("propensity_7d")
    assert len(versions) == 2 and reg.champion("propensity_7d") == versions[-1]
    result = runner.invoke(app, ["rollback", "--model", "propensity_7d"])
    assert result.exit_code == 0, result.output
    assert reg.champion("propensity_7d") == versions[0]
    result = runner.invoke(app, ["promote", "--model", "propensity_7d"])
    assert result.exit_code == 0, result.output
    assert reg.champion("propensity_7d") == versions[-1]
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0 and "propensity_7d" in result.output


def test_same_data_gives_the_same_model(trained, shop):
    cfg, _ = trained
    with connect(cfg, read_only=True) as con:
        frame, _ = prepare(con, cfg)
    task = TASKS["churn"]
    rows = frame[frame[task.complete_flag].astype(bool) & (frame["orders_count"] > 0)]
    features = feature_columns(frame)
    y = rows[task.label].to_numpy()
    a = gbm.predict(task, gbm.fit_model(task, rows, y, features, seed=7), rows)
    b = gbm.predict(task, gbm.fit_model(task, rows, y, features, seed=7), rows)
    np.testing.assert_array_equal(a, b)
    # the registered champion reproduces the same scores from the same features
    pipeline, _ = Registry(cfg.artifacts_dir).load("churn")
    np.testing.assert_array_equal(
        gbm.predict(task, pipeline, rows), gbm.predict(task, pipeline, rows.copy())
    )
