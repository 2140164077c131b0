"""Replenishment cycles from the shop's own behaviour: a catalog without replenishment_days
(every imported catalog) still gets a replenishment audience, with cycles close to the
true ones the generator used."""

from __future__ import annotations

from pathlib import Path

import duckdb

from .conftest import Warehouse


def test_catalog_cycles_are_used_where_given(warehouse: Warehouse) -> None:
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
        sources = con.execute(
            "select cycle_source, count(*) from intermediate.int_product_replenishment_cycles"
            " group by 1"
        ).fetchall()
        (with_days,) = con.execute(
            "select count(*) from read_parquet(?) where replenishment_days > 0",
            [str(warehouse.raw_dir / "products.parquet")],
        ).fetchone()
    # the generator's catalog marks every product: consumables carry their days, the
    # others are marked not consumable, so nothing is inferred
    assert sources == [("catalog", with_days)]


def test_catalog_without_cycles_gets_observed_cycles(warehouse: Warehouse, tmp_path: Path) -> None:
    shop = warehouse.copy(tmp_path)
    products = shop.raw_dir / "products.parquet"
    truth = tmp_path / "catalog_truth.parquet"
    with duckdb.connect() as con:
        con.execute(f"copy (select * from read_parquet('{products}')) to '{truth}'")
        con.execute(
            f"copy (select * replace (null::integer as replenishment_days,"
            f" null::boolean as is_consumable) from read_parquet('{truth}'))"
            f" to '{products}' (format parquet)"
        )
    shop.dbt("build", "--select", "+audience_entries", "--exclude", "test_type:unit")

    with duckdb.connect(str(shop.duckdb_path), read_only=True) as con:
        con.execute(f"create temp view truth as select * from read_parquet('{truth}')")
        sources = dict(
            con.execute(
                "select cycle_source, count(*)"
                " from intermediate.int_product_replenishment_cycles group by 1"
            ).fetchall()
        )
        (ratio_median, ratio_p10, ratio_p90, compared) = con.execute(
            """
            select median(c.replenishment_days / t.replenishment_days),
                quantile_cont(c.replenishment_days / t.replenishment_days, 0.1),
                quantile_cont(c.replenishment_days / t.replenishment_days, 0.9),
                count(*)
            from intermediate.int_product_replenishment_cycles c
            join truth t using (product_id)
            where t.is_consumable and c.cycle_source = 'observed_product'
            """
        ).fetchone()
        (audience, audience_true_consumables) = con.execute(
            """
            select count(*), count(*) filter (where t.is_consumable)
            from segmentation.audience_entries a
            join truth t using (product_id)
            where a.audience = 'replenishment_due' and a.is_active
            """
        ).fetchone()
        (gaps_below_minimum,) = con.execute(
            "select count(*) from intermediate.int_product_replenishment_cycles"
            " where cycle_source = 'observed_product' and observed_gaps < 5"
        ).fetchone()
        # gaps alone are no evidence: an observed cycle needs returning buyers who rebuy
        (without_repeat_behaviour,) = con.execute(
            "select count(*) from intermediate.int_product_replenishment_cycles"
            " where cycle_source = 'observed_product' and not repeat_share >= 0.2"
        ).fetchone()

    assert "catalog" not in sources
    assert sources["observed_product"] > 0 and sources["observed_category"] > 0
    assert gaps_below_minimum == 0
    assert without_repeat_behaviour == 0
    # observed per-unit repurchase gaps land near the catalog's true cycle: people reorder
    # a little after running out, never long before
    assert compared >= 30
    assert 0.9 <= ratio_median <= 1.4, ratio_median
    assert ratio_p10 >= 0.75, ratio_p10
    assert ratio_p90 <= 3.5, ratio_p90
    assert audience > 0
    assert audience_true_consumables / audience >= 0.5
