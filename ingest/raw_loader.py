"""Load the raw contract (ingest/contract.py) into the `raw` schema of a warehouse engine.

On DuckDB, dbt reads the Parquet files under the raw directory directly (sources with an
`external_location`), so nothing is loaded. On PostgreSQL and Spark, dbt's sources are the
tables `raw.<table>`, and this module (re)creates them from the Parquet files:

- PostgreSQL: `create table` with the contract's column types, then binary
  `COPY ... FROM STDIN` streamed from the Parquet record batches, all in one transaction,
  so readers never see a half-loaded raw schema.
- Spark: `dbt run-operation load_raw_tables` (macros/load_raw_tables.sql) through the
  project's `spark` profile, so it works for every connection method dbt-spark has (local
  session, Thrift, Databricks). The files must be readable by the Spark cluster: on a
  managed service, point RW_RAW_DIR at cloud storage (s3://, abfss://, dbfs:/...).

A table missing from the raw directory is an error naming the file: a half-loaded raw
schema would make dbt fail later with a less helpful message.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.contract import TABLES

ENGINES = ("postgres", "spark")


def postgres_type(dtype: pa.DataType) -> str:
    """The PostgreSQL column type of a raw-contract column."""
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "text"
    if pa.types.is_timestamp(dtype):
        return "timestamp with time zone" if dtype.tz else "timestamp"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision}, {dtype.scale})"
    if pa.types.is_int32(dtype):
        return "integer"
    if pa.types.is_int64(dtype):
        return "bigint"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_floating(dtype):
        return "double precision"
    if pa.types.is_date(dtype):
        return "date"
    raise TypeError(f"no PostgreSQL type for raw-contract type {dtype}")


_COPY_TYPES = {"timestamp with time zone": "timestamptz", "double precision": "float8"}


def raw_files(raw_dir: Path) -> dict[str, Path]:
    """Every contract table's Parquet file; raises naming the first one missing."""
    files = {name: Path(raw_dir) / f"{name}.parquet" for name in TABLES}
    for name, path in files.items():
        if not path.exists():
            raise FileNotFoundError(f"raw table {name!r} not found: {path} does not exist")
    return files


def postgres_conninfo(env: Mapping[str, str] | None = None) -> str:
    """libpq connection string from the RW_PG_* variables the dbt profile reads."""
    from psycopg.conninfo import make_conninfo

    env = os.environ if env is None else env
    return make_conninfo(
        host=env.get("RW_PG_HOST", "127.0.0.1"),
        port=env.get("RW_PG_PORT", "5432"),
        user=env.get("RW_PG_USER", "postgres"),
        password=env.get("RW_PG_PASSWORD", "") or None,
        dbname=env.get("RW_PG_DATABASE", "postgres"),
        sslmode=env.get("RW_PG_SSLMODE", "prefer"),
    )


def load_postgres(raw_dir: Path, conninfo: str | None = None) -> dict[str, int]:
    """Replace raw.<table> for every contract table; returns rows loaded per table."""
    import psycopg
    from psycopg import sql

    files = raw_files(raw_dir)
    counts: dict[str, int] = {}
    with psycopg.connect(conninfo or postgres_conninfo()) as conn, conn.cursor() as cur:
        cur.execute("create schema if not exists raw")
        for name, path in files.items():
            table = TABLES[name]
            target = sql.Identifier("raw", name)
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(postgres_type(f.type)))
                for f in table.schema
            )
            cur.execute(sql.SQL("drop table if exists {}").format(target))
            cur.execute(sql.SQL("create table {} ({})").format(target, columns))
            # COPY's binary dumpers by base type name (numeric(18, 2) -> numeric)
            types = [_COPY_TYPES.get(t, t) for t in (postgres_type(f.type) for f in table.schema)]
            types = [t.split("(")[0] for t in types]
            copy = sql.SQL("copy {} ({}) from stdin (format binary)").format(
                target, sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
            )
            counts[name] = 0
            with cur.copy(copy) as writer:
                writer.set_types(types)
                for batch in pq.ParquetFile(path).iter_batches(
                    batch_size=50_000, columns=table.columns
                ):
                    batch = batch.cast(table.schema)
                    for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
                        writer.write_row(row)
                    counts[name] += batch.num_rows
            cur.execute(sql.SQL("analyze {}").format(target))
    return counts


def load_spark(raw_dir: Path, env: Mapping[str, str] | None = None) -> None:
    """Replace raw.<table> on the dbt profile's `spark` target (any connection method)."""
    from warehouse.dbt import DBT_PROJECT_DIR, dbt_args

    raw_files(raw_dir)
    run_env = dict(os.environ if env is None else env)
    run_env["RW_DBT_TARGET"] = "spark"
    raw_location = str(raw_dir) if "://" in str(raw_dir) else str(Path(raw_dir).resolve())
    args = dbt_args(
        ["run-operation", "load_raw_tables", "--args",
         json.dumps({"raw_dir": raw_location, "tables": list(TABLES)})]
    )  # fmt: skip
    result = subprocess.run(args, cwd=DBT_PROJECT_DIR, env=run_env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"loading raw tables into Spark failed:\n{result.stdout[-4000:]}")


def load_raw(engine: str, raw_dir: Path, env: Mapping[str, str] | None = None) -> None:
    """Load the raw contract into `engine` ('postgres' or 'spark'); DuckDB needs no load.

    Connection settings come from `env` (default: the process environment), the same
    variables the dbt profile reads.
    """
    if engine == "postgres":
        load_postgres(raw_dir, postgres_conninfo(env))
    elif engine == "spark":
        load_spark(raw_dir, env)
    elif engine != "duckdb":
        raise ValueError(f"unknown engine {engine!r}: one of duckdb, {', '.join(ENGINES)}")
