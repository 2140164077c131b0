"""The raw assets load an import as well as the sample shop (launchpad config)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.ingest.assets import IngestConfig, raw_key, raw_tables
from orchestration.resources import WarehouseResource

FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures"


def _warehouse(tmp_path: Path) -> WarehouseResource:
    return WarehouseResource(
        duckdb_path=str(tmp_path / "w.duckdb"),
        raw_dir=str(tmp_path / "raw"),
        truth_dir=str(tmp_path / "truth"),
    )


def test_shopify_import(tmp_path):
    result = dg.materialize(
        [raw_tables],
        resources={"warehouse": _warehouse(tmp_path)},
        run_config={
            "ops": {
                "raw_tables": {
                    "config": {
                        "source": "shopify",
                        "file": str(FIXTURES / "shopify_orders_export.csv"),
                    }
                }
            }
        },
    )
    assert result.success
    events = {e.asset_key: e.materialization for e in result.get_asset_materialization_events()}
    orders = events[raw_key("orders")]
    assert orders.metadata["source"].value == "shopify"
    assert orders.metadata["dagster/row_count"].value > 0
    assert raw_key("events") not in events  # a Shopify export has no web events
    assert (tmp_path / "raw" / "orders.parquet").exists()


def test_import_needs_a_file(tmp_path):
    with pytest.raises(dg.Failure, match="needs `file`"):
        dg.materialize(
            [raw_tables],
            resources={"warehouse": _warehouse(tmp_path)},
            run_config={"ops": {"raw_tables": {"config": {"source": "csv"}}}},
        )


def test_config_defaults_describe_a_small_sample_shop():
    config = IngestConfig()
    assert config.source == "sample" and config.customers > 0 and config.as_of_date is None
