"""`rw-ingest` command-line tests (typer's CliRunner, temporary raw directories)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ingest.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def test_import_csv_prints_report_and_exits_zero_with_rejections(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    result = invoke(
        "import-csv",
        FIXTURES / "orders_malformed.csv",
        "--max-rejected-share",
        "0.7",
        "--raw-dir",
        raw,
    )
    assert result.exit_code == 0, result.output
    assert "rejected: duplicate_order_id" in result.output
    assert "orders" in result.output
    assert pq.read_table(raw / "orders.parquet").num_rows == 5
    assert pq.read_table(raw / "_rejected" / "orders.parquet").num_rows == 11


def test_import_csv_fails_over_the_rejected_share_and_writes_nothing(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    result = invoke("import-csv", FIXTURES / "orders_malformed.csv", "--raw-dir", raw)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "11 of 17 rows rejected (64.7%), more than the allowed 5.0%" in output
    assert "duplicate_order_id 2" in output  # per-reason counts
    assert "negative_value 2" in output
    assert "row 5: unparseable_timestamp: ordered_at='31/02/2026'" in output
    assert not (raw / "orders.parquet").exists()
    assert not (raw / "_rejected").exists()


def test_clearing_a_required_column_is_a_clear_error(tmp_path: Path) -> None:
    csv_file = FIXTURES / "orders_malformed.csv"
    result = invoke("import-csv", csv_file, "-c", "order_id=", "--raw-dir", tmp_path)
    assert result.exit_code == 1
    assert "order_id is required and cannot be ignored" in result.output
    assert "pydantic" not in result.output
    # an optional identifier may be cleared: the orders become guest orders
    raw = tmp_path / "raw"
    result = invoke(
        "import-csv", csv_file, "-c", "customer_id=", "--max-rejected-share", "1", "--raw-dir", raw
    )
    assert result.exit_code == 0, result.output
    orders = pq.read_table(raw / "orders.parquet").to_pylist()
    assert orders and all(o["customer_id"] is None for o in orders)
    result = invoke("import-csv", csv_file, "--timezone", "", "-c", "nope=x", "--raw-dir", raw)
    assert result.exit_code == 1
    assert "unknown mapping field(s) ['nope']" in result.output


def test_inspect_shows_detection_samples_and_rejects_writing_nothing(tmp_path: Path) -> None:
    polish = Path(__file__).parents[1] / "fixtures" / "shop_exports" / "polish_orders_cp1250.csv"
    result = runner.invoke(app, ["inspect", str(polish)], env={"RW_RAW_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "cp1250" in out
    assert "comma (12,50)" in out
    assert "%d.%m.%Y %H:%M" in out
    for column in ("Nr zamówienia", "Data zamówienia", "Kwota", "ID klienta", "Ilość"):
        assert column in out
    assert "0001001" in out and "00017" in out  # ids keep their leading zeros
    assert "unparseable_timestamp" in out and "31.04.2026 10:00" in out
    assert "Nothing was written." in out
    assert list(tmp_path.iterdir()) == []
    # the printed mapping pins the same reading for later imports
    printed = out[out.index("columns:") : out.index("Nothing was written.")]
    pinned = tmp_path / "mapping.yaml"
    pinned.write_text(printed, encoding="utf-8")
    raw = tmp_path / "raw"
    result = invoke(
        "import-csv", polish, "--mapping", pinned, "--max-rejected-share", "0.2", "--raw-dir", raw
    )
    assert result.exit_code == 0, result.output
    orders = pq.read_table(raw / "orders.parquet").to_pylist()
    assert len(orders) == 5 and orders[0]["order_id"] == "0001001"


def test_import_csv_column_options(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    result = invoke(
        "import-csv",
        FIXTURES / "orders_custom_columns.csv",
        "--column",
        "order_id=Order Number",
        "-c",
        "customer_id=Customer",
        "-c",
        "ordered_at=Date",
        "-c",
        "amount=Total",
        "-c",
        "email=E-mail",
        "-c",
        "currency=Currency",
        "--delimiter",
        ";",
        "--timestamp-format",
        "%d.%m.%Y %H:%M",
        "--timezone",
        "Europe/Warsaw",
        "--max-rejected-share",
        "0.5",
        "--raw-dir",
        raw,
    )
    assert result.exit_code == 0, result.output
    orders = {o["order_id"]: o for o in pq.read_table(raw / "orders.parquet").to_pylist()}
    assert set(orders) == {"1001", "1002"}
    assert orders["1001"]["ordered_at"].isoformat() == "2026-04-05T19:06:00+00:00"


def test_import_csv_mapping_file_with_cli_override(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    result = invoke(
        "import-csv",
        FIXTURES / "orders_custom_columns.csv",
        "--mapping",
        FIXTURES / "orders_mapping.yaml",
        "--timezone",
        "UTC",
        "--max-rejected-share",
        "0.5",
        "--raw-dir",
        raw,
    )
    assert result.exit_code == 0, result.output
    orders = {o["order_id"]: o for o in pq.read_table(raw / "orders.parquet").to_pylist()}
    assert orders["1001"]["ordered_at"].isoformat() == "2026-04-05T21:06:00+00:00"
    assert orders["1001"]["currency"] == "PLN"


def test_raw_dir_from_environment(tmp_path: Path) -> None:
    raw = tmp_path / "env-raw"
    result = invoke(
        "import-shopify", FIXTURES / "shopify_orders_export.csv", env={"RW_RAW_DIR": str(raw)}
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(raw / "orders.parquet").num_rows == 6


def test_import_shopify_append(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    export = FIXTURES / "shopify_orders_export.csv"
    assert invoke("import-shopify", export, "--raw-dir", raw).exit_code == 0
    result = invoke("import-shopify", export, "--append", "--raw-dir", raw)
    assert result.exit_code == 0, result.output
    assert "already_imported" in result.output
    assert pq.read_table(raw / "orders.parquet").num_rows == 6


@pytest.mark.parametrize("command", ["import-csv", "import-shopify"])
def test_unreadable_file_exits_nonzero_naming_it(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "no-such-file.csv"
    result = invoke(command, missing, "--raw-dir", tmp_path / "raw")
    assert result.exit_code == 1
    assert "no-such-file.csv" in result.output


def test_bad_column_option_and_missing_column(tmp_path: Path) -> None:
    csv_file = FIXTURES / "orders_malformed.csv"
    result = invoke("import-csv", csv_file, "-c", "order_id", "--raw-dir", tmp_path)
    assert result.exit_code == 2  # usage error
    result = invoke("import-csv", csv_file, "-c", "order_id=Nope", "--raw-dir", tmp_path)
    assert result.exit_code == 1
    assert "Nope" in result.output
    result = invoke("import-csv", csv_file, "--timezone", "Mars/Base", "--raw-dir", tmp_path)
    assert result.exit_code == 1
    assert "unknown time zone" in result.output


def test_shopify_rejects_a_non_shopify_file(tmp_path: Path) -> None:
    result = invoke(
        "import-shopify", FIXTURES / "orders_malformed.csv", "--raw-dir", tmp_path / "raw"
    )
    assert result.exit_code == 1
    assert "not a Shopify orders export" in result.output


@pytest.mark.skipif(
    importlib.util.find_spec("ingest.generator") is None, reason="ingest.generator not there yet"
)
def test_generate_small(tmp_path: Path) -> None:
    raw, truth = tmp_path / "raw", tmp_path / "truth"
    result = invoke(
        "generate",
        "--customers",
        "200",
        "--seed",
        "7",
        "--end-date",
        "2026-06-30",
        "--years",
        "1",
        "--raw-dir",
        raw,
        "--truth-dir",
        truth,
    )
    assert result.exit_code == 0, result.output
    assert (raw / "orders.parquet").exists()


def test_format_names_in_the_cli_are_the_importer_presets() -> None:
    from ingest.cli import PLATFORM_NAMES
    from ingest.importers import PLATFORMS

    assert set(PLATFORM_NAMES) == set(PLATFORMS)
    result = invoke("import-csv", "x.csv", "--format", "shopware")
    assert result.exit_code == 1
    assert "unknown --format 'shopware'; known: woocommerce, prestashop, magento" in result.output
