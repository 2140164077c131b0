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
    select * from (values ('winback', 5, 2, 2, 2, 900.0, 40, 0.05, 4.0, 8.0, 1))
    as t(audience, priority, qualifying_persons, reachable_persons, eligible_persons,
         revenue_at_stake_12m, historical_entries, baseline_conversion_rate,
         baseline_revenue_per_entry, expected_window_revenue_without_flow, impact_rank);
create table segmentation.workflow_lift_summary as
    select * from (values
        ('second_purchase_nurture', 400, 45, 0.30, 0.16, 0.14, 0.03, 0.25, 5000.0, 1000.0,
         9000.0, 1200.0, true, 'conversion lift detected (95% interval above zero)',
         'last-touch: …'),
        ('winback', 20, 3, 0.05, 0.0, 0.05, -0.4, 0.2, 100.0, -50.0, 300.0, 0.0, false,
         'sample too small: fewer than 30 persons in a group', 'last-touch: …')
    ) as t(workflow, treatment_persons, holdout_persons, treatment_conversion_rate,
           holdout_conversion_rate, conversion_lift, conversion_lift_ci_low,
           conversion_lift_ci_high, incremental_revenue, incremental_revenue_ci_low,
           incremental_revenue_ci_high, last_touch_revenue, is_sample_sufficient, lift_note,
           last_touch_label);
"""


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(WAREHOUSE_SQL)
    return path


def test_report_has_every_section_and_labels_last_touch(small_warehouse: Path) -> None:
    page = render(load(small_warehouse))
    for anchor in ('id="lift"', 'id="audiences"', 'id="cohorts"', 'id="rfm"', 'id="lifecycle"'):
        assert anchor in page
    assert page.count("data:image/png;base64,") == 5  # lift, audiences, heatmap, rfm, lifecycle
    assert "Last-touch" in page and "last-touch revenue (attribution)" in page
    assert "sample too small" in page
    assert "14.0% [3.0%, 25.0%]" in page  # lift with its interval
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
