"""Importer for a generic orders CSV, and the machinery the shop-platform importers share.

One row per order, or one row per order line (rows sharing an order id and its order-level
values are the lines of that order). Whatever is not set is detected from the file
(`ingest.importers.sniff`): encoding (UTF-8 with or without BOM, Windows-1250, ...),
delimiter (`,` `;` tab), decimal comma, date format and which column holds which field
(common English and Polish header names). `rw-ingest inspect FILE` shows what was detected.
Everything can be set in `CsvImportOptions`, loadable from YAML/JSON:

```yaml
columns:            # contract field: column name in your file (null = ignore the column)
  order_id: Order Number
  customer_id: Customer
  ordered_at: Date
  amount: Total
timezone: Europe/Warsaw          # for timestamps without an offset (default UTC)
timestamp_formats: ["%d.%m.%Y %H:%M"]   # strptime patterns; default: detected
default_currency: PLN
status_map: {completed: paid}    # extends DEFAULT_STATUS_MAP
amount_level: order              # or `line`: amount is a line total, orders sum it
decimal_comma: true              # default: detected from the money columns
```

Rules (see `ingest.importers.common.RejectReason` for the codes):
- required per row: an order id, a timestamp, and an amount (the order total, repeated on
  every line row of the order; with `amount_level: line` the line total, summed per order)
  or order lines (without an amount column the order total is the sum of its lines,
  `line_total` or quantity x unit_price - line_discount, plus shipping minus discount);
- customer id, email, phone and device id are optional: an order with none of them is
  loaded as an unidentified order and counted in the report (`unidentified_orders`);
  `null_customer_ids` lists values meaning "no account" (WooCommerce writes 0 for guests);
- ids are read as text: `00017` stays `00017`;
- with product columns (product id or sku) a line needs one of them or a product name; a
  quantity, unit price or line total without any product column is a line of one unnamed
  product (`UNNAMED_PRODUCT_ID`);
- order-level values (customer, timestamp, amount, email, phone, currency, status, money
  columns, discount code, name, country) must agree across an order's rows: a row that
  conflicts with the order's first row is rejected as `duplicate_order_id`, as is a row
  repeating an order without item columns or an exact repeat of an earlier line;
- with item columns an order is loaded whole or not at all: when one of its rows is
  rejected for a bad value, its other rows are rejected as `related_row_rejected`;
- `--append`: orders whose id is already in raw `orders.parquet` are `already_imported`;
- `max_rejected_share`: when more rows than that share are rejected nothing is written
  (`TooManyRejectedError`, the CLI's default is 5 %).

Outputs: customers (distinct customer ids; created_at/updated_at = first/last order seen,
other attributes from the last row in the file that has them), orders (with the buyer's
name and country as written on the order), order_items and products (when there are
order lines; product_id = product id, else sku, else `name-` + hash of the name), refunds
(the `refunded` column where > 0, else the whole total of `refunded` orders). Zero-value,
guest and unidentified orders are counted in the report's facts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator

from ingest.contract import ORDER_STATUSES
from ingest.importers import sniff
from ingest.importers.common import (
    UNNAMED_PRODUCT_ID,
    Field,
    FieldSet,
    ImportFileError,
    ImportReport,
    ImportSession,
    RejectReason,
    currency_from_amount_sql,
    first_name_sql,
    ident,
    last_name_sql,
    lit,
    product_key_sql,
)

logger = logging.getLogger(__name__)

OWNED_TABLES = ("customers", "orders", "order_items", "products", "refunds")
REQUIRED_FIELDS = ("order_id", "ordered_at")
IDENTITY_FIELDS = ("customer_id", "email", "phone", "device_id")
ORDER_LEVEL_FIELDS = (
    "customer_id",
    "ordered_at",
    "amount",
    "email",
    "phone",
    "device_id",
    "first_name",
    "last_name",
    "full_name",
    "country",
    "currency",
    "status",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "discount_code",
    "refunded",
)
ITEM_FIELDS = (
    "product_id",
    "sku",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "line_total",
    "line_discount",
)
_KINDS = {
    "order_id": "key",
    "customer_id": "key",
    "device_id": "key",
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
    "refunded": "money",
    "product_id": "key",
    "sku": "key",
    "quantity": "integer",
    "unit_price": "money",
    "line_total": "money",
    "line_discount": "money",
}
_MONEY_FIELDS = [f for f, k in _KINDS.items() if k == "money"]

# Lower-cased source status -> contract status. An empty status means paid. `pending` is an
# order not (yet) paid: kept, never revenue.
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
    "pending": "pending",
    "pending payment": "pending",
    "pending_payment": "pending",
    "awaiting payment": "pending",
    "unpaid": "pending",
    "authorized": "pending",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "voided": "cancelled",
    "void": "cancelled",
    "failed": "cancelled",
    "refunded": "refunded",
    "partially_refunded": "partially_refunded",
    "partially refunded": "partially_refunded",
    "partial_refund": "partially_refunded",
    # Polish exports
    "opłacone": "paid",
    "zapłacone": "paid",
    "zrealizowane": "paid",
    "w realizacji": "paid",
    "wysłane": "paid",
    "dostarczone": "paid",
    "nowe": "pending",
    "nieopłacone": "pending",
    "oczekuje na płatność": "pending",
    "anulowane": "cancelled",
    "zwrócone": "refunded",
    "częściowo zwrócone": "partially_refunded",
}


class CsvColumnMapping(BaseModel):
    """Contract field -> column name in the CSV (None = ignore that column).

    Required: order_id, ordered_at, and amount or order lines. A field not set here uses
    the column of its own name when the file has it, else a column with a common header
    name for it (`sniff.HEADER_NAMES`) unless `CsvImportOptions.detect_columns` is off.
    Naming a column the file lacks is an error.
    """

    model_config = ConfigDict(extra="forbid")

    order_id: str | None = None
    ordered_at: str | None = None
    amount: str | None = None
    customer_id: str | None = None
    email: str | None = None
    phone: str | None = None
    device_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None  # split at the first space when there is no first/last name
    country: str | None = None
    currency: str | None = None
    status: str | None = None
    subtotal: str | None = None
    discount: str | None = None
    shipping: str | None = None
    tax: str | None = None
    discount_code: str | None = None
    refunded: str | None = None
    product_id: str | None = None
    sku: str | None = None
    product_name: str | None = None
    category: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    line_total: str | None = None
    line_discount: str | None = None

    def with_overrides(self, overrides: dict[str, str | None]) -> CsvColumnMapping:
        unknown = set(overrides) - set(type(self).model_fields)
        if unknown:
            raise ValueError(
                f"unknown mapping field(s) {sorted(unknown)}; "
                f"known: {', '.join(type(self).model_fields)}"
            )
        for name in REQUIRED_FIELDS:
            if name in overrides and overrides[name] is None:
                raise ValueError(
                    f"{name} is required and cannot be ignored; give the column that holds "
                    f"it, e.g. --column {name}='Order Number'"
                )
        explicit = {k: getattr(self, k) for k in self.model_fields_set}
        return CsvColumnMapping(**{**explicit, **overrides})


class CsvImportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: CsvColumnMapping = CsvColumnMapping()
    timezone: str = "UTC"
    timestamp_formats: list[str] | None = None  # None: ISO 8601, else detected
    default_currency: str | None = None
    status_map: dict[str, str] = {}
    delimiter: str | None = None  # None: detected (`,` `;` tab)
    # "order": the amount column is the order total, repeated on each line row;
    # "line": it is the line total and the order total is the sum over the order's rows
    amount_level: Literal["order", "line"] = "order"
    encoding: str | None = None  # None: detected
    decimal_comma: bool | None = None  # None: detected from the money columns
    detect_columns: bool = True  # propose columns from common header names
    # platform presets: field -> the platform's column names (first one in the file wins)
    aliases: dict[str, list[str]] = {}
    null_customer_ids: list[str] = []  # values meaning "no account" (guest checkout)

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

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str | None) -> str | None:
        if v is not None:
            v = {"\\t": "\t", "tab": "\t"}.get(v, v)
            if len(v) != 1:
                raise ValueError(f"delimiter must be one character, got {v!r}")
        return v

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
        for name in REQUIRED_FIELDS:
            if name in (data.get("columns") or {}) and data["columns"][name] is None:
                raise ValueError(f"{path}: columns.{name} is required and cannot be null")
        return cls.model_validate(data)


@dataclass
class Plan:
    """How a file will be read: detected or given format options and the column mapping."""

    path: Path
    encoding: str
    delimiter: str
    decimal_comma: bool
    timestamp_formats: list[str] | None
    columns: dict[str, str | None]  # field -> column (None: not in the file)
    column_source: dict[str, str]  # field -> "given" / "platform" / "same name" / "detected"
    header: list[str]
    sample: sniff.Sniffed
    notes: list[str] = field(default_factory=list)

    def mapping_yaml(self) -> str:
        """This reading as a `--mapping` file, so later imports do not depend on detection."""
        import yaml

        data = {
            "columns": {f: c for f, c in self.columns.items() if c is not None},
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "decimal_comma": self.decimal_comma,
        }
        if self.timestamp_formats:
            data["timestamp_formats"] = self.timestamp_formats
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

    @property
    def has_lines(self) -> bool:
        return any(self.columns[f] for f in ("product_id", "sku", "quantity", "line_total")) or (
            self.columns["unit_price"] is not None and self.columns["amount"] is None
        )


def plan_import(path: Path | str, options: CsvImportOptions, importer: str = "csv") -> Plan:
    """Detect what `options` leaves open and resolve the column mapping (no data loaded)."""
    path = Path(path)
    sample = sniff.sniff(path, options.encoding, options.delimiter)
    header = sample.header
    mapping = options.columns
    given = mapping.model_fields_set
    columns: dict[str, str | None] = {}
    source: dict[str, str] = {}
    missing = []
    for name in type(mapping).model_fields:
        column = getattr(mapping, name)
        if name in given:
            if column is not None and column not in header:
                missing.append(f"{name} -> {column!r}")
            columns[name] = column
            source[name] = "given"
            continue
        alias = next((c for c in options.aliases.get(name, []) if c in header), None)
        if alias is not None:
            columns[name], source[name] = alias, "platform"
        elif not options.aliases and name in header:
            columns[name], source[name] = name, "same name"
        else:
            columns[name] = None
    if missing:
        raise ImportFileError(
            f"{path}: column(s) not found in the header: {'; '.join(missing)}. "
            f"Header: {', '.join(header)}. Map them with --column FIELD=NAME or --mapping."
        )
    if options.detect_columns:
        taken = {c for c in columns.values() if c}
        proposed = sniff.propose_columns(header, taken)
        for name, column in proposed.items():
            if name not in given and columns.get(name) is None:
                columns[name], source[name] = column, "detected"
    lacking = [n for n in REQUIRED_FIELDS if columns[n] is None]
    if columns["amount"] is None and not (columns["unit_price"] or columns["line_total"]):
        lacking.append("amount (or order lines: unit_price / line_total)")
    if lacking:
        raise ImportFileError(
            f"{path}: {importer} import needs a column for {', '.join(lacking)}; none found. "
            f"Header: {', '.join(header)}. Map it with --column FIELD=NAME "
            "(see `rw-ingest inspect FILE`)."
        )
    notes = list(sample.notes)
    decimal_comma = options.decimal_comma
    if decimal_comma is None:
        values = [v for f in _MONEY_FIELDS for v in sample.values(columns[f])]
        decimal_comma = sniff.detect_decimal_comma(values)
        if decimal_comma:
            notes.append("decimal comma (12,50)")
    formats = options.timestamp_formats
    if formats is None:
        formats, note = sniff.detect_timestamp_formats(sample.values(columns["ordered_at"]))
        if formats:
            notes.append(f"timestamp format {formats[0]!r}")
        if note:
            notes.append(note)
    return Plan(
        path=path,
        encoding=sample.encoding,
        delimiter=sample.delimiter,
        decimal_comma=decimal_comma,
        timestamp_formats=formats,
        columns=columns,
        column_source=source,
        header=header,
        sample=sample,
        notes=notes,
    )


def _struct(names) -> str:
    return "struct_pack(" + ", ".join(f"{ident(n)} := {ident(n)}" for n in names) + ")"


def import_csv_orders(
    path: Path | str,
    raw_dir: Path | str | None = None,
    options: CsvImportOptions | None = None,
    *,
    append: bool = False,
    max_rejected_share: float | None = None,
    importer: str = "csv_orders",
) -> ImportReport:
    """Import an orders CSV into the raw contract under `raw_dir`.

    The shop-platform importers call this with their `CsvImportOptions` preset and name.
    """
    options = options or CsvImportOptions()
    if raw_dir is None:
        from warehouse.settings import get_settings

        raw_dir = get_settings().raw_dir
    plan = plan_import(path, options, importer)
    cols = plan.columns
    with ImportSession(
        path,
        raw_dir,
        importer=importer,
        owned_tables=OWNED_TABLES,
        append=append,
        timezone=options.timezone,
        max_rejected_share=max_rejected_share,
    ) as session:
        session.notes.extend(f"detected {n}" for n in plan.notes)
        session.notes.append(
            "columns: "
            + ", ".join(
                f"{name}={col!r}"
                + (" (detected)" if plan.column_source[name] == "detected" else "")
                for name, col in cols.items()
                if col is not None
            )
        )
        src = session.load_csv(encoding=plan.encoding, delimiter=plan.delimiter)
        has_lines = plan.has_lines
        has_product_cols = cols["product_id"] is not None or cols["sku"] is not None
        no_amount = cols["amount"] is None
        fields = [
            Field(
                name,
                cols[name],
                _KINDS.get(name, "text"),
                required=name in REQUIRED_FIELDS,
                null_values=tuple(options.null_customer_ids) if name == "customer_id" else (),
            )
            for name in cols
        ]
        fs = FieldSet(fields, src.col_ids, plan.timestamp_formats, plan.decimal_comma)
        smap = options.effective_status_map
        status_case = (
            "case when status__raw is null then 'paid' "
            + " ".join(f"when lower(status__raw) = {lit(k)} then {lit(v)}" for k, v in smap.items())
            + " end"
        )
        currency_parts = ["upper(currency)"]
        if cols["currency"] is None and cols["amount"] is not None:
            currency_parts.append(currency_from_amount_sql("amount__raw"))
        if options.default_currency:
            currency_parts.append(lit(options.default_currency))
        currency = "coalesce(" + ", ".join(currency_parts) + ")"
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
        if has_product_cols:
            label = "/".join(
                c for c in (cols["product_id"], cols["sku"], cols["product_name"]) if c
            )
            extra.insert(
                0,
                (
                    RejectReason.MISSING_REQUIRED,
                    "product_id is null and sku is null and product_name is null",
                    lit(f"{label} is empty"),
                ),
            )
        if no_amount:
            label = "/".join(c for c in (cols["unit_price"], cols["line_total"]) if c)
            extra.insert(
                0,
                (
                    RejectReason.MISSING_REQUIRED,
                    "unit_price is null and line_total is null",
                    lit(f"{label} is empty (the file has no order amount column)"),
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
        line_amounts = options.amount_level == "line" and not no_amount
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
        line_value = (
            "coalesce(line_total, coalesce(quantity, 1) * unit_price - coalesce(line_discount, 0))"
        )
        if no_amount:
            total = (
                f"sum({line_value}) over (partition by order_id) "
                "+ coalesce(shipping, 0) - coalesce(discount, 0)"
            )
        elif line_amounts:
            total = "sum(amount) over (partition by order_id)"
        else:
            total = "amount"
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
        repeat_of = "o.first_row" if not has_lines else "s.same_first"
        repeat_msg = (
            "'repeats the order of row '" if not has_lines else "'is an exact repeat of row '"
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
        if has_lines:
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
        product = product_key_sql("product_id", "sku", "product_name")
        first_name = f"coalesce(first_name, {first_name_sql('full_name')})"
        last_name = f"coalesce(last_name, {last_name_sql('full_name')})"
        refund = (
            "refunded"
            if cols["refunded"] is not None
            else "case when status_norm = 'refunded' then total end"
        )
        outputs: dict[str, str | None] = {
            "orders": f"""
                select order_id, customer_id, email, phone, device_id as anonymous_id,
                    ordered_at, status_norm as status, currency_norm as currency, subtotal,
                    discount, shipping, tax, {total} as total, discount_code,
                    {first_name} as first_name, {last_name} as last_name, country
                from ok
                qualify row_number() over (partition by order_id order by source_row) = 1
            """,
            "customers": f"""
                select customer_id,
                    arg_max(email, source_row) filter (where email is not null) as email,
                    arg_max(phone, source_row) filter (where phone is not null) as phone,
                    arg_max({first_name}, source_row) filter (where {first_name} is not null)
                        as first_name,
                    arg_max({last_name}, source_row) filter (where {last_name} is not null)
                        as last_name,
                    arg_max(country, source_row) filter (where country is not null) as country,
                    min(ordered_at) as created_at,
                    max(ordered_at) as updated_at
                from ok where customer_id is not null group by customer_id
            """,
            "order_items": None,
            "products": None,
            "refunds": f"""
                select order_id, ordered_at as refunded_at, amount, 'export_refund' as reason
                from (
                    select order_id, ordered_at, {refund} as amount from (
                        select *, {total} as total from ok
                        qualify row_number() over (partition by order_id order by source_row) = 1
                    )
                )
                where amount > 0
            """,
        }
        if has_lines:
            outputs["order_items"] = f"""
                select order_id,
                    row_number() over (partition by order_id order by source_row) as line_number,
                    {product} as product_id,
                    coalesce(quantity, 1) as quantity,
                    coalesce(unit_price, line_total / nullif(coalesce(quantity, 1), 0))
                        as unit_price,
                    line_discount as discount
                from ok
            """
            outputs["products"] = f"""
                select {product} as product_id,
                    arg_max(sku, source_row) filter (where sku is not null) as sku,
                    coalesce(
                        arg_max(product_name, source_row) filter (where product_name is not null),
                        case when {product} = {lit(UNNAMED_PRODUCT_ID)} then 'Unnamed product' end
                    ) as name,
                    arg_max(category, source_row) filter (where category is not null)
                        as category,
                    arg_max(coalesce(unit_price, line_total / nullif(coalesce(quantity, 1), 0)),
                        source_row) as price,
                    NULL as unit_cost, NULL as is_consumable, NULL as replenishment_days
                from ok group by 1
            """
        else:
            session.notes.append("no order-line columns: order_items/products empty")
        report = session.finish(outputs)
    logger.info(report.summary().splitlines()[0])
    return report
