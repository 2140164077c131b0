"""ml_customer_features is incremental by cutoff (issue 11): the daily build computes only
the new scoring cutoff (plus the late-data window), keeps the training cutoffs of the last
full rebuild, and gives exactly what a full rebuild of the same cutoffs gives."""

from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd
import pytest

from tests.ml.conftest import AS_OF, run_dbt

pytestmark = pytest.mark.slow

ML_MODELS = ["ml_cutoffs", "ml_customer_features", "ml_labels", "ml_training_set"]


def _day(offset: int) -> str:
    return str((pd.Timestamp(AS_OF) + pd.Timedelta(days=offset)).date())


# Feature cutoffs are exclusive: a build as of day D (inclusive) scores at cutoff D + 1.
SHOP_CUTOFF = _day(1)  # the shop fixture's scoring cutoff (as_of_date AS_OF)
NEXT_DAY, DAY_AFTER = _day(2), _day(3)  # the scoring cutoffs of the next two daily builds


def _as_of(cutoff: str) -> str:
    """The as_of_date whose scoring cutoff is `cutoff`."""
    return str((pd.Timestamp(cutoff) - pd.Timedelta(days=1)).date())


def _copy(shop, tmp_path, name):
    work = tmp_path / name
    work.mkdir()
    shutil.copy(shop["duckdb"], work / "warehouse.duckdb")
    return work


def _build(shop, work, variables: dict, *extra: str) -> None:
    args = ["run", "--select", *ML_MODELS, "--vars", json.dumps(variables), *extra]
    run_dbt(args, shop["raw"], work / "warehouse.duckdb", work)


def _features(work) -> pd.DataFrame:
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        frame = con.execute("select * from ml.ml_customer_features").df()
    return frame.sort_values(["cutoff_date", "person_id"]).reset_index(drop=True)


def _query(work, sql: str):
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_daily_build_equals_a_full_rebuild_and_keeps_past_cutoffs(shop, tmp_path):
    with duckdb.connect(str(shop["duckdb"]), read_only=True) as con:
        rebuilt = con.execute("select * from ml.ml_customer_features").df()
    training = sorted(rebuilt["cutoff_date"].unique())
    assert rebuilt["is_training_cutoff"].all()

    # the next day, incrementally: every training cutoff kept, the new scoring cutoff added
    daily = _copy(shop, tmp_path, "daily")
    _build(shop, daily, {"as_of_date": _as_of(NEXT_DAY)})
    incremental = _features(daily)
    cutoffs = sorted(incremental["cutoff_date"].unique())
    assert cutoffs == [*training, pd.Timestamp(NEXT_DAY)]
    new = incremental["cutoff_date"] == pd.Timestamp(NEXT_DAY)
    assert not incremental.loc[new, "is_training_cutoff"].any()
    assert incremental.loc[~new, "is_training_cutoff"].all()

    # the same cutoffs rebuilt from scratch give the same rows, value for value
    full = _copy(shop, tmp_path, "full")
    dates = [str(pd.Timestamp(c).date()) for c in cutoffs]
    _build(shop, full, {"as_of_date": _as_of(NEXT_DAY), "ml_cutoffs": dates}, "--full-refresh")
    expected = _features(full)
    columns = [c for c in expected.columns if c != "is_training_cutoff"]
    pd.testing.assert_frame_equal(incremental[columns], expected[columns])

    # labels exist for the kept cutoffs too (they are not in today's schedule)
    labelled = _query(daily, "select count(*) from ml.ml_labels")[0][0]
    assert labelled == len(incremental)
    assert (
        _query(daily, "select max(cutoff_date) from ml.ml_training_set")[0][0]
        < pd.Timestamp(NEXT_DAY).date()
    )


MARK = -123456.0


def _marked(work, cutoff: str) -> int:
    sql = "select count(*) from ml.ml_customer_features where cutoff_date = ? and net_revenue = ?"
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, [cutoff, MARK]).fetchone()[0]


def test_second_daily_build_computes_only_the_new_cutoff(shop, tmp_path):
    work = _copy(shop, tmp_path, "second")
    _build(shop, work, {"as_of_date": _as_of(NEXT_DAY)})
    # mark rows: a build that recomputed them would overwrite the marks
    first = _query(work, "select min(cutoff_date) from ml.ml_customer_features")[0][0]
    old, late = str(first), SHOP_CUTOFF  # a kept training cutoff, and one inside the late window
    with duckdb.connect(str(work / "warehouse.duckdb")) as con:
        for cutoff in (old, late):
            con.execute(
                "update ml.ml_customer_features set net_revenue = ? where cutoff_date = ?",
                [MARK, cutoff],
            )
        kept_rows = con.execute(
            "select count(*) from ml.ml_customer_features where cutoff_date = ?", [old]
        ).fetchone()[0]
    assert _marked(work, old) == kept_rows > 0 and _marked(work, late) > 0

    _build(shop, work, {"as_of_date": _as_of(DAY_AFTER), "ml_feature_late_days": 7})
    frame = _features(work)
    days = {str(pd.Timestamp(c).date()) for c in frame["cutoff_date"].unique()}
    assert DAY_AFTER in days  # the new scoring cutoff is computed
    assert NEXT_DAY not in days  # yesterday's scoring cutoff is dropped (not a training one)
    assert _marked(work, old) == kept_rows  # a past cutoff is not recomputed
    assert _marked(work, late) == 0  # a cutoff inside the late-data window is
    assert (frame["net_revenue"] == MARK).sum() == kept_rows

    # the retraining job's rebuild recomputes the whole schedule, anchored on today
    _build(shop, work, {"as_of_date": _as_of(DAY_AFTER), "ml_rebuild_feature_cutoffs": True})
    frame = _features(work)
    schedule = [r[0] for r in _query(work, "select cutoff_date from ml.ml_cutoffs order by 1")]
    assert sorted(pd.Timestamp(c).date() for c in frame["cutoff_date"].unique()) == schedule
    assert frame["is_training_cutoff"].all() and not (frame["net_revenue"] == MARK).any()
