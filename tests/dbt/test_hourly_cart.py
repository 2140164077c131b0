"""The hourly path with a simulated clock, the day after the shop's data ends: carts
abandoned at 10:05 - also by visitors who logged in on a new device at 10:00, whom the daily
identity graph has never seen - are in the destination's 1-hour step by 11:15 (not at 10:55,
when they are 50 minutes old), unless the cart was bought at 10:30; a product viewed at
10:05 and left gets its browse reminder by 12:15 (2 hours later, not at 11:15); each
reminder goes out only once, however often the path runs, and every run delivers exactly
the rows that changed since the previous one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.defs.automation.hourly import run_hourly
from tests.dbt.conftest import Warehouse

DAY = "2026-11-16"  # the shop's data ends on 2026-11-15
CARTS, NEW_DEVICE_CARTS, VIEWS, BOUGHT = 20, 20, 20, 10
# what each sync sends of a row (reverse_etl/syncs/file_*_reminders.yml)
SYNCS = {
    "file_cart_reminders": (
        "sync_file__cart_reminders",
        "email, first_name, person_id, cart_step, step_at, cart_value, cart_value_tier,"
        " product_id, offer_type",
    ),
    "file_browse_reminders": (
        "sync_file__browse_reminders",
        "email, first_name, person_id, entered_at, product_id, product_name, category, offer_type",
    ),
}


def clock(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00+00:00").astimezone(UTC)


def shoppers(db: Path, count: int) -> list[dict]:
    """Persons with an account, a device, an email, an email opt-in, no order in the last
    10 days, no audience or suppression today and a segment that allows 3 messages a
    quarter: with a quiet inbox (below) nothing stands between them and a reminder."""
    with duckdb.connect(str(db), read_only=True) as con:
        return (
            con.execute(
                f"""
                with ids as (
                    select person_id,
                        min(case when identifier_type = 'anonymous_id'
                            then identifier_value end) as anonymous_id,
                        min(case when identifier_type = 'customer_id'
                            then identifier_value end) as customer_id
                    from intermediate.int_identifiers_stitched
                    where person_id is not null
                    group by person_id
                )
                select c.person_id, ids.anonymous_id, ids.customer_id, c.email,
                    (select min(product_id) from staging.stg_shop__products) as product_id
                from core.dim_customers as c
                inner join ids on c.person_id = ids.person_id
                where ids.anonymous_id is not null and ids.customer_id is not null
                    and c.email is not null and c.is_email_consented
                    and c.person_id not in (
                        select person_id from core.fct_orders
                        where ordered_at >= timestamptz '{DAY} 00:00:00+00' - interval 10 day)
                    and c.person_id not in (
                        select person_id from segmentation.audience_candidates)
                    and c.person_id not in (
                        select person_id from segmentation.contact_suppressions)
                    and c.person_id not in (
                        select r.person_id from segmentation.customer_rfm as r
                        inner join seeds.rfm_contact_policy as p on r.rfm_segment = p.segment
                        where p.max_promotional_per_quarter < 3)
                order by c.person_id
                limit {count}
                """
            )
            .df()
            .to_dict("records")
        )


def quiet_inbox(raw_dir: Path, emails: set[str]) -> None:
    """The shop mails its newsletter weekly: left as it is, the frequency cap (1 send + a
    3-step cart flow > 3 in 7 days) rightly holds every subscriber's cart flow back. These
    persons got no email in the last quarter."""
    events = pd.read_parquet(raw_dir / "email_events.parquet")
    recent = events["occurred_at"] >= pd.Timestamp(f"{DAY}T00:00:00+00:00") - pd.Timedelta(days=91)
    ours = events["email"].str.strip().str.lower().isin(emails)
    events[~(recent & ours)].to_parquet(raw_dir / "email_events.parquet")


def add_events(raw_dir: Path, rows: list[dict]) -> None:
    """Append web events (the raw contract's columns) to events.parquet."""
    events = pd.read_parquet(raw_dir / "events.parquet")
    new = pd.DataFrame(
        [
            {
                "event_id": f"hourly-test-{i}",
                "anonymous_id": row["anonymous_id"],
                "customer_id": row.get("customer_id"),
                "email": None,
                "event_type": row["event_type"],
                "product_id": row.get("product_id"),
                "in_stock": row.get("product_id") is not None,
                "occurred_at": pd.Timestamp(row["at"]),
            }
            for i, row in enumerate(rows)
        ]
    ).astype(events.dtypes.to_dict())
    pd.concat([events, new], ignore_index=True).to_parquet(raw_dir / "events.parquet")


def add_orders(raw_dir: Path, rows: list[dict]) -> None:
    """Append paid orders (an existing order's amounts, the given buyer and time)."""
    orders = pd.read_parquet(raw_dir / "orders.parquet")
    template = orders[orders["status"] == "paid"].iloc[[0] * len(rows)].reset_index(drop=True)
    template["order_id"] = [f"hourly-test-order-{i}" for i in range(len(rows))]
    template["customer_id"] = [row["customer_id"] for row in rows]
    template[["email", "phone", "anonymous_id"]] = None
    template["ordered_at"] = [pd.Timestamp(row["at"]) for row in rows]
    new = template.astype(orders.dtypes.to_dict())
    pd.concat([orders, new], ignore_index=True).to_parquet(raw_dir / "orders.parquet")


def sendable(db: Path) -> dict[str, dict[str, tuple]]:
    """Per sync: the rows the sync may send now (not held out, consented), by key."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            sync: {
                key: tuple(rest)
                for key, *rest in con.execute(
                    f"select reminder_id, {fields} from sync.{model}"
                    " where not is_holdout and is_email_consented"
                ).fetchall()
            }
            for sync, (model, fields) in SYNCS.items()
        }


def test_reminders_go_out_on_time_once_and_as_a_diff(warehouse: Warehouse, tmp_path: Path):
    copy = warehouse.copy(tmp_path / "warehouse")
    outbox = tmp_path / "outbox"
    people = shoppers(copy.duckdb_path, CARTS + NEW_DEVICE_CARTS + VIEWS + BOUGHT)
    assert len(people) == CARTS + NEW_DEVICE_CARTS + VIEWS + BOUGHT
    carts, new_device, views, bought = (
        people[:CARTS],
        people[CARTS : CARTS + NEW_DEVICE_CARTS],
        people[CARTS + NEW_DEVICE_CARTS : CARTS + NEW_DEVICE_CARTS + VIEWS],
        people[CARTS + NEW_DEVICE_CARTS + VIEWS :],
    )
    ours = {p["person_id"] for p in people}
    runs: dict[str, dict[str, list[dict]]] = {}  # hh:mm -> sync -> records delivered
    synced: dict[str, dict[str, tuple]] = {sync: {} for sync in SYNCS}  # nothing sent yet

    def hour(hhmm: str) -> dict[str, list[dict]]:
        done = {sync: set(outbox.glob(f"{sync}/*.jsonl")) for sync in SYNCS}
        run_hourly(
            clock(hhmm), raw_dir=copy.raw_dir, duckdb_path=copy.duckdb_path, outbox_dir=outbox
        )
        after = sendable(copy.duckdb_path)
        delivered = {
            sync: [
                json.loads(line)
                for path in sorted(set(outbox.glob(f"{sync}/*.jsonl")) - done[sync])
                for line in path.read_text().splitlines()
            ]
            for sync in SYNCS
        }
        for sync, records in delivered.items():
            # the diff: every sendable row new or changed since the last run, nothing else
            changed = {k for k, row in after[sync].items() if synced[sync].get(k) != row}
            assert sorted(r["key"] for r in records) == sorted(changed), (hhmm, sync)
            synced[sync].update(after[sync])
        runs[hhmm] = delivered
        return {
            sync: [r["data"]["properties"] for r in records] for sync, records in delivered.items()
        }

    def persons(records: list[dict]) -> set[str]:
        return {r["person_id"] for r in records} & ours

    quiet_inbox(copy.raw_dir, {p["email"] for p in people})
    hour("09:00")  # the daily state of the world, brought to the hour, before the events
    cart_at = f"{DAY}T10:05:00+00:00"
    add_events(
        copy.raw_dir,
        [
            *({"anonymous_id": p["anonymous_id"], "event_type": "add_to_cart",
               "product_id": p["product_id"], "at": cart_at} for p in carts),
            # a new phone, never seen by the identity graph: log in, then leave a cart
            *({"anonymous_id": f"new-phone-{p['person_id']}", "event_type": "login",
               "customer_id": p["customer_id"], "at": f"{DAY}T10:00:00+00:00"}
              for p in new_device),
            *({"anonymous_id": f"new-phone-{p['person_id']}", "event_type": "add_to_cart",
               "product_id": p["product_id"], "at": cart_at} for p in new_device),
            *({"anonymous_id": p["anonymous_id"], "event_type": "view_item",
               "product_id": p["product_id"], "at": cart_at} for p in views),
            *({"anonymous_id": p["anonymous_id"], "event_type": "add_to_cart",
               "product_id": p["product_id"], "at": cart_at} for p in bought),
        ],
    )  # fmt: skip
    # ... and these bought their cart at 10:30 (signed in: the order names their account)
    add_orders(
        copy.raw_dir,
        [{"customer_id": p["customer_id"], "at": f"{DAY}T10:30:00+00:00"} for p in bought],
    )

    at_10_55 = hour("10:55")  # 50 minutes: not abandoned yet
    assert not persons(at_10_55["file_cart_reminders"])

    at_11_15 = hour("11:15")
    with duckdb.connect(str(copy.duckdb_path), read_only=True) as con:
        members = dict(
            con.execute(
                "select person_id, is_holdout from segmentation.audience_memberships"
                " where audience = 'cart_abandonment'"
            ).fetchall()
        )
        (as_of_at,) = con.execute("select as_of_at from segmentation.segmentation_as_of").fetchone()
    assert as_of_at == clock("11:15")  # hours measured from the true now, not the day's end
    for group in (carts, new_device):
        entered = {p["person_id"] for p in group} & members.keys()
        assert len(entered) >= len(group) // 2
    cart_people = {p["person_id"] for p in carts + new_device}
    treated = {p for p in cart_people if p in members and not members[p]}
    sent = [r for r in at_11_15["file_cart_reminders"] if r["person_id"] in ours]
    assert sorted(r["person_id"] for r in sent) == sorted(treated)  # holdouts get nothing
    assert treated & {p["person_id"] for p in new_device}  # the just-identified visitors too
    assert not {p["person_id"] for p in bought} & members.keys()  # they bought: no reminder
    assert {r["cart_step"] for r in sent} == {1}
    assert {r["step_at"][:16] for r in sent} == {f"{DAY}T11:05"}
    assert not persons(at_11_15["file_browse_reminders"])  # a view waits 2 hours

    at_12_15 = hour("12:15")
    assert not persons(at_12_15["file_cart_reminders"])  # step 1 is not sent again
    browsed = persons(at_12_15["file_browse_reminders"])
    assert browsed and browsed <= {p["person_id"] for p in views}
    assert {
        r["entered_at"][:16] for r in at_12_15["file_browse_reminders"] if r["person_id"] in browsed
    } == {f"{DAY}T12:05"}

    at_13_15 = hour("13:15")
    assert not persons(at_13_15["file_cart_reminders"] + at_13_15["file_browse_reminders"])
    # over all runs and all persons of the shop, every reminder went out once
    for sync in SYNCS:
        keys = [r["key"] for run in runs.values() for r in run[sync]]
        assert len(keys) == len(set(keys)), sync
