from __future__ import annotations

import dagster as dg

from orchestration.defs.ml.assets import build_ml_assets
from orchestration.defs.ml.checks import QUALITY_CHECKS


def defs(dbt_models: dg.AssetsDefinition) -> dg.Definitions:
    return dg.Definitions(assets=build_ml_assets(dbt_models), asset_checks=QUALITY_CHECKS)
