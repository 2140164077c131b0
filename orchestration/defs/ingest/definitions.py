from __future__ import annotations

import dagster as dg

from orchestration.defs.ingest.assets import raw_tables
from orchestration.defs.ingest.checks import RAW_FRESHNESS_CHECKS


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[raw_tables], asset_checks=RAW_FRESHNESS_CHECKS)
