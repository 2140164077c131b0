"""The hourly cart path with a simulated clock: carts abandoned at 10:05 the day after the
shop's data ends are in the destination's 1-hour step by 11:15 - not at 10:55, when they
are 50 minutes old - and the reminder goes out only once, however often the path runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.defs.automation.hourly import run_hourly
from tests.dbt.conftest import Warehouse

DAY = "2026-11-16"  # the shop's data ends on 2026-11-15
CARTS = 40


def clock(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00+00:00").astimezone(UTC)


def shoppers(db: Path) -> list[tuple[str, str, str, str]]:
    """(person_id, anonymous_id, product_id, email) of persons with an email, an email
    opt-in, no audience or suppression today and a segment that allows 3 messages a
    quarter: with a quiet inbox (below) nothing stands between them and a reminder."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            f"""
            with devices as (
                select person_id, min(identifier_value) as anonymous_id
                from intermediate.int_identifiers_stitched
                where identifier_type = 'anonymous_id' and person_id is not null
                group by person_id
            )
            select c.person_id, d.anonymous_id,
                (select min(product_id) from staging.stg_shop__products) as product_id, c.email
            from core.dim_customers as c
            inner join devices as d on c.person_id = d.person_id
            where c.email is not null and c.is_email_consented
                and c.person_id not in (select person_id from segmentation.audience_candidates)
                and c.person_id not in (
                    select person_id from segmentation.contact_suppressions)
                and c.person_id not in (
                    select r.person_id from segmentation.customer_rfm as r
                    inner join seeds.rfm_contact_policy as p on r.rfm_segment = p.segment
                    where p.max_promotional_per_quarter < 3)
            order by c.person_id
            limit {CARTS}
            """
        ).fetchall()


def quiet_inbox(raw_dir: Path, emails: set[str]) -> None:
    """The shop mails its newsletter weekly: left as it is, the frequency cap (1 send + a
    3-step cart flow > 3 in 7 days) rightly holds every subscriber's cart flow back. These
    persons got no email in the last quarter."""
    events = pd.read_parquet(raw_dir / "email_events.parquet")
    recent = events["occurred_at"] >= pd.Timestamp(f"{DAY}T00:00:00+00:00") - pd.Timedelta(days=91)
    ours = events["email"].str.strip().str.lower().isin(emails)
    events[~(recent & ours)].to_parquet(raw_dir / "email_events.parquet")


def add_carts(raw_dir: Path, carts: list[tuple[str, str, str, str]], at: datetime) -> None:
    events = pd.read_parquet(raw_dir / "events.parquet")
    new = pd.DataFrame(
        {
            "event_id": [f"hourly-test-{i}" for i in range(len(carts))],
            "anonymous_id": [anonymous_id for _, anonymous_id, *_ in carts],
            "customer_id": None,
            "email": None,
            "event_type": "add_to_cart",
            "product_id": [product_id for _, _, product_id, _ in carts],
            "in_stock": True,
            "occurred_at": pd.Timestamp(at),
        }
    ).astype(events.dtypes.to_dict())
    pd.concat([events, new], ignore_index=True).to_parquet(raw_dir / "events.parquet")


def delivered(outbox: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((outbox / "file_cart_reminders").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_a_cart_abandoned_at_10_05_gets_its_1_hour_reminder_by_11_15_once(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    copy = warehouse.copy(tmp_path / "warehouse")
    outbox = tmp_path / "outbox"
    carts = shoppers(copy.duckdb_path)
    assert len(carts) >= 10
    ours = {person for person, *_ in carts}

    def hour(hhmm: str) -> list[dict]:
        run_hourly(
            clock(hhmm), raw_dir=copy.raw_dir, duckdb_path=copy.duckdb_path, outbox_dir=outbox
        )
        return [r for r in delivered(outbox) if r["data"]["properties"]["person_id"] in ours]

    quiet_inbox(copy.raw_dir, {email for *_, email in carts})
    # the daily state of the world, before the carts: nothing for these persons
    assert hour("09:00") == []
    add_carts(copy.raw_dir, carts, clock("10:05"))

    assert hour("10:55") == []  # 50 minutes: not abandoned yet

    first = hour("11:15")
    with duckdb.connect(str(copy.duckdb_path), read_only=True) as con:
        members = dict(
            con.execute(
                "select person_id, is_holdout from segmentation.audience_memberships"
                " where audience = 'cart_abandonment'"
            ).fetchall()
        )
        (as_of_at,) = con.execute("select as_of_at from segmentation.segmentation_as_of").fetchone()
    assert as_of_at == clock("11:15")  # hours measured from the true now, not the day's end
    entered = {p for p in ours if p in members}
    treated = {p for p in entered if not members[p]}
    assert len(entered) >= len(ours) // 2 and treated
    sent = [r["data"]["properties"] for r in first]
    assert sorted(p["person_id"] for p in sent) == sorted(treated)  # holdouts get nothing
    assert {p["cart_step"] for p in sent} == {1}
    assert {p["step_at"][:16] for p in sent} == {f"{DAY}T11:05"}

    # an hour later the same reminder is not sent again; the next step comes at +24 h
    assert hour("12:15") == first
