"""Freshness of the raw data: the newest order and event must be recent."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.ingest.assets import raw_key
from orchestration.resources import WarehouseResource
from warehouse.settings import get_settings

# raw table -> its event-time column
FRESHNESS_COLUMNS = {"orders": "ordered_at", "events": "occurred_at"}


def age_hours(newest: datetime | None, now: datetime) -> float | None:
    """Hours between the newest record and `now` (None when there are no records)."""
    if newest is None:
        return None
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return (now - newest).total_seconds() / 3600


def newest_record(path, column: str, now: datetime) -> tuple[datetime | None, int]:
    """The newest `column` value at or before `now`, and how many records are dated later.

    Records dated after `now` (a sample shop generated to the end of today, or a source
    clock ahead of ours) say nothing about how fresh the data is: counting them would give
    a negative age."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        newest, ahead = con.execute(
            f"select max({column}) filter (where {column} <= ?), "
            f"count(*) filter (where {column} > ?) from read_parquet(?)",
            [now, now, str(path)],
        ).fetchone()
    return newest, int(ahead)


def freshness_result(path: Path, column: str, now: datetime, limit: float) -> dg.AssetCheckResult:
    """Passes when the newest `column` value at or before `now` is at most `limit` hours old."""
    if not path.exists():
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"reason": f"{path} does not exist"},
        )
    newest, ahead = newest_record(path, column, now)
    age = age_hours(newest, now)
    return dg.AssetCheckResult(
        passed=age is not None and age <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "newest_record_at": str(newest),
            "age_hours": round(age, 1) if age is not None else None,
            "max_age_hours": limit,
            # dated after the check ran (data to the end of today, or clock skew)
            "records_after_now": ahead,
        },
    )


def _freshness_check(table: str, column: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(table),
        name=f"raw_{table}_freshness",
        description=f"The newest `{column}` in raw {table} is at most RW_INGEST_MAX_AGE_HOURS old "
        "(warns: stale raw data means the warehouse describes the past).",
    )
    def check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        path = warehouse.raw / f"{table}.parquet"
        return freshness_result(
            path, column, datetime.now(UTC), get_settings().ingest.max_age_hours
        )

    return check


RAW_FRESHNESS_CHECKS = [_freshness_check(t, c) for t, c in FRESHNESS_COLUMNS.items()]
