"""The retention report: one static HTML page with charts, rendered from the marts.

    python -m reports.retention_report --out data/reports/retention.html [--duckdb PATH]

Reads the segmentation marts of a built warehouse (read-only): cohort retention heatmap,
RFM segment sizes and revenue, lifecycle stages and transitions, audience sizes with
holdouts, the program lift of all flows together (global holdout, per month), lift per
flow with intervals and last-touch attribution beside it, the holdout-size planner and the
impact x effort ranking of the flows. Charts are matplotlib PNGs embedded in the page, so the
file is self-contained (open it anywhere, mail it, attach it to a Dagster run).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

log = logging.getLogger(__name__)

STAGES = ("prospect", "new", "one_time", "regular", "vip", "at_risk", "lapsed")
PALETTE = {"treatment": "#2f6fb0", "holdout": "#e0a030", "accent": "#c0392b", "grey": "#8a8f98"}


@dataclass(frozen=True)
class ReportData:
    as_of_date: str
    cohorts: pd.DataFrame
    repeat_rates: pd.DataFrame
    rfm: pd.DataFrame
    lifecycle: pd.DataFrame
    transitions: pd.DataFrame
    memberships: pd.DataFrame
    opportunities: pd.DataFrame
    lift: pd.DataFrame
    program: pd.DataFrame
    planner: pd.DataFrame


def load(duckdb_path: Path) -> ReportData:
    """Read what the report shows from a built warehouse."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:

        def df(sql: str) -> pd.DataFrame:
            return con.execute(sql).df()

        (as_of,) = con.execute("select as_of_date from segmentation.segmentation_as_of").fetchone()
        return ReportData(
            as_of_date=str(as_of),
            cohorts=df(
                "select cohort_month, months_since_first_order, cohort_customers,"
                " retention_rate, cumulative_revenue_per_customer, is_complete_month"
                " from segmentation.cohort_retention order by 1, 2"
            ),
            repeat_rates=df(
                "select * from segmentation.cohort_repeat_purchase_rates order by cohort_month"
            ),
            rfm=df("select * from segmentation.rfm_segment_summary order by display_order"),
            lifecycle=df(
                "select lifecycle_stage, count(*) as persons, sum(net_revenue_12m) as"
                " net_revenue_12m from segmentation.customer_lifecycle group by 1"
            ),
            transitions=df(
                "select from_stage, to_stage, count(*) as persons"
                " from segmentation.fct_lifecycle_transitions where not is_initial"
                " group by 1, 2 order by 3 desc"
            ),
            memberships=df(
                "select audience, coalesce(holdout_group, 'treatment') as arm, count(*) as persons"
                " from segmentation.audience_memberships group by 1, 2"
            ),
            opportunities=df(
                "select * from segmentation.workflow_opportunities order by impact_rank"
            ),
            lift=df("select * from segmentation.workflow_lift_summary order by workflow"),
            program=df("select * from segmentation.program_lift_monthly order by month_start"),
            planner=df("select * from segmentation.workflow_lift_planner order by workflow"),
        )


# ------------------------------------------------------------------------------------------
# charts
# ------------------------------------------------------------------------------------------
def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def cohort_heatmap(cohorts: pd.DataFrame, max_cohorts: int = 24, max_months: int = 24) -> str:
    data = cohorts[cohorts["months_since_first_order"] <= max_months]
    matrix = data.pivot(
        index="cohort_month", columns="months_since_first_order", values="retention_rate"
    ).sort_index()
    matrix = matrix.iloc[-max_cohorts:]
    sizes = data.groupby("cohort_month")["cohort_customers"].first().reindex(matrix.index)
    fig, ax = plt.subplots(figsize=(11, 0.32 * len(matrix) + 1.6))
    shown = matrix.to_numpy(dtype=float).copy()
    shown[:, 0] = np.nan  # month 0 is 100 % by definition; keep the colour scale for the rest
    finite = shown[np.isfinite(shown)]
    vmax = float(np.nanpercentile(finite, 98)) if finite.size else 1.0
    image = ax.imshow(shown, aspect="auto", cmap="Blues", vmin=0, vmax=max(vmax, 1e-3))
    for (i, j), value in np.ndenumerate(matrix.to_numpy(dtype=float)):
        if j > 0 and np.isfinite(value) and value > 0:
            ax.text(
                j,
                i,
                f"{value:.0%}",
                ha="center",
                va="center",
                fontsize=6,
                color="white" if value > 0.6 * vmax else "#223",
            )
    ax.set_xticks(range(len(matrix.columns)))
    ax.set_xticklabels(matrix.columns, fontsize=7)
    ax.set_yticks(range(len(matrix)))
    ax.set_yticklabels(
        [
            f"{pd.Timestamp(m):%Y-%m}  (n={int(n)})"
            for m, n in zip(matrix.index, sizes, strict=True)
        ],
        fontsize=7,
    )
    ax.set_xlabel("months since first order")
    ax.set_title("Share of each first-order cohort buying again, by month")
    fig.colorbar(image, ax=ax, format=matplotlib.ticker.PercentFormatter(1.0), shrink=0.8)
    return _png(fig)


def rfm_chart(rfm: pd.DataFrame) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    y = np.arange(len(rfm))[::-1]
    axes[0].barh(y, rfm["customers"], color=PALETTE["treatment"])
    axes[0].set_title("Customers")
    axes[1].barh(y, rfm["revenue_share"].fillna(0), color=PALETTE["holdout"])
    axes[1].set_title("Share of net revenue")
    axes[1].xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(rfm["rfm_segment"])
    for ax in axes:
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("RFM segments")
    return _png(fig)


def lifecycle_chart(lifecycle: pd.DataFrame) -> str:
    counts = lifecycle.set_index("lifecycle_stage").reindex(STAGES).fillna(0)
    fig, ax = plt.subplots(figsize=(11, 2.6))
    left = 0.0
    total = max(float(counts["persons"].sum()), 1.0)
    colours = plt.get_cmap("tab10")(np.arange(len(STAGES)))
    for stage, colour in zip(STAGES, colours, strict=True):
        width = float(counts.loc[stage, "persons"]) / total
        ax.barh([0], [width], left=left, color=colour, label=stage)
        if width > 0.04:
            ax.text(
                left + width / 2,
                0,
                f"{stage}\n{width:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white",
            )
        left += width
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(ncol=len(STAGES), loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    ax.set_title("Lifecycle stages (share of persons)")
    return _png(fig)


def audience_chart(memberships: pd.DataFrame) -> str:
    table = memberships.pivot_table(
        index="audience", columns="arm", values="persons", aggfunc="sum", fill_value=0
    )
    for arm in ("treatment", "audience", "global"):
        if arm not in table.columns:
            table[arm] = 0
    table = table.loc[table.sum(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(table) + 1.2))
    y = np.arange(len(table))
    ax.barh(y, table["treatment"], color=PALETTE["treatment"], label="gets the flow")
    ax.barh(
        y,
        table["audience"],
        left=table["treatment"],
        color=PALETTE["holdout"],
        label="audience holdout",
    )
    ax.barh(
        y,
        table["global"],
        left=table["treatment"] + table["audience"],
        color=PALETTE["grey"],
        label="global holdout",
    )
    ax.set_yticks(y)
    ax.set_yticklabels(table.index)
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Audience members today (one flow per person)")
    return _png(fig)


def lift_chart(lift: pd.DataFrame) -> str:
    data = lift.dropna(subset=["conversion_lift"]).sort_values("workflow")
    fig, ax = plt.subplots(figsize=(11, 0.6 * max(len(data), 1) + 1.4))
    y = np.arange(len(data))
    lows = (data["conversion_lift"] - data["conversion_lift_ci_low"]).clip(lower=0)
    highs = (data["conversion_lift_ci_high"] - data["conversion_lift"]).clip(lower=0)
    colours = [
        PALETTE["treatment"] if ok else PALETTE["grey"] for ok in data["is_sample_sufficient"]
    ]
    for yi, x, lo, hi, colour in zip(y, data["conversion_lift"], lows, highs, colours, strict=True):
        ax.errorbar(
            [x], [yi], xerr=[[lo], [hi]], fmt="none", ecolor=colour, elinewidth=2, capsize=4
        )
    ax.scatter(data["conversion_lift"], y, color=colours, zorder=3)
    ax.axvline(0, color=PALETTE["accent"], lw=1, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(
        [
            f"{w}{'' if ok else '  (sample too small)'}"
            for w, ok in zip(data["workflow"], data["is_sample_sufficient"], strict=True)
        ]
    )
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("conversion lift in the window after entry (treatment - holdout), 95% interval")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Which automations really earn: lift against the holdout")
    return _png(fig)


def program_chart(program: pd.DataFrame) -> str:
    """Net revenue per person, exposed minus global holdout, per month with intervals."""
    data = program.sort_values("month_start")
    fig, ax = plt.subplots(figsize=(11, 3.4))
    x = np.arange(len(data))
    lift = data["revenue_lift_per_person"].to_numpy(dtype=float)
    lows = np.clip(lift - data["revenue_lift_per_person_ci_low"].to_numpy(dtype=float), 0, None)
    highs = np.clip(data["revenue_lift_per_person_ci_high"].to_numpy(dtype=float) - lift, 0, None)
    colours = [
        PALETTE["treatment"] if done else PALETTE["grey"] for done in data["is_complete_month"]
    ]
    ax.bar(x, lift, color=colours, alpha=0.8)
    ax.errorbar(x, lift, yerr=[lows, highs], fmt="none", ecolor="#333", elinewidth=1, capsize=3)
    ax.axhline(0, color=PALETTE["accent"], lw=1, ls="--")
    ax.set_xticks(x)
    ax.set_xticklabels(
        [f"{pd.Timestamp(m):%Y-%m}" for m in data["month_start"]], rotation=45, fontsize=7
    )
    ax.set_ylabel("net revenue per person")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("All flows together: revenue per person vs the global holdout, per month")
    return _png(fig)


def impact_effort_chart(opportunities: pd.DataFrame) -> str:
    """The quadrant chart: effort (x) against expected monthly incremental revenue (y)."""
    data = opportunities.sort_values("impact_rank")
    fig, ax = plt.subplots(figsize=(11, 5.2))
    colours = {
        "effect measured": PALETTE["treatment"],
        "no effect measured": PALETTE["accent"],
    }
    offsets = np.linspace(-0.12, 0.12, max(len(data), 1))
    for offset, r in zip(offsets, data.itertuples(), strict=False):
        x = float(r.effort) + offset
        y = float(r.expected_monthly_incremental_revenue)
        low = float(r.expected_monthly_incremental_revenue_low)
        high = float(r.expected_monthly_incremental_revenue_high)
        colour = colours.get(r.evidence, PALETTE["grey"])
        ax.errorbar(
            [x],
            [y],
            yerr=[[max(y - low, 0)], [max(high - y, 0)]],
            fmt="o",
            color=colour,
            ecolor=colour,
            elinewidth=1.5,
            capsize=4,
            markersize=8,
        )
        ax.annotate(
            f"#{int(r.impact_rank)} {r.audience}",
            (x, y),
            xytext=(8, 6),
            textcoords="offset points",
            fontsize=8,
        )
    bar = float(data["expected_monthly_incremental_revenue"].clip(lower=0).mean() or 0)
    ax.axhline(bar, color="#999", lw=1, ls=":")
    ax.axvline(2.5, color="#999", lw=1, ls=":")
    ax.axhline(0, color=PALETTE["accent"], lw=0.8, ls="--")
    ax.set_xlim(0.5, 5.5)
    ax.set_xticks([1, 2, 3, 4, 5])
    ax.set_xlabel("effort (audience_settings.effort: 1 = an afternoon, 5 = a project)")
    ax.set_ylabel("expected incremental revenue per month")
    top = ax.get_ylim()[1]
    for label, x in (("quick wins", 0.6), ("big bets", 5.4)):
        ax.text(x, top, label, ha="left" if x < 3 else "right", va="top", color="#666")
    ax.grid(alpha=0.25)
    handles = [
        plt.Line2D([], [], color=c, marker="o", ls="", label=k)
        for k, c in (*colours.items(), ("not measured yet: benchmark prior", PALETTE["grey"]))
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_title("Impact x effort: where the next hour of work earns most")
    return _png(fig)


# ------------------------------------------------------------------------------------------
# page
# ------------------------------------------------------------------------------------------
def _money(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}"


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * value:.{digits}f}%"


def _weeks(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _table(headers: list[str], rows: list[list[str]], classes: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _figure(png: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2330;
       background: #f5f6f8; }
header { background: #1f3a5f; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 32px 48px; }
section { background: white; border-radius: 8px; padding: 16px 22px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { font-size: 18px; margin: 4px 0 10px; }
p.note { color: #555; font-size: 13px; margin: 4px 0 10px; }
img { max-width: 100%; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; margin-top: 8px; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 5px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f2f5; font-weight: 600; }
td:last-child { text-align: left; }
.verdict { font-size: 12px; color: #444; }
.kpis { display: flex; gap: 14px; flex-wrap: wrap; }
.kpi { background: #eef3f9; border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.kpi b { display: block; font-size: 20px; }
.label { color: #8a5a00; font-weight: 600; }
"""


def render(data: ReportData) -> str:
    """The report as one self-contained HTML string."""
    lifecycle = data.lifecycle.set_index("lifecycle_stage")
    buyers = int(lifecycle.drop(index=["prospect"], errors="ignore")["persons"].sum())
    in_flows = int(data.memberships["persons"].sum()) if not data.memberships.empty else 0
    latest_rates = data.repeat_rates.dropna(subset=["repeat_rate_90d"]).tail(12)
    repeat_90 = latest_rates["repeat_rate_90d"].mul(latest_rates["eligible_90d"]).sum() / max(
        latest_rates["eligible_90d"].sum(), 1
    )
    kpis = [
        ("as of", data.as_of_date),
        ("persons", f"{int(lifecycle['persons'].sum()):,}"),
        ("buyers", f"{buyers:,}"),
        ("2nd order within 90 days (last 12 cohorts)", _pct(repeat_90)),
        ("in a flow or held out today", f"{in_flows:,}"),
    ]
    kpi_html = "".join(
        f'<div class="kpi">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in kpis
    )

    rfm_rows = [
        [
            html.escape(r.rfm_segment),
            f"{int(r.customers):,}",
            _pct(r.customer_share),
            _money(float(r.net_revenue)),
            _pct(r.revenue_share),
            f"{r.average_recency_days:.0f}" if pd.notna(r.average_recency_days) else "–",
            f"{r.average_frequency:.1f}" if pd.notna(r.average_frequency) else "–",
        ]
        for r in data.rfm.itertuples()
    ]
    transitions = (
        _table(
            ["from", "to", "persons"],
            [
                [
                    html.escape(str(r.from_stage)),
                    html.escape(str(r.to_stage)),
                    f"{int(r.persons):,}",
                ]
                for r in data.transitions.head(12).itertuples()
            ],
        )
        if not data.transitions.empty
        else '<p class="note">No stage changes recorded yet: the lifecycle snapshot has seen '
        "one build. Transitions appear from the next build on.</p>"
    )
    opportunity_rows = [
        [
            html.escape(r.audience),
            str(int(r.impact_rank)),
            str(int(r.effort)),
            html.escape(r.evidence),
            f"{_pct(r.conversion_lift)} [{_pct(r.conversion_lift_low)}, "
            f"{_pct(r.conversion_lift_high)}]",
            f"{r.entries_per_month:,.0f}",
            _money(r.average_order_value),
            f"{_money(r.expected_monthly_incremental_revenue)} "
            f"[{_money(r.expected_monthly_incremental_revenue_low)}, "
            f"{_money(r.expected_monthly_incremental_revenue_high)}]",
            html.escape(r.quadrant),
        ]
        for r in data.opportunities.itertuples()
    ]
    lift_rows = [
        [
            html.escape(r.workflow),
            f"{int(r.treatment_persons or 0):,} / {int(r.holdout_persons or 0):,}",
            _pct(r.treatment_conversion_rate),
            _pct(r.holdout_conversion_rate),
            f"{_pct(r.conversion_lift)} "
            f"[{_pct(r.conversion_lift_ci_low)}, {_pct(r.conversion_lift_ci_high)}]",
            f"{_pct(r.minimum_detectable_conversion_lift)} (×{r.conversion_design_effect:.2f})",
            f"{_money(r.incremental_revenue)} [{_money(r.incremental_revenue_ci_low)}, "
            f"{_money(r.incremental_revenue_ci_high)}]",
            _money(r.last_touch_revenue),
            f'<span class="verdict">{html.escape(r.lift_note)}</span>',
        ]
        for r in data.lift.itertuples()
    ]
    planner_rows = [
        [
            html.escape(r.workflow),
            _pct(r.holdout_share, 0),
            f"{r.comparable_entries_per_week:,.1f}",
            _pct(r.baseline_conversion_rate),
            f"{r.design_effect:.2f}",
            f"+{_pct(r.target_conversion_lift, 2)}",
            _weeks(r.weeks_needed),
            _weeks(r.weeks_needed_at_half),
            _pct(r.holdout_share_for_horizon, 0),
            f'<span class="verdict">{html.escape(r.plan_note)}</span>',
        ]
        for r in data.planner.itertuples()
    ]
    complete = data.program[data.program["is_complete_month"]]
    program_rows = [
        [
            f"{pd.Timestamp(r.month_start):%Y-%m}" + ("" if r.is_complete_month else " (running)"),
            f"{int(r.exposed_persons):,} / {int(r.holdout_persons):,}",
            f"{_pct(r.exposed_conversion_rate, 2)} vs {_pct(r.holdout_conversion_rate, 2)}",
            f"{_pct(r.conversion_lift, 2)} [{_pct(r.conversion_lift_ci_low, 2)}, "
            f"{_pct(r.conversion_lift_ci_high, 2)}]",
            f"{r.revenue_lift_per_person:,.2f} [{r.revenue_lift_per_person_ci_low:,.2f}, "
            f"{r.revenue_lift_per_person_ci_high:,.2f}]",
            f"{_money(r.incremental_revenue)} [{_money(r.incremental_revenue_ci_low)}, "
            f"{_money(r.incremental_revenue_ci_high)}]",
        ]
        for r in data.program.sort_values("month_start", ascending=False).itertuples()
    ]
    program_total = _money(float(complete["incremental_revenue"].sum())) if len(complete) else "–"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Retention report – {html.escape(data.as_of_date)}</title>
<style>{CSS}</style></head>
<body>
<header><h1>Retention report</h1>
<div>Data as of {html.escape(data.as_of_date)} · generated {
        generated
    } · retention-warehouse</div></header>
<main>
<section><div class="kpis">{kpi_html}</div></section>

<section id="program"><h2>Program lift: all flows together vs the global holdout</h2>
<p class="note">A random {_pct(_global_share(data.program), 0)} of all persons (the global
holdout) gets no automated flow at all. Comparing everyone else with them, month by month,
measures every flow together, including their overlaps. Every person counts, also those no
flow reached, so the monthly effect per person is small and its interval wide; the sum over
complete months is the program's incremental revenue so far: <b>{program_total}</b>.
Grey = the running month.</p>
{_figure(program_chart(data.program), "Program lift per month") if len(data.program) else ""}
{
        _table(
            [
                "month",
                "persons (exposed / held out)",
                "buying in the month",
                "conversion lift [95%]",
                "revenue per person lift [95%]",
                "incremental revenue [95%]",
            ],
            program_rows,
        )
    }
</section>

<section id="lift"><h2>Lift of each automated flow</h2>
<p class="note">Each flow's audience has a holdout that gets nothing. Lift = what treated
persons did in the window after entering the flow minus what held-out persons did, with a
95% interval, counting only entries after the flow's launch; a window ends early when the
person enters the same flow again, so no order is counted twice. The detectable lift is
what this sample can see with 80% power; × is the design effect of persons entering more
than once. Grey = too few persons to tell. <span class="label">Last-touch revenue</span>
(orders within a few days after a click) is shown for comparison only: it also credits
sales that would have happened anyway.</p>
{_figure(lift_chart(data.lift), "Conversion lift per workflow with 95% intervals")}
{
        _table(
            [
                "workflow",
                "persons (treated / held out)",
                "conversion treated",
                "conversion held out",
                "conversion lift [95%]",
                "detectable lift (design effect)",
                "incremental revenue [95%]",
                "last-touch revenue (attribution)",
                "verdict",
            ],
            lift_rows,
        )
    }
<h3 id="planner">Holdout planner</h3>
<p class="note">How long each flow's holdout needs to detect the target lift (a relative
lift of the flow's baseline conversion) with 80% power, from the flow's entries of the
last year and its measured design effect; and the smallest holdout share that gets there
within the planning horizon.</p>
{
        _table(
            [
                "workflow",
                "holdout now",
                "entries / week",
                "baseline conversion",
                "design effect",
                "target lift",
                "weeks at current share",
                "weeks at 50%",
                "share for the horizon",
                "plan",
            ],
            planner_rows,
        )
    }
</section>

<section id="impact"><h2>Which flow next: impact x effort</h2>
<p class="note">Expected incremental revenue per month = conversion lift × reachable entries
per month × average order value in the flow's window, with its range, against the team's
effort estimate (seed <code>audience_settings.effort</code>). Until a flow's holdout has
enough persons its lift is a benchmark prior (Klaviyo 2024 flow benchmarks, median
placed-order rate 1.71%); a flow whose holdout shows no effect ranks last, whatever its
point estimate.</p>
{_figure(impact_effort_chart(data.opportunities), "Impact x effort quadrant chart")}
{
        _table(
            [
                "flow",
                "rank",
                "effort",
                "evidence",
                "conversion lift [range]",
                "entries / month",
                "order value",
                "incremental revenue / month [range]",
                "quadrant",
            ],
            opportunity_rows,
        )
    }
</section>

<section id="audiences"><h2>Audiences today</h2>
{_figure(audience_chart(data.memberships), "Audience sizes with holdouts")}
</section>

<section id="cohorts"><h2>Cohort retention</h2>
{_figure(cohort_heatmap(data.cohorts), "Cohort retention heatmap")}
</section>

<section id="rfm"><h2>RFM segments</h2>
{_figure(rfm_chart(data.rfm), "RFM segment sizes and revenue")}
{
        _table(
            [
                "segment",
                "customers",
                "share",
                "net revenue",
                "revenue share",
                "avg recency (days)",
                "avg orders",
            ],
            rfm_rows,
        )
    }
</section>

<section id="lifecycle"><h2>Lifecycle</h2>
{_figure(lifecycle_chart(data.lifecycle), "Lifecycle stage shares")}
<h3>Recent stage changes</h3>
{transitions}
</section>
</main></body></html>
"""


def _global_share(program: pd.DataFrame) -> float | None:
    if program.empty:
        return None
    row = program.iloc[0]
    return float(row.holdout_persons) / max(float(row.exposed_persons + row.holdout_persons), 1)


def write_report(duckdb_path: Path, out: Path) -> Path:
    """Render the report from `duckdb_path` into `out` (parent folders created)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(load(Path(duckdb_path))), encoding="utf-8")
    log.info("wrote %s", out)
    return out


def main(argv: list[str] | None = None) -> None:
    from warehouse.settings import get_settings

    parser = argparse.ArgumentParser(description="Render the retention report (static HTML).")
    parser.add_argument("--out", type=Path, default=Path("data/reports/retention.html"))
    parser.add_argument(
        "--duckdb", type=Path, default=None, help="warehouse (default RW_DUCKDB_PATH)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = write_report(args.duckdb or get_settings().duckdb_path, args.out)
    print(out)


if __name__ == "__main__":
    main()
