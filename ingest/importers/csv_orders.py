"""Importer for a generic transactions/orders CSV.

One row per order, or one row per order line (rows sharing an order id and its order-level
values are the lines of that order). Column names are configurable with
`CsvColumnMapping`; other knobs (time zone, timestamp formats, status vocabulary) live in
`CsvImportOptions`, loadable from YAML/JSON:

```yaml
columns:            # contract field: column name in your file (null = not in the file)
  order_id: Order Number
  customer_id: Customer
  ordered_at: Date
  amount: Total
timezone: Europe/Warsaw          # for timestamps without an offset (default UTC)
timestamp_formats: ["%d.%m.%Y %H:%M"]   # optional strptime patterns; default: ISO 8601 etc.
default_currency: PLN
status_map: {completed: paid}    # extends DEFAULT_STATUS_MAP
amount_level: order              # or `line`: amount is a line total, orders sum it
```

Rules (see `ingest.importers.common.RejectReason` for the codes):
- required per row: order id, customer key, timestamp, amount (the order total, repeated on
  every line row of the order; with `amount_level: line` the line total, summed per order);
  with item columns (product id or sku) also a product key;
- order-level values (customer, timestamp, amount, email, phone, currency, status, money
  columns, discount code, name, country) must agree across an order's rows: a row that
  conflicts with the order's first row is rejected as `duplicate_order_id`, as is a row
  repeating an order without item columns or an exact repeat of an earlier line;
- with item columns an order is loaded whole or not at all: when one of its rows is
  rejected for a bad value, its other rows are rejected as `related_row_rejected`;
- `--append`: orders whose id is already in raw `orders.parquet` are `already_imported`.

Outputs: customers (distinct customer keys; created_at/updated_at = first/last order seen,
other attributes from the last row in the file that has them), orders, order_items and
products (only when item columns exist; product_id = product id, else sku).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator

from ingest.contract import ORDER_STATUSES
from ingest.importers.common import (
    Field,
    FieldSet,
    ImportFileError,
    ImportReport,
    ImportSession,
    RejectReason,
    ident,
    lit,
)

logger = logging.getLogger(__name__)

OWNED_TABLES = ("customers", "orders", "order_items", "products")
REQUIRED_FIELDS = ("order_id", "customer_id", "ordered_at", "amount")
ORDER_LEVEL_FIELDS = (
    "customer_id",
    "ordered_at",
    "amount",
    "email",
    "phone",
    "first_name",
    "last_name",
    "country",
    "currency",
    "status",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "discount_code",
)
ITEM_FIELDS = (
    "product_id",
    "sku",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "line_discount",
)

# Lower-cased source status -> contract status. An empty status means paid.
DEFAULT_STATUS_MAP: dict[str, str] = {
    "paid": "paid",
    "complete": "paid",
    "completed": "paid",
    "fulfilled": "paid",
    "shipped": "paid",
    "delivered": "paid",
    "processing": "paid",
    "success": "paid",
    "succeeded": "paid",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "voided": "cancelled",
    "void": "cancelled",
    "refunded": "refunded",
    "partially_refunded": "partially_refunded",
    "partially refunded": "partially_refunded",
    "partial_refund": "partially_refunded",
}


class CsvColumnMapping(BaseModel):
    """Contract field -> column name in the CSV. Required: order_id, customer_id, ordered_at,
    amount. Optional columns are used when the file has them; naming an optional column
    explicitly that the file lacks is an error; set it to None to ignore a column."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = "order_id"
    customer_id: str = "customer_id"
    ordered_at: str = "ordered_at"
    amount: str = "amount"
    email: str | None = "email"
    phone: str | None = "phone"
    first_name: str | None = "first_name"
    last_name: str | None = "last_name"
    country: str | None = "country"
    currency: str | None = "currency"
    status: str | None = "status"
    subtotal: str | None = "subtotal"
    discount: str | None = "discount"
    shipping: str | None = "shipping"
    tax: str | None = "tax"
    discount_code: str | None = "discount_code"
    product_id: str | None = "product_id"
    sku: str | None = "sku"
    product_name: str | None = "product_name"
    category: str | None = "category"
    quantity: str | None = "quantity"
    unit_price: str | None = "unit_price"
    line_discount: str | None = "line_discount"

    def with_overrides(self, overrides: dict[str, str | None]) -> CsvColumnMapping:
        unknown = set(overrides) - set(type(self).model_fields)
        if unknown:
            raise ValueError(
                f"unknown mapping field(s) {sorted(unknown)}; "
                f"known: {', '.join(type(self).model_fields)}"
            )
        explicit = {k: getattr(self, k) for k in self.model_fields_set}
        return CsvColumnMapping(**{**explicit, **overrides})


class CsvImportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: CsvColumnMapping = CsvColumnMapping()
    timezone: str = "UTC"
    timestamp_formats: list[str] | None = None
    default_currency: str | None = None
    status_map: dict[str, str] = {}
    delimiter: str = ","
    # "order": the amount column is the order total, repeated on each line row;
    # "line": it is the line total and the order total is the sum over the order's rows
    amount_level: Literal["order", "line"] = "order"
    encoding: str = "utf-8"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("timestamp_formats", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("status_map")
    @classmethod
    def _valid_statuses(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {k: s for k, s in v.items() if s not in ORDER_STATUSES}
        if bad:
            raise ValueError(f"status_map targets must be one of {ORDER_STATUSES}: {bad}")
        return {k.strip().lower(): s for k, s in v.items()}

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        if v is not None and (len(v) != 3 or not v.isalpha()):
            raise ValueError(f"default_currency must be a 3-letter code, got {v!r}")
        return v.upper() if v else v

    @property
    def effective_status_map(self) -> dict[str, str]:
        return {**DEFAULT_STATUS_MAP, **self.status_map}

    @classmethod
    def from_file(cls, path: Path | str) -> CsvImportOptions:
        """Load from YAML or JSON. A file holding only column keys is read as `columns`."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
        data = data or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        mapping_fields = set(CsvColumnMapping.model_fields)
        if "columns" not in data and data and set(data) <= mapping_fields:
            data = {"columns": data}
        return cls.model_validate(data)


def _resolve_columns(
    mapping: CsvColumnMapping, header: list[str], path: Path
) -> dict[str, str | None]:
    resolved: dict[str, str | None] = {}
    missing = []
    for name in type(mapping).model_fields:
        column = getattr(mapping, name)
        if column is not None and column in header:
            resolved[name] = column
        elif column is not None and (name in REQUIRED_FIELDS or name in mapping.model_fields_set):
            missing.append(f"{name} -> {column!r}")
            resolved[name] = None
        else:
            resolved[name] = None
    if missing:
        raise ImportFileError(
            f"{path}: column(s) not found in the header: {'; '.join(missing)}. "
            f"Header: {', '.join(header)}. Map them with --column FIELD=NAME or --mapping."
        )
    return resolved


def _struct(names) -> str:
    return "struct_pack(" + ", ".join(f"{ident(n)} := {ident(n)}" for n in names) + ")"


def import_csv_orders(
    path: Path | str,
    raw_dir: Path | str | None = None,
    options: CsvImportOptions | None = None,
    *,
    append: bool = False,
) -> ImportReport:
    """Import a generic orders CSV into the raw contract under `raw_dir`."""
    options = options or CsvImportOptions()
    if raw_dir is None:
        from warehouse.settings import get_settings

        raw_dir = get_settings().raw_dir
    with ImportSession(
        path,
        raw_dir,
        importer="csv_orders",
        owned_tables=OWNED_TABLES,
        append=append,
        timezone=options.timezone,
    ) as session:
        src = session.load_csv(
            encoding=options.encoding,
            delimiter=options.delimiter,
            check_header=lambda names: _resolve_columns(
                options.columns, names, session.source_file
            ),
        )
        cols = _resolve_columns(options.columns, src.names, session.source_file)
        has_items = cols["product_id"] is not None or cols["sku"] is not None
        kinds = {
            "order_id": "key",
            "customer_id": "key",
            "ordered_at": "timestamp",
            "amount": "money",
            "country": "key",
            "currency": "key",
            "status": "key",
            "subtotal": "money",
            "discount": "money",
            "shipping": "money",
            "tax": "money",
            "discount_code": "key",
            "product_id": "key",
            "sku": "key",
            "quantity": "integer",
            "unit_price": "money",
            "line_discount": "money",
        }
        fields = [
            Field(
                name,
                cols[name],
                kinds.get(name, "text"),
                required=name in REQUIRED_FIELDS,
            )
            for name in cols
        ]
        fs = FieldSet(fields, src.col_ids, options.timestamp_formats)
        smap = options.effective_status_map
        status_case = (
            "case when status__raw is null then 'paid' "
            + " ".join(f"when lower(status__raw) = {lit(k)} then {lit(v)}" for k, v in smap.items())
            + " end"
        )
        currency = (
            f"coalesce(upper(currency), {lit(options.default_currency)})"
            if options.default_currency
            else "upper(currency)"
        )
        extra = [
            (
                RejectReason.INVALID_VALUE,
                "status__raw is not null and status_norm is null",
                f"{lit((cols['status'] or 'status') + '=')} || '''' || status__raw || '''' "
                "|| ' is not a known status (add it to status_map)'",
            ),
            (
                RejectReason.INVALID_VALUE,
                "currency_norm is not null and not regexp_full_match(currency_norm, '[A-Z]{3}')",
                f"{lit((cols['currency'] or 'currency') + '=')} || '''' || currency__raw || '''' "
                "|| ' is not a 3-letter currency code'",
            ),
        ]
        if has_items:
            label = "/".join(c for c in (cols["product_id"], cols["sku"]) if c)
            extra.insert(
                0,
                (
                    RejectReason.MISSING_REQUIRED,
                    "product_id is null and sku is null",
                    lit(f"{label} is empty"),
                ),
            )
        con = session.con
        session.run(
            f"""
            create table p as
            with r as (select source_row, {fs.raw_projection()} from src),
            t as (select *, {fs.typed_projection()} from r),
            s as (select *, {status_case} as status_norm, {currency} as currency_norm from t)
            select *, {fs.checks(extra)} as own_reason from s
            """,
            "p",
        )
        line_amounts = options.amount_level == "line"
        order_level = [f for f in ORDER_LEVEL_FIELDS if not (line_amounts and f == "amount")]
        sig_fields = [
            ("currency_norm" if f == "currency" else "status_norm" if f == "status" else f)
            for f in order_level
        ]
        order_sig = _struct(sig_fields)
        item_sig = _struct([*ITEM_FIELDS, "amount"] if line_amounts else ITEM_FIELDS)
        differs = (
            "concat_ws(', ', "
            + ", ".join(
                f"case when x.{ident(f)} is distinct from f.{ident(f)} then {lit(cols[o] or o)} end"
                for f, o in zip(sig_fields, order_level, strict=True)
            )
            + ")"
        )
        total = "sum(amount) over (partition by order_id)" if line_amounts else "amount"
        oid_label = lit(f"{cols['order_id']}=")
        # hash aggregates and joins rather than window sorts: fast on many millions of rows
        session.run(
            f"""
            create table v as
            select source_row, order_id, hash({order_sig}) as order_sig,
                hash({order_sig}, {item_sig}) as row_sig
            from p where own_reason is null
            """,
            "v",
        )
        repeat_of = "o.first_row" if not has_items else "s.same_first"
        repeat_msg = (
            "'repeats the order of row '" if not has_items else "'is an exact repeat of row '"
        )
        session.run(
            f"""
            create table dup as
            with firsts as (
                select order_id, min(source_row) as first_row from v group by order_id
            ),
            o as (
                select firsts.order_id, first_row, v.order_sig as first_sig
                from firsts join v on v.source_row = firsts.first_row
            ),
            s as (
                select order_id, row_sig, min(source_row) as same_first
                from v group by order_id, row_sig
            ),
            flagged as (
                select v.source_row, v.order_id, o.first_row, {repeat_of} as repeat_of,
                    v.order_sig <> o.first_sig as conflicts
                from v join o using (order_id) join s using (order_id, row_sig)
                where v.order_sig <> o.first_sig or v.source_row <> {repeat_of}
            )
            select d.source_row,
                'duplicate_order_id: ' || {oid_label} || '''' || d.order_id || ''' ' ||
                case
                    when d.conflicts then
                        'conflicts with row ' || d.first_row || ' (' || {differs} || ')'
                    else {repeat_msg} || d.repeat_of
                end as dup_reason
            from flagged d
            join p x on x.source_row = d.source_row
            join p f on f.source_row = d.first_row
            """,
            "dup",
        )
        related = "NULL::VARCHAR"
        if has_items:
            related = (
                "case when bad.first_bad is not null then 'related_row_rejected: ' || "
                f"{oid_label} || '''' || p.order_id || ''': row ' || bad.first_bad || "
                "' of this order was rejected (' || bad.code || ')' end"
            )
        existing = session.existing("orders") if append else None
        already = "NULL::VARCHAR"
        existing_join = ""
        if existing is not None:
            con.execute(
                "create table old_orders as select distinct order_id "
                f"from read_parquet({lit(str(existing))})"
            )
            existing_join = "left join old_orders o on o.order_id = p.order_id"
            already = (
                "case when o.order_id is not null then 'already_imported: ' || "
                f"{oid_label} || '''' || p.order_id || ''' is already in raw orders' end"
            )
        session.run(
            f"""
            create table row_status as
            with bad as (
                select order_id, min(source_row) as first_bad,
                    arg_min(split_part(own_reason, ':', 1), source_row) as code
                from p where own_reason is not null and order_id is not null group by order_id
            )
            select p.source_row,
                coalesce(p.own_reason, dup.dup_reason, {related}, {already}) as reason
            from p
            left join dup using (source_row)
            left join bad on bad.order_id = p.order_id
            {existing_join}
            """,
            "row_status",
        )
        con.execute(
            "create table ok as select p.* from p join row_status r using (source_row) "
            "where r.reason is null"
        )
        outputs: dict[str, str | None] = {
            "orders": f"""
                select order_id, customer_id, email, phone, NULL as anonymous_id, ordered_at,
                    status_norm as status, currency_norm as currency, subtotal, discount,
                    shipping, tax, {total} as total, discount_code
                from ok
                qualify row_number() over (partition by order_id order by source_row) = 1
            """,
            "customers": """
                select customer_id,
                    arg_max(email, source_row) filter (where email is not null) as email,
                    arg_max(phone, source_row) filter (where phone is not null) as phone,
                    arg_max(first_name, source_row) filter (where first_name is not null)
                        as first_name,
                    arg_max(last_name, source_row) filter (where last_name is not null)
                        as last_name,
                    arg_max(country, source_row) filter (where country is not null) as country,
                    min(ordered_at) as created_at,
                    max(ordered_at) as updated_at
                from ok group by customer_id
            """,
            "order_items": None,
            "products": None,
        }
        if has_items:
            outputs["order_items"] = """
                select order_id,
                    row_number() over (partition by order_id order by source_row) as line_number,
                    coalesce(product_id, sku) as product_id,
                    coalesce(quantity, 1) as quantity,
                    unit_price,
                    line_discount as discount
                from ok
            """
            outputs["products"] = """
                select coalesce(product_id, sku) as product_id,
                    arg_max(sku, source_row) filter (where sku is not null) as sku,
                    arg_max(product_name, source_row) filter (where product_name is not null)
                        as name,
                    arg_max(category, source_row) filter (where category is not null)
                        as category,
                    arg_max(unit_price, source_row) filter (where unit_price is not null)
                        as price,
                    NULL as unit_cost, NULL as is_consumable, NULL as replenishment_days
                from ok group by 1
            """
        else:
            session.notes.append("no item columns (product_id/sku): order_items/products empty")
        report = session.finish(outputs)
    logger.info(report.summary().splitlines()[0])
    return report
