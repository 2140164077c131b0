"""The retention report renders from the segmentation marts and displays in a browser.

A small hand-made warehouse (only the columns the report reads) keeps these tests fast;
tests/dbt/test_segmentation.py renders the report from the real generated warehouse.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from reports.retention_report import load, main, render, write_report

WAREHOUSE_SQL = """
create schema segmentation;
create table segmentation.segmentation_as_of as
    select date '2026-11-15' as as_of_date, timestamptz '2026-11-16 00:00:00+00' as as_of_at;
create table segmentation.cohort_retention as
    select cohort_month, m as months_since_first_order, 100 as cohort_customers,
           case when m = 0 then 1.0 else 0.3 / m end as retention_rate,
           50.0 * (m + 1) as cumulative_revenue_per_customer, true as is_complete_month
    from (select date '2026-01-01' + to_months(c) as cohort_month, c from range(6) t(c)) as cohorts,
         range(6) as months(m)
    where m <= 5 - c;
create table segmentation.cohort_repeat_purchase_rates as
    select date '2026-01-01' as cohort_month, 100 as cohort_customers, 30 as repeat_customers,
           100 as eligible_30d, 0.1 as repeat_rate_30d, 100 as eligible_60d,
           0.2 as repeat_rate_60d, 100 as eligible_90d, 0.25 as repeat_rate_90d;
create table segmentation.rfm_segment_summary as
    select * from (values
        ('Champions', 1, 'best', 10, 0.1, 5000.0, 0.5, 20.0, 6.0, 500.0),
        ('Lost', 11, 'gone', 90, 0.9, 5000.0, 0.5, 800.0, 1.0, 55.0)
    ) as t(rfm_segment, display_order, description, customers, customer_share, net_revenue,
           revenue_share, average_recency_days, average_frequency, average_monetary);
create table segmentation.customer_lifecycle as
    select * from (values ('p1', 'vip', 900.0), ('p2', 'lapsed', 0.0), ('p3', 'prospect', 0.0))
    as t(person_id, lifecycle_stage, net_revenue_12m);
create table segmentation.fct_lifecycle_transitions as
    select * from (values ('p1', 'regular', 'vip', false), ('p2', null, 'lapsed', true))
    as t(person_id, from_stage, to_stage, is_initial);
create table segmentation.audience_memberships as
    select * from (values ('p1', 'winback', null), ('p2', 'winback', 'audience'),
                          ('p3', 'cart_abandonment', 'global'))
    as t(person_id, audience, holdout_group);
create table segmentation.workflow_opportunities as
    select * from (values
        ('second_purchase_nurture', 1, 2, 2, 'effect measured', true, 0.14, 0.03, 0.25, 0.16,
         120.0, 300.0, 5040.0, 1080.0, 9000.0, 2520.0, 'quick win', 40, 30),
        ('cart_abandonment', 2, 4, 1, 'not measured yet: benchmark prior', false, 0.0171, 0.0,
         0.0571, 0.08, 50.0, 250.0, 213.75, 0.0, 713.75, 213.75, 'fill-in', 10, 8),
        ('winback', 3, 5, 3, 'no effect measured', true, 0.05, -0.4, 0.2, 0.03, 80.0, 280.0,
         1120.0, -8960.0, 4480.0, 373.3, 'deprioritise', 2, 2)
    ) as t(audience, impact_rank, priority, effort, evidence, is_measured, conversion_lift,
           conversion_lift_low, conversion_lift_high, baseline_conversion_rate,
           entries_per_month, average_order_value, expected_monthly_incremental_revenue,
           expected_monthly_incremental_revenue_low, expected_monthly_incremental_revenue_high,
           impact_per_effort, quadrant, qualifying_persons, eligible_persons);
create table segmentation.workflow_lift_summary as
    select * from (values
        ('second_purchase_nurture', 400, 45, 0.30, 0.16, 0.14, 0.03, 0.25, 0.09, 1.3, 5000.0,
         1000.0, 9000.0, 1200.0, true, 'conversion lift detected (95% interval above zero)',
         'last-touch: …'),
        ('winback', 20, 3, 0.05, 0.0, 0.05, -0.4, 0.2, 0.6, 1.0, 100.0, -50.0, 300.0, 0.0,
         false, 'sample too small: fewer than 30 persons in a group', 'last-touch: …')
    ) as t(workflow, treatment_persons, holdout_persons, treatment_conversion_rate,
           holdout_conversion_rate, conversion_lift, conversion_lift_ci_low,
           conversion_lift_ci_high, minimum_detectable_conversion_lift,
           conversion_design_effect, incremental_revenue, incremental_revenue_ci_low,
           incremental_revenue_ci_high, last_touch_revenue, is_sample_sufficient, lift_note,
           last_touch_label);
create table segmentation.workflow_lift_planner as
    select * from (values
        ('second_purchase_nurture', 0.1, 60.0, 0.16, 1.02, 0.032, 11000.0, 183.3, 66.0, 0.35,
         'raise the holdout to 35% to detect it within 12 weeks'),
        ('winback', 0.1, 3.0, 0.04, 1.0, 0.008, 57000.0, 19000.0, 6800.0, null,
         'too small to measure: even a 50% holdout needs 6800 weeks')
    ) as t(workflow, holdout_share, comparable_entries_per_week, baseline_conversion_rate,
           design_effect, target_conversion_lift, entries_needed, weeks_needed,
           weeks_needed_at_half, holdout_share_for_horizon, plan_note);
create table segmentation.program_lift_monthly as
    select month_start, month_start < date '2026-11-01' as is_complete_month,
           9500 as exposed_persons, 500 as holdout_persons, 950 as exposed_buyers,
           40 as holdout_buyers,
           0.1 as exposed_conversion_rate, 0.08 as holdout_conversion_rate,
           0.02 as conversion_lift, 0.0 as conversion_lift_ci_low, 0.04 as conversion_lift_ci_high,
           30.0 as exposed_revenue_per_person, 25.0 as holdout_revenue_per_person,
           5.0 as revenue_lift_per_person, -1.0 as revenue_lift_per_person_ci_low,
           11.0 as revenue_lift_per_person_ci_high, 47500.0 as incremental_revenue,
           -9500.0 as incremental_revenue_ci_low, 104500.0 as incremental_revenue_ci_high
    from (select date '2026-06-01' + to_months(m) as month_start from range(6) t(m)) as months;
"""


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(WAREHOUSE_SQL)
    return path


def test_report_has_every_section_and_labels_last_touch(small_warehouse: Path) -> None:
    page = render(load(small_warehouse))
    for anchor in (
        'id="program"',
        'id="lift"',
        'id="planner"',
        'id="impact"',
        'id="audiences"',
        'id="cohorts"',
        'id="rfm"',
        'id="lifecycle"',
    ):
        assert anchor in page
    # program, lift, impact x effort, audiences, heatmap, rfm, lifecycle
    assert page.count("data:image/png;base64,") == 7
    assert "Last-touch" in page and "last-touch revenue (attribution)" in page
    assert "sample too small" in page
    assert "14.0% [3.0%, 25.0%]" in page  # lift with its interval
    assert "9.0% (×1.30)" in page  # detectable lift with the design effect
    # the program's incremental revenue over the 5 complete months (the 6th is running)
    assert "<b>237,500</b>" in page
    assert "too small to measure" in page and "raise the holdout to 35%" in page  # planner
    # impact x effort: measured, prior and null flows with their ranges, in rank order
    assert "5,040 [1,080, 9,000]" in page and "not measured yet: benchmark prior" in page
    assert page.index("second_purchase_nurture</td><td>1<") < page.index("winback</td><td>3<")
    assert "regular" in page and "vip" in page  # a stage transition


def test_cli_writes_the_file(small_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "retention.html"
    main(["--duckdb", str(small_warehouse), "--out", str(out)])
    assert out.read_text().startswith("<!doctype html>")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, profile: Path, height: int = 4200) -> None:
    """Headless Chromium (Debian's package) renders the page to a PNG."""
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--window-size=1280,{height}",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(small_warehouse: Path, tmp_path: Path) -> None:
    page = write_report(small_warehouse, tmp_path / "retention.html")
    png = tmp_path / "retention.png"
    screenshot(page, png, tmp_path / "chromium-profile", height=2400)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a page with charts
