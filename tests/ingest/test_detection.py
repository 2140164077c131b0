"""How a file is read when nothing is set: encoding, delimiter, decimal comma, date format,
column names; and money as shops write it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ingest.importers import CsvImportOptions, import_csv_orders, plan_import
from ingest.importers.common import currency_from_amount_sql, money_sql
from ingest.importers.sniff import (
    detect_decimal_comma,
    detect_delimiter,
    detect_encoding,
    detect_timestamp_formats,
    propose_columns,
)


def test_encodings() -> None:
    text = "Nr zamówienia;Kwota\n1;Zażółć gęślą jaźń, Łódź\n"
    assert detect_encoding(("\ufeff" + text).encode("utf-8"))[0] == "utf-8-sig"
    assert detect_encoding(text.encode("utf-8"))[0] == "utf-8"
    assert detect_encoding((text * 20).encode("cp1250"))[0] == "cp1250"


def test_delimiters() -> None:
    assert detect_delimiter("a,b,c\n1,2,3\n") == ","
    assert detect_delimiter("a;b;c\n1;2,50;3\n") == ";"  # a decimal comma is not a delimiter
    assert detect_delimiter("a\tb\n1\t2\n") == "\t"
    assert detect_delimiter('"Name, full";b\n"x, y";2\n') == ";"


def test_decimal_comma() -> None:
    assert detect_decimal_comma(["12,50", "1 234,00", "99,9", "100"])
    assert not detect_decimal_comma(["12.50", "1,234.00", "100"])
    assert detect_decimal_comma(["45,99 zł", "€ 1.234,50"])


@pytest.mark.parametrize(
    ("values", "formats", "note"),
    [
        (["2026-04-05 21:06:21", "2026-04-06T08:00:00+02:00"], None, None),
        (["05.04.2026 21:06", "31.04.2026 10:00", "06.04.2026 08:15"], ["%d.%m.%Y %H:%M"], None),
        (["13/04/2026", "05/04/2026"], ["%d/%m/%Y"], None),
        (["04/13/2026 10:00", "04/05/2026 09:00"], ["%m/%d/%Y %H:%M"], None),
        (["Apr 5, 2026 9:06:21 PM"], ["%b %d, %Y %I:%M:%S %p"], None),
        (["yesterday", "today"], None, "no known date format"),
    ],
)
def test_timestamp_formats(values: list[str], formats: list[str] | None, note: str | None) -> None:
    got, got_note = detect_timestamp_formats(values)
    assert got == formats
    assert (got_note is None) if note is None else note in got_note


def test_ambiguous_dates_are_read_day_first_with_a_note() -> None:
    formats, note = detect_timestamp_formats(["05/04/2026", "06/04/2026"])
    assert formats == ["%d/%m/%Y"]
    assert "ambiguous" in note


def test_column_proposals_english_and_polish() -> None:
    assert propose_columns(["Order Number", "Created At", "Customer Email", "Total", "Qty"]) == {
        "order_id": "Order Number",
        "ordered_at": "Created At",
        "email": "Customer Email",
        "amount": "Total",
        "quantity": "Qty",
    }
    polish = ["Numer zamówienia", "Data", "E-mail", "Telefon", "Wartość brutto", "Ilość", "Cena"]
    assert propose_columns(polish) == {
        "order_id": "Numer zamówienia",
        "ordered_at": "Data",
        "email": "E-mail",
        "phone": "Telefon",
        "amount": "Wartość brutto",
        "quantity": "Ilość",
        "unit_price": "Cena",
    }


@pytest.mark.parametrize(
    ("raw", "decimal_comma", "value", "currency"),
    [
        ("12.50", False, "12.50", None),
        ("1,234.50", False, "1234.50", None),
        ("€1,234.50", False, "1234.50", "EUR"),
        ("45.99 EUR", False, "45.99", "EUR"),
        ("12,50", False, None, None),  # a comma decimal without --decimal-comma
        ("12,50", True, "12.50", None),
        ("1 234,50", True, "1234.50", None),
        ("1.234,50 zł", True, "1234.50", "PLN"),
        ("1\u00a0234,50", True, "1234.50", None),
        ("12.00 abc", False, None, None),
        ("12 50", True, None, None),  # a space only between groups of three digits
        ("twelve", True, None, None),
    ],
)
def test_money(raw: str, decimal_comma: bool, value: str | None, currency: str | None) -> None:
    got, cur = duckdb.execute(
        f"select {money_sql('$1', decimal_comma)}, {currency_from_amount_sql('$1')}", [raw]
    ).fetchall()[0]
    assert got == (None if value is None else Decimal(value))
    if value is not None:
        assert cur == currency


def test_lines_without_an_amount_column_make_the_order_total(tmp_path: Path) -> None:
    path = tmp_path / "lines.tsv"
    path.write_text(
        "order\tdate\tprice\tqty\tshipping\n"
        "7\t2026-01-05\t10.00\t2\t5.00\n"
        "7\t2026-01-05\t3.50\t1\t5.00\n"
        "8\t2026-01-06\t4.00\t1\t0\n"
    )
    options = CsvImportOptions(
        columns={"order_id": "order", "ordered_at": "date", "unit_price": "price"}
    )
    plan = plan_import(path, options)
    assert plan.delimiter == "\t" and plan.columns["quantity"] == "qty"
    report = import_csv_orders(path, tmp_path / "raw", options)
    assert report.rejected_rows == 0
    totals = {
        o["order_id"]: o["total"]
        for o in pq.read_table(tmp_path / "raw/orders.parquet").to_pylist()
    }
    assert totals == {"7": Decimal("28.50"), "8": Decimal("4.00")}  # lines + shipping
    items = pq.read_table(tmp_path / "raw/order_items.parquet").to_pylist()
    assert {i["product_id"] for i in items} == {"unnamed-product"}


def test_a_file_without_an_order_id_or_amount_says_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("when,who\n2026-01-01,a\n")
    from ingest.importers import ImportFileError

    with pytest.raises(ImportFileError, match=r"needs a column for order_id, ordered_at, amount"):
        import_csv_orders(path, tmp_path / "raw")
