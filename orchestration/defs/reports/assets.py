"""The retention report: `reports.retention_report` renders the segmentation marts to one
self-contained HTML page; the asset also puts each chart in its metadata so the UI shows
them on the asset page."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.dbt.assets import WAREHOUSE_POOL
from orchestration.resources import ReportsResource, WarehouseResource

REPORT_KEY = dg.AssetKey(["reports", "retention_report"])

# The marts the report reads (reports/retention_report.py `load`).
REPORT_MODELS = (
    "segmentation_as_of",
    "cohort_retention",
    "cohort_repeat_purchase_rates",
    "rfm_segment_summary",
    "customer_lifecycle",
    "fct_lifecycle_transitions",
    "audience_memberships",
    "workflow_opportunities",
    "workflow_lift_summary",
    "workflow_lift_planner",
    "program_lift_monthly",
)


def _chart(png_base64: str, title: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{png_base64})")


def charts(data) -> dict[str, dg.MetadataValue]:
    """One markdown metadata entry per chart of the report (inline PNG)."""
    from reports import retention_report as report

    builders = {
        "cohort_retention_chart": (report.cohort_heatmap, data.cohorts, "Cohort retention"),
        "rfm_segments_chart": (report.rfm_chart, data.rfm, "RFM segments"),
        "lifecycle_chart": (report.lifecycle_chart, data.lifecycle, "Lifecycle stages"),
        "audiences_chart": (report.audience_chart, data.memberships, "Audiences and holdouts"),
        "lift_chart": (report.lift_chart, data.lift, "Lift per workflow"),
    }
    out = {}
    for key, (build, frame, title) in builders.items():
        if frame is None or frame.empty:
            out[key] = dg.MetadataValue.md(f"_{title}: no data yet_")
        else:
            out[key] = _chart(build(frame), title)
    return out


def build_report_asset(dbt_models: dg.AssetsDefinition) -> dg.AssetsDefinition:
    deps = [get_asset_key_for_model([dbt_models], model) for model in REPORT_MODELS]

    @dg.asset(
        key=REPORT_KEY,
        deps=deps,
        group_name="segmentation",
        kinds={"html", "matplotlib"},
        pool=WAREHOUSE_POOL,
        description="Retention report: cohort retention, RFM segments, lifecycle stages, "
        "audiences with holdouts and lift per workflow. Charts on this page; the full page "
        "is the HTML file in `path`.",
    )
    def retention_report(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, reports: ReportsResource
    ) -> dg.MaterializeResult:
        from reports import retention_report as report

        data = report.load(warehouse.database)
        out = reports.directory / "retention.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.render(data), encoding="utf-8")
        context.log.info("wrote %s", out)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(out)),
                "as_of_date": data.as_of_date,
                "cohorts": int(data.cohorts["cohort_month"].nunique()),
                "audience_members": int(data.memberships["persons"].sum())
                if not data.memberships.empty
                else 0,
                **charts(data),
            }
        )

    return retention_report
