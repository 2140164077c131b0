"""The raw loader puts the raw contract into PostgreSQL's `raw` schema exactly."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from ingest.contract import TABLES
from ingest.raw_loader import load_raw, postgres_type, raw_files
from tests.engines import PostgresServer, postgres_server  # noqa: F401  (fixture)


def test_every_contract_column_has_a_postgres_type() -> None:
    for table in TABLES.values():
        for field in table.schema:
            assert postgres_type(field.type)


def test_a_missing_raw_table_is_an_error_naming_the_file(shop: Path, tmp_path: Path) -> None:
    shutil.copytree(shop / "raw", tmp_path / "raw")
    (tmp_path / "raw" / "refunds.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="raw table 'refunds' not found: .*refunds.parquet"):
        raw_files(tmp_path / "raw")


@pytest.mark.xdist_group("engine_postgres")  # the worker that has the cluster already
def test_postgres_load_is_exact_and_a_reload_replaces(
    shop: Path,
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    raw_dir = tmp_path / "raw"
    shutil.copytree(shop / "raw", raw_dir)
    env = postgres_server.env()
    load_raw("postgres", raw_dir, env=env)

    # the world changes: fewer orders arrive in the next export; the reload replaces
    orders = pq.read_table(raw_dir / "orders.parquet")
    pq.write_table(orders.slice(0, orders.num_rows // 2), raw_dir / "orders.parquet")
    load_raw("postgres", raw_dir, env=env)

    with psycopg.connect(postgres_server.dsn) as con, con.cursor() as cur:
        for name in TABLES:
            cur.execute(f"select count(*) from raw.{name}")
            assert (
                cur.fetchone()[0] == pq.ParquetFile(raw_dir / f"{name}.parquet").metadata.num_rows
            )
        expected = pq.read_table(raw_dir / "orders.parquet").to_pylist()[0]
        cur.execute("set time zone 'UTC'")
        cur.execute(
            "select order_id, ordered_at, total, discount_code, customer_id from raw.orders"
            " where order_id = %s",
            [expected["order_id"]],
        )
        order_id, ordered_at, total, discount_code, customer_id = cur.fetchone()
    assert (order_id, ordered_at, discount_code, customer_id) == (
        expected["order_id"],
        expected["ordered_at"],
        expected["discount_code"],
        expected["customer_id"],
    )
    assert isinstance(total, Decimal) and total == expected["total"]
