"""An as-of rebuild is the past as it was: segmentation built with var as_of_date on all the
data equals segmentation built on the data truncated at the end of that day (issue 10, 6).

Persons are resolved with the identity graph of each build, so a person whose records were
merged with records that appear only later may get another id; the comparison covers every
person with the same paid orders (ids and all) in both builds, which must be nearly all.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.dbt.conftest import Warehouse

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30"
END = datetime(2026, 7, 1, tzinfo=UTC)  # as_of_date is inclusive: data before this instant
SELECT = (
    *("--select", "+customer_rfm", "+customer_lifecycle", "+int_person_order_stats"),
    *("--indirect-selection", "cautious"),  # no tests of models outside the selection
)
TIME_COLUMN = {
    "customers": "created_at",
    "orders": "ordered_at",
    "refunds": "refunded_at",
    "events": "occurred_at",
    "email_events": "occurred_at",
    "consents": "recorded_at",
}


def truncate(src: Path, dst: Path) -> dict[str, int]:
    """The raw contract as it stood at END: every record dated later removed."""
    dst.mkdir(parents=True)
    dropped = {}
    orders = pq.read_table(src / "orders.parquet")
    kept_orders = orders.filter(pc.less(orders["ordered_at"], END))["order_id"]
    for path in sorted(src.glob("*.parquet")):
        table = pq.read_table(path)
        name = path.stem
        if name in TIME_COLUMN:
            keep = pc.less(table[TIME_COLUMN[name]], END)
            if name == "refunds":
                keep = pc.and_(keep, pc.is_in(table["order_id"], kept_orders))
        elif name == "order_items":
            keep = pc.is_in(table["order_id"], kept_orders)
        else:
            keep = None
        if keep is not None:
            keep = pc.fill_null(keep, False)
            dropped[name] = table.num_rows - pc.sum(keep).as_py()
            table = table.filter(keep)
        pq.write_table(table, dst / path.name)
    return dropped


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


PERSON_ORDERS = """
    select person_id, string_agg(order_id, ',' order by order_id) as orders
    from intermediate.int_paid_orders_as_of group by person_id
"""


@pytest.fixture(scope="module")
def builds(warehouse: Warehouse, tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("as_of")
    past = warehouse.copy(root / "past")
    past.dbt("build", *SELECT, as_of_date=AS_OF)
    truncated = Warehouse(root / "cut" / "raw", warehouse.truth_dir, root / "cut" / "w.duckdb")
    dropped = truncate(warehouse.raw_dir, truncated.raw_dir)
    truncated.dbt("build", *SELECT)  # default as-of: the latest order date
    return past.duckdb_path, truncated.duckdb_path, dropped


def test_segmentation_as_of_is_one_row_at_the_requested_date(builds):
    past, truncated, dropped = builds
    assert dropped["orders"] > 0 and dropped["events"] > 0  # the later data existed
    expected = [(datetime(2026, 6, 30).date(),)]
    assert _rows(past, "select as_of_date from segmentation.segmentation_as_of") == expected
    assert _rows(truncated, "select as_of_date from segmentation.segmentation_as_of") == expected


@pytest.mark.parametrize(
    "relation, columns",
    [
        ("intermediate.int_person_order_stats", "*"),
        ("segmentation.customer_rfm", "person_id, as_of_date, recency_days, frequency, monetary"),
        ("segmentation.customer_lifecycle", "*"),
    ],
)
def test_past_build_equals_build_on_truncated_data(builds, relation, columns):
    past, truncated, _ = builds
    same_orders = set(_rows(past, PERSON_ORDERS)) & set(_rows(truncated, PERSON_ORDERS))
    persons = {p for p, _ in same_orders}
    total = len(_rows(truncated, PERSON_ORDERS))
    assert len(persons) >= 0.97 * total  # nearly everyone is resolved alike

    def table(db: Path) -> dict:
        rows = _rows(db, f"select {columns} from {relation} order by person_id")
        return {r[0]: r for r in rows if r[0] in persons}

    a, b = table(past), table(truncated)
    assert a.keys() == b.keys() and len(a) > 100
    names = columns_of(past, relation)
    differing = {p: _diff(a[p], b[p], names) for p in a if _diff(a[p], b[p], names)}
    assert not differing, (len(differing), next(iter(differing.items())))


def columns_of(db: Path, relation: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [d[0] for d in con.execute(f"select * from {relation} limit 0").description]


def _diff(a: tuple, b: tuple, names: list[str]) -> dict:
    """Differing columns; floats compare to the last bits (aggregation order differs)."""

    def same(x, y) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-12)
        return x == y

    return {n: (x, y) for n, x, y in zip(names, a, b, strict=False) if not same(x, y)}
