"""Schedules in the shop's time zone; a tick is skipped while the same job is still running."""

import dagster as dg

from orchestration.defs.automation.jobs import DAILY_BUILD, WEEKLY_RETRAIN
from warehouse.settings import Settings

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def running_run_id(instance: dg.DagsterInstance, job_name: str) -> str | None:
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS), limit=1
    )
    return runs[0].run_id if runs else None


def _schedule(name: str, job_name: str, cron: str, timezone: str, description: str):
    @dg.schedule(
        name=name,
        job_name=job_name,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _tick(context: dg.ScheduleEvaluationContext):
        running = running_run_id(context.instance, job_name)
        if running:
            return dg.SkipReason(f"{job_name} is still running (run {running})")
        return dg.RunRequest(
            run_key=f"{name}:{context.scheduled_execution_time.isoformat()}",
            tags={"rw/schedule": name},
        )

    return _tick


def sync_job_name(sync_name: str) -> str:
    return f"sync_{sync_name}_job"


def build_sync_schedules(syncs, settings: Settings) -> list:
    """A job and a schedule per sync that declares `schedule:` in its YAML. Besides the
    automation that follows every rebuild of the model, the schedule retries rows the
    destination rejected last time; it skips while the same sync is still running."""
    from orchestration.defs.reverse_etl.assets import sync_key

    out: list = []
    for sync in syncs:
        if not sync.schedule:
            continue
        job = dg.define_asset_job(
            sync_job_name(sync.name),
            selection=dg.AssetSelection.assets(sync_key(sync.name)),
            description=f"Run the {sync.name} sync.",
        )
        out.append(job)
        out.append(
            _schedule(
                f"sync_{sync.name}_schedule",
                job.name,
                sync.schedule,
                settings.shop_timezone,
                f"{sync.name}: deliver changes and retry rejected rows ({sync.schedule}).",
            )
        )
    return out


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    tz = settings.shop_timezone
    weekly = settings.orchestration.weekly_retrain_cron
    return [
        _schedule(
            "daily_build_schedule",
            DAILY_BUILD,
            settings.orchestration.daily_build_cron,
            tz,
            f"Daily warehouse build and scoring ({settings.orchestration.daily_build_cron}, {tz}).",
        ),
        _schedule(
            "weekly_retrain_schedule",
            WEEKLY_RETRAIN,
            settings.orchestration.weekly_retrain_cron,
            tz,
            f"Weekly retraining with promotion ({weekly}, {tz}).",
        ),
    ]
