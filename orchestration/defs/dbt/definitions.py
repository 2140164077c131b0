from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.assets import build_dbt_assets
from orchestration.defs.dbt.project import dbt_project


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_dbt_assets(dbt_project())])
