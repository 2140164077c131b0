from __future__ import annotations

import dagster as dg

from orchestration.defs.reverse_etl.assets import build_sync_assets


def defs(dbt_models: dg.AssetsDefinition) -> dg.Definitions:
    return dg.Definitions(assets=build_sync_assets(dbt_models))
