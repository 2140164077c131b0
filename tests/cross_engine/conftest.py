"""One small generated shop, built by the real dbt project on DuckDB (the reference) and on
the other engines: a throwaway PostgreSQL cluster and Spark in local mode.

Each engine gets the raw contract through the project's own raw loader
(`rw-ingest load-raw`, ingest/raw_loader.py) and runs the full `dbt build` (seeds, models,
snapshots, data tests, unit tests). Tables are read back per engine as Python rows so the
marts can be compared value by value.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from ingest.generator import GenerationConfig, generate
from ingest.raw_loader import load_raw
from tests.engines import PostgresServer, postgres_server  # noqa: F401  (fixture)
from warehouse.dbt import DBT_PROJECT_DIR, dbt_args, dbt_env

# Relations compared across engines (the marts the issue names, plus the identity map).
COMPARED = (
    "intermediate.int_identifiers_stitched",
    "intermediate.int_records_persons",
    "core.dim_customers",
    "segmentation.customer_rfm",
    "segmentation.cohort_retention",
    "segmentation.audience_memberships",
    "segmentation.holdout_assignments",
)

# Small enough for Spark in local mode inside CI's time limit; big enough that every
# audience, RFM cell and holdout group is populated.
CUSTOMERS = 400
SEED = 11
END_DATE = date(2026, 11, 15)


# profiles.yml settings of the Spark session for the tiny shop
SPARK_TINY_DATA = {
    "RW_SPARK_SHUFFLE_PARTITIONS": "1",
    "RW_SPARK_ADAPTIVE": "false",
    "RW_SPARK_CODEGEN": "false",
    "RW_SPARK_DRIVER_MEMORY": "1g",
}


@dataclass
class EngineBuild:
    """A dbt build of the shared shop on one engine, and how to read its tables."""

    engine: str
    read_table: Callable[[str], tuple[list[str], list[tuple]]]
    build_seconds: float
    dbt_output: str = field(repr=False, default="")
    env: dict[str, str] = field(repr=False, default_factory=dict)  # of its dbt runs
    read_live: Callable[[str], tuple[list[str], list[tuple]]] | None = None  # not cached


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cross_engine_shop")
    generate(
        GenerationConfig(customers=CUSTOMERS, seed=SEED, end_date=END_DATE),
        raw_dir=root / "raw",
        truth_dir=root / "truth",
    )
    return root


def dbt_build(env: dict[str, str], command: tuple[str, ...] = ("build",)) -> tuple[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        dbt_args(list(command)), cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise AssertionError(
            f"dbt {' '.join(command)} failed on {env.get('RW_DBT_TARGET')} "
            f"(exit {result.returncode}):\n{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout, elapsed


def _base_env(shop: Path, engine: str) -> dict[str, str]:
    env = dbt_env(shop / "raw", shop / f"{engine}.duckdb")
    env["RW_DBT_TARGET"] = engine
    # each build writes its own artifacts: engines may build in parallel test workers
    env["DBT_TARGET_PATH"] = str(shop / f"target_{engine}")
    env["DBT_LOG_PATH"] = str(shop / f"logs_{engine}")
    return env


@pytest.fixture(scope="session")
def duckdb_build(shop: Path) -> EngineBuild:
    import duckdb

    env = _base_env(shop, "duckdb")
    output, seconds = dbt_build(env)
    path = shop / "duckdb.duckdb"

    def read_table(relation: str) -> tuple[list[str], list[tuple]]:
        with duckdb.connect(str(path), read_only=True) as con:
            result = con.execute(f"select * from {relation}")
            return [d[0] for d in result.description], result.fetchall()

    return _built(EngineBuild("duckdb", read_table, seconds, output, env))


@pytest.fixture(scope="session")
def postgres_build(shop: Path, postgres_server: PostgresServer) -> EngineBuild:  # noqa: F811
    import psycopg

    # sessions in UTC, as the profile's README section asks of any PostgreSQL
    env = _base_env(shop, "postgres") | postgres_server.env() | {"PGTZ": "UTC"}
    started = time.perf_counter()
    load_raw("postgres", shop / "raw", env=env)
    output, _ = dbt_build(env)

    def read_table(relation: str) -> tuple[list[str], list[tuple]]:
        with psycopg.connect(postgres_server.dsn) as con, con.cursor() as cur:
            cur.execute("set time zone 'UTC'")
            cur.execute(f"select * from {relation}")
            return [d.name for d in cur.description], cur.fetchall()

    return _built(EngineBuild("postgres", read_table, time.perf_counter() - started, output, env))


@pytest.fixture(scope="session")
def spark_build(shop: Path) -> EngineBuild:
    import pyarrow.dataset as ds

    warehouse_dir = shop / "spark"
    env = _base_env(shop, "spark")
    env["RW_SPARK_WAREHOUSE_DIR"] = str(warehouse_dir)
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    # Tiny data: every query is planning, code generation and task start-up, not data.
    # One shuffle partition, no adaptive re-planning, no whole-stage code generation and
    # a small heap make the ~380 nodes of the build about twice as fast as the defaults.
    for name, value in SPARK_TINY_DATA.items():
        env.setdefault(name, value)
    started = time.perf_counter()
    load_raw("spark", shop / "raw", env=env)
    output, _ = dbt_build(env)

    def read_table(relation: str) -> tuple[list[str], list[tuple]]:
        # Spark's managed tables are Parquet directories <warehouse>/<schema>.db/<table>:
        # read the files directly (the Derby metastore admits one process at a time)
        schema, table = relation.split(".")
        location = warehouse_dir / f"{schema}.db" / table
        data = ds.dataset(location, format="parquet", partitioning="hive").to_table()
        return data.column_names, list(zip(*(c.to_pylist() for c in data.columns), strict=True))

    return _built(EngineBuild("spark", read_table, time.perf_counter() - started, output, env))


def _built(build: EngineBuild) -> EngineBuild:
    """Read the compared relations at once: the comparisons then need no live server (a
    Spark build of the next engine takes minutes)."""
    tables = {relation: build.read_table(relation) for relation in COMPARED}
    build.read_live, build.read_table = build.read_table, tables.__getitem__
    # the time CI spends per engine (raw load + full dbt build), shown with `pytest -s`
    print(f"\n[cross-engine] {build.engine}: raw load + dbt build {build.build_seconds:.0f} s")
    return build


def engine_build(request: pytest.FixtureRequest, engine: str) -> EngineBuild:
    return request.getfixturevalue(f"{engine}_build")


def selected_engines() -> list[str]:
    """Engines compared with DuckDB: RW_DBT_TARGET picks one, else RW_TEST_ENGINES (a comma
    list; default both, as `make test` and `make test-engines` run them)."""
    target = os.environ.get("RW_DBT_TARGET", "")
    if target in ("postgres", "spark"):
        return [target]
    listed = os.environ.get("RW_TEST_ENGINES", "postgres,spark").split(",")
    return [engine.strip() for engine in listed if engine.strip() in ("postgres", "spark")]


def engine_params() -> list:
    """selected_engines() as test parameters, each engine's tests in one xdist group: under
    `pytest -n 2 --dist loadgroup` an engine's build runs once, on one worker."""
    return [
        pytest.param(engine, marks=pytest.mark.xdist_group(f"engine_{engine}"))
        for engine in selected_engines()
    ]
