"""End to end: generated shop -> dbt build -> assertions on the marts and on stitching."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.evaluation import junk_identifiers, stitching_quality

from .conftest import Warehouse


def query(warehouse: Warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_every_raw_order_reaches_fct_orders_once(warehouse: Warehouse) -> None:
    raw = pq.read_table(warehouse.raw_dir / "orders.parquet").num_rows
    [(orders, distinct)] = query(
        warehouse, "select count(*), count(distinct order_id) from core.fct_orders"
    )
    assert orders == raw == distinct


def test_net_revenue_reconciles_with_raw_totals_and_refunds(warehouse: Warehouse) -> None:
    raw = warehouse.raw_dir
    [(expected,)] = query(
        warehouse,
        f"""
        select sum(o.total) - coalesce((
            select sum(r.amount) from read_parquet('{raw / "refunds.parquet"}') as r
            inner join read_parquet('{raw / "orders.parquet"}') as o2 using (order_id)
            where o2.status <> 'cancelled'), 0)
        from read_parquet('{raw / "orders.parquet"}') as o
        where o.status <> 'cancelled'
        """,
    )
    [(orders_net, customers_net)] = query(
        warehouse,
        "select (select sum(net_revenue) from core.fct_orders),"
        " (select sum(net_revenue) from core.dim_customers)",
    )
    # money is decimal end to end: the sums agree to the cent, not approximately
    assert orders_net == expected
    assert customers_net == expected


def test_one_profile_per_person_with_contact_and_history(warehouse: Warehouse) -> None:
    [(persons, with_email, buyers, repeat_buyers)] = query(
        warehouse,
        """
        select count(*), count(email), count(first_order_at),
               sum(case when orders_count > 1 then 1 else 0 end)
        from core.dim_customers
        """,
    )
    true_persons = pq.read_table(warehouse.truth_dir / "persons.parquet").num_rows
    # every true person who left an identifier is one profile; a few unidentifiable
    # orders add singletons, so the count is close to the truth, not far above it
    assert 0.9 * true_persons <= persons <= 1.05 * true_persons
    assert with_email > 0.8 * persons
    assert 0 < repeat_buyers < buyers


def test_stitching_precision_and_recall_against_ground_truth(warehouse: Warehouse) -> None:
    quality = stitching_quality(warehouse.duckdb_path, warehouse.truth_dir)
    assert quality.records > 1000
    assert quality.true_links > 1000
    assert quality.precision >= 0.99, quality.as_dict()
    assert quality.recall >= 0.99, quality.as_dict()


def test_junk_identifiers_do_not_merge_distinct_people(warehouse: Warehouse) -> None:
    excluded = {
        key
        for (key,) in query(
            warehouse, "select identifier_key from core.identity_excluded_identifiers"
        )
    }
    present = {
        key
        for (key,) in query(
            warehouse, "select identifier_key from intermediate.int_identifiers_profiled"
        )
    }
    junk = [key for key in junk_identifiers(warehouse.truth_dir) if key in present]
    assert junk, "the generated shop should contain junk identifiers"
    assert set(junk) <= excluded
    quality = stitching_quality(warehouse.duckdb_path, warehouse.truth_dir)
    # no predicted person gathers the records of many true people
    assert quality.largest_true_persons_in_one_person <= 2, quality.as_dict()


def test_portable_connected_components_match_the_duckdb_fast_path(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    portable = warehouse.copy(tmp_path)
    portable.dbt(
        "run",
        "--select",
        "int_identity_components",
        "int_identifiers_stitched",
        identity_cc_algorithm="portable",
    )
    sql = "select identifier_key, person_id from intermediate.int_identifiers_stitched"
    assert sorted(query(portable, sql)) == sorted(query(warehouse, sql))
    # the fast path cleans up its work tables
    assert not query(
        warehouse,
        "select table_name from information_schema.tables"
        " where starts_with(table_name, 'cc_work_')",
    )


def test_new_data_merging_two_persons_keeps_ids_stable_and_records_the_merge(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    changed = warehouse.copy(tmp_path)
    # two account holders with no identifier in common ...
    (a_id, a_email, a_first), (b_id, b_phone, b_first) = query(
        changed,
        """
        with accounts as (
            select person_id, email, phone, first_identified_at,
                   row_number() over (order by first_identified_at, person_id) as n
            from core.dim_customers
            where customer_ids is not null and email is not null and phone is not null
              and emails not like '%,%' and phones not like '%,%'
        )
        select person_id, case when n = 1 then email else phone end, first_identified_at
        from accounts where n in (1, 2) order by n
        """,
    )
    before = dict(query(changed, "select person_id, orders_count from core.dim_customers"))
    # ... are linked by one new guest order carrying A's email and B's phone
    orders = pq.read_table(changed.raw_dir / "orders.parquet")
    new_order = {name: [None] for name in orders.schema.names}
    new_order.update(
        order_id=["merge-test-1"],
        email=[a_email],
        phone=[b_phone],
        status=["paid"],
        currency=["PLN"],
        total=[Decimal(10)],
        subtotal=[Decimal(10)],
        ordered_at=[pc.max(orders["ordered_at"])],
    )
    merged = pa.concat_tables([orders, pa.table(new_order).cast(orders.schema)])
    pq.write_table(merged, changed.raw_dir / "orders.parquet")
    changed.dbt("build", "--exclude", "test_type:unit")

    survivor = a_id if a_first <= b_first else b_id
    absorbed = b_id if survivor == a_id else a_id
    after = dict(query(changed, "select person_id, orders_count from core.dim_customers"))
    assert survivor in after and absorbed not in after
    # every other person keeps its id
    assert set(before) - {absorbed} == set(after)
    assert query(
        changed,
        "select previous_person_id, person_id, change_type from core.fct_person_merges",
    ) == [(absorbed, survivor, "merge")]
