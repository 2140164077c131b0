"""`rw-ingest pull shopify`: orders and customers from Shopify's Admin REST API with dlt's
REST API source, into the raw contract.

API facts relied on (Shopify Admin REST, `orders.json` / `customers.json`):
- auth header `X-Shopify-Access-Token`; `status=any` (the default lists open orders only);
  `updated_at_min` (inclusive) is the incremental cursor on `updated_at`; `limit` <= 250;
- cursor paging: the `Link` header carries the next page's URL with `page_info`, and a
  request with `page_info` may carry no other filter (dlt's HeaderLinkPaginator follows the
  URL as given);
- rate limits: a leaky bucket per app and shop; over it, 429 with `Retry-After: 2.0`
  (ingest/pull/http.py waits that long);
- money as decimal strings, timestamps ISO 8601 with the shop's offset, nested customer,
  addresses, line_items, shipping_lines, discount_codes and refunds (with
  refund_line_items and order_adjustments).
Deleted orders disappear from `orders.json` without a trace (Shopify reports them only
through webhooks and the Events API), so a pull keeps an order it has once seen.

The mapping onto the contract is the one the loader staging adapters use
(dbt_project/macros/shopify_contract.sql) and the orders export importer: product id = SKU,
else 'name-' + 16 hex of md5(line name); statuses; refunds = refunded lines - adjustments.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator
from dlt.sources.rest_api import rest_api_source

from ingest.pull.http import pull_session
from ingest.pull.raw import Columns, PullResult, run_pull, write_tables

logger = logging.getLogger(__name__)

API_VERSION = "2025-07"
PAGE_SIZE = 250
DATASET = "shopify"


def shopify_source(
    shop_url: str,
    access_token: str,
    *,
    since: str,
    api_version: str = API_VERSION,
    page_size: int = PAGE_SIZE,
):
    """dlt source of the shop's orders and customers, incremental on updated_at."""

    def resource(name: str) -> dict:
        return {
            "name": name,
            "primary_key": "id",
            "write_disposition": "merge",
            "endpoint": {
                "path": f"{name}.json",
                "data_selector": name,
                "params": {
                    **({"status": "any"} if name == "orders" else {}),
                    "limit": page_size,
                    "updated_at_min": {
                        "type": "incremental",
                        "cursor_path": "updated_at",
                        "initial_value": since,
                    },
                },
            },
        }

    return rest_api_source(
        {
            "client": {
                "base_url": f"{shop_url.rstrip('/')}/admin/api/{api_version}/",
                "auth": {
                    "type": "api_key",
                    "name": "X-Shopify-Access-Token",
                    "api_key": access_token,
                    "location": "header",
                },
                "paginator": HeaderLinkPaginator(),
                "session": pull_session(),
            },
            "resources": [resource("orders"), resource("customers")],
        },
        name="shopify",
    )


def pull_shopify(
    shop_url: str,
    access_token: str,
    raw_dir: Path,
    *,
    since: str = "2000-01-01T00:00:00Z",
    page_size: int = PAGE_SIZE,
) -> PullResult:
    """Pull new and changed orders and customers, then rewrite the owned raw tables."""
    loaded = load_shopify(shop_url, access_token, raw_dir, since=since, page_size=page_size)
    return PullResult(loaded, write_shopify_raw(raw_dir))


def _database(raw_dir: Path) -> Path:
    # not named like the dataset: DuckDB would find catalog and schema `shopify` ambiguous
    return raw_dir / "_pull" / "shopify_api.duckdb"


def load_shopify(
    shop_url: str,
    access_token: str,
    raw_dir: Path,
    *,
    since: str = "2000-01-01T00:00:00Z",
    page_size: int = PAGE_SIZE,
) -> dict[str, int]:
    """Load new and changed orders and customers into the pull's dataset (under
    `<raw_dir>/_pull/`); returns the rows loaded per dlt table."""
    return run_pull(
        "shopify",
        _database(raw_dir),
        DATASET,
        shopify_source(shop_url, access_token, since=since, page_size=page_size),
    )


def write_shopify_raw(raw_dir: Path) -> dict[str, int]:
    """Rewrite the raw tables the Shopify pull owns from everything pulled so far."""
    database = _database(raw_dir)
    if not database.exists():
        raise FileNotFoundError(f"{database}: nothing pulled from Shopify yet")
    with duckdb.connect(str(database)) as con:
        return write_tables(con, contract_queries(Columns(con, DATASET)), raw_dir)


def contract_queries(c: Columns) -> dict[str, str]:
    """SQL over the pulled tables for each raw contract table the pull owns."""
    s = DATASET
    o = "orders"

    def oc(column: str, sql_type: str = "varchar") -> str:
        return c.col(o, column, "o", sql_type)

    line_items = c.relation(
        "orders__line_items",
        {"_dlt_parent_id": "varchar", "_dlt_list_idx": "bigint"},
    )
    li = "orders__line_items"
    shipping = c.relation("orders__shipping_lines", {"_dlt_parent_id": "varchar"})
    codes = c.relation(
        "orders__discount_codes", {"_dlt_parent_id": "varchar", "_dlt_list_idx": "bigint"}
    )
    refunds = c.relation(
        "orders__refunds",
        {"_dlt_id": "varchar", "_dlt_parent_id": "varchar", "id": "bigint"},
    )
    refund_lines = c.relation("orders__refunds__refund_line_items", {"_dlt_parent_id": "varchar"})
    adjustments = c.relation("orders__refunds__order_adjustments", {"_dlt_parent_id": "varchar"})
    customers = c.relation("customers", {"id": "bigint"})
    cc = "customers"
    ts = "timestamptz"
    product_id = (
        "coalesce(nullif(trim(l.sku), ''), "
        "'name-' || substr(md5(trim(l.line_name)), 1, 16), 'unnamed-product')"
    )
    orders_base = f"""
        select
            cast(o.id as varchar) as order_id,
            o._dlt_id,
            cast({oc("customer__id", "bigint")} as varchar) as customer_id,
            nullif(trim({oc("email")}), '') as email,
            coalesce(nullif(trim({oc("phone")}), ''),
                nullif(trim({oc("billing_address__phone")}), ''),
                nullif(trim({oc("shipping_address__phone")}), '')) as phone,
            try_cast({oc("created_at", ts)} as timestamptz) as ordered_at,
            try_cast({oc("cancelled_at", ts)} as timestamptz) as cancelled_at,
            lower({oc("financial_status")}) as financial_status,
            upper({oc("currency")}) as currency,
            coalesce({oc("taxes_included", "boolean")}, false) as taxes_included,
            {oc("buyer_accepts_marketing", "boolean")} as accepts_marketing,
            cast({oc("subtotal_price")} as decimal(18, 2)) as subtotal,
            cast({oc("total_discounts")} as decimal(18, 2)) as discount,
            cast({oc("total_tax")} as decimal(18, 2)) as tax,
            cast({oc("total_price")} as decimal(18, 2)) as total,
            cast({oc("total_outstanding")} as decimal(18, 2)) as outstanding,
            {oc("billing_address__first_name")} as first_name,
            {oc("billing_address__last_name")} as last_name,
            upper({oc("billing_address__country_code")}) as country
        from {s}.{o} o
    """
    lines = f"""
        select
            ob.order_id, ob.ordered_at, l._dlt_list_idx as line_index,
            {c.col(li, "id", "l", "bigint")} as line_id,
            {c.col(li, "sku", "l")} as sku,
            {c.col(li, "name", "l")} as line_name,
            {c.col(li, "vendor", "l")} as vendor,
            cast({c.col(li, "quantity", "l", "bigint")} as integer) as quantity,
            cast({c.col(li, "price", "l")} as decimal(18, 2)) as unit_price,
            cast({c.col(li, "total_discount", "l")} as decimal(18, 2)) as discount
        from {line_items} l
        join ({orders_base}) ob on ob._dlt_id = l._dlt_parent_id
    """
    return {
        "orders": f"""
            with ob as ({orders_base}),
            ship as (
                select _dlt_parent_id,
                    sum(cast({c.col("orders__shipping_lines", "price", "x")}
                        as decimal(18, 2))) as shipping
                from {shipping} x group by 1
            ),
            code as (
                select _dlt_parent_id,
                    arg_min({c.col("orders__discount_codes", "code", "x")}, _dlt_list_idx)
                        as discount_code
                from {codes} x group by 1
            )
            select ob.order_id, ob.customer_id, ob.email, ob.phone,
                null as anonymous_id, ob.ordered_at,
                case
                    when ob.cancelled_at is not null or ob.financial_status = 'voided'
                        then 'cancelled'
                    when ob.financial_status in ('refunded', 'partially_refunded')
                        then ob.financial_status
                    when ob.financial_status in ('pending', 'authorized') then 'pending'
                    -- partially_paid: revenue for what was paid (as every Shopify path)
                    when ob.financial_status = 'partially_paid' and ob.outstanding is null
                        then 'pending'
                    else 'paid'
                end as status,
                ob.currency, ob.subtotal, ob.discount,
                coalesce(ship.shipping, 0) as shipping, ob.tax,
                case when ob.financial_status = 'partially_paid' and ob.outstanding is not null
                    then ob.total - ob.outstanding else ob.total end as total,
                code.discount_code, ob.first_name, ob.last_name, ob.country
            from ob
            left join ship on ship._dlt_parent_id = ob._dlt_id
            left join code on code._dlt_parent_id = ob._dlt_id
        """,
        "order_items": f"""
            select l.order_id,
                row_number() over (partition by l.order_id order by l.line_index)
                    as line_number,
                {product_id} as product_id, l.quantity, l.unit_price, l.discount
            from ({lines}) l
        """,
        "products": f"""
            select {product_id} as product_id,
                arg_max(nullif(trim(l.sku), ''), l.ordered_at) as sku,
                arg_max(l.line_name, l.ordered_at) as name,
                arg_max(nullif(trim(l.vendor), ''), l.ordered_at) as category,
                arg_max(l.unit_price, l.ordered_at) as price
            from ({lines}) l
            group by 1
        """,
        "refunds": f"""
            with ob as ({orders_base}),
            lines as (
                select _dlt_parent_id,
                    sum(cast({c.col("orders__refunds__refund_line_items", "subtotal", "x")}
                        as decimal(18, 2))) as subtotal,
                    sum(cast({c.col("orders__refunds__refund_line_items", "total_tax", "x")}
                        as decimal(18, 2))) as total_tax
                from {refund_lines} x group by 1
            ),
            adjustments as (
                select _dlt_parent_id,
                    sum(cast({c.col("orders__refunds__order_adjustments", "amount", "x")}
                        as decimal(18, 2))) as amount,
                    sum(cast({c.col("orders__refunds__order_adjustments", "tax_amount", "x")}
                        as decimal(18, 2))) as tax_amount
                from {adjustments} x group by 1
            ),
            amounts as (
                select ob.order_id,
                    try_cast({c.col("orders__refunds", "created_at", "r", ts)} as timestamptz)
                        as refunded_at,
                    coalesce(lines.subtotal, 0)
                    + case when ob.taxes_included then 0 else coalesce(lines.total_tax, 0) end
                    - coalesce(adjustments.amount, 0)
                    - case when ob.taxes_included then 0
                        else coalesce(adjustments.tax_amount, 0) end as amount
                from {refunds} r
                join ob on ob._dlt_id = r._dlt_parent_id
                left join lines on lines._dlt_parent_id = r._dlt_id
                left join adjustments on adjustments._dlt_parent_id = r._dlt_id
            )
            select order_id, refunded_at, amount, 'shopify_refund' as reason
            from amounts where amount > 0
        """,
        "customers": f"""
            select cast(k.id as varchar) as customer_id,
                {c.col(cc, "email", "k")} as email,
                {c.col(cc, "phone", "k")} as phone,
                {c.col(cc, "first_name", "k")} as first_name,
                {c.col(cc, "last_name", "k")} as last_name,
                upper({c.col(cc, "default_address__country_code", "k")}) as country,
                try_cast({c.col(cc, "created_at", "k", ts)} as timestamptz) as created_at,
                try_cast({c.col(cc, "updated_at", "k", ts)} as timestamptz) as updated_at
            from {customers} k
        """,
        "consents": f"""
            with ob as ({orders_base})
            select email, phone, customer_id,
                case when email is not null then 'email' else 'sms' end as channel,
                case when accepts_marketing then 'opt_in' else 'opt_out' end as status,
                'shopify_api_order' as source, 'consent' as legal_basis,
                ordered_at as recorded_at
            from ob
            where accepts_marketing is not null and (email is not null or phone is not null)
            union all
            select {c.col(cc, "email", "k")}, {c.col(cc, "phone", "k")}, cast(k.id as varchar),
                'email',
                case lower({c.col(cc, "email_marketing_consent__state", "k")})
                    when 'subscribed' then 'opt_in' else 'opt_out' end,
                'shopify_api_customer', 'consent',
                try_cast({c.col(cc, "email_marketing_consent__consent_updated_at", "k", ts)}
                    as timestamptz)
            from {customers} k
            where lower({c.col(cc, "email_marketing_consent__state", "k")})
                    in ('subscribed', 'unsubscribed')
                and {c.col(cc, "email_marketing_consent__consent_updated_at", "k", ts)}
                    is not null
        """,
    }
