"""Connections to the warehouse: one small interface over DuckDB, PostgreSQL and Spark.

`connect(settings)` opens the engine of `settings.dbt_target` (the same engine dbt builds
into) and yields a `Connection` with the few operations the Python packages need:

- `fetch_all` / `fetch_df` / `fetch_arrow` run a query (`?` placeholders on every engine);
- `columns(relation)` gives a relation's columns and types (from the relation itself, not
  the catalogue), raising `RelationNotFoundError` when it is missing;
- `replace_rows(relation, frame)` replaces the rows of a table whose DDL dbt owns (the
  columns are cast to the table's types, the table is never dropped);
- `write_table(relation, frame, mode)` writes a table the Python code owns (created from
  the frame's types; `replace` or `append`);
- `bucket(expr, n)` is the engine's deterministic hash bucket (for samples).

Engine drivers are imported only when used: `duckdb` always ships; PostgreSQL needs the
`postgres` extra (psycopg 3), Spark the `spark` extra (pyspark).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from warehouse.relations import RelationNotFoundError, parts, quote, resolve

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

    from warehouse.settings import Settings

WriteMode = Literal["replace", "append"]


def connect_duckdb(
    path: str | Path, read_only: bool = False, retries: int = 50, wait_s: float = 0.2
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting while another process holds its write lock."""
    import duckdb

    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:  # "Could not set lock on file"
            if "lock" not in str(exc).lower() or attempt == retries - 1:
                if "lock" in str(exc).lower():
                    raise RuntimeError(f"warehouse {path} is locked by another process") from exc
                raise
            time.sleep(wait_s)
    raise AssertionError("unreachable")


class Connection:
    """The operations every engine provides (see the module docstring)."""

    target: str
    quote_char = '"'

    def relation(self, name: str) -> str:
        """Quoted, schema-qualified relation (known schemas; see warehouse.relations)."""
        return resolve(name, self.quote_char)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        raise NotImplementedError

    def fetch_all(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        raise NotImplementedError

    def fetch_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        raise NotImplementedError

    def fetch_arrow(self, sql: str) -> pa.Table:
        raise NotImplementedError

    def columns(self, relation: str) -> dict[str, str]:
        raise NotImplementedError

    def replace_rows(self, relation: str, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def write_table(self, relation: str, frame: pd.DataFrame, mode: WriteMode = "replace"):
        raise NotImplementedError

    def bucket(self, expr: str, n: int) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # shared ------------------------------------------------------------------------------
    def _check_frame(self, relation: str, frame: pd.DataFrame, types: dict[str, str]):
        missing = [c for c in types if c not in frame.columns]
        extra = [c for c in frame.columns if c not in types]
        if missing or extra:
            raise ValueError(
                f"{relation}: frame does not match the table "
                f"(missing columns {missing}, unknown columns {extra})"
            )


class DuckDBConnection(Connection):
    target = "duckdb"

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.con = connect_duckdb(self.path, read_only=read_only)

    def execute(self, sql, params=None):
        self.con.execute(sql, params)

    def fetch_all(self, sql, params=None):
        return self.con.execute(sql, params).fetchall()

    def fetch_df(self, sql, params=None):
        return self.con.execute(sql, params).df()

    def fetch_arrow(self, sql):
        return self.con.sql(sql).to_arrow_table()

    def columns(self, relation):
        import duckdb

        try:
            rows = self.con.execute(f"describe select * from {self.relation(relation)}").fetchall()
        except duckdb.CatalogException as exc:
            raise RelationNotFoundError(
                f"relation {relation!r} not found in the warehouse {self.path}: "
                "run `dbt build` in dbt_project/ first"
            ) from exc
        return {r[0]: r[1] for r in rows}

    @contextlib.contextmanager
    def _registered(self, frame: pd.DataFrame) -> Iterator[str]:
        self.con.register("_rw_frame", frame)
        try:
            yield "_rw_frame"
        finally:
            self.con.unregister("_rw_frame")

    def _transaction(self, statements: list[str]) -> None:
        self.con.execute("begin transaction")
        try:
            for sql in statements:
                self.con.execute(sql)
            self.con.execute("commit")
        except Exception:
            self.con.execute("rollback")
            raise

    def replace_rows(self, relation, frame):
        types = self.columns(relation)
        self._check_frame(relation, frame, types)
        rel = self.relation(relation)
        names = ", ".join(quote(c) for c in types)
        casts = ", ".join(f"cast({quote(c)} as {t})" for c, t in types.items())
        with self._registered(frame) as src:
            self._transaction(
                [f"delete from {rel}", f"insert into {rel} ({names}) select {casts} from {src}"]
            )

    def write_table(self, relation, frame, mode="replace"):
        split = parts(relation)
        if len(split) > 1:
            self.con.execute(f"create schema if not exists {quote(split[-2])}")
        rel = self.relation(relation)
        with self._registered(frame) as src:
            if mode == "replace":
                self._transaction([f"create or replace table {rel} as select * from {src}"])
                return
            try:
                self.columns(relation)
            except RelationNotFoundError:
                self.con.execute(f"create table {rel} as select * from {src}")
            else:
                self.con.execute(f"insert into {rel} by name select * from {src}")

    def bucket(self, expr, n):
        return f"(hash({expr}) % {int(n)})"

    def close(self):
        self.con.close()


# PostgreSQL type OIDs read back as Arrow types; anything else is read as a string.
_PG_ARROW = {
    16: "bool_",
    20: "int64",
    21: "int16",
    23: "int32",
    700: "float32",
    701: "float64",
    1700: "float64",  # numeric: read as double, as DuckDB's DataFrames do
    1082: "date32",
    1114: "timestamp_us",
    1184: "timestamp_us_utc",
}


class PostgresConnection(Connection):
    """psycopg 3. Statements run in one transaction per write; `?` placeholders are
    rewritten to psycopg's `%s` (so SQL text must not contain a literal `?` or `%` when
    parameters are passed)."""

    target = "postgres"

    def __init__(self, settings: Settings, read_only: bool = False) -> None:
        import psycopg

        self.settings = settings
        self.con = psycopg.connect(**settings.pg.conninfo())
        if read_only:
            self.con.read_only = True

    @staticmethod
    def _sql(sql: str, params) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if params else sql

    def execute(self, sql, params=None):
        with self.con.cursor() as cur:
            cur.execute(self._sql(sql, params), params)
        self.con.commit()

    def _fetch(self, sql, params=None):
        with self.con.cursor() as cur:
            cur.execute(self._sql(sql, params), params)
            rows = cur.fetchall()
            description = [(d.name, d.type_code) for d in cur.description]
        self.con.rollback()  # end the read transaction
        return rows, description

    def fetch_all(self, sql, params=None):
        return self._fetch(sql, params)[0]

    def fetch_df(self, sql, params=None):
        import pandas as pd

        rows, description = self._fetch(sql, params)
        frame = pd.DataFrame.from_records(rows, columns=[d[0] for d in description])
        for name, oid in description:
            if oid == 1700:  # numeric -> float64 (Decimal objects otherwise)
                frame[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
        return frame

    def fetch_arrow(self, sql):
        import pyarrow as pa

        rows, description = self._fetch(sql)
        arrays, fields = [], []
        for i, (name, oid) in enumerate(description):
            kind = _PG_ARROW.get(oid, "string")
            typ = {
                "timestamp_us": pa.timestamp("us"),
                "timestamp_us_utc": pa.timestamp("us", tz="UTC"),
            }.get(kind) or getattr(pa, kind)()
            values = [r[i] for r in rows]
            if oid == 1700:
                values = [None if v is None else float(v) for v in values]
            elif kind == "string":
                values = [None if v is None else str(v) for v in values]
            arrays.append(pa.array(values, type=typ))
            fields.append(pa.field(name, typ))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    def columns(self, relation):
        import psycopg

        try:
            with self.con.cursor() as cur:
                cur.execute(f"select * from {self.relation(relation)} limit 0")
                cols = {
                    d.name: self.con.adapters.types.get(d.type_code).name
                    if self.con.adapters.types.get(d.type_code)
                    else "text"
                    for d in cur.description
                }
        except psycopg.errors.UndefinedTable as exc:
            self.con.rollback()
            raise RelationNotFoundError(
                f"relation {relation!r} not found in the PostgreSQL warehouse: "
                "run `dbt build` first"
            ) from exc
        self.con.rollback()
        return cols  # PostgreSQL's internal type names (int8, float8, ...), valid in casts

    def _copy_rows(self, cur, rel: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
        import pandas as pd

        columns = list(types)
        data = {}
        for c in columns:
            s = frame[c]
            if types[c] == "date" and pd.api.types.is_datetime64_any_dtype(s):
                s = s.dt.date
            data[c] = s.astype(object).where(s.notna(), None)
        names = ", ".join(quote(c) for c in columns)
        with cur.copy(f"copy {rel} ({names}) from stdin") as copy:
            for row in zip(*(data[c] for c in columns), strict=True):
                copy.write_row(row)

    def replace_rows(self, relation, frame):
        types = self.columns(relation)
        self._check_frame(relation, frame, types)
        rel = self.relation(relation)
        with self.con.transaction(), self.con.cursor() as cur:
            cur.execute(f"delete from {rel}")
            self._copy_rows(cur, rel, frame, types)

    def write_table(self, relation, frame, mode="replace"):
        split = parts(relation)
        rel = self.relation(relation)
        types = {c: _pg_type(frame[c]) for c in frame.columns}
        ddl = ", ".join(f"{quote(c)} {t}" for c, t in types.items())
        with self.con.transaction(), self.con.cursor() as cur:
            if len(split) > 1:
                cur.execute(f"create schema if not exists {quote(split[-2])}")
            if mode == "replace":
                cur.execute(f"drop table if exists {rel}")
            cur.execute(f"create table if not exists {rel} ({ddl})")
            self._copy_rows(cur, rel, frame, types)

    def bucket(self, expr, n):
        return f"mod(abs(hashtextextended(cast({expr} as text), 0)), {int(n)})"

    def close(self):
        self.con.close()


def _pg_type(series: pd.Series) -> str:
    """PostgreSQL column type for a pandas column written by the Python packages."""
    import datetime as dt

    import pandas as pd

    t = series.dtype
    if pd.api.types.is_bool_dtype(t):
        return "boolean"
    if pd.api.types.is_integer_dtype(t):
        return "bigint"
    if pd.api.types.is_float_dtype(t):
        return "double precision"
    if isinstance(t, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_any_dtype(t):
        return "timestamp"
    sample = series.dropna()
    if len(sample) and isinstance(sample.iloc[0], dt.date):
        return "date"
    return "text"


class SparkConnection(Connection):
    """A pyspark session (the dbt-spark `session` method): the same metastore and warehouse
    directory as dbt's, so relation names mean the same tables."""

    target = "spark"
    quote_char = "`"

    def __init__(self, settings: Settings) -> None:
        from pyspark.sql import SparkSession

        self.spark = (
            SparkSession.builder.master(settings.spark.master)
            .config("spark.sql.warehouse.dir", str(settings.spark.warehouse_dir))
            # dbt_project/profiles.yml's spark output: the Derby metastore beside the
            # tables (not in the working directory) and UTC sessions
            .config(
                "spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={settings.spark.warehouse_dir}/metastore_db;create=true",
            )
            .config("spark.sql.session.timeZone", "UTC")
            .enableHiveSupport()
            .getOrCreate()
        )

    @staticmethod
    def _sql(sql: str, params) -> tuple[str, dict | None]:
        if not params:
            return sql, None
        pieces = sql.split("?")
        if len(pieces) != len(params) + 1:
            raise ValueError("number of ? placeholders does not match the parameters")
        named = "".join(f"{p}:p{i}" for i, p in enumerate(pieces[:-1])) + pieces[-1]
        return named, {f"p{i}": v for i, v in enumerate(params)}

    def execute(self, sql, params=None):
        text, args = self._sql(sql, params)
        self.spark.sql(text, args)

    def fetch_all(self, sql, params=None):
        text, args = self._sql(sql, params)
        return [tuple(r) for r in self.spark.sql(text, args).collect()]

    def fetch_df(self, sql, params=None):
        text, args = self._sql(sql, params)
        return self.spark.sql(text, args).toPandas()

    def fetch_arrow(self, sql):
        return self.spark.sql(sql).toArrow()

    def columns(self, relation):
        from pyspark.errors import AnalysisException

        try:
            fields = self.spark.sql(f"select * from {self.relation(relation)} limit 0").dtypes
        except AnalysisException as exc:
            raise RelationNotFoundError(f"relation {relation!r} not found in Spark") from exc
        return dict(fields)

    def replace_rows(self, relation, frame):
        types = self.columns(relation)
        self._check_frame(relation, frame, types)
        view = self.spark.createDataFrame(frame[list(types)])
        view.createOrReplaceTempView("_rw_frame")
        casts = ", ".join(f"cast(`{c}` as {t})" for c, t in types.items())
        self.spark.sql(f"insert overwrite {self.relation(relation)} select {casts} from _rw_frame")

    def write_table(self, relation, frame, mode="replace"):
        split = parts(relation)
        if len(split) > 1:
            self.spark.sql(f"create schema if not exists `{split[-2]}`")
        name = ".".join(split)
        self.spark.createDataFrame(frame).write.mode(
            "overwrite" if mode == "replace" else "append"
        ).saveAsTable(name)

    def bucket(self, expr, n):
        return f"pmod(hash({expr}), {int(n)})"

    def close(self):
        pass  # the session is shared by the process (as dbt-spark's session method does)


@contextlib.contextmanager
def connect(settings: Settings | None = None, *, read_only: bool = False) -> Iterator[Connection]:
    """A connection to the warehouse engine of `settings.dbt_target` (closed on exit)."""
    from warehouse.settings import get_settings

    settings = settings or get_settings()
    con: Connection
    if settings.dbt_target == "postgres":
        con = PostgresConnection(settings, read_only=read_only)
    elif settings.dbt_target == "spark":
        con = SparkConnection(settings)
    else:
        con = DuckDBConnection(settings.duckdb_path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def stage_in_duckdb(
    duck: duckdb.DuckDBPyConnection, relation: str, settings: Settings, alias: str
) -> str:
    """Make `relation` of the warehouse readable in the DuckDB connection `duck`.

    On DuckDB (the warehouse is that file) this is the relation itself; on PostgreSQL or
    Spark the relation is read once into Arrow and registered as the view `alias`, so work
    that runs in DuckDB (the sync engine's diff) reads the same rows.
    """
    import duckdb

    if settings.dbt_target == "duckdb":
        rel = resolve(relation)
        try:
            duck.execute(f"describe select * from {rel}")
        except duckdb.CatalogException as exc:
            raise RelationNotFoundError(f"relation {relation!r} not found") from exc
        return rel
    with connect(settings, read_only=True) as con:
        con.columns(relation)  # RelationNotFoundError when missing
        table = con.fetch_arrow(f"select * from {con.relation(relation)}")
    duck.register(alias, table)
    return quote(alias)
