"""The raw contract: the tables every importer and the sample-data generator write.

One place defines the columns and their types; importers coerce to it, the generator
produces it, and dbt's staging sources read exactly these columns (see
`dbt_project/models/staging/shop/_shop__sources.yml`).

Raw tables are stored as Parquet files, one per table, under the raw directory
(`RW_RAW_DIR`, default `data/raw/`): `<raw_dir>/<table>.parquet`. Quarantined rows go to
`<raw_dir>/_rejected/<table>.parquet` with the original values as strings plus
`source_file`, `source_row` and `reason`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)


@dataclass(frozen=True)
class Table:
    name: str
    schema: pa.Schema
    primary_key: tuple[str, ...]
    description: str

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in fields])


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "customers",
            _schema(
                ("customer_id", pa.string()),
                ("email", pa.string()),
                ("phone", pa.string()),
                ("first_name", pa.string()),
                ("last_name", pa.string()),
                ("country", pa.string()),
                ("created_at", TS),
                ("updated_at", TS),
            ),
            ("customer_id",),
            "Shop accounts, one row per account.",
        ),
        Table(
            "orders",
            _schema(
                ("order_id", pa.string()),
                ("customer_id", pa.string()),
                ("email", pa.string()),
                ("phone", pa.string()),
                ("anonymous_id", pa.string()),
                ("ordered_at", TS),
                ("status", pa.string()),
                ("currency", pa.string()),
                ("subtotal", MONEY),
                ("discount", MONEY),
                ("shipping", MONEY),
                ("tax", MONEY),
                ("total", MONEY),
                ("discount_code", pa.string()),
                # the buyer as written on the order (billing); guests have no account row
                ("first_name", pa.string()),
                ("last_name", pa.string()),
                ("country", pa.string()),
            ),
            ("order_id",),
            "Orders, including guest checkouts (customer_id null).",
        ),
        Table(
            "order_items",
            _schema(
                ("order_id", pa.string()),
                ("line_number", pa.int32()),
                ("product_id", pa.string()),
                ("quantity", pa.int32()),
                ("unit_price", MONEY),
                ("discount", MONEY),
            ),
            ("order_id", "line_number"),
            "Order lines.",
        ),
        Table(
            "products",
            _schema(
                ("product_id", pa.string()),
                ("sku", pa.string()),
                ("name", pa.string()),
                ("category", pa.string()),
                ("price", MONEY),
                ("unit_cost", MONEY),
                ("is_consumable", pa.bool_()),
                ("replenishment_days", pa.int32()),
            ),
            ("product_id",),
            "Product catalogue.",
        ),
        Table(
            "refunds",
            _schema(
                ("order_id", pa.string()),
                ("refunded_at", TS),
                ("amount", MONEY),
                ("reason", pa.string()),
            ),
            (),
            "Refunds; an order may have several.",
        ),
        Table(
            "events",
            _schema(
                ("event_id", pa.string()),
                ("anonymous_id", pa.string()),
                ("customer_id", pa.string()),
                ("email", pa.string()),
                ("event_type", pa.string()),
                ("product_id", pa.string()),
                ("in_stock", pa.bool_()),
                ("occurred_at", TS),
            ),
            ("event_id",),
            "Web/app behavioural events.",
        ),
        Table(
            "email_events",
            _schema(
                ("event_id", pa.string()),
                ("email", pa.string()),
                ("workflow", pa.string()),
                ("message_id", pa.string()),
                ("event_type", pa.string()),
                ("occurred_at", TS),
            ),
            ("event_id",),
            "Email engagement events from the marketing platform.",
        ),
        Table(
            "consents",
            _schema(
                ("email", pa.string()),
                ("phone", pa.string()),
                ("customer_id", pa.string()),
                ("channel", pa.string()),
                ("status", pa.string()),
                ("source", pa.string()),
                ("legal_basis", pa.string()),
                ("recorded_at", TS),
            ),
            (),
            "Consent opt-ins and opt-outs per channel over time.",
        ),
    ]
}


def conform(table: pa.Table, name: str) -> pa.Table:
    """`table` in the contract schema of raw table `name`; contract columns it lacks (e.g.
    the buyer's name on an order, which the generator does not model) are null."""
    schema = TABLES[name].schema
    for f in schema:
        if f.name not in table.column_names:
            table = table.append_column(f.name, pa.nulls(table.num_rows, f.type))
    return table.select(schema.names).cast(schema)


# `pending`: ordered, not (yet) paid (pending, authorized, awaiting payment); never revenue
ORDER_STATUSES = ("paid", "pending", "cancelled", "refunded", "partially_refunded")
EVENT_TYPES = (
    "page_view",
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "purchase",
    "login",
    "signup",
    "search",
)
EMAIL_EVENT_TYPES = (
    "sent",
    "delivered",
    "open",
    "click",
    "unsubscribe",
    "bounce",
    "spam_complaint",
)
CONSENT_CHANNELS = ("email", "sms", "push")
CONSENT_STATUSES = ("opt_in", "opt_out")

REJECTED_DIR = "_rejected"
REJECTED_EXTRA_COLUMNS = ("source_file", "source_row", "reason")
