"""Writing a pull's results into the raw contract (ingest/contract.py)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import dlt
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.contract import TABLES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullResult:
    """Rows each run loaded per dlt table, and the raw tables' row counts after it."""

    rows_loaded: dict[str, int]
    raw_rows: dict[str, int]


def conform(table: pa.Table, name: str) -> pa.Table:
    """`table` in the contract schema of raw table `name` (missing columns are null,
    extra ones dropped, types cast)."""
    schema = TABLES[name].schema
    columns = [
        table[f.name].cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def write_tables(
    con: duckdb.DuckDBPyConnection, queries: dict[str, str], raw_dir: Path
) -> dict[str, int]:
    """Run each query and replace `<raw_dir>/<table>.parquet` with its rows, atomically
    (a crash leaves the previous file). Contract tables no pull owns are created empty when
    absent, since dbt's sources read every raw table. Returns the row count per table."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, query in queries.items():
        table = conform(con.sql(query).to_arrow_table(), name)
        dest = raw_dir / f"{name}.parquet"
        tmp = dest.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, dest)
        counts[name] = table.num_rows
        logger.info("wrote %s (%d rows)", dest, table.num_rows)
    for name, spec in TABLES.items():
        dest = raw_dir / f"{name}.parquet"
        if not dest.exists():
            pq.write_table(spec.schema.empty_table(), dest)
    return counts


def run_pull(pipeline_name: str, database: Path, dataset: str, source) -> dict[str, int]:
    """Load `source` with the dlt pipeline whose state and data live in `database`'s folder
    and file (finishing what an interrupted run left first); returns the rows loaded per
    table (dlt's own tables left out)."""
    database.parent.mkdir(parents=True, exist_ok=True)
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        pipelines_dir=str(database.parent / "pipelines"),
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name=dataset,
    )
    finish_interrupted_load(pipeline)
    info = pipeline.run(source)
    logger.info("loaded %s", info)
    normalized = pipeline.last_trace.last_normalize_info
    return {
        table: count
        for table, count in (normalized.row_counts if normalized else {}).items()
        if not table.startswith("_dlt")
    }


def finish_interrupted_load(pipeline) -> None:
    """A run killed after extracting leaves load packages behind; dlt would load them on
    the next run and ignore that run's new data, so they are loaded first, on their own."""
    if pipeline.has_pending_data:
        logger.info("loading what an interrupted run of %s left", pipeline.pipeline_name)
        pipeline.run()


class Columns:
    """Columns of the tables dlt created: dlt adds a column only once a non-null value was
    seen, and a nested table only once a list had an element, so the export reads what is
    there and uses typed nulls for the rest."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str) -> None:
        rows = con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ?",
            [schema],
        ).fetchall()
        self.schema = schema
        self._columns: dict[str, set[str]] = {}
        for table, column in rows:
            self._columns.setdefault(table, set()).add(column)

    def has_table(self, table: str) -> bool:
        return table in self._columns

    def col(self, table: str, column: str, alias: str, sql_type: str = "varchar") -> str:
        """`alias.column`, or a typed null when dlt never saw a value for it."""
        if column in self._columns.get(table, ()):
            return f"{alias}.{column}"
        return f"cast(null as {sql_type})"

    def relation(self, table: str, columns: dict[str, str]) -> str:
        """The table, or an empty relation with `columns` (name -> type) when it is absent."""
        if self.has_table(table):
            return f"{self.schema}.{table}"
        nulls = ", ".join(f"cast(null as {t}) as {c}" for c, t in columns.items())
        return f"(select {nulls} where false)"
