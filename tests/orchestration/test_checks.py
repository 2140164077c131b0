"""Pure logic behind the platform's asset checks and sync metadata."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from orchestration.defs.ingest.checks import age_hours
from orchestration.defs.ml.checks import quality_floor
from orchestration.defs.reverse_etl.assets import error_rate, missing_secrets, run_stats


def _summary(model: dict, baseline: dict | None = None) -> dict:
    return {"gradient_boosting": model, "trailing_revenue": baseline or {}}


def test_classifier_floor_uses_roc_auc():
    passed, meta = quality_floor("churn", _summary({"roc_auc": 0.71, "pr_auc": 0.2}), 0.7)
    assert passed and meta["backtest_roc_auc"] == 0.71
    passed, _ = quality_floor("propensity_7d", _summary({"roc_auc": 0.55}), 0.6)
    assert not passed


def test_classifier_without_auc_fails():
    passed, _ = quality_floor("churn", _summary({"roc_auc": float("nan")}), 0.6)
    assert not passed


def test_regressor_must_not_lose_to_a_baseline():
    assert quality_floor("ltv_12m", _summary({"rmse": 800.0}, {"rmse": 1000.0}), 0.6)[0]
    assert not quality_floor("next_order", _summary({"mae": 90.0}, {"mae": 80.0}), 0.6)[0]
    # a served baseline is judged against the other baselines, not against the model
    summary = {**_summary({"rmse": 869.26}, {"rmse": 1000.0}), "btyd": {"rmse": 868.44}}
    assert not quality_floor("ltv_12m", summary, 0.6)[0]
    assert quality_floor("ltv_12m", summary, 0.6, served="btyd")[0]


def test_age_hours():
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert age_hours(now - timedelta(hours=30), now) == pytest.approx(30)
    assert age_hours(datetime(2026, 11, 23, 6), now) == pytest.approx(6)  # naive = UTC
    assert age_hours(None, now) is None


def _raw_orders(tmp_path, stamps):
    """A raw orders file with the contract's `ordered_at` type (timestamp[us, UTC])."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest.contract import TS

    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"ordered_at": pa.array(stamps, TS)}), path)
    return path


def test_freshness_never_negative_when_data_runs_to_the_end_of_today(tmp_path):
    from orchestration.defs.ingest.checks import newest_record

    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    stamps = [now - timedelta(hours=h) for h in (30, 2)] + [
        now + timedelta(hours=h) for h in (1, 11)
    ]
    newest, ahead = newest_record(_raw_orders(tmp_path, stamps), "ordered_at", now)
    assert ahead == 2
    assert newest == now - timedelta(hours=2)
    assert age_hours(newest, now) == pytest.approx(2)


TODAY = datetime(2026, 11, 23, tzinfo=UTC)
END_OF_TODAY = TODAY + timedelta(days=1) - timedelta(microseconds=1)


@pytest.mark.parametrize(
    "now",
    [
        TODAY,  # midnight: everything of today is still ahead
        TODAY + timedelta(microseconds=1),
        TODAY + timedelta(hours=22, minutes=24),  # the sample shop's -1.6 h moment
        END_OF_TODAY - timedelta(microseconds=1),
        END_OF_TODAY,  # the last record is exactly now
        END_OF_TODAY + timedelta(microseconds=1),  # tomorrow: nothing ahead any more
    ],
    ids=str,
)
def test_freshness_check_at_the_day_boundary(tmp_path, now):
    """The check itself (as the asset check runs it), with the clock at the edges of a day
    whose data runs to its last microsecond."""
    from orchestration.defs.ingest.checks import freshness_result

    # hourly orders through today, the last one at 23:59:59.999999; one from yesterday
    stamps = [TODAY - timedelta(hours=5)]
    stamps += [TODAY + timedelta(hours=h) for h in range(24)] + [END_OF_TODAY]
    result = freshness_result(_raw_orders(tmp_path, stamps), "ordered_at", now, limit=26)

    seen = [s for s in stamps if s <= now]
    meta = {k: v.value for k, v in result.metadata.items()}
    assert meta["records_after_now"] == len(stamps) - len(seen)
    assert meta["newest_record_at"] == str(max(seen))
    expected_age = (now - max(seen)).total_seconds() / 3600
    assert meta["age_hours"] == round(expected_age, 1) >= 0
    assert result.passed


def test_freshness_check_when_every_record_is_ahead_of_the_clock(tmp_path):
    from orchestration.defs.ingest.checks import freshness_result

    path = _raw_orders(tmp_path, [TODAY + timedelta(hours=1), END_OF_TODAY])
    result = freshness_result(path, "ordered_at", TODAY, limit=26)
    meta = {k: v.value for k, v in result.metadata.items()}
    assert not result.passed
    assert meta["age_hours"] is None and meta["records_after_now"] == 2


def _result(sent, rejected, creates=0, updates=0, removals=0, invalid=0, consent=0, holdout=0):
    plan = SimpleNamespace(
        creates=creates,
        updates=updates,
        removals=removals,
        invalid=invalid,
        excluded_no_consent=consent,
        excluded_holdout=holdout,
    )
    return SimpleNamespace(sent=sent, rejected=rejected, plan=plan)


def test_run_stats():
    result = _result(10, 2, creates=7, updates=2, removals=1, invalid=1, consent=3, holdout=4)
    assert run_stats(result) == {"sent": 10, "changed": 10, "failed": 2, "skipped": 8}
    assert error_rate(result) == pytest.approx(0.2)
    assert error_rate(_result(0, 0)) == 0.0


def test_missing_secrets(monkeypatch):
    from reverse_etl.config import SyncConfig

    sync = SyncConfig.model_validate(
        {
            "name": "k",
            "source": "dim_customers",
            "primary_key": "person_id",
            "destination": {"type": "klaviyo", "api_key_env": "RW_TEST_KLAVIYO_KEY"},
            "fields": {"email": "email"},
        }
    )
    monkeypatch.delenv("RW_TEST_KLAVIYO_KEY", raising=False)
    assert missing_secrets(sync) == ["RW_TEST_KLAVIYO_KEY"]
    monkeypatch.setenv("RW_TEST_KLAVIYO_KEY", "pk_test")
    assert missing_secrets(sync) == []


def test_markdown_table_from_rows_and_frames():
    import pandas as pd

    from orchestration.defs._metadata import markdown_table

    drift = pd.DataFrame(
        {"model_name": ["churn"], "variable": ["a|b"], "psi": [0.123456], "status": ["alert"]}
    )
    assert markdown_table(drift, ["model_name", "variable", "psi"]) == (
        "| model_name | variable | psi |\n|---|---|---|\n| churn | a\\|b | 0.1235 |"
    )
    assert markdown_table([{"x": 1}]) == "| x |\n|---|\n| 1 |"
    # an empty frame (possibly without the columns) and empty rows
    assert markdown_table(pd.DataFrame(), ["model_name"], empty="_all stable_") == "_all stable_"
    assert markdown_table(drift.iloc[0:0], ["model_name"]) == "_none_"
    assert markdown_table([]) == "_none_"
