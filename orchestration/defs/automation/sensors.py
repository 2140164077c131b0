"""Sensors: syncs follow their models (declarative automation); run failures are reported."""

import logging

import dagster as dg
import httpx

from orchestration.defs.automation.jobs import SYNC_ASSETS
from warehouse.settings import get_settings

log = logging.getLogger(__name__)


def activation_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates the syncs' `eager()` conditions: a sync runs once the model it reads was
    rebuilt and nothing upstream of it is still running or missing."""
    return dg.AutomationConditionSensorDefinition(
        "activation_automation",
        target=SYNC_ASSETS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Runs each reverse-ETL sync after the model it reads was rebuilt.",
    )


def failure_payload(run: dg.DagsterRun, error: str | None) -> dict:
    """What the webhook receives (and the log line says) about a failed run."""
    return {
        "event": "dagster_run_failure",
        "run_id": run.run_id,
        "job_name": run.job_name,
        "tags": {k: v for k, v in run.tags.items() if not k.startswith(".dagster")},
        "error": (error or "")[:2000],
    }


def send_webhook(url: str, payload: dict, timeout_s: float = 10.0) -> bool:
    """POST the payload; an unreachable webhook is logged, never raised (alerting must not
    fail)."""
    try:
        response = httpx.post(url, json=payload, timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        # neither the URL nor the message (it repeats the URL): it may carry a token
        log.warning("the failure webhook did not accept the alert (%s)", type(exc).__name__)
        return False
    return True


@dg.run_failure_sensor(
    name="report_run_failures",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Logs every failed run; POSTs it as JSON to RW_ORCHESTRATION_ALERT_WEBHOOK_URL when set."
    ),
)
def report_run_failures(context: dg.RunFailureSensorContext):
    payload = failure_payload(context.dagster_run, context.failure_event.message)
    context.log.error(
        "run %s of %s failed: %s", payload["run_id"], payload["job_name"], payload["error"]
    )
    url = get_settings().orchestration.alert_webhook_url
    if url:
        send_webhook(url.get_secret_value(), payload)
