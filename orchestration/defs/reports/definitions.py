import dagster as dg

from orchestration.defs.reports.assets import build_report_asset


def defs(dbt_models: dg.AssetsDefinition) -> dg.Definitions:
    return dg.Definitions(assets=[build_report_asset(dbt_models)])
