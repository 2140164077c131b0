"""DuckDB access for the ml package: one connection helper and a table writer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd


@contextlib.contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def replace_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    casts: dict[str, str] | None = None,
):
    """Atomically replace `schema.table` with `frame` (optionally casting some columns)."""
    con.execute(f'create schema if not exists "{schema}"')
    con.register("_ml_frame", frame)
    select = "*"
    if casts:
        replaced = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in casts.items())
        select = f"* replace ({replaced})"
    try:
        con.execute("begin transaction")
        con.execute(
            f'create or replace table "{schema}"."{table}" as select {select} from _ml_frame'
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_ml_frame")


def append_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pd.DataFrame):
    """Append `frame` to `schema.table`, creating it on first use."""
    con.execute(f'create schema if not exists "{schema}"')
    con.register("_ml_frame", frame)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchone()[0]
        if exists:
            con.execute(f'insert into "{schema}"."{table}" by name select * from _ml_frame')
        else:
            con.execute(f'create table "{schema}"."{table}" as select * from _ml_frame')
    finally:
        con.unregister("_ml_frame")
