"""Leakage: changing data after a cutoff must not change the features as of that cutoff.

Builds a second warehouse from a copy of the raw data in which everything dated on or
after the cutoff is altered -- order amounts, statuses and lines, extra orders and web
events, refunds issued later for earlier orders, e-mail unsubscribes, consent flips -- and
compares `ml_customer_features` at every cutoff up to it. The changes keep the identity
graph as it is (copies carry the same identifier sets): persons are resolved with the
graph of the latest build, which is a documented limitation, not a feature leak.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.ml.conftest import AS_OF, run_dbt

CUTOFF = pd.Timestamp("2025-11-13", tz="UTC")  # on the default 92-day schedule from AS_OF


def _read(raw, name: str) -> pd.DataFrame:
    return pq.read_table(raw / f"{name}.parquet").to_pandas()


def _write(raw, name: str, frame: pd.DataFrame) -> None:
    from ingest.contract import TABLES

    table = pa.Table.from_pandas(frame, schema=TABLES[name].schema, preserve_index=False)
    pq.write_table(table, raw / f"{name}.parquet")


def mutate_after(src, dst, cutoff: pd.Timestamp) -> dict[str, int]:
    """Copy the raw tables from `src` to `dst`, changing only what happens after `cutoff`."""
    import shutil

    shutil.copytree(src, dst)
    changed: dict[str, int] = {}

    orders = _read(dst, "orders")
    late = orders["ordered_at"] >= cutoff
    three = Decimal(3)
    for col in ("subtotal", "total", "discount"):
        orders.loc[late, col] = orders.loc[late, col].map(
            lambda v: None if v is None else v * three
        )
    late_idx = np.flatnonzero(late)
    orders.loc[orders.index[late_idx[::3]], "status"] = "cancelled"
    orders.loc[orders.index[late_idx[1::5]], "status"] = "refunded"
    orders.loc[late, "discount_code"] = "LEAKED"
    copies = orders[late].iloc[::3].copy()
    copies["order_id"] = copies["order_id"] + "-copy"
    copies["ordered_at"] = copies["ordered_at"] + pd.Timedelta(days=1)
    _write(dst, "orders", pd.concat([orders, copies], ignore_index=True))
    changed["orders"] = int(late.sum()) + len(copies)

    items = _read(dst, "order_items")
    late_orders = set(orders.loc[late, "order_id"])
    mask = items["order_id"].isin(late_orders)
    items.loc[mask, "quantity"] = items.loc[mask, "quantity"] + 2
    _write(dst, "order_items", items)
    changed["order_items"] = int(mask.sum())

    refunds = _read(dst, "refunds")
    late_refunds = refunds["refunded_at"] >= cutoff
    refunds.loc[late_refunds, "amount"] = refunds.loc[late_refunds, "amount"].map(
        lambda v: v * Decimal(2)
    )
    early_paid = orders[(orders["ordered_at"] < cutoff) & (orders["status"] == "paid")]
    extra = pd.DataFrame(
        {
            "order_id": early_paid["order_id"].iloc[::7].to_numpy(),
            "refunded_at": cutoff + pd.Timedelta(days=5),
            "amount": Decimal("9.99"),
            "reason": "after_cutoff",
        }
    )
    _write(dst, "refunds", pd.concat([refunds, extra], ignore_index=True))
    changed["refunds"] = int(late_refunds.sum()) + len(extra)

    events = _read(dst, "events")
    late = events["occurred_at"] >= cutoff
    anonymous_only = late & events["customer_id"].isna() & events["email"].isna()
    events.loc[anonymous_only, "event_type"] = "add_to_cart"
    copies = events[late].iloc[::2].copy()
    copies["event_id"] = copies["event_id"] + "-copy"
    copies["occurred_at"] = copies["occurred_at"] + pd.Timedelta(hours=1)
    _write(dst, "events", pd.concat([events, copies], ignore_index=True))
    changed["events"] = int(anonymous_only.sum()) + len(copies)

    email_events = _read(dst, "email_events")
    late = email_events["occurred_at"] >= cutoff
    email_events.loc[late, "event_type"] = np.where(
        np.arange(late.sum()) % 2 == 0, "unsubscribe", "click"
    )
    _write(dst, "email_events", email_events)
    changed["email_events"] = int(late.sum())

    consents = _read(dst, "consents")
    late = consents["recorded_at"] >= cutoff
    consents.loc[late, "status"] = consents.loc[late, "status"].map(
        {"opt_in": "opt_out", "opt_out": "opt_in"}
    )
    _write(dst, "consents", consents)
    changed["consents"] = int(late.sum())
    return changed


def _features(path, where: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        schema = con.execute(
            "select table_schema from information_schema.tables "
            "where table_name = 'ml_customer_features'"
        ).fetchone()[0]
        frame = con.execute(
            f'select * from "{schema}".ml_customer_features where {where} '
            "order by person_id, cutoff_date"
        ).df()
    return frame.reset_index(drop=True)


@pytest.mark.slow
def test_changing_data_after_the_cutoff_does_not_change_features(shop, tmp_path):
    mutated_raw = tmp_path / "raw"
    changed = mutate_after(shop["raw"], mutated_raw, CUTOFF)
    assert all(n > 0 for n in changed.values()), changed
    mutated_db = tmp_path / "mutated.duckdb"
    run_dbt(
        [
            "build",
            "--indirect-selection",
            "empty",
            "--select",
            "+ml_customer_features,resource_type:model",
            "+ml_customer_features,resource_type:seed",
            "--vars",
            f"{{as_of_date: '{AS_OF}'}}",
        ],
        mutated_raw,
        mutated_db,
        tmp_path,
    )
    day = CUTOFF.date().isoformat()
    original = _features(shop["duckdb"], f"cutoff_date <= '{day}'")
    mutated = _features(mutated_db, f"cutoff_date <= '{day}'")
    assert len(original) > 1000
    assert original["cutoff_date"].nunique() >= 3
    pd.testing.assert_frame_equal(original, mutated, check_exact=False, rtol=1e-9)

    # ...while the same changes do show up at the later cutoffs (the test has teeth)
    later_original = _features(shop["duckdb"], f"cutoff_date > '{day}'")
    later_mutated = _features(mutated_db, f"cutoff_date > '{day}'")
    assert not later_original.equals(later_mutated)
    merged = later_original.merge(
        later_mutated, on=["person_id", "cutoff_date"], suffixes=("", "_m")
    )
    for col in ("net_revenue", "carts_90d", "is_email_suppressed"):
        assert (merged[col] != merged[f"{col}_m"]).any(), col
