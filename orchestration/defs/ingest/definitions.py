from __future__ import annotations

import dagster as dg

from orchestration.defs.ingest.checks import RAW_FRESHNESS_CHECKS
from orchestration.defs.ingest.pulls import configured_pulls, pull_job, raw_tables_with_pulls


def defs() -> dg.Definitions:
    pulls = configured_pulls()
    raw = raw_tables_with_pulls(pulls)
    return dg.Definitions(
        assets=[raw, *(pull.asset for pull in pulls)],
        asset_checks=RAW_FRESHNESS_CHECKS,
        jobs=[pull_job(pulls, raw)] if pulls else [],
    )
