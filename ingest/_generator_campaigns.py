"""Planted campaign effects: the sample shop's marketing platform runs the warehouse's flows.

The lift model (dbt_project/models/marts/segmentation/lift) compares persons who entered a
workflow's audience and were sent the flow (treatment) with persons who entered it and were
held out. To test it, the sample data must contain flows that really work and one that does
not - and the groups must be the warehouse's own. The generator cannot know the warehouse's
person ids (they come out of identity stitching), so the simulation runs where a real shop
runs it, *after* the warehouse has decided:

1. ``generate()`` writes the shop (raw) and its truth; ``dbt build`` replays every workflow
   entry over the history (``segmentation.fct_workflow_entries``) and assigns holdouts by
   the deterministic hash (``segmentation.holdout_assignments``, persisted).
2. ``plant_campaign_effects()`` plays the marketing platform and the customers: it reads the
   entries and holdout flags exactly as reverse ETL would deliver them (person, workflow,
   entered_at, is_holdout, email), sends each treated entry made on or after the flow's
   launch date (``audience_settings.launch_date``; nothing before, like a real platform)
   its flow (``email_events``: sent, delivered, open, click) and nothing to held-out
   persons, and for workflows with a planted effect makes a share of the treated entries
   that would not have bought in the lift window place an extra order
   (``orders``/``order_items``) after a click, inside the entry's window (which ends at the
   person's next entry of the same flow). Held-out and global-holdout persons are never
   touched.
3. ``dbt build`` again: the persisted assignments are unchanged, and the lift model measures
   treatment vs holdout from raw data alone. The truth (``campaign_effects.json``,
   ``campaign_orders.parquet`` in the truth directory) says what was planted; no model
   reads it.

Treating entries in the past stands for a warehouse that had been running all along: the
entry rules and the hash are deterministic, so the replayed entries and assignments are the
ones it would have made at the time (docs/segmentation.md, "Planted lift").
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingest._generator_util import US_PER_DAY, money, padded_ids
from ingest.contract import TABLES, conform

log = logging.getLogger(__name__)

# Absolute share of treated entries, among those with no order of their own in the lift
# window, that the flow converts. Win-back is the null workflow: mailed, no effect.
DEFAULT_EFFECTS: dict[str, float] = {
    "second_purchase_nurture": 0.15,
    "replenishment_due": 0.08,
    "cart_abandonment": 0.10,
    "winback": 0.0,
}


@dataclass(frozen=True)
class CampaignConfig:
    """What the simulated marketing platform does with the warehouse's workflow entries."""

    effects: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EFFECTS))
    seed: int = 2026
    open_rate: float = 0.45
    click_rate_of_opens: float = 0.25
    # extra orders are for non-consumable products so they start no replenishment cycle
    order_id_prefix: str = "OC"
    message_id_prefix: str = "MSGC"
    event_id_prefix: str = "EMC"


@dataclass
class CampaignReport:
    workflows: dict[str, dict]
    emails_added: int
    orders_added: int

    def summary(self) -> str:
        lines = [
            f"Planted campaigns: {self.emails_added:,} email events, {self.orders_added:,} orders"
        ]
        for name, w in self.workflows.items():
            lines.append(
                f"  {name:<26} uplift {w['planted_conversion_uplift']:.2f}  treated "
                f"{w['treated_entries']:>6,}  held out {w['holdout_entries']:>5,}  "
                f"true conversion lift {w['true_conversion_lift']:.4f}"
            )
        return "\n".join(lines)


_ENTRIES_SQL = """
with entries as (
    select
        person_id,
        workflow,
        entered_at,
        is_reachable,
        lead(entered_at) over (partition by person_id, workflow order by entered_at)
            as next_entered_at
    from segmentation.fct_workflow_entries
),

windows as (
    -- the customer's reaction window: until the flow's window ends or the person enters
    -- the same flow again (a new entry starts a new message)
    select
        entries.*,
        settings.launch_date,
        least(
            entries.entered_at
                + to_days(cast(coalesce(settings.lift_window_days, 30) as integer)),
            coalesce(entries.next_entered_at, 'infinity'::timestamptz)
        ) as window_end_at
    from entries
    inner join seeds.audience_settings as settings
        on entries.workflow = settings.audience
)

select
    windows.person_id,
    windows.workflow,
    windows.entered_at,
    epoch_us(windows.entered_at) / 86400e6 as entered_day,
    epoch_us(windows.window_end_at) / 86400e6 as window_end_day,
    customers.email,
    coalesce(global_holdout.is_holdout, false) as is_global_holdout,
    coalesce(audience_holdout.is_holdout, false) as is_audience_holdout,
    exists (
        select 1
        from core.fct_orders as orders
        where orders.person_id = windows.person_id
            and orders.is_paid
            and orders.ordered_at > windows.entered_at
            and orders.ordered_at <= windows.window_end_at
    ) as bought_anyway
from windows
cross join segmentation.segmentation_as_of as as_of
inner join core.dim_customers as customers
    on windows.person_id = customers.person_id
left join segmentation.current_holdout_assignments as global_holdout
    on windows.person_id = global_holdout.person_id
    and global_holdout.experiment = 'global'
left join segmentation.current_holdout_assignments as audience_holdout
    on windows.person_id = audience_holdout.person_id
    and windows.workflow = audience_holdout.experiment
where windows.is_reachable
    and customers.email is not null
    -- a real platform sends nothing before the flow's launch (none: before the data)
    and (windows.launch_date is null
        or windows.entered_at >= cast(windows.launch_date as timestamptz))
    and windows.window_end_at <= as_of.as_of_at
    and windows.workflow in ({workflows})
order by windows.workflow, windows.person_id, windows.entered_at
"""


def _ts(days: np.ndarray) -> pa.Array:
    return pa.array(np.round(days * US_PER_DAY).astype(np.int64), type=pa.timestamp("us", tz="UTC"))


def _append(path: Path, table: pa.Table, name: str) -> None:
    """Append rows to a raw Parquet file (rewritten atomically in the contract schema)."""
    schema = TABLES[name].schema
    old = pq.read_table(path).cast(schema)
    merged = pa.concat_tables([old, conform(table, name)])
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(merged, tmp)
    tmp.replace(path)


def _decisive(
    converts: np.ndarray,
    person: np.ndarray,
    entered: np.ndarray,
    window_end: np.ndarray,
    order_at: np.ndarray,
) -> np.ndarray:
    """Planted conversions that decide the entry's conversion: no other order in its window.

    Without the flow the entry would still have converted if another flow's planted order
    fell in its window (its own orders are already excluded by `bought_anyway`).
    """
    import pandas as pd

    decisive = converts.copy()
    planted = np.flatnonzero(converts)
    if planted.size == 0:
        return decisive
    entries = pd.DataFrame(
        {
            "entry": planted,
            "person": person[planted],
            "start": entered[planted],
            "end": window_end[planted],
        }
    )
    orders = pd.DataFrame({"source": planted, "person": person[planted], "at": order_at[planted]})
    pairs = entries.merge(orders, on="person")
    other = pairs[
        (pairs["source"] != pairs["entry"])
        & (pairs["at"] > pairs["start"])
        & (pairs["at"] <= pairs["end"])
    ]
    decisive[other["entry"].unique()] = False
    return decisive


def plant_campaign_effects(
    raw_dir: Path,
    truth_dir: Path,
    duckdb_path: Path,
    config: CampaignConfig | None = None,
) -> CampaignReport:
    """Send the warehouse's flows to treated entries and plant their effect (see module doc).

    Reads `duckdb_path` (a warehouse built by `dbt build` on `raw_dir`) read-only, appends to
    `raw_dir` (email_events, orders, order_items) and writes the planted truth to `truth_dir`.
    Run it once per generated shop, then rebuild the warehouse.
    """
    config = config or CampaignConfig()
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    with duckdb.connect() as con:
        (planted,) = con.execute(
            f"select count(*) from read_parquet('{raw_dir / 'orders.parquet'}')"
            f" where starts_with(order_id, '{config.order_id_prefix}')"
        ).fetchone()
    if planted:
        raise RuntimeError(f"campaign effects are already planted in {raw_dir}")
    workflows = sorted(config.effects)
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        sql = _ENTRIES_SQL.format(workflows=", ".join(f"'{w}'" for w in workflows))
        entries = con.execute(sql).fetchnumpy()
    with duckdb.connect() as con:
        products = con.execute(
            f"select product_id, cast(price * 100 as bigint) as cents from "
            f"read_parquet('{raw_dir / 'products.parquet'}') "
            "where not coalesce(is_consumable, false) order by product_id"
        ).fetchnumpy()
        (currency,) = con.execute(
            f"select mode(currency) from read_parquet('{raw_dir / 'orders.parquet'}')"
        ).fetchone()

    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 7_919]))
    n = len(entries["person_id"])
    person = np.asarray(entries["person_id"], dtype=object)
    workflow = np.asarray(entries["workflow"], dtype=object)
    entered = np.asarray(entries["entered_day"], dtype=float)
    window_end = np.asarray(entries["window_end_day"], dtype=float)
    emails = np.asarray(entries["email"], dtype=object)
    held_out = np.asarray(entries["is_global_holdout"]) | np.asarray(entries["is_audience_holdout"])
    treated = ~held_out

    bought_anyway = np.asarray(entries["bought_anyway"], dtype=bool)

    uplift = np.array([config.effects[w] for w in workflow], dtype=float)
    u = rng.random((4, n))
    # a window cut short by the next entry (within a few hours) leaves no time to react
    can_react = window_end - entered > 0.1
    converts = treated & ~bought_anyway & can_react & (u[0] < uplift)
    # the flow: every treated entry is sent one message; converters open and click
    sent_at = entered + 0.02 + 0.01 * u[1]
    opened = treated & (converts | (u[2] < config.open_rate))
    clicked = opened & (converts | (u[3] < config.click_rate_of_opens))
    open_at = sent_at + rng.exponential(0.3, n)
    click_at = open_at + rng.exponential(0.01, n)
    limit = np.maximum(window_end - 0.01, sent_at + 0.03)
    open_at = np.minimum(open_at, limit - 0.02)
    click_at = np.minimum(click_at, limit - 0.01)
    order_at = np.minimum(click_at + rng.uniform(0.005, 2.0, n), limit)

    # ---- email_events: sent, delivered, open, click per treated entry
    t_idx = np.flatnonzero(treated)
    msg_no = np.arange(1, len(t_idx) + 1)
    msg_of = np.zeros(n, dtype=np.int64)
    msg_of[t_idx] = msg_no
    parts = [
        (t_idx, "sent", sent_at),
        (t_idx, "delivered", sent_at + 0.0007),
        (np.flatnonzero(opened), "open", open_at),
        (np.flatnonzero(clicked), "click", click_at),
    ]
    ev_idx = np.concatenate([p[0] for p in parts])
    ev_type = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts])
    ev_day = np.concatenate([p[2][p[0]] for p in parts])
    o = np.lexsort((ev_day, msg_of[ev_idx]))
    ev_idx, ev_type, ev_day = ev_idx[o], ev_type[o], ev_day[o]
    emails_table = pa.table(
        {
            "event_id": padded_ids(config.event_id_prefix, np.arange(1, len(ev_idx) + 1), 10),
            "email": pa.array(emails[ev_idx], pa.string()),
            "workflow": pa.array(workflow[ev_idx], pa.string()),
            "message_id": padded_ids(config.message_id_prefix, msg_of[ev_idx], 10),
            "event_type": pa.array(ev_type, pa.string()),
            "occurred_at": _ts(ev_day),
        }
    )

    # ---- orders and order_items of the converted entries
    c_idx = np.flatnonzero(converts)
    k = len(c_idx)
    prod = rng.integers(0, len(products["product_id"]), k)
    cents = np.asarray(products["cents"], dtype=np.int64)[prod]
    shipping = np.where(cents >= 19_900, 0, 1_499)
    total = cents + shipping
    order_ids = padded_ids(config.order_id_prefix, np.arange(1, k + 1), 9)
    nulls = pa.nulls(k, pa.string())
    orders_table = pa.table(
        {
            "order_id": order_ids,
            "customer_id": nulls,
            "email": pa.array(emails[c_idx], pa.string()),
            "phone": nulls,
            "anonymous_id": nulls,
            "ordered_at": _ts(order_at[c_idx]),
            "status": pa.array(["paid"] * k, pa.string()),
            "currency": pa.array([currency] * k, pa.string()),
            "subtotal": money(cents),
            "discount": money(np.zeros(k, dtype=np.int64)),
            "shipping": money(shipping),
            "tax": money(np.round(total * 23 / 123).astype(np.int64)),
            "total": money(total),
            "discount_code": nulls,
        }
    )
    items_table = pa.table(
        {
            "order_id": order_ids,
            "line_number": pa.array(np.ones(k, dtype=np.int32)),
            "product_id": pa.array(
                np.asarray(products["product_id"], dtype=object)[prod], pa.string()
            ),
            "quantity": pa.array(np.ones(k, dtype=np.int32)),
            "unit_price": money(cents),
            "discount": money(np.zeros(k, dtype=np.int64)),
        }
    )
    _append(raw_dir / "email_events.parquet", emails_table, "email_events")
    _append(raw_dir / "orders.parquet", orders_table, "orders")
    _append(raw_dir / "order_items.parquet", items_table, "order_items")

    # ---- truth: what was planted, per workflow (launched entries with complete windows)
    revenue = np.zeros(n)
    revenue[c_idx] = (total - 0) / 100.0  # net revenue of a paid order = total
    decisive = _decisive(converts, person, entered, window_end, order_at)
    per_workflow: dict[str, dict] = {}
    for w in workflows:
        m = workflow == w
        t = m & treated
        per_workflow[w] = {
            "planted_conversion_uplift": config.effects[w],
            "entries": int(m.sum()),
            "treated_entries": int(t.sum()),
            "holdout_entries": int((m & held_out).sum()),
            "treated_bought_anyway": int((t & bought_anyway).sum()),
            "planted_orders": int((m & converts).sum()),
            # realised effect on the treated: entries converted only because of the flow
            "true_conversion_lift": float(decisive[t].mean()) if t.any() else 0.0,
            "true_revenue_lift_per_entry": float(revenue[t].mean()) if t.any() else 0.0,
        }
    truth = {
        "description": (
            "Effects planted by ingest/_generator_campaigns.py on the warehouse's workflow "
            "entries made on or after the flow's launch date with a complete lift window "
            "(cut at the person's next entry of the same flow). true_conversion_lift is the "
            "share of treated entries that converted only because of the flow (its extra "
            "order is the only order in the window: none of their own, none another flow "
            "planted); true_revenue_lift_per_entry the planted net revenue per treated "
            "entry. Never read by dbt."
        ),
        "config": asdict(config),
        "workflows": per_workflow,
    }
    (truth_dir / "campaign_effects.json").write_text(json.dumps(truth, indent=2) + "\n")
    pq.write_table(
        pa.table(
            {
                "order_id": order_ids,
                "person_id": pa.array(person[c_idx], pa.string()),
                "workflow": pa.array(workflow[c_idx], pa.string()),
                "entered_at": _ts(entered[c_idx]),
                "ordered_at": _ts(order_at[c_idx]),
                "changes_conversion": pa.array(decisive[c_idx], pa.bool_()),
            }
        ),
        truth_dir / "campaign_orders.parquet",
    )
    report = CampaignReport(per_workflow, emails_table.num_rows, k)
    log.info("%s", report.summary())
    return report


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=plant_campaign_effects.__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--truth-dir", type=Path, required=True)
    parser.add_argument("--duckdb", type=Path, required=True, help="built warehouse")
    parser.add_argument("--seed", type=int, default=CampaignConfig.seed)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = plant_campaign_effects(
        args.raw_dir, args.truth_dir, args.duckdb, CampaignConfig(seed=args.seed)
    )
    del report  # summary logged


if __name__ == "__main__":
    main()
