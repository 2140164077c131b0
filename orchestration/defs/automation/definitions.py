from __future__ import annotations

import dagster as dg

from orchestration.defs.automation.jobs import build_jobs
from orchestration.defs.automation.schedules import build_schedules
from orchestration.defs.automation.sensors import activation_automation_sensor, report_run_failures
from orchestration.settings import settings


def defs(dbt_models: dg.AssetsDefinition) -> dg.Definitions:
    return dg.Definitions(
        jobs=build_jobs(dbt_models),
        schedules=build_schedules(settings()),
        sensors=[activation_automation_sensor(), report_run_failures],
    )
