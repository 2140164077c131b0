"""The same operations on DuckDB and on a real PostgreSQL server (tests/engines.py)."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest

from warehouse.connections import connect
from warehouse.relations import RelationNotFoundError
from warehouse.settings import Settings


@pytest.fixture(params=["duckdb", "postgres"])
def settings(request, tmp_path) -> Settings:
    if request.param == "duckdb":
        return Settings(dbt_target="duckdb", duckdb_path=tmp_path / "w.duckdb")
    server = request.getfixturevalue("postgres_server")
    with psycopg.connect(server.dsn, autocommit=True) as con:  # a clean slate per test
        for schema in ("ml", "sync"):
            con.execute(f"drop schema if exists {schema} cascade")
    return Settings(
        dbt_target="postgres",
        pg={"host": server.host, "port": server.port, "user": server.user,
            "database": server.database},
    )  # fmt: skip


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3"],
            "score": [0.25, None, 0.75],
            "as_of_date": pd.to_datetime(["2026-11-15"] * 3),
            "scored_at": pd.Timestamp("2026-11-16 05:00", tz="UTC"),
            "n": [1, 2, 3],
            "flag": [True, False, True],
        }
    )


def test_write_read_and_columns(settings):
    with connect(settings) as con:
        con.write_table("ml.things", _frame())
        con.write_table("ml.things", _frame().iloc[:1], mode="append")
        df = con.fetch_df("select * from ml.things order by person_id, n")
        cols = con.columns("ml.things")
        (n,) = con.fetch_all("select count(*) from ml.things where person_id = ?", ["p1"])[0]
        arrow = con.fetch_arrow("select person_id, score, flag from ml.things")
    assert len(df) == 4 and n == 2
    assert list(cols) == list(_frame().columns)
    assert df["score"].isna().sum() == 1 and df["score"].max() == 0.75
    assert arrow.num_rows == 4 and arrow.schema.field("flag").type == "bool"


def test_replace_rows_keeps_the_table_and_casts_to_its_types(settings):
    with connect(settings) as con:
        con.execute("create schema if not exists ml")
        con.execute(
            "create table ml.scores (person_id varchar, score double precision, as_of_date date)"
        )
        frame = _frame()[["person_id", "score", "as_of_date"]]
        con.replace_rows("ml.scores", frame)
        con.replace_rows("ml.scores", frame.iloc[1:])  # replaces, never appends
        rows = con.fetch_all("select person_id, as_of_date from ml.scores order by 1")
        types = con.columns("ml.scores")
        with pytest.raises(ValueError, match="missing columns"):
            con.replace_rows("ml.scores", frame[["person_id"]])
    assert [r[0] for r in rows] == ["p2", "p3"]
    assert str(rows[0][1]) == "2026-11-15"  # a date, not a timestamp
    assert types["as_of_date"].lower() == "date"


def test_missing_relation_names_itself(settings):
    with connect(settings) as con, pytest.raises(RelationNotFoundError, match="sync_nothing"):
        con.columns("sync_nothing")


def test_bucket_is_deterministic_and_in_range(settings):
    with connect(settings) as con:
        con.write_table("ml.ids", pd.DataFrame({"id": [f"p{i}" for i in range(200)]}))
        a = con.fetch_all(f"select id, {con.bucket('id', 10)} from ml.ids order by id")
        b = con.fetch_all(f"select id, {con.bucket('id', 10)} from ml.ids order by id")
    assert a == b
    assert {bucket for _, bucket in a} <= set(range(10)) and len({x for _, x in a}) > 5
