from __future__ import annotations

import dagster as dg

from orchestration.defs.automation.jobs import build_jobs
from orchestration.defs.automation.schedules import build_schedules, build_sync_schedules
from orchestration.defs.automation.sensors import activation_automation_sensor, report_run_failures
from orchestration.defs.reverse_etl.assets import configured_syncs
from warehouse.settings import get_settings


def defs(dbt_models: dg.AssetsDefinition) -> dg.Definitions:
    config = get_settings()
    per_sync = build_sync_schedules(configured_syncs(), config)
    return dg.Definitions(
        jobs=[*build_jobs(dbt_models), *(j for j in per_sync if not _is_schedule(j))],
        schedules=[*build_schedules(config), *(s for s in per_sync if _is_schedule(s))],
        sensors=[activation_automation_sensor(), report_run_failures],
    )


def _is_schedule(definition) -> bool:
    return isinstance(definition, dg.ScheduleDefinition)
