"""Importer tests on small hand-written files (tests/ingest/fixtures/)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest.contract import REJECTED_DIR, TABLES
from ingest.importers import (
    CsvColumnMapping,
    CsvImportOptions,
    ImportFileError,
    RejectReason,
    common,
    import_csv_orders,
    import_shopify_orders,
)

FIXTURES = Path(__file__).parent / "fixtures"
SHOPIFY = FIXTURES / "shopify_orders_export.csv"
MALFORMED = FIXTURES / "orders_malformed.csv"


def read(raw: Path, table: str) -> list[dict]:
    return pq.read_table(raw / f"{table}.parquet").to_pylist()


def rejected(raw: Path) -> list[dict]:
    return pq.read_table(raw / REJECTED_DIR / "orders.parquet").to_pylist()


def by(rows: list[dict], key: str) -> dict:
    return {r[key]: r for r in rows}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_contract(raw: Path) -> None:
    for name, spec in TABLES.items():
        schema = pq.read_schema(raw / f"{name}.parquet")
        assert schema.remove_metadata() == spec.schema, name


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def shopify_rows() -> tuple[list[str], list[dict]]:
    with SHOPIFY.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


# --------------------------------------------------------------------------- generic CSV


def test_generic_csv_quarantines_each_reason(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    report = import_csv_orders(MALFORMED, raw)

    assert report.input_rows == 17
    assert report.loaded_rows == 6
    assert report.rejected_rows == 11
    assert report.loaded_rows + report.rejected_rows == report.input_rows
    assert report.rejected_by_reason == {
        "unparseable_timestamp": 1,
        "missing_required": 1,
        "non_numeric": 2,
        "negative_value": 2,
        "duplicate_order_id": 2,
        "invalid_value": 1,
        "related_row_rejected": 1,
        "malformed_row": 1,
    }
    assert report.tables == {
        "customers": 3,
        "orders": 5,
        "order_items": 6,
        "products": 3,
        "refunds": 0,
    }
    # a guest checkout (no customer id, an email) is an order, not a reject
    assert report.facts["guest_orders"] == 1 and report.facts["unidentified_orders"] == 0

    reasons = {r["source_row"]: r["reason"] for r in rejected(raw)}
    assert reasons == {
        5: "unparseable_timestamp: ordered_at='31/02/2026'",
        7: "missing_required: order_id is empty",
        8: "non_numeric: amount='12,50'",
        9: "negative_value: amount='-5.00'",
        10: "negative_value: quantity='-1'",
        11: "duplicate_order_id: order_id='A-2' conflicts with row 3 (customer_id)",
        12: "invalid_value: status='on-hold' is not a known status (add it to status_map)",
        13: "related_row_rejected: order_id='A-11': row 14 of this order was rejected "
        "(non_numeric)",
        14: "non_numeric: quantity='two'",
        15: "duplicate_order_id: order_id='A-1' is an exact repeat of row 2",
        16: "malformed_row: expected 14 columns, found 15",
    }
    quarantined = by(rejected(raw), "source_row")
    # original values kept as strings, plus provenance
    assert quarantined[8]["amount"] == "12,50"
    assert quarantined[5]["ordered_at"] == "31/02/2026"
    assert quarantined[5]["source_file"] == str(MALFORMED)
    assert quarantined[16]["order_id"] == "A-12"
    assert quarantined[16]["_raw_record"].endswith("unexpected-extra")
    assert {r.split(":")[0] for r in reasons.values()} <= {c.value for c in RejectReason}

    orders = by(read(raw, "orders"), "order_id")
    assert set(orders) == {"A-1", "A-2", "A-3", "A-5", "A-13"}
    assert (orders["A-5"]["customer_id"], orders["A-5"]["email"]) == (None, "x@example.com")
    assert orders["A-1"]["ordered_at"] == utc(2026, 3, 1, 9, 15)
    assert orders["A-1"]["total"] == Decimal("54.00")
    assert orders["A-2"]["status"] == "paid"  # "completed"
    assert orders["A-2"]["ordered_at"] == utc(2026, 3, 2, 9, 0)  # naive -> UTC
    assert orders["A-3"]["ordered_at"] == utc(2026, 3, 3)  # date only
    assert orders["A-13"]["status"] == "cancelled"
    assert orders["A-13"]["currency"] == "EUR"
    items = read(raw, "order_items")
    assert [(i["order_id"], i["line_number"], i["product_id"], i["quantity"]) for i in items] == [
        ("A-1", 1, "P-1", 2),
        ("A-1", 2, "P-2", 1),
        ("A-13", 1, "P-1", 1),
        ("A-2", 1, "P-1", 1),
        ("A-3", 1, "SKU-3", 1),
        ("A-5", 1, "P-1", 1),
    ]
    products = by(read(raw, "products"), "product_id")
    assert products["P-1"]["price"] == Decimal("24.00")  # last price seen
    assert products["SKU-3"]["name"] == "Mug"
    customers = by(read(raw, "customers"), "customer_id")
    assert customers["C-1"]["created_at"] == utc(2026, 3, 1, 9, 15)
    assert customers["C-1"]["updated_at"] == utc(2026, 3, 10, 18, 30)
    assert customers["C-2"]["phone"] == "+48 600 000 002"
    assert_contract(raw)


def test_streaming_in_small_blocks_gives_same_rows(tmp_path: Path, monkeypatch) -> None:
    big = import_csv_orders(MALFORMED, tmp_path / "a")
    monkeypatch.setattr(common, "_BLOCK_SIZE", 256)
    small = import_csv_orders(MALFORMED, tmp_path / "b")
    assert small.rejected_by_reason == big.rejected_by_reason
    assert rejected(tmp_path / "a") == [
        {**r, "source_file": r["source_file"]} for r in rejected(tmp_path / "b")
    ]
    assert read(tmp_path / "a", "order_items") == read(tmp_path / "b", "order_items")


def test_configurable_columns_from_yaml(tmp_path: Path) -> None:
    options = CsvImportOptions.from_file(FIXTURES / "orders_mapping.yaml")
    raw = tmp_path / "raw"
    report = import_csv_orders(FIXTURES / "orders_custom_columns.csv", raw, options)
    assert (report.input_rows, report.loaded_rows) == (3, 2)
    assert report.rejected_by_reason == {"unparseable_timestamp": 1}
    assert rejected(raw)[0]["reason"] == "unparseable_timestamp: Date='2026-04-07'"
    orders = by(read(raw, "orders"), "order_id")
    assert orders["1001"]["ordered_at"] == utc(2026, 4, 5, 19, 6)  # CEST, +02:00
    assert orders["1002"]["ordered_at"] == utc(2026, 1, 6, 7, 0)  # CET, +01:00
    assert orders["1001"]["currency"] == "PLN"  # default_currency
    assert orders["1002"]["currency"] == "EUR"
    assert orders["1001"]["email"] == "a@example.com"
    assert report.tables["order_items"] == 0  # no item columns
    assert_contract(raw)


def test_line_level_amounts_sum_to_the_order_total(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount,sku,quantity\n"
        "1,c1,2026-01-05,10.00,A,1\n"
        "1,c1,2026-01-05,25.50,B,3\n"
        "1,c1,2026-01-05,25.50,B,3\n"
        "1,c2,2026-01-05,1.00,C,1\n"
    )
    options = CsvImportOptions(amount_level="line")
    report = import_csv_orders(path, tmp_path / "raw", options)
    assert report.rejected_by_reason == {"duplicate_order_id": 2}
    [order] = read(tmp_path / "raw", "orders")
    assert order["total"] == Decimal("35.50")
    assert [i["product_id"] for i in read(tmp_path / "raw", "order_items")] == ["A", "B"]
    reasons = [r["reason"] for r in rejected(tmp_path / "raw")]
    assert reasons == [
        "duplicate_order_id: order_id='1' is an exact repeat of row 2",
        "duplicate_order_id: order_id='1' conflicts with row 1 (customer_id)",
    ]


def test_mapping_overrides_and_errors(tmp_path: Path) -> None:
    mapping = CsvColumnMapping().with_overrides({"order_id": "Order Number", "status": None})
    assert mapping.order_id == "Order Number" and mapping.status is None
    with pytest.raises(ValueError, match="unknown mapping field"):
        CsvColumnMapping().with_overrides({"nope": "x"})
    with pytest.raises(ValueError, match="unknown time zone"):
        CsvImportOptions(timezone="Mars/Olympus")
    # a flat YAML of column names is read as `columns`
    flat = tmp_path / "m.yaml"
    flat.write_text("order_id: Order Number\nsku: null\n")
    opts = CsvImportOptions.from_file(flat)
    assert opts.columns.order_id == "Order Number" and opts.columns.sku is None
    as_json = tmp_path / "m.json"
    as_json.write_text('{"columns": {"amount": "Total"}, "timezone": "Europe/Warsaw"}')
    opts = CsvImportOptions.from_file(as_json)
    assert (opts.columns.amount, opts.timezone) == ("Total", "Europe/Warsaw")
    assert opts.columns.model_fields_set == {"amount"}
    # a required column that the header lacks fails before reading data
    with pytest.raises(ImportFileError, match="order_id -> 'Order Number'"):
        import_csv_orders(MALFORMED, tmp_path / "raw", CsvImportOptions(columns=mapping))
    # an optional column named explicitly must exist too
    explicit = CsvImportOptions(columns=CsvColumnMapping(email="E-mail"))
    with pytest.raises(ImportFileError, match="email -> 'E-mail'"):
        import_csv_orders(MALFORMED, tmp_path / "raw", explicit)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "empty file"), (b"\x00\x01\x02garbage\x00", "NUL bytes"), (None, "not found")],
)
def test_unreadable_files_raise(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportFileError, match=match):
        import_csv_orders(path, tmp_path / "raw")
    assert not (tmp_path / "raw" / "orders.parquet").exists()


def test_header_only_file_writes_empty_tables(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("order_id,customer_id,ordered_at,amount\n")
    report = import_csv_orders(path, tmp_path / "raw")
    assert (report.input_rows, report.loaded_rows, report.rejected_rows) == (0, 0, 0)
    assert read(tmp_path / "raw", "orders") == []
    assert_contract(tmp_path / "raw")


def test_append_dedupes_and_rejects_known_orders(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    header = "order_id,customer_id,ordered_at,amount,email\n"
    first = tmp_path / "jan.csv"
    first.write_text(header + "1,c1,2026-01-05,10.00,a@x.com\n2,c2,2026-01-06,20.00,\n")
    second = tmp_path / "feb.csv"
    second.write_text(
        header + "2,c2,2026-01-06,20.00,\n3,c1,2026-02-01,30.00,new@x.com\n4,c4,bad,1,\n"
    )
    import_csv_orders(first, raw)
    report = import_csv_orders(second, raw, append=True)

    assert report.mode == "append"
    assert report.rejected_by_reason == {"already_imported": 1, "unparseable_timestamp": 1}
    assert report.tables["orders"] == 1 and report.table_totals["orders"] == 3
    assert sorted(o["order_id"] for o in read(raw, "orders")) == ["1", "2", "3"]
    customers = by(read(raw, "customers"), "customer_id")
    assert len(customers) == 2
    assert customers["c1"]["email"] == "new@x.com"  # newer import wins
    assert customers["c1"]["created_at"] == utc(2026, 1, 5)  # earliest kept
    assert customers["c1"]["updated_at"] == utc(2026, 2, 1)
    reasons = [r["reason"] for r in rejected(raw)]
    assert reasons == [
        "already_imported: order_id='2' is already in raw orders",
        "unparseable_timestamp: ordered_at='bad'",
    ]
    # replace (the default) starts over
    again = import_csv_orders(first, raw)
    assert again.table_totals["orders"] == 2
    assert not (raw / REJECTED_DIR / "orders.parquet").exists()


# --------------------------------------------------------------------------- Shopify


def test_shopify_export(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    report = import_shopify_orders(SHOPIFY, raw)

    assert (report.input_rows, report.loaded_rows, report.rejected_rows) == (10, 10, 0)
    assert report.tables == {
        "customers": 0,
        "orders": 6,
        "order_items": 10,
        "products": 7,
        "refunds": 2,
        "consents": 5,
    }
    orders = by(read(raw, "orders"), "order_id")
    assert set(orders) == {f"555000100{i}" for i in range(1, 7)}  # numeric Id
    first = orders["5550001001"]
    assert first["ordered_at"] == utc(2026, 4, 5, 17, 6, 21)  # 21:06:21 +0400
    assert first["email"] == "Anna.Kowalska@example.com"
    assert first["customer_id"] is None
    assert (first["subtotal"], first["discount"], first["shipping"]) == (
        Decimal("41.00"),
        Decimal("2.00"),
        Decimal("4.99"),
    )
    assert (first["tax"], first["total"], first["currency"]) == (
        Decimal("7.67"),
        Decimal("45.99"),
        "EUR",
    )
    assert first["discount_code"] == "WELCOME10"
    phone_only = orders["5550001002"]
    assert phone_only["email"] is None and phone_only["phone"] == "+48 601 222 333"
    assert phone_only["status"] == "pending"  # pending: ordered, not paid, not revenue
    assert {k: o["status"] for k, o in orders.items()} == {
        "5550001001": "paid",
        "5550001002": "pending",
        "5550001003": "refunded",
        "5550001004": "partially_refunded",
        "5550001005": "cancelled",  # voided + Cancelled at
        "5550001006": "paid",
    }
    items = [i for i in read(raw, "order_items") if i["order_id"] == "5550001001"]
    assert [(i["line_number"], i["product_id"], i["quantity"]) for i in items] == [
        (1, "COF-1KG", 1),
        (2, "FLT-100", 2),
        (3, "MUG-01", 1),
    ]
    assert items[2]["discount"] == Decimal("2.00")
    products = by(read(raw, "products"), "product_id")
    hashed = [p for p in products.values() if p["sku"] is None]
    assert len(hashed) == 1 and hashed[0]["product_id"].startswith("name-")
    assert hashed[0]["name"] == "Handmade Gift Card Sleeve"
    assert products["COF-1KG"]["category"] == "Roastery"
    refunds = by(read(raw, "refunds"), "order_id")
    assert refunds["5550001003"]["amount"] == Decimal("208.00")
    assert refunds["5550001004"]["amount"] == Decimal("8.00")
    assert refunds["5550001004"]["refunded_at"] == utc(2026, 4, 8, 11, 30)
    assert {r["reason"] for r in refunds.values()} == {"shopify_refund"}
    consents = read(raw, "consents")
    assert {(c["email"], c["phone"], c["status"]) for c in consents} == {
        ("Anna.Kowalska@example.com", "+48 600 111 222", "opt_in"),
        ("anna.kowalska@example.com ", None, "opt_in"),
        (None, "+48 601 222 333", "opt_out"),
        ("piotr@example.org", "+49 151 0000 0001", "opt_out"),
        ("maria@example.com", None, "opt_in"),
    }
    # "Accepts Marketing" on a phone-only order is SMS consent, not email consent
    assert {(c["email"] is None, c["channel"]) for c in consents} == {
        (False, "email"),
        (True, "sms"),
    }
    assert {(c["source"], c["legal_basis"]) for c in consents} == {("shopify_export", "consent")}
    # without a Customer ID column the buyer's name and country stay on the order
    assert (first["first_name"], first["last_name"], first["country"]) == (
        "Anna",
        "Kowalska",
        "PL",
    )
    assert_contract(raw)


def test_shopify_reordered_header_extra_and_missing_columns(tmp_path: Path) -> None:
    header, rows = shopify_rows()
    header = [h for h in reversed(header) if h not in ("Id", "Lineitem discount", "Vendor")]
    header.insert(3, "Some Column Shopify Added Later")
    header.append("Product Type")
    emails = {r["Name"]: r["Email"] for r in rows if r["Total"]}
    for r in rows:
        r["Some Column Shopify Added Later"] = "x"
        r["Product Type"] = "Coffee" if r["Lineitem sku"].startswith("COF") else ""
        if not r["Total"]:  # line rows: some exports repeat Email and leave Created at empty
            r["Email"], r["Created at"] = emails[r["Name"]], ""
    path = write_csv(tmp_path / "reordered.csv", header, rows)
    raw = tmp_path / "raw"
    report = import_shopify_orders(path, raw)
    assert (report.loaded_rows, report.rejected_rows) == (10, 0)
    orders = by(read(raw, "orders"), "order_id")
    assert set(orders) == {f"#100{i}" for i in range(1, 7)}  # no Id column -> Name
    assert orders["#1001"]["ordered_at"] == utc(2026, 4, 5, 17, 6, 21)
    products = by(read(raw, "products"), "product_id")
    assert products["COF-1KG"]["category"] == "Coffee"
    assert products["MUG-01"]["category"] is None
    assert all(i["discount"] is None for i in read(raw, "order_items"))


def test_shopify_bad_rows(tmp_path: Path) -> None:
    header, rows = shopify_rows()
    header = [*header, "Customer ID"]
    for r in rows:
        r["Customer ID"] = "77" if r["Name"] == "#1001" and r["Total"] else ""
    blank = dict.fromkeys(header, "")
    head = {**rows[0], "Customer ID": ""}  # template for an order's first row
    line = {k: rows[1][k] for k in header if k.startswith("Lineitem") or k == "Vendor"}
    extra = [
        # row 11: #1001's first row again -> duplicate with its line (row 12)
        {**head, "Name": "#1001", "Id": "5550001001"},
        {**blank, **line, "Name": "#1001", "Created at": rows[0]["Created at"]},
        # row 13: a line whose order row is missing
        {**blank, **line, "Name": "#2000", "Created at": "2026-04-11 10:00:00 +0000"},
        # rows 14-15: bad first row -> its line is rejected too
        {**head, "Name": "#1007", "Id": "5550001007", "Created at": "yesterday"},
        {**blank, **line, "Name": "#1007", "Created at": "yesterday"},
        # rows 16-17: negative line quantity on the 2nd line -> whole order rejected
        {**head, "Name": "#1008", "Id": "5550001008", "Created at": "2026-04-12 10:00:00 +0000"},
        {
            **blank,
            **line,
            "Name": "#1008",
            "Created at": "2026-04-12 10:00:00 +0000",
            "Lineitem quantity": "-1",
        },
        # row 18: unknown financial status; row 19: money that is not a number
        {**head, "Name": "#1009", "Id": "5550001009", "Financial Status": "expired"},
        {**head, "Name": "#1010", "Id": "5550001010", "Total": "12.00 abc"},
        # row 20: same Id as #1002 under another Name
        {**head, "Name": "#1011", "Id": "5550001002"},
        # row 21: no Name
        {**head, "Name": "", "Id": "5550001012"},
    ]
    path = write_csv(tmp_path / "bad.csv", header, rows + extra)
    raw = tmp_path / "raw"
    report = import_shopify_orders(path, raw)
    assert report.input_rows == 21
    assert report.loaded_rows == 10
    assert report.rejected_by_reason == {
        "duplicate_order_id": 3,
        "orphan_line_item": 1,
        "unparseable_timestamp": 2,
        "negative_value": 1,
        "related_row_rejected": 1,
        "invalid_value": 1,
        "non_numeric": 1,
        "missing_required": 1,
    }
    reasons = {r["source_row"]: r["reason"] for r in rejected(raw)}
    assert (
        reasons[11] == "duplicate_order_id: Name='#1001' appears again (order first seen at row 1)"
    )
    assert reasons[12] == reasons[11]
    assert reasons[13].startswith("orphan_line_item: Name='#2000'")
    assert reasons[14] == "unparseable_timestamp: Created at='yesterday'"
    assert reasons[16] == (
        "related_row_rejected: Name='#1008': row 17 of this order was rejected (negative_value)"
    )
    assert reasons[17] == "negative_value: Lineitem quantity='-1'"
    assert reasons[18] == "invalid_value: Financial Status='expired' is not a known status"
    assert reasons[19] == "non_numeric: Total='12.00 abc'"
    assert reasons[20] == (
        "duplicate_order_id: Id='5550001002' (Name #1011) repeats the order of row 4"
    )
    assert reasons[21] == "missing_required: Name is empty"
    # multi-line Notes of the kept order are quarantined verbatim with the duplicate
    assert "\nRing twice" in by(rejected(raw), "source_row")[11]["Notes"]
    customers = read(raw, "customers")
    assert [
        (c["customer_id"], c["first_name"], c["last_name"], c["country"]) for c in customers
    ] == [("77", "Anna", "Kowalska", "PL")]
    assert by(read(raw, "orders"), "order_id")["5550001001"]["customer_id"] == "77"


def test_shopify_append_rejects_already_imported(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    import_shopify_orders(SHOPIFY, raw)
    report = import_shopify_orders(SHOPIFY, raw, append=True)
    assert report.rejected_by_reason == {"already_imported": 10}
    assert report.tables["orders"] == 0
    assert report.table_totals == {
        "customers": 0,
        "orders": 6,
        "order_items": 10,
        "products": 7,
        "refunds": 2,
        "consents": 5,
    }


def test_shopify_requires_its_columns(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="not a Shopify orders export"):
        import_shopify_orders(MALFORMED, tmp_path / "raw")


def test_bom_crlf_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        '\ufefforder_id,customer_id,ordered_at,amount,"Name, full"\r\n'
        '1,c1,2026-01-05T10:00:00Z,10.00,"Zoë\r\nsecond line"\r\n'
        "\r\n"
        "2,c2,2026-01-06,x,Zoë\r\n".encode()
    )
    report = import_csv_orders(path, tmp_path / "raw")
    assert (report.input_rows, report.loaded_rows) == (2, 1)
    [bad] = rejected(tmp_path / "raw")
    assert (bad["source_row"], bad["Name, full"]) == (2, "Zoë")

    latin = tmp_path / "latin1.csv"
    latin.write_bytes(
        "order_id,customer_id,ordered_at,amount,email\n1,c1,2026-01-05,1,zoë@x\n".encode("latin-1")
    )
    opts = CsvImportOptions(encoding="latin-1")
    import_csv_orders(latin, tmp_path / "raw2", opts)
    assert read(tmp_path / "raw2", "orders")[0]["email"] == "zoë@x"
