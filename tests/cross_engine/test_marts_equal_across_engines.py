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

from .conftest import COMPARED, EngineBuild, dbt_build, engine_build, engine_params

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


def canonical_rows(
    build: EngineBuild, relation: str, live: bool = False
) -> tuple[list[str], Counter]:
    columns, rows = (build.read_live if live else build.read_table)(relation)
    keep = [i for i, name in enumerate(columns) if name.lower() not in MARTS.get(relation, ())]
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
@pytest.mark.parametrize("engine", engine_params())  # one engine after the other
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
@pytest.mark.parametrize("engine", engine_params())
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


# The incremental models: a build over an existing warehouse takes their other path, where
# Spark replaces partitions (insert_overwrite, delete_rows) and the others delete by key.
INCREMENTAL = (
    "intermediate.int_person_cart_events",
    "ml.ml_customer_features",
    "segmentation.audience_entries",
    "segmentation.holdout_assignments",
    "segmentation.audience_membership_history",
)


@pytest.mark.slow
@pytest.mark.parametrize("engine", engine_params())
def test_a_second_build_replaces_incremental_slices_with_the_same_rows(
    request: pytest.FixtureRequest, engine: str
) -> None:
    build = engine_build(request, engine)
    before = {relation: canonical_rows(build, relation, live=True) for relation in INCREMENTAL}
    assert all(sum(rows.values()) > 0 for _, rows in before.values()), "nothing to replace"
    models = [relation.split(".")[1] for relation in INCREMENTAL]
    dbt_build(build.env, ("run", "--select", *models))
    for relation in INCREMENTAL:
        columns, rows = canonical_rows(build, relation, live=True)
        assert (columns, sum(rows.values()), checksum(rows)) == (
            before[relation][0],
            sum(before[relation][1].values()),
            checksum(before[relation][1]),
        ), f"{relation} changed in a second build on {engine}"
