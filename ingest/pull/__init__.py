"""Pulls from shop and marketing-platform APIs into the raw contract, with dlt.

    rw-ingest pull shopify --shop-url https://my-shop.myshopify.com   (SHOPIFY_ACCESS_TOKEN)
    rw-ingest pull klaviyo-events                                      (KLAVIYO_API_KEY)

Each pull is a dlt pipeline whose state (incremental cursors) and loaded records live in a
DuckDB file under `<raw_dir>/_pull/`: records are merged on their primary key and the
cursor advances only with a completed load, so a second run adds nothing, a changed record
replaces its previous version, and a run killed half-way is resumed by the next one (it
re-reads from the last committed cursor; the merge keeps that duplicate-free). After each
load the pull rewrites the raw contract tables it owns (`<raw_dir>/<table>.parquet`) from
everything pulled so far, so dbt reads them unchanged. Plain Python, no Dagster.
"""

from __future__ import annotations

import os

# dlt phones home by default; a pull of a shop's data must not
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

# The raw contract tables each pull rewrites (and owns: nothing else writes them on a pull).
RAW_TABLES = {
    "shopify": ("customers", "orders", "order_items", "products", "refunds", "consents"),
    "klaviyo": ("email_events",),
}
