"""Segmentation marts on the generated shop (session `warehouse`, built once with the real
dbt project; its `dbt build` already ran the dbt unit tests for RFM boundaries, lifecycle
rules, audience entry windows, consent resolution and the frequency cap)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from reports.retention_report import write_report
from tests.dbt.conftest import Warehouse
from tests.reports.test_retention_report import chromium, screenshot

SEGMENTS = {
    "Champions", "Loyal", "Potential Loyalist", "New", "Promising", "Need Attention",
    "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost",
}  # fmt: skip


def query(warehouse: Warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_buyer_has_rfm_scores_and_one_of_eleven_segments(warehouse: Warehouse) -> None:
    buyers, scored, unnamed = query(
        warehouse,
        """
        select
            (select count(*) from core.dim_customers where orders_count > 0),
            count(*),
            count(*) filter (where rfm_segment is null)
        from segmentation.customer_rfm
        """,
    )[0]
    assert scored == buyers and unnamed == 0
    summary = query(
        warehouse,
        "select rfm_segment, customer_share, revenue_share from segmentation.rfm_segment_summary",
    )
    assert {s for s, *_ in summary} == SEGMENTS
    assert abs(sum(c for _, c, _ in summary) - 1) < 1e-9
    assert abs(sum(r for *_, r in summary) - 1) < 1e-6
    # champions spend more per customer than the lost
    (champions, lost) = query(
        warehouse,
        "select max(average_monetary) filter (where rfm_segment = 'Champions'),"
        " max(average_monetary) filter (where rfm_segment = 'Lost')"
        " from segmentation.rfm_segment_summary",
    )[0]
    assert champions > lost


def test_cohorts_start_at_full_retention_and_repeat_rates_grow_with_the_window(
    warehouse: Warehouse,
) -> None:
    (month_zero,) = query(
        warehouse,
        "select min(retention_rate) from segmentation.cohort_retention"
        " where months_since_first_order = 0",
    )[0]
    assert month_zero == 1.0
    (bad,) = query(
        warehouse,
        """
        select count(*) from segmentation.cohort_repeat_purchase_rates
        where eligible_90d > 0 and eligible_30d = eligible_90d
            and not (repeat_rate_30d <= repeat_rate_60d and repeat_rate_60d <= repeat_rate_90d)
        """,
    )[0]
    assert bad == 0
    (shares,) = query(
        warehouse, "select sum(customer_share) from segmentation.days_to_second_order_distribution"
    )[0]
    assert abs(shares - 1) < 1e-9


def test_lifecycle_covers_every_person_with_all_stages(warehouse: Warehouse) -> None:
    stages = dict(
        query(
            warehouse,
            "select lifecycle_stage, count(*) from segmentation.customer_lifecycle group by 1",
        )
    )
    (persons,) = query(warehouse, "select count(*) from core.dim_customers")[0]
    assert sum(stages.values()) == persons
    assert {"prospect", "new", "one_time", "regular", "at_risk", "lapsed", "vip"} <= set(stages)
    # the snapshot recorded every person's first stage
    (initial,) = query(
        warehouse, "select count(*) from segmentation.fct_lifecycle_transitions where is_initial"
    )[0]
    assert initial == persons


def test_contact_policy_gives_at_most_one_flow_and_honours_consent(warehouse: Warehouse) -> None:
    (members, persons) = query(
        warehouse,
        "select count(*), count(distinct person_id) from segmentation.audience_memberships",
    )[0]
    assert members == persons > 0
    (unconsented,) = query(
        warehouse,
        """
        select count(*)
        from segmentation.audience_memberships as m
        inner join core.dim_customers as c on m.person_id = c.person_id
        where m.is_automated and not c.is_email_consented
        """,
    )[0]
    assert unconsented == 0
    (capped,) = query(
        warehouse,
        """
        select count(*) from segmentation.audience_memberships as m
        inner join segmentation.audience_candidates as c
            on m.person_id = c.person_id and m.audience = c.audience
        where c.is_frequency_capped or c.is_suppressed
        """,
    )[0]
    assert capped == 0
    reasons = {
        r
        for (r,) in query(
            warehouse, "select distinct suppression_reason from segmentation.audience_candidates"
        )
    }
    assert {"no_email_consent", "price_only_buyer", "sunset", "winback_failed"} <= reasons
    # the cap counts what the chosen flow will send: no eligible person goes over it
    (over_cap,) = query(
        warehouse,
        """
        select count(*) from segmentation.audience_candidates
        where is_eligible and message_class = 'promotional' and is_automated
            and recent_sends + planned_messages > 3
        """,
    )[0]
    assert over_cap == 0


def test_audiences_carry_their_message_attributes(warehouse: Warehouse) -> None:
    (nurture_with_suggestion,) = query(
        warehouse,
        "select avg((product_id is not null)::int) from segmentation.audience_candidates"
        " where audience = 'second_purchase_nurture'",
    )[0]
    assert nurture_with_suggestion is None or nurture_with_suggestion > 0.5
    reasons = {
        r
        for (r,) in query(
            warehouse,
            "select distinct winback_reason from segmentation.audience_entries"
            " where audience = 'winback'",
        )
    }
    assert {"lapsed_regular", "lapsed_one_time"} <= reasons and len(reasons) >= 3
    # days to the run-out counted from the as-of instant (the end of the as-of day)
    (due, bad_runout) = query(
        warehouse,
        """
        select count(*), count(*) filter (
            where datediff('day', a.as_of_at, c.expected_run_out_date) not between 3 and 5)
        from segmentation.audience_candidates as c
        cross join segmentation.segmentation_as_of as a
        where c.audience = 'replenishment_due'
        """,
    )[0]
    assert due > 0 and bad_runout == 0
    opportunities = query(
        warehouse, "select audience, impact_rank from segmentation.workflow_opportunities"
    )
    (automated,) = query(
        warehouse, "select count(*) from seeds.audience_settings where is_automated"
    )[0]
    assert sorted(rank for _, rank in opportunities) == list(range(1, automated + 1))


def test_every_audience_has_one_shape_and_history_uses_the_same_rule(
    warehouse: Warehouse,
) -> None:
    """Today's candidates are exactly the audience_entries rows active at the as-of point,
    and every replayed workflow entry comes from an audience_entries row (one rule)."""
    (active, candidates) = query(
        warehouse,
        """
        select
            (select count(distinct (person_id, audience)) from segmentation.audience_entries
             where is_active),
            (select count(*) from segmentation.audience_candidates)
        """,
    )[0]
    assert active == candidates > 0
    (orphans,) = query(
        warehouse,
        """
        select count(*) from segmentation.fct_workflow_entries as w
        where w.entry_source = 'reconstructed' and not exists (
            select 1 from segmentation.audience_entries as e
            where e.person_id = w.person_id and e.audience = w.workflow
                and e.entered_at = w.entered_at)
        """,
    )[0]
    assert orphans == 0
    audiences = {a for (a,) in query(warehouse, "select audience from seeds.audience_settings")}
    entered = {
        a
        for (a,) in query(warehouse, "select distinct audience from segmentation.audience_entries")
    }
    assert entered == audiences


def test_report_renders_from_the_warehouse(warehouse: Warehouse, tmp_path: Path) -> None:
    page = write_report(warehouse.duckdb_path, tmp_path / "retention.html")
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 7 and "Lift of each automated flow" in text
    if chromium() is None:
        pytest.skip("chromium is not installed")
    png = tmp_path / "retention.png"
    screenshot(page, png, tmp_path / "profile")
    assert png.stat().st_size > 100_000
