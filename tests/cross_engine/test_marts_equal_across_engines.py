"""The same shop gives the same marts on DuckDB, PostgreSQL and Spark.

For each mart the rows are compared as a multiset: row counts, then a checksum of the
canonical rows (values normalised: money and rates to 6 decimals, timestamps in UTC), and
on a mismatch the first differing rows are shown. Columns that record when a build ran
(not what it computed) are left out.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from .conftest import COMPARED, EngineBuild, engine_build, selected_engines

# mart -> columns that differ by design between two builds (wall-clock time of the build)
MARTS: dict[str, set[str]] = {
    # person assignments: every identifier's person, and every record's person
    "intermediate.int_identifiers_stitched": set(),
    "intermediate.int_records_persons": set(),
    "core.dim_customers": set(),
    "segmentation.customer_rfm": set(),
    "segmentation.cohort_retention": set(),
    "segmentation.audience_memberships": set(),
    "segmentation.holdout_assignments": {"assigned_at"},
}


assert set(MARTS) == set(COMPARED)


def canonical(value: object) -> str:
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | Decimal):
        return f"{Decimal(value):.6f}"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6f}"
    if isinstance(value, datetime):
        if value.tzinfo is None:  # Spark's Parquet timestamps are UTC instants
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def canonical_rows(build: EngineBuild, relation: str) -> tuple[list[str], Counter]:
    columns, rows = build.read_table(relation)
    keep = [i for i, name in enumerate(columns) if name.lower() not in MARTS[relation]]
    names = [columns[i].lower() for i in keep]
    order = sorted(range(len(names)), key=names.__getitem__)
    return (
        [names[i] for i in order],
        Counter("|".join(canonical(row[keep[i]]) for i in order) for row in rows),
    )


def checksum(rows: Counter) -> str:
    digest = hashlib.sha256()
    for row in sorted(rows.elements()):
        digest.update(row.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


@pytest.mark.slow
@pytest.mark.parametrize("relation", list(MARTS))
@pytest.mark.parametrize("engine", selected_engines())  # one engine after the other
def test_mart_is_identical_to_duckdb(
    request: pytest.FixtureRequest, duckdb_build: EngineBuild, engine: str, relation: str
) -> None:
    other = engine_build(request, engine)
    reference_columns, reference = canonical_rows(duckdb_build, relation)
    columns, rows = canonical_rows(other, relation)
    assert columns == reference_columns
    assert sum(reference.values()) > 0, f"{relation} is empty: nothing is compared"
    only_duckdb = sorted((reference - rows).elements())[:5]
    only_other = sorted((rows - reference).elements())[:5]
    assert (sum(rows.values()), checksum(rows)) == (
        sum(reference.values()),
        checksum(reference),
    ), f"{relation} differs; columns {columns}\nonly on duckdb: {only_duckdb}\n" + (
        f"only on {engine}: {only_other}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("engine", selected_engines())
def test_every_holdout_group_and_audience_is_populated(
    request: pytest.FixtureRequest, engine: str
) -> None:
    # the equality above means something only if the data exercises the rules
    build = engine_build(request, engine)
    columns, rows = build.read_table("segmentation.holdout_assignments")
    is_holdout = [row[columns.index("is_holdout")] for row in rows]
    assert 0 < sum(is_holdout) < len(is_holdout)
    columns, rows = build.read_table("segmentation.audience_memberships")
    assert len({row[columns.index("audience")] for row in rows}) >= 4
