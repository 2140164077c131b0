"""Shopify data already in a warehouse: the Fivetran and Airbyte staging adapters build the
same marts as the Shopify orders export imported with `rw-ingest import-shopify`.

The three fixtures describe one small shop (3 customers and a guest, 8 orders, refunds,
a voided order, a partially paid and an authorized order, a deleted test order), each
hand-written in its loader's public format: Fivetran's Shopify connector tables (soft
deletes with _fivetran_deleted, UTC timestamps without a zone, refund amounts spread over
order_line_refund and order_adjustment, payments in transaction) and
Airbyte's Shopify streams as a typing-and-deduping destination writes them (nested JSON
columns, an "append" history with two versions of an order, deletion records,
_airbyte_* columns, local times with offsets, total_outstanding).

A partially_paid order is revenue for what was paid on every path: the export's Total -
Outstanding Balance, Airbyte's total_price - total_outstanding, Fivetran's successful
sale/capture transactions (a failed sale and a test payment do not count)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ingest.contract import TABLES
from ingest.importers import import_shopify_orders
from warehouse.dbt import run_dbt

FIXTURES = Path(__file__).parent / "fixtures" / "shopify_loaders"
MARTS = {
    "core.dim_customers": "person_id",
    "core.fct_orders": "order_id",
    "core.fct_order_items": "order_id, line_number",
}
SELECT = [
    "--select",
    "+dim_customers",
    "+fct_orders",
    "+fct_order_items",
    "--indirect-selection",
    "cautious",
]

# Airbyte column types as the destination types the stream schemas (JSON for nested values)
AIRBYTE_JSON = {
    "customer",
    "billing_address",
    "shipping_address",
    "line_items",
    "shipping_lines",
    "discount_codes",
    "refunds",
    "total_shipping_price_set",
    "_airbyte_meta",
    "email_marketing_consent",
    "sms_marketing_consent",
    "default_address",
    "addresses",
    "refund_line_items",
    "order_adjustments",
    "transactions",
    "total_duties_set",
    "return",
    "variants",
    "options",
    "images",
    "image",
}
AIRBYTE_TIMESTAMPS = {
    "created_at",
    "updated_at",
    "cancelled_at",
    "processed_at",
    "published_at",
    "deleted_at",
    "_airbyte_extracted_at",
}
AIRBYTE_NUMBERS = {"subtotal_price", "total_discounts", "total_tax", "total_price", "total_spent"}


def _airbyte_type(column: str, value: object) -> str:
    if column in AIRBYTE_JSON:
        return "JSON"
    if column in AIRBYTE_TIMESTAMPS:
        return "TIMESTAMPTZ"
    if column in AIRBYTE_NUMBERS:
        return "DOUBLE"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int) or column == "user_id":
        return "BIGINT"
    return "VARCHAR"


def _load_fivetran(db: Path, schema: str) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(f"create schema {schema}")
        for path in sorted((FIXTURES / "fivetran").glob("*.csv")):
            con.execute(
                f'create table {schema}."{path.stem}" as select * from read_csv(?, header=true)',
                [str(path)],
            )


def _load_airbyte(db: Path, schema: str) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(f"create schema {schema}")
        for path in sorted((FIXTURES / "airbyte").glob("*.jsonl")):
            records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
            columns = {c: _airbyte_type(c, v) for c, v in records[0].items()}
            select = ", ".join(
                f"json -> '{c}' as \"{c}\""
                if t == "JSON"
                else f"cast(json ->> '{c}' as {t}) as \"{c}\""
                for c, t in columns.items()
            )
            con.execute(
                f"create table {schema}.{path.stem} as "
                f"select {select} from read_json_objects(?, format='newline_delimited')",
                [str(path)],
            )


def _empty_raw(raw_dir: Path) -> None:
    """A loader carries no web or email events: those raw tables exist, empty."""
    raw_dir.mkdir(parents=True)
    for name in ("events", "email_events"):
        pq.write_table(TABLES[name].schema.empty_table(), raw_dir / f"{name}.parquet")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("loaders")
    dbs = {}

    raw = root / "csv_raw"
    report = import_shopify_orders(FIXTURES / "shopify_orders_export.csv", raw)
    assert report.rejected_rows == 0, report.rejected_by_reason
    dbs["csv"] = root / "csv.duckdb"
    run_dbt(["build", *SELECT], raw_dir=raw, duckdb_path=dbs["csv"])

    raw = root / "loader_raw"
    _empty_raw(raw)
    dbs["fivetran"] = root / "fivetran.duckdb"
    _load_fivetran(dbs["fivetran"], "shopify")
    run_dbt(
        ["build", *SELECT],
        raw_dir=raw,
        duckdb_path=dbs["fivetran"],
        dbt_vars={"shop_source": "fivetran"},
    )

    dbs["airbyte"] = root / "airbyte.duckdb"
    _load_airbyte(dbs["airbyte"], "airbyte_shopify")
    run_dbt(
        ["build", *SELECT],
        raw_dir=raw,
        duckdb_path=dbs["airbyte"],
        dbt_vars={"shop_source": "airbyte", "airbyte_shopify_schema": "airbyte_shopify"},
    )
    return dbs


def _rows(db: Path, table: str, key: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select * from {table} order by {key}").fetchall()


@pytest.mark.parametrize("loader", ["fivetran", "airbyte"])
@pytest.mark.parametrize("table", list(MARTS))
def test_loader_builds_the_same_marts_as_the_export(
    built: dict[str, Path], loader: str, table: str
) -> None:
    expected = _rows(built["csv"], table, MARTS[table])
    assert expected, table
    assert _rows(built[loader], table, MARTS[table]) == expected


@pytest.mark.parametrize("path", ["csv", "fivetran", "airbyte"])
def test_the_shop_in_numbers(built: dict[str, Path], path: str) -> None:
    with duckdb.connect(str(built[path]), read_only=True) as con:
        orders = con.execute(
            "select count(*), count(*) filter (where is_paid), sum(total_amount),"
            " sum(refunded_amount), sum(net_revenue) from core.fct_orders"
        ).fetchone()
        special = con.execute(
            "select order_id, is_paid, total_amount from core.fct_orders"
            " where order_id in ('5008', '5009') order by 1"
        ).fetchall()
        lines = con.execute(
            "select count(*), sum(quantity), count(distinct product_id),"
            " count(*) filter (where product_id like 'name-%') from core.fct_order_items"
        ).fetchone()
        persons = con.execute(
            "select count(*), count(*) filter (where is_email_consented),"
            " string_agg(country, ',' order by country) filter (where customer_ids <> '')"
            " from core.dim_customers"
        ).fetchone()
    # #1001..#1009 without the deleted test order #1007; #1006 voided (cancelled), #1009
    # authorized (pending: not revenue), #1008 partially_paid (paid: 50.00 of 130.00)
    assert orders[:2] == (8, 6)
    assert orders[2] == Decimal("652.49")  # 557.49 + 50.00 (#1008) + 45.00 (#1009)
    assert orders[3] == Decimal("125.50")  # 50.50 (mug + shipping) + 75.00 (whole order)
    assert special == [("5008", True, Decimal("50.00")), ("5009", False, Decimal("45.00"))]
    # order lines: 1 + 2 + 1 + 2 + 1 + 1 + 1 of 2 + 2 + 1 + 3 + 1 + 2 + 2 + 1 units; the
    # candle has no SKU
    assert lines == (10, 14, 4, 1)
    # Anna, Jan, Eva and the guest; Anna and the guest accepted e-mail marketing; the
    # account holders' countries
    assert persons == (4, 2, "DE,PL,PL")
