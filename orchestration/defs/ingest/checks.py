"""Freshness of the raw data: the newest order and event must be recent."""

from datetime import UTC, datetime

import dagster as dg
import duckdb

from orchestration.defs.ingest.assets import raw_key
from orchestration.resources import WarehouseResource
from orchestration.settings import settings

# raw table -> its event-time column
FRESHNESS_COLUMNS = {"orders": "ordered_at", "events": "occurred_at"}


def age_hours(newest: datetime | None, now: datetime) -> float | None:
    """Hours between the newest record and `now` (None when there are no records)."""
    if newest is None:
        return None
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return (now - newest).total_seconds() / 3600


def _freshness_check(table: str, column: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(table),
        name=f"raw_{table}_freshness",
        description=f"The newest `{column}` in raw {table} is at most RW_RAW_MAX_AGE_HOURS old "
        "(warns: stale raw data means the warehouse describes the past).",
    )
    def check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        limit = settings().raw_max_age_hours
        path = warehouse.raw / f"{table}.parquet"
        if not path.exists():
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"reason": f"{path} does not exist"},
            )
        with duckdb.connect() as con:
            (newest,) = con.execute(
                f"select max({column}) from read_parquet(?)", [str(path)]
            ).fetchone()
        age = age_hours(newest, datetime.now(UTC))
        return dg.AssetCheckResult(
            passed=age is not None and age <= limit,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "newest_record_at": str(newest),
                "age_hours": round(age, 1) if age is not None else None,
                "max_age_hours": limit,
            },
        )

    return check


RAW_FRESHNESS_CHECKS = [_freshness_check(t, c) for t, c in FRESHNESS_COLUMNS.items()]
