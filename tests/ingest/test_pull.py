"""The dlt pulls against local emulators of Shopify's Admin REST API and Klaviyo's Events
API: incremental, idempotent, rate limits honoured, a malformed page fails the run without
losing anything, and a pull killed mid-way (SIGKILL) resumes without duplicates or gaps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.pull.klaviyo import pull_klaviyo_events
from ingest.pull.shopify import pull_shopify

from .api_emulators import KlaviyoEmulator, ShopifyEmulator, ShopifyOrders

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _rows(raw_dir: Path, table: str, query: str = "select count(*) from t") -> list[tuple]:
    with duckdb.connect() as con:
        con.execute(f"create view t as select * from read_parquet('{raw_dir / table}.parquet')")
        return con.execute(query).fetchall()


def _shop(emulator: ShopifyEmulator, orders: int) -> ShopifyOrders:
    build = ShopifyOrders()
    for i in range(1, orders + 1):
        day = f"2026-01-{(i % 28) + 1:02d}"
        emulator.put_order(
            build.order(
                10_000 + i,
                email=f"buyer{i % 7}@klienci-sklepu.pl",
                customer_id=None if i % 5 == 0 else 700 + i % 7,
                created_at=f"{day}T10:00:00+01:00",
                updated_at=f"{day}T11:{i % 60:02d}:00+01:00",
                lines=[
                    ("COF-1KG", "Coffee Beans 1kg", 1 + i % 2, "60.00"),
                    (None, "Handmade Candle", 1, "49.99"),
                ],
            )
        )
    emulator.put_customer(
        {
            "id": 701,
            "email": "buyer1@example.com",
            "first_name": "Ola",
            "last_name": "Nowak",
            "created_at": "2026-01-01T09:00:00+01:00",
            "updated_at": "2026-01-01T09:00:00+01:00",
            "email_marketing_consent": {
                "state": "subscribed",
                "consent_updated_at": "2026-01-01T09:00:00+01:00",
            },
            "default_address": {"country_code": "PL"},
        }
    )
    return build


def _assert_complete(raw_dir: Path, emulator: ShopifyEmulator) -> None:
    ids = _rows(raw_dir, "orders", "select order_id from t order by 1")
    assert [i for (i,) in ids] == sorted(str(i) for i in emulator.orders)  # no gap, no dupe
    (lines, distinct) = _rows(
        raw_dir, "order_items", "select count(*), count(distinct (order_id, line_number)) from t"
    )[0]
    assert lines == distinct == sum(len(o["line_items"]) for o in emulator.orders.values())


def test_shopify_pull_is_incremental_idempotent_and_honours_rate_limits(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    with ShopifyEmulator() as shopify:
        build = _shop(shopify, orders=23)
        shopify.faults.rate_limit_every = 4
        shopify.faults.retry_after = "0.4"  # Shopify sends "2.0": seconds with a decimal
        shopify.faults.malformed_once_at_page = 3

        # a malformed page fails the run with the cause; nothing half-written in raw
        with pytest.raises(Exception, match="(?i)json|decode|expecting|unterminated"):
            pull_shopify(shopify.base_url, shopify.TOKEN, raw, page_size=5)
        assert not (raw / "orders.parquet").exists()

        first = pull_shopify(shopify.base_url, shopify.TOKEN, raw, page_size=5)
        assert first.raw_rows["orders"] == 23
        _assert_complete(raw, shopify)
        throttled = [i for i, r in enumerate(shopify.requests) if r.status == 429]
        assert throttled
        for i in throttled:  # the same request again, no sooner than Retry-After
            retry = shopify.requests[i + 1]
            assert retry.query == shopify.requests[i].query
            assert retry.at - shopify.requests[i].at >= 0.4
        # later pages carry page_info and nothing else but limit (Shopify rejects filters)
        paged = [r.query for r in shopify.requests if "page_info" in r.query]
        assert paged and all(set(q) <= {"page_info", "limit"} for q in paged)

        # nothing changed: the next run asks only from the last updated_at and adds nothing
        before = len(shopify.requests)
        second = pull_shopify(shopify.base_url, shopify.TOKEN, raw, page_size=5)
        assert second.raw_rows == first.raw_rows
        asked = [r.query.get("updated_at_min") for r in shopify.requests[before:]]
        assert "2026-01-24T11:23:00+01:00" in asked  # order 10023, the newest

        # a refunded order changes, a new one arrives: updated in place, not duplicated
        changed = dict(shopify.orders[10_002])
        changed.update(
            financial_status="partially_refunded",
            updated_at="2026-02-03T08:00:00+01:00",
            refunds=[
                {
                    "id": 1,
                    "created_at": "2026-02-03T08:00:00+01:00",
                    "refund_line_items": [
                        {
                            "id": 1,
                            "line_item_id": 1,
                            "quantity": 1,
                            "subtotal": 49.99,
                            "total_tax": 9.35,
                        }
                    ],
                    "order_adjustments": [
                        {
                            "id": 1,
                            "amount": "-10.00",
                            "tax_amount": "-1.87",
                            "kind": "shipping_refund",
                        }
                    ],
                }
            ],
        )
        shopify.put_order(changed)
        shopify.put_order(
            build.order(
                20_000,
                email="new@example.com",
                customer_id=None,
                created_at="2026-02-04T10:00:00+01:00",
                updated_at="2026-02-04T10:00:00+01:00",
                lines=[("TEA-100", "Green Tea 100g", 3, "30.00")],
            )
        )
        # a deposit of 30.00 on a 90.00 order: revenue is what was paid
        shopify.put_order(
            build.order(
                20_001,
                email="deposit@example.com",
                customer_id=None,
                created_at="2026-02-04T11:00:00+01:00",
                updated_at="2026-02-04T11:00:00+01:00",
                lines=[("TEA-100", "Green Tea 100g", 3, "30.00")],
                financial_status="partially_paid",
                outstanding="60.00",
            )
        )
        third = pull_shopify(shopify.base_url, shopify.TOKEN, raw, page_size=5)
        assert third.raw_rows["orders"] == 25
        assert _rows(raw, "orders", "select status, total from t where order_id = '20001'") == [
            ("paid", Decimal("30.00"))
        ]
        _assert_complete(raw, shopify)
        assert _rows(raw, "orders", "select status from t where order_id = '10002'") == [
            ("partially_refunded",)
        ]
        # tax-inclusive shop: the line's 49.99 plus the 10.00 shipping refund
        assert _rows(raw, "refunds", "select order_id, amount from t") == [
            ("10002", Decimal("59.99"))
        ]
    # the access token is in no file the pull wrote
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert ShopifyEmulator.TOKEN.encode() not in path.read_bytes(), path


def _kill_mid_pull(command: list[str], env: dict, emulator, pages: int) -> None:
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while emulator.faults._served_pages < pages:
            assert process.poll() is None, "the pull ended before it could be killed"
            assert time.monotonic() < deadline, "the pull never got going"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ingest.cli", "pull", *args]


def test_shopify_pull_killed_mid_way_resumes_without_duplicates(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    with ShopifyEmulator() as shopify:
        _shop(shopify, orders=60)
        shopify.faults.page_delay_seconds = 0.3
        env = {**os.environ, "SHOPIFY_ACCESS_TOKEN": shopify.TOKEN}
        _kill_mid_pull(
            _cli(
                "shopify", "--shop-url", shopify.base_url, "--page-size", "5", "--raw-dir", str(raw)
            ),
            env,
            shopify,
            pages=4,
        )
        shopify.faults.page_delay_seconds = 0
        done = subprocess.run(
            _cli(
                "shopify", "--shop-url", shopify.base_url, "--page-size", "5", "--raw-dir", str(raw)
            ),
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        _assert_complete(raw, shopify)
        assert shopify.TOKEN not in done.stdout + done.stderr


def _klaviyo_account(klaviyo: KlaviyoEmulator, events: int) -> None:
    metrics = [
        "Received Email",
        "Opened Email",
        "Clicked Email",
        "Placed Order",
        "Bounced Email",
        "Unsubscribed from Email Marketing",
        "Marked Email as Spam",
    ]
    for i in range(events):
        klaviyo.add_event(
            f"evt{i:04d}",
            metrics[i % len(metrics)],
            f"prof{i % 9}",
            f"person{i % 9}@example.com",
            f"2026-03-{(i % 27) + 1:02d}T{i % 24:02d}:00:00+00:00",
            {"$message": f"msg{i % 5}", "$flow": "flow_winback"},
        )


def test_klaviyo_pull_is_incremental_and_fills_email_events(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    with KlaviyoEmulator(page_size=4) as klaviyo:
        _klaviyo_account(klaviyo, events=70)
        klaviyo.faults.rate_limit_every = 5
        klaviyo.faults.retry_after = "1"
        klaviyo.faults.malformed_once_at_page = 4
        with pytest.raises(Exception, match="(?i)json|decode|expecting|unterminated"):
            pull_klaviyo_events(klaviyo.API_KEY, raw, base_url=klaviyo.base_url)

        pull_klaviyo_events(klaviyo.API_KEY, raw, base_url=klaviyo.base_url)
        expected = {
            "Received Email": "sent",
            "Opened Email": "open",
            "Clicked Email": "click",
            "Bounced Email": "bounce",
            "Unsubscribed from Email Marketing": "unsubscribe",
            "Marked Email as Spam": "spam_complaint",
        }
        email_events = {
            e["id"]: expected[klaviyo.metrics[e["relationships"]["metric"]["data"]["id"]]]
            for e in klaviyo.events.values()
            if klaviyo.metrics[e["relationships"]["metric"]["data"]["id"]] in expected
        }
        got = dict(_rows(raw, "email_events", "select event_id, event_type from t"))
        assert got == email_events  # every e-mail event once, "Placed Order" left out
        assert _rows(
            raw,
            "email_events",
            "select count(*) from t where email is null"
            " or message_id is null or workflow <> 'flow_winback'",
        ) == [(0,)]
        throttled = [i for i, r in enumerate(klaviyo.requests) if r.status == 429]
        assert throttled and all(
            klaviyo.requests[i + 1].at - klaviyo.requests[i].at >= 1.0 for i in throttled
        )

        # again: nothing new; then a new event and a late one (older than the newest)
        pull_klaviyo_events(klaviyo.API_KEY, raw, base_url=klaviyo.base_url)
        assert len(_rows(raw, "email_events", "select * from t")) == len(email_events)
        klaviyo.add_event(
            "late", "Opened Email", "prof1", "person1@example.com", "2026-03-27T20:00:00+00:00"
        )
        klaviyo.add_event(
            "new", "Clicked Email", "prof2", "person2@example.com", "2026-03-29T08:00:00+00:00"
        )
        pull_klaviyo_events(klaviyo.API_KEY, raw, base_url=klaviyo.base_url)
        got = dict(_rows(raw, "email_events", "select event_id, event_type from t"))
        assert got == {**email_events, "late": "open", "new": "click"}


def test_klaviyo_pull_killed_mid_way_resumes_without_duplicates(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    with KlaviyoEmulator(page_size=5) as klaviyo:
        _klaviyo_account(klaviyo, events=80)
        klaviyo.faults.page_delay_seconds = 0.3
        env = {
            **os.environ,
            "KLAVIYO_API_KEY": klaviyo.API_KEY,
            "KLAVIYO_BASE_URL": klaviyo.base_url,
        }
        _kill_mid_pull(_cli("klaviyo-events", "--raw-dir", str(raw)), env, klaviyo, pages=3)
        klaviyo.faults.page_delay_seconds = 0
        done = subprocess.run(
            _cli("klaviyo-events", "--raw-dir", str(raw)),
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        (count, distinct) = _rows(
            raw, "email_events", "select count(*), count(distinct event_id) from t"
        )[0]
        names = klaviyo.metrics
        wanted = sum(
            names[e["relationships"]["metric"]["data"]["id"]] != "Placed Order"
            for e in klaviyo.events.values()
        )
        assert count == distinct == wanted


def test_pulled_raw_tables_build_with_dbt_unchanged(tmp_path: Path) -> None:
    from warehouse.dbt import run_dbt

    raw = tmp_path / "raw"
    with ShopifyEmulator() as shopify, KlaviyoEmulator() as klaviyo:
        _shop(shopify, orders=12)
        _klaviyo_account(klaviyo, events=21)
        pull_shopify(shopify.base_url, shopify.TOKEN, raw)
        pull_klaviyo_events(klaviyo.API_KEY, raw, base_url=klaviyo.base_url)
    db = tmp_path / "warehouse.duckdb"
    run_dbt(
        [
            "build",
            "--select",
            "+dim_customers",
            "+fct_orders",
            "stg_shop__email_events",
            "--exclude",
            "test_type:unit",
            "--indirect-selection",
            "cautious",
        ],
        raw_dir=raw,
        duckdb_path=db,
    )
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from core.fct_orders").fetchone() == (12,)
        # seven buyers (emails buyer0..6), each accepted marketing at checkout (example.com
        # addresses would be blocked as test data by the identity blocklist)
        assert con.execute(
            "select count(*), count(*) filter (where is_email_consented) from core.dim_customers"
        ).fetchone() == (7, 7)
        assert con.execute("select count(*) from staging.stg_shop__email_events").fetchone() == (
            18,
        )  # 21 events, 3 of them 'Placed Order'


def test_pull_without_credentials_says_what_to_set(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ingest.cli import app

    runner = CliRunner()
    env = {"SHOPIFY_ACCESS_TOKEN": "", "SHOPIFY_SHOP_URL": "", "KLAVIYO_API_KEY": ""}
    shopify = runner.invoke(app, ["pull", "shopify", "--raw-dir", str(tmp_path)], env=env)
    assert shopify.exit_code == 1
    assert "SHOPIFY_ACCESS_TOKEN" in shopify.output
    klaviyo = runner.invoke(app, ["pull", "klaviyo-events", "--raw-dir", str(tmp_path)], env=env)
    assert klaviyo.exit_code == 1
    assert "KLAVIYO_API_KEY" in klaviyo.output
