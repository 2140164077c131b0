"""The API pulls as Dagster assets: present only when configured, upstream of the raw tables
they feed, and materialised by the pull_apis job against the local API emulators."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.ingest import definitions as ingest
from orchestration.defs.ingest.assets import raw_key
from orchestration.resources import WarehouseResource
from tests.ingest.api_emulators import KlaviyoEmulator, ShopifyEmulator, ShopifyOrders

PULL_VARIABLES = ("SHOPIFY_SHOP_URL", "SHOPIFY_ACCESS_TOKEN", "KLAVIYO_API_KEY", "KLAVIYO_BASE_URL")
SHOPIFY_KEYS = {dg.AssetKey(["shopify_api", "orders"]), dg.AssetKey(["shopify_api", "customers"])}
KLAVIYO_KEY = dg.AssetKey(["klaviyo_api", "email_events"])


@pytest.fixture(autouse=True)
def _no_pull_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no project .env
    for name in PULL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"RW_PULL_{name}", raising=False)


def _raw_spec(defs: dg.Definitions, table: str) -> tuple[dg.AssetSpec, set[dg.AssetKey]]:
    raw = next(a for a in defs.assets if raw_key(table) in a.keys)
    return raw.specs_by_key[raw_key(table)], set(raw.asset_deps[raw_key(table)])


def test_without_credentials_there_are_no_pull_assets_and_raw_tables_say_why() -> None:
    defs = ingest.defs()
    keys = {k for a in defs.assets for k in a.keys}
    assert not keys & (SHOPIFY_KEYS | {KLAVIYO_KEY})
    assert not list(defs.jobs or [])
    orders, orders_deps = _raw_spec(defs, "orders")
    assert "SHOPIFY_ACCESS_TOKEN" in orders.metadata["api_pull"] and not orders_deps
    email_events, _ = _raw_spec(defs, "email_events")
    assert "KLAVIYO_API_KEY" in email_events.metadata["api_pull"]
    events, _ = _raw_spec(defs, "events")  # no pull feeds web events
    assert "api_pull" not in events.metadata


def _materialized(result) -> dict[dg.AssetKey, dict]:
    return {
        e.asset_key: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def _count(raw_dir: Path, table: str) -> int:
    with duckdb.connect() as con:
        path = str(raw_dir / f"{table}.parquet")
        return con.execute("select count(*) from read_parquet(?)", [path]).fetchone()[0]


def test_pull_job_pulls_each_configured_api_then_rewrites_the_raw_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = WarehouseResource(
        duckdb_path=str(tmp_path / "w.duckdb"),
        raw_dir=str(tmp_path / "raw"),
        truth_dir=str(tmp_path / "truth"),
    )
    with ShopifyEmulator() as shopify, KlaviyoEmulator(page_size=3) as klaviyo:
        build = ShopifyOrders()
        for i in range(1, 8):
            shopify.put_order(
                build.order(
                    30_000 + i,
                    email=f"buyer{i}@example.com",
                    customer_id=None,
                    created_at=f"2026-03-0{i}T10:00:00+01:00",
                    updated_at=f"2026-03-0{i}T11:00:00+01:00",
                    lines=[("COF-1KG", "Coffee Beans 1kg", 1, "60.00")],
                )
            )
        shopify.faults.rate_limit_every = 3
        shopify.faults.retry_after = "0.2"
        for i, metric in enumerate(["Received Email", "Opened Email", "Placed Order"] * 3):
            klaviyo.add_event(
                f"evt{i}", metric, f"prof{i}", f"buyer{i}@example.com",
                f"2026-03-0{i + 1}T08:00:00+00:00",
            )  # fmt: skip
        monkeypatch.setenv("SHOPIFY_SHOP_URL", shopify.base_url)
        monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", shopify.TOKEN)
        monkeypatch.setenv("KLAVIYO_API_KEY", klaviyo.API_KEY)
        monkeypatch.setenv("KLAVIYO_BASE_URL", klaviyo.base_url)

        defs = dg.Definitions.merge(
            ingest.defs(), dg.Definitions(resources={"warehouse": warehouse})
        )
        # each raw table a pull feeds has that pull upstream
        orders, orders_deps = _raw_spec(defs, "orders")
        assert orders_deps == SHOPIFY_KEYS and orders.metadata["api_pull"].startswith("shopify")
        assert _raw_spec(defs, "email_events")[1] == {KLAVIYO_KEY}
        assert _raw_spec(defs, "events")[1] == set()

        job = defs.resolve_job_def("pull_apis")
        first = _materialized(job.execute_in_process(run_config={
            "ops": {"shopify_api_pull": {"config": {"page_size": 2}}}
        }))  # fmt: skip
        assert first[dg.AssetKey(["shopify_api", "orders"])]["rows_loaded"] >= 7
        assert first[KLAVIYO_KEY]["rows_loaded"] == 6  # e-mail metrics only
        assert {raw_key(t) for t in ("orders", "order_items", "email_events")} <= set(first)
        assert raw_key("events") not in first  # no pull feeds web events
        raw = tmp_path / "raw"
        assert _count(raw, "orders") == 7
        assert _count(raw, "email_events") == 6  # "Placed Order" is no e-mail event

        # nothing changed: no new order loaded (Klaviyo re-reads its late-event lookback,
        # merged on id), the raw tables stay as they were
        second = _materialized(job.execute_in_process())
        assert second[dg.AssetKey(["shopify_api", "orders"])]["rows_loaded"] == 0
        assert _count(raw, "orders") == 7 and _count(raw, "email_events") == 6
    # the token reached no asset metadata
    assert all(shopify.TOKEN not in str(m) for m in [*first.values(), *second.values()])
