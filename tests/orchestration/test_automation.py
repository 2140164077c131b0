"""Schedules, sensors and declarative automation, evaluated with Dagster's test utilities."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.defs.automation.hourly import DAILY_BUILT_INPUTS, hourly_cart_sensor
from orchestration.defs.automation.schedules import build_schedules
from orchestration.defs.automation.sensors import failure_payload, report_run_failures
from orchestration.resources import ReverseEtlResource, WarehouseResource
from warehouse.settings import Settings


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _settings(shop_timezone: str = "Europe/Warsaw", **orchestration) -> Settings:
    return Settings(shop_timezone=shop_timezone, orchestration=orchestration)


def _schedules(**overrides) -> dict[str, dg.ScheduleDefinition]:
    return {s.name: s for s in build_schedules(_settings(**overrides))}


def test_schedules_run_in_the_shop_time_zone():
    schedules = _schedules(shop_timezone="America/New_York", daily_build_cron="0 5 * * *")
    daily = schedules["daily_build_schedule"]
    assert daily.execution_timezone == "America/New_York"
    assert daily.job_name == "daily_build"
    assert schedules["weekly_retrain_schedule"].job_name == "weekly_retrain"
    # 05:00 in New York is 10:00 UTC in November (EST, UTC-5)
    next_tick = next(_ticks(daily, datetime(2026, 11, 23, 0, 0, tzinfo=UTC)))
    assert next_tick.astimezone(ZoneInfo("America/New_York")).hour == 5
    assert next_tick.astimezone(UTC).hour == 10


def _ticks(schedule: dg.ScheduleDefinition, start: datetime):
    from dagster._utils.schedules import cron_string_iterator

    return cron_string_iterator(
        start.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    )


def test_unknown_time_zone_is_rejected():
    with pytest.raises(ValueError):
        Settings(shop_timezone="Mars/Olympus")


def test_daily_schedule_requests_a_run(instance):
    daily = _schedules()["daily_build_schedule"]
    tick = datetime(2026, 11, 23, 5, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    result = daily.evaluate_tick(context)
    assert len(result.run_requests) == 1
    assert result.run_requests[0].tags["rw/schedule"] == "daily_build_schedule"


def test_schedule_skips_while_the_same_job_runs(instance):
    instance.add_run(
        dg.DagsterRun(
            job_name="weekly_retrain", run_id="a" * 36, status=dg.DagsterRunStatus.STARTED
        )
    )
    tick = datetime(2026, 11, 23, 2, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
    weekly = _schedules()["weekly_retrain_schedule"]
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    result = weekly.evaluate_tick(context)
    assert not result.run_requests
    assert "still running" in result.skip_message
    # the other job is not blocked
    daily = _schedules()["daily_build_schedule"]
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    assert daily.evaluate_tick(context).run_requests


def _hourly_tick(instance, raw_dir, cursor=None):
    warehouse = WarehouseResource(
        duckdb_path=str(raw_dir.parent / "w.duckdb"), raw_dir=str(raw_dir), truth_dir="t"
    )
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": warehouse}
    )
    return hourly_cart_sensor(context), context


def test_hourly_sensor_waits_for_data_and_for_the_first_daily_build(instance, tmp_path):
    """A fresh install gets raw data before its first daily build; the hourly build reads
    the daily identity tables, so a run then could only fail (it did, under dagster dev)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    result, _ = _hourly_tick(instance, raw)
    assert "no raw events" in result.skip_message
    (raw / "events.parquet").write_bytes(b"new events")
    result, _ = _hourly_tick(instance, raw)
    assert "waiting for the first daily build" in result.skip_message
    assert "intermediate/int_identifiers_stitched" in result.skip_message

    for key in DAILY_BUILT_INPUTS:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
    request, context = _hourly_tick(instance, raw)
    assert request.run_key.startswith("hourly_cart:events.parquet:")
    assert datetime.fromisoformat(request.tags["rw/now"]).tzinfo is not None
    # the same files again: nothing new to refresh
    result, _ = _hourly_tick(instance, raw, cursor=context.cursor)
    assert "no new raw events" in result.skip_message


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received = []
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    monkeypatch.setenv("RW_ORCHESTRATION_ALERT_WEBHOOK_URL", url)
    yield _Receiver.received
    server.shutdown()


def _failed_run(instance):
    @dg.op
    def explode():
        raise RuntimeError("warehouse is on fire")

    @dg.job
    def doomed():
        explode()

    result = doomed.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = [e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"][0]
    return run, failure


def test_failure_sensor_posts_to_the_webhook(instance, webhook):
    run, failure = _failed_run(instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="report_run_failures",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
    ).for_run_failure()
    report_run_failures(context)
    assert len(webhook) == 1
    assert webhook[0]["event"] == "dagster_run_failure"
    assert webhook[0]["job_name"] == "doomed"
    assert webhook[0]["run_id"] == run.run_id


def test_failure_sensor_without_webhook_only_logs(instance, monkeypatch):
    monkeypatch.delenv("RW_ORCHESTRATION_ALERT_WEBHOOK_URL", raising=False)
    run, failure = _failed_run(instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="report_run_failures",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
    ).for_run_failure()
    report_run_failures(context)  # no exception, nothing sent


def test_failure_payload_has_no_secrets_of_dagster():
    run = dg.DagsterRun(job_name="daily_build", run_id="b" * 36, tags={"rw/schedule": "x"})
    payload = failure_payload(run, "boom " * 1000)
    assert payload["tags"] == {"rw/schedule": "x"}
    assert len(payload["error"]) == 2000


def test_sync_runs_only_after_its_model_is_rebuilt(instance, tmp_path):
    """The sync's eager() condition: nothing while its model was never built; one request
    once the model is rebuilt; none again until the next rebuild."""
    from orchestration.defs.reverse_etl.assets import build_sync_asset
    from reverse_etl.config import SyncConfig

    # not a dbt asset: the sync falls back to the model name as the upstream key
    model = dg.AssetSpec(dg.AssetKey(["audience_memberships"]))
    sync = SyncConfig.model_validate(
        {
            "name": "probe_sync",
            "source": "audience_memberships",
            "primary_key": "person_id",
            "destination": {"type": "file"},
            "fields": {"email": "email"},
        }
    )

    @dg.multi_asset(specs=[model])
    def fake_dbt():
        yield dg.MaterializeResult(asset_key=model.key)

    sync_asset = build_sync_asset(sync, fake_dbt)
    defs = dg.Definitions(
        assets=[fake_dbt, sync_asset],
        resources={
            "warehouse": WarehouseResource(
                duckdb_path=str(tmp_path / "w.duckdb"), raw_dir=str(tmp_path), truth_dir=""
            ),
            "reverse_etl": ReverseEtlResource(syncs_dir=str(tmp_path), outbox_dir=str(tmp_path)),
        },
    )
    sync_key = dg.AssetKey(["activation", "probe_sync"])

    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert result.total_requested == 0  # the model was never built

    instance.report_runless_asset_event(dg.AssetMaterialization(model.key))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
    assert result.total_requested == 1
    assert [r.key for r in result.results if r.true_subset.size] == [sync_key]

    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
    assert result.total_requested == 0  # nothing new upstream


def test_sync_with_a_schedule_gets_its_own_job_and_schedule(instance):
    from orchestration.defs.automation.schedules import build_sync_schedules
    from reverse_etl.config import SyncConfig

    sync = SyncConfig.model_validate(
        {
            "name": "hourly_probe",
            "source": "dim_customers",
            "primary_key": "person_id",
            "destination": {"type": "file"},
            "fields": {"email": "email"},
            "schedule": "@hourly",
        }
    )
    unscheduled = sync.model_copy(update={"name": "manual_probe", "schedule": None})
    job, schedule = build_sync_schedules([sync, unscheduled], Settings())
    assert job.name == schedule.job_name == "sync_hourly_probe_job"
    assert schedule.cron_schedule == "@hourly"
    tick = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    assert schedule.evaluate_tick(context).run_requests
    instance.add_run(
        dg.DagsterRun(job_name=job.name, run_id="c" * 36, status=dg.DagsterRunStatus.STARTING)
    )
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    assert not schedule.evaluate_tick(context).run_requests


def test_sync_waits_for_its_model_tests(instance, tmp_path):
    """A rebuilt model whose blocking check (a dbt test with severity error) failed is not
    synced; it is once the check passes again."""
    from orchestration.defs.reverse_etl.assets import build_sync_asset
    from reverse_etl.config import SyncConfig

    model = dg.AssetSpec(dg.AssetKey(["sync_probe_model"]))
    test = dg.AssetCheckSpec("unique_person_id", asset=model.key, blocking=True)
    sync = SyncConfig.model_validate(
        {
            "name": "tested_sync",
            "source": "sync_probe_model",
            "primary_key": "person_id",
            "destination": {"type": "file"},
            "fields": {"email": "email"},
        }
    )

    @dg.multi_asset(specs=[model], check_specs=[test])
    def fake_dbt():
        yield dg.MaterializeResult(asset_key=model.key)

    defs = dg.Definitions(
        assets=[fake_dbt, build_sync_asset(sync, fake_dbt)],
        resources={
            "warehouse": WarehouseResource(
                duckdb_path=str(tmp_path / "w.duckdb"), raw_dir=str(tmp_path), truth_dir=""
            ),
            "reverse_etl": ReverseEtlResource(syncs_dir=str(tmp_path), outbox_dir=str(tmp_path)),
        },
    )

    def evaluate(cursor=None):
        return dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)

    def check(passed: bool) -> None:
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=model.key, check_name=test.name, passed=passed, metadata={}
            )
        )

    result = evaluate()
    instance.report_runless_asset_event(dg.AssetMaterialization(model.key))
    check(passed=False)
    result = evaluate(result.cursor)
    assert result.total_requested == 0  # rebuilt, but its test failed
    check(passed=True)
    result = evaluate(result.cursor)
    assert result.total_requested == 1
