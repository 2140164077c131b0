"""The hourly path: fresh enough for the first cart reminder (1 h after the cart) and the
browse reminder (2 h after the view).

The daily build runs at 05:00, so on its own a cart abandoned at 10:05 would wait up to a day
for its 1-hour reminder. Every hour (when new raw events have arrived) this path rebuilds only
what the cart and browse flows need, as of the true current time (environment variable
RW_SEGMENTATION_NOW, from the run tag `rw/now`):
- devices that identified themselves since the daily identity build (`int_device_persons`:
  a visitor who logs in at 10:00 on a new phone is a person for the 10:05 cart; the identity
  graph itself is rebuilt daily);
- the new shopping events (incremental `int_person_cart_events`) and orders with their
  person (the view `int_person_paid_orders`: an order of the last hour ends its cart);
- the cart and browse rules' rows of `audience_entries`, the contact policy, the holdouts of
  new entrants, the memberships and the reminders' sync models;
then syncs the diff: each reminder is a row of `sync_file__cart_reminders` (person, entry,
step) or `sync_file__browse_reminders` (person, entry), so it goes out exactly once.

`run_hourly()` is plain Python (tests drive it with a simulated clock); the Dagster job, the
sensor on new raw data and its cursor are below.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration.resources import ReverseEtlResource, WarehouseResource
from warehouse.dbt import run_dbt

HOURLY_CART = "hourly_cart"
NOW_TAG = "rw/now"

# the audiences whose rules the hourly path re-runs (audience_rules_only), their syncs, and
# the dbt nodes they need - everything else keeps the daily build's result
HOURLY_AUDIENCES = ("browse_abandonment", "cart_abandonment")
HOURLY_SYNCS = ("file_cart_reminders", "file_browse_reminders")
HOURLY_SELECTION = (
    "path:models/staging",  # views over the raw files (cheap; they follow RW_RAW_DIR)
    "segmentation_as_of",
    "int_device_persons",
    "int_person_paid_orders",  # a view: new orders with their person, fct_orders stays daily
    "int_person_cart_events",
    "int_person_recent_sends",
    "audience_entries",
    "contact_suppressions",
    "audience_candidates",
    "audience_membership_history",
    # new entrants get their holdout draw from audience_membership_history; the replay of
    # every past entry (fct_workflow_entries) stays daily
    "holdout_assignments",
    "current_holdout_assignments",
    "audience_memberships",
    "sync_file__cart_reminders",
    "sync_file__browse_reminders",
)

# what the hourly selection reads from the daily build (identity stitching is daily)
DAILY_BUILT_INPUTS = (
    dg.AssetKey(["intermediate", "int_identifiers_stitched"]),
    dg.AssetKey(["intermediate", "int_records_persons"]),
)

# where the data tests the hourly build leaves to the daily build live (they read whole
# tables: minutes at 1M customers, for rules that did not change within the hour)
HOURLY_DAILY_TESTED = (
    "models/staging",
    "models/intermediate",
    "models/marts/segmentation",
    "tests",
)


@dataclass(frozen=True)
class HourlyResult:
    now: datetime
    synced: dict[str, dict]  # sync name -> run statistics


NOW_ENV = "RW_SEGMENTATION_NOW"


def hourly_dbt_command(target_path: Path) -> list[str]:
    """The hourly dbt build. Its own target path keeps its partial-parse state apart from
    the daily build's (their vars differ, and changed vars make dbt re-parse everything)."""
    return [
        "build",
        "--select",
        *HOURLY_SELECTION,
        # Data tests: of what is delivered (the sync models) every hour, of the rest daily;
        # unit tests do not depend on the hour.
        "--exclude",
        "resource_type:unit_test",
        *(f"resource_type:test,path:{path}" for path in HOURLY_DAILY_TESTED),
        "--target-path",
        str(target_path),
    ]


def hourly_dbt_vars() -> dict[str, object]:
    """The same every hour (so dbt parses the project only once): the rules to re-run."""
    return {"audience_rules_only": list(HOURLY_AUDIENCES)}


def hourly_dbt_env(now: datetime) -> dict[str, str]:
    """The current instant, for segmentation_as_of (an environment variable: when it
    changes dbt re-parses only that model, where a changed var re-parses the project)."""
    if now.tzinfo is None:
        raise ValueError(f"the hourly path needs an aware 'now' (UTC), got {now!r}")
    return {NOW_ENV: now.astimezone(UTC).isoformat()}


def hourly_target_path(duckdb_path: Path) -> Path:
    """dbt's target folder of the hourly path, next to the warehouse it builds."""
    return Path(duckdb_path).resolve().parent / "dbt_target_hourly"


def run_hourly(
    now: datetime,
    *,
    raw_dir: Path,
    duckdb_path: Path,
    outbox_dir: Path,
    syncs_dir: Path | None = None,
) -> HourlyResult:
    """Rebuild the cart and browse path as of `now`, then run their syncs (only new or
    changed rows are delivered). Raises with dbt's output when the build fails."""
    from reverse_etl.config import load_syncs
    from reverse_etl.destinations import DeliveryContext
    from reverse_etl.engine import SyncEngine
    from warehouse.settings import get_settings

    run_dbt(
        hourly_dbt_command(hourly_target_path(duckdb_path)),
        raw_dir=raw_dir,
        duckdb_path=duckdb_path,
        dbt_vars=hourly_dbt_vars(),
        extra_env=hourly_dbt_env(now),
    )
    overrides: dict[str, object] = {"duckdb_path": duckdb_path, "outbox_dir": outbox_dir}
    if syncs_dir is not None:
        overrides["syncs_dir"] = syncs_dir
    settings = get_settings(**overrides)
    syncs = load_syncs(settings.syncs_dir)
    synced: dict[str, dict] = {}
    for name in HOURLY_SYNCS:
        engine = SyncEngine(
            syncs[name],
            duckdb_path,
            settings=settings,
            context=DeliveryContext(run_id="pending", outbox_dir=outbox_dir),
        )
        result = engine.run()
        if result.status == "failed":
            raise RuntimeError(f"sync {name} run {result.run_id} failed: {result.error}")
        synced[name] = {
            "status": result.status,
            "creates": result.plan.creates,
            "updates": result.plan.updates,
            "removals": result.plan.removals,
        }
    return HourlyResult(now=now, synced=synced)


def resolve_now(tags: dict[str, str], fallback: datetime | None = None) -> datetime:
    """The run's "now": the run tag rw/now (ISO-8601 with offset), else the current time."""
    value = tags.get(NOW_TAG)
    if value:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(f"run tag {NOW_TAG}={value!r} needs a UTC offset")
        return parsed
    return fallback or datetime.now(UTC)


def raw_events_marker(raw_dir: Path) -> str | None:
    """What the sensor compares between ticks: size and modification time of the raw
    events and orders files (new data replaces or grows them)."""
    parts = []
    for name in ("events.parquet", "orders.parquet"):
        path = Path(raw_dir) / name
        if path.exists():
            stat = path.stat()
            parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts) or None


@dg.op(
    name="hourly_cart_refresh",
    description="Rebuild the cart and browse path as of now (run tag rw/now), sync the diff.",
    pool="warehouse",
)
def hourly_cart_refresh(
    context: dg.OpExecutionContext,
    warehouse: WarehouseResource,
    reverse_etl: ReverseEtlResource,
) -> None:
    now = resolve_now(context.run.tags)
    settings = reverse_etl.engine_settings(warehouse.database)
    result = run_hourly(
        now,
        raw_dir=warehouse.raw,
        duckdb_path=warehouse.database,
        outbox_dir=settings.outbox_dir,
        syncs_dir=settings.syncs_dir,
    )
    context.log.info("hourly cart and browse path as of %s: %s", now.isoformat(), result.synced)


@dg.job(
    name=HOURLY_CART, description="Hourly: cart and browse flows fresh to the hour, diff synced."
)
def hourly_cart_job() -> None:
    hourly_cart_refresh()


@dg.sensor(
    name="hourly_cart_on_new_data",
    job=hourly_cart_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="At most hourly, when raw events or orders changed since the last run: the "
    "hourly cart and browse path, with the evaluation time as its rw/now.",
)
def hourly_cart_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    marker = raw_events_marker(warehouse.raw)
    if marker is None:
        return dg.SkipReason(f"no raw events under {warehouse.raw}")
    unbuilt = [
        key.to_user_string()
        for key in DAILY_BUILT_INPUTS
        if context.instance.get_latest_materialization_event(key) is None
    ]
    if unbuilt:
        # the hourly build reads the daily identity build; before it exists the run can only fail
        return dg.SkipReason(f"waiting for the first daily build ({', '.join(unbuilt)})")
    if marker == context.cursor:
        return dg.SkipReason("no new raw events or orders since the last hourly run")
    now = datetime.now(UTC).replace(microsecond=0)
    context.update_cursor(marker)
    return dg.RunRequest(run_key=f"{HOURLY_CART}:{marker}", tags={NOW_TAG: now.isoformat()})
