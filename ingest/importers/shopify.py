"""Importer for Shopify's orders export CSV (Admin -> Orders -> Export), as Shopify writes it.

Format facts relied on (see DESIGN.md "Raw contract"): one row per line item; columns are
found by name, never position, so added, removed or reordered columns are fine (only
`Name`, `Created at` and `Total` must exist); an order's first row carries the order-level
columns (Email, Financial Status, Currency, Subtotal, Shipping, Taxes, Total, Discount
Code/Amount, Cancelled at, Refunded Amount, Accepts Marketing, Phone, Id, ...), later rows
of the same order repeat `Name`, `Created at` and the line-item columns only; timestamps
look like `2026-04-05 21:06:21 +0400`; `Notes` may span lines inside quotes. A row is an
order's first row when `Total`, `Subtotal` or `Financial Status` is filled; later rows may
also repeat `Email` and may leave `Created at` empty (they take the order's values).

Mapping decisions:
- order_id = the numeric `Id` when present, else `Name` (`#1001`).
- customer_id: Shopify's export has no customer id, so it stays null (identity comes from
  email/phone) unless the file has a `Customer ID` column; only then are customers written.
  The buyer's `Billing Name` (split at the first space) and `Billing Country` go on the
  order either way, so guests have names and countries too.
- email = `Email`; phone = `Phone`, else `Billing Phone`, else `Shipping Phone`.
- status from `Financial Status`: `Cancelled at` set or `voided` -> cancelled; `pending`
  (empty `Paid at`) and `authorized` (not captured) -> pending, kept but never revenue;
  `partially_paid` -> paid with total = `Total` - `Outstanding Balance`, what was paid
  (pending when the export lacks that column); `refunded`, `partially_refunded` as is;
  `paid` (and empty) -> paid. When a pending order is later paid, voided or refunded a
  fresh export says so and a replace import corrects it.
- refunds: `Refunded Amount` > 0 -> one row, reason `shopify_refund`; the export has no
  refund timestamp, so refunded_at = `Cancelled at`, else `Created at` (exports without the
  column: a `refunded` order gets one refund of its Total).
- consents: `Accepts Marketing` yes/no -> status opt_in/opt_out for the order's contact:
  channel email, or sms on a phone-only order; source `shopify_export`, legal_basis
  `consent`, recorded_at = `Created at` (also `Accepts SMS Marketing` -> channel sms in
  newer exports); only for orders with an email or phone.
- products: product_id = `Lineitem sku`, or `name-` + md5 of `Lineitem name` (16 hex) when
  the sku is empty; category = `Product Type` if present, else `Vendor`; price = the last
  `Lineitem price` seen in the file. unit_cost/is_consumable/replenishment_days are unknown.

Row rules: see `RejectReason`. An order is loaded whole or not at all: a bad line rejects
its order (other rows: `related_row_rejected`); a later reappearance of an order's first row
(same Name or same Id) is `duplicate_order_id` with its lines; line rows without a preceding
first row for their Name are `orphan_line_item`; `--append` rejects orders already in raw.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ingest.importers.common import (
    Field,
    FieldSet,
    ImportFileError,
    ImportReport,
    ImportSession,
    RejectReason,
    first_name_sql,
    last_name_sql,
    lit,
    product_key_sql,
)

logger = logging.getLogger(__name__)

OWNED_TABLES = ("customers", "orders", "order_items", "products", "refunds", "consents")
FINANCIAL_STATUSES = (
    "pending",
    "authorized",
    "paid",
    "partially_paid",
    "partially_refunded",
    "refunded",
    "voided",
)
REQUIRED_COLUMNS = ("Name", "Created at", "Total")

# (field name, Shopify column, kind, required, order-level); line rows inherit the order's
# `Created at`, so it is required on the order's first row only (checked wherever present)
_FIELDS: list[tuple[str, str, str, bool | str, bool]] = [
    ("name", "Name", "key", True, False),
    ("created_at", "Created at", "timestamp", "is_header", False),
    ("shopify_id", "Id", "key", False, True),
    ("customer_id", "Customer ID", "key", False, True),
    ("email", "Email", "text", False, True),
    ("financial_status", "Financial Status", "key", False, True),
    ("currency", "Currency", "key", False, True),
    ("subtotal", "Subtotal", "money", False, True),
    ("shipping", "Shipping", "money", False, True),
    ("taxes", "Taxes", "money", False, True),
    ("total", "Total", "money", True, True),
    ("discount_code", "Discount Code", "key", False, True),
    ("discount_amount", "Discount Amount", "money", False, True),
    ("cancelled_at", "Cancelled at", "timestamp", False, True),
    ("refunded_amount", "Refunded Amount", "money", False, True),
    ("accepts_marketing", "Accepts Marketing", "key", False, True),
    ("accepts_sms", "Accepts SMS Marketing", "key", False, True),
    ("phone", "Phone", "text", False, True),
    ("billing_phone", "Billing Phone", "text", False, True),
    ("shipping_phone", "Shipping Phone", "text", False, True),
    ("billing_name", "Billing Name", "text", False, True),
    ("billing_country", "Billing Country", "key", False, True),
    ("outstanding_balance", "Outstanding Balance", "money", False, True),
    ("lineitem_quantity", "Lineitem quantity", "integer", False, False),
    ("lineitem_name", "Lineitem name", "key", False, False),
    ("lineitem_price", "Lineitem price", "money", False, False),
    ("lineitem_sku", "Lineitem sku", "key", False, False),
    ("lineitem_discount", "Lineitem discount", "money", False, False),
    ("vendor", "Vendor", "key", False, False),
    ("product_type", "Product Type", "key", False, False),
]


def import_shopify_orders(
    path: Path | str,
    raw_dir: Path | str | None = None,
    *,
    append: bool = False,
    encoding: str = "utf-8",
    max_rejected_share: float | None = None,
) -> ImportReport:
    """Import a Shopify orders export into the raw contract under `raw_dir`."""
    if raw_dir is None:
        from warehouse.settings import get_settings

        raw_dir = get_settings().raw_dir
    with ImportSession(
        path,
        raw_dir,
        importer="shopify",
        owned_tables=OWNED_TABLES,
        append=append,
        max_rejected_share=max_rejected_share,
    ) as session:

        def check_header(names: list[str]) -> None:
            missing = [c for c in REQUIRED_COLUMNS if c not in names]
            if missing:
                raise ImportFileError(
                    f"{session.source_file}: not a Shopify orders export, missing column(s) "
                    f"{', '.join(missing)}. Header: {', '.join(names)}"
                )

        src = session.load_csv(encoding=encoding, check_header=check_header)
        header_cols = [
            f"{name}__raw"
            for name, col, *_ in _FIELDS
            if name in ("financial_status", "total", "subtotal") and src.has(col)
        ]
        is_header = "(coalesce(" + ", ".join(header_cols) + ") is not null)"
        fields = [
            Field(
                name,
                col if src.has(col) else None,
                kind,  # type: ignore[arg-type]
                required=required,
                applies="is_header" if order_level else None,
            )
            for name, col, kind, required, order_level in _FIELDS
        ]
        fs = FieldSet(fields, src.col_ids)
        known = ", ".join(lit(s) for s in FINANCIAL_STATUSES)
        extra = [
            (
                RejectReason.INVALID_VALUE,
                f"is_header and financial_status is not null "
                f"and lower(financial_status) not in ({known})",
                "'Financial Status=''' || financial_status__raw || ''' is not a known status'",
            ),
            (
                RejectReason.INVALID_VALUE,
                "is_header and currency is not null "
                "and not regexp_full_match(upper(currency), '[A-Z]{3}')",
                "'Currency=''' || currency__raw || ''' is not a 3-letter currency code'",
            ),
        ]
        con = session.con
        session.run(
            f"""
            create table p as
            with r as (select source_row, {fs.raw_projection()} from src),
            t as (select *, {is_header} as is_header from r),
            s as (select *, {fs.typed_projection()} from t)
            select *, {fs.checks(extra)} as own_reason,
                sum(is_header::int) over (
                    partition by name order by source_row
                    rows between unbounded preceding and current row
                ) as block
            from s
            """,
            "p",
        )
        # one row per order block: its first row, the order id and its rank among same ids
        session.run(
            """
            create table h as
            select name, block, source_row as header_row,
                coalesce(shopify_id, name) as order_id,
                first_value(source_row) over (partition by name order by source_row)
                    as name_first_row,
                first_value(source_row) over (
                    partition by coalesce(shopify_id, name) order by source_row
                ) as id_first_row
            from p where is_header and name is not null
            """,
            "h",
        )
        session.run(
            """
            create table blocks as
            select p.source_row, h.order_id,
                case
                    when p.block = 0 then
                        'orphan_line_item: Name=''' || p.name || ''' has no order row '
                        || '(first row of the order, with Total) before it'
                    when p.block > 1 then
                        'duplicate_order_id: Name=''' || p.name || ''' appears again '
                        || '(order first seen at row ' || h.name_first_row || ')'
                    when h.id_first_row <> h.header_row then
                        'duplicate_order_id: Id=''' || h.order_id || ''' (Name '
                        || p.name || ') repeats the order of row ' || h.id_first_row
                end as block_reason
            from p left join h on h.name = p.name and h.block = p.block
            where p.name is not null
            """,
            "blocks",
        )
        existing = session.existing("orders") if append else None
        already, existing_join = "NULL::VARCHAR", ""
        if existing is not None:
            con.execute(
                "create table old_orders as select distinct order_id "
                f"from read_parquet({lit(str(existing))})"
            )
            existing_join = "left join old_orders o on o.order_id = b.order_id"
            already = (
                "case when o.order_id is not null then 'already_imported: order ''' "
                "|| b.order_id || ''' (Name ' || p.name || ') is already in raw orders' end"
            )
        session.run(
            f"""
            create table row_status as
            with bad as (
                select name, block, min(source_row) as first_bad,
                    arg_min(split_part(own_reason, ':', 1), source_row) as code
                from p where own_reason is not null and name is not null
                group by name, block
            )
            select p.source_row,
                coalesce(
                    p.own_reason,
                    b.block_reason,
                    case when bad.first_bad is not null then
                        'related_row_rejected: Name=''' || p.name || ''': row '
                        || bad.first_bad || ' of this order was rejected (' || bad.code || ')'
                    end,
                    {already}
                ) as reason
            from p
            left join blocks b using (source_row)
            left join bad on bad.name = p.name and bad.block = p.block
            {existing_join}
            """,
            "row_status",
        )
        has_refund_col = src.has("Refunded Amount")
        # partially_paid: only what was paid is revenue (Total - Outstanding Balance); an
        # export without that column cannot say how much, so the order counts as unpaid
        if src.has("Outstanding Balance"):
            partially_paid_status = "'paid'"
            partially_paid_total = "p.total - coalesce(p.outstanding_balance, 0)"
        else:
            partially_paid_status, partially_paid_total = "'pending'", "p.total"
        session.run(
            f"""
            create table ok as
            select p.*, b.order_id,
                case
                    when p.cancelled_at is not null or lower(p.financial_status) = 'voided'
                        then 'cancelled'
                    when lower(p.financial_status) in ('pending', 'authorized') then 'pending'
                    when lower(p.financial_status) = 'partially_paid'
                        then {partially_paid_status}
                    when lower(p.financial_status) = 'refunded' then 'refunded'
                    when lower(p.financial_status) = 'partially_refunded'
                        then 'partially_refunded'
                    else 'paid'
                end as status,
                case
                    when lower(p.financial_status) = 'partially_paid'
                        then {partially_paid_total}
                    else p.total
                end as paid_total,
                trim(p.billing_name) as buyer_name,
                coalesce(p.phone, p.billing_phone, p.shipping_phone) as any_phone
            from p join row_status r using (source_row) join blocks b using (source_row)
            where r.reason is null
            """,
            "ok",
        )
        refund_amount = (
            "refunded_amount"
            if has_refund_col
            else "case when lower(financial_status) = 'refunded' then total end"
        )
        consent_rows = []
        # "Accepts Marketing" is consent for the contact the order has: email, or SMS when
        # the order has only a phone
        marketing_channel = "case when email is not null then 'email' else 'sms' end"
        for field_name, channel in (
            ("accepts_marketing", marketing_channel),
            ("accepts_sms", "'sms'"),
        ):
            consent_rows.append(
                f"""
                select email, any_phone as phone, customer_id, {channel} as channel,
                    case when lower({field_name}) in ('yes', 'true', '1') then 'opt_in'
                        else 'opt_out' end as status,
                    'shopify_export' as source, 'consent' as legal_basis,
                    created_at as recorded_at
                from ok
                where is_header
                    and lower({field_name}) in ('yes', 'no', 'true', 'false', '1', '0')
                    and (email is not null or any_phone is not null)
                """
            )
        product_id = product_key_sql("NULL", "lineitem_sku", "lineitem_name")
        outputs: dict[str, str | None] = {
            "orders": f"""
                select order_id, customer_id, email, any_phone as phone,
                    NULL as anonymous_id, created_at as ordered_at, status,
                    upper(currency) as currency, subtotal, discount_amount as discount,
                    shipping, taxes as tax, paid_total as total, discount_code,
                    {first_name_sql("buyer_name")} as first_name,
                    {last_name_sql("buyer_name")} as last_name,
                    upper(billing_country) as country
                from ok where is_header
            """,
            "order_items": f"""
                select order_id,
                    row_number() over (partition by order_id order by source_row) as line_number,
                    {product_id} as product_id,
                    coalesce(lineitem_quantity, 1) as quantity,
                    lineitem_price as unit_price,
                    lineitem_discount as discount
                from ok where lineitem_sku is not null or lineitem_name is not null
            """,
            "products": f"""
                select {product_id} as product_id,
                    arg_max(lineitem_sku, source_row) filter (where lineitem_sku is not null)
                        as sku,
                    arg_max(lineitem_name, source_row) filter (where lineitem_name is not null)
                        as name,
                    arg_max(coalesce(product_type, vendor), source_row)
                        filter (where coalesce(product_type, vendor) is not null) as category,
                    arg_max(lineitem_price, source_row)
                        filter (where lineitem_price is not null) as price,
                    NULL as unit_cost, NULL as is_consumable, NULL as replenishment_days
                from ok where lineitem_sku is not null or lineitem_name is not null
                group by 1
            """,
            "refunds": f"""
                select order_id, coalesce(cancelled_at, created_at) as refunded_at,
                    {refund_amount} as amount, 'shopify_refund' as reason
                from ok where is_header and {refund_amount} > 0
            """,
            "consents": " union all ".join(consent_rows),
            "customers": None,
        }
        if src.has("Customer ID"):
            outputs["customers"] = f"""
                select customer_id,
                    arg_max(email, source_row) filter (where email is not null) as email,
                    arg_max(any_phone, source_row) filter (where any_phone is not null)
                        as phone,
                    arg_max({first_name_sql("billing_name")}, source_row)
                        filter (where billing_name is not null) as first_name,
                    arg_max({last_name_sql("billing_name")}, source_row)
                        filter (where billing_name is not null) as last_name,
                    arg_max(billing_country, source_row)
                        filter (where billing_country is not null) as country,
                    min(created_at) as created_at,
                    max(created_at) as updated_at
                from ok where is_header and customer_id is not null
                group by customer_id
            """
        else:
            session.notes.append(
                "no 'Customer ID' column: customers left empty, orders carry email/phone"
            )
        report = session.finish(outputs)
    logger.info(report.summary().splitlines()[0])
    return report
