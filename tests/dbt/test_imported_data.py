"""End to end through the importer: generated orders exported as a transactions CSV,
imported with the generic importer, built with dbt, reconciled with the generated data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from ingest.export import export_transactions_csv
from ingest.importers import import_csv_orders
from warehouse.dbt import run_dbt

from .conftest import Warehouse


def test_generate_import_build(warehouse: Warehouse, tmp_path: Path) -> None:
    csv_path = tmp_path / "transactions.csv"
    rows = export_transactions_csv(warehouse.raw_dir, csv_path)
    raw_dir = tmp_path / "imported"
    report = import_csv_orders(csv_path, raw_dir)
    assert report.input_rows == rows
    assert report.rejected_rows == 0, report.rejected_by_reason

    db = tmp_path / "imported.duckdb"
    run_dbt(["build", "--exclude", "test_type:unit"], raw_dir=raw_dir, duckdb_path=db)

    generated = pq.read_table(warehouse.raw_dir / "orders.parquet")
    with duckdb.connect(str(db), read_only=True) as con:
        (orders, gross) = con.execute(
            "select count(*), sum(total_amount) from core.fct_orders"
        ).fetchone()
        (persons, ordering_persons) = con.execute(
            "select count(*), (select count(distinct person_id) from core.fct_orders)"
            " from core.dim_customers"
        ).fetchone()
    assert orders == generated.num_rows
    assert gross == sum(v.as_py() for v in generated["total"])
    # an import knows people only through their orders: every person ordered, and the
    # orders' account/email/phone keys are stitched into far fewer persons than orders
    assert 0 < persons == ordering_persons < orders
