"""Shop exports nobody on the team generated, imported and built end to end.

One hand-written fixture per format (tests/fixtures/shop_exports/, each carrying its
format's awkward parts, see the importer modules' docstrings): Shopify, WooCommerce,
PrestaShop, Magento 2, a Polish semicolon/decimal-comma/Windows-1250 CSV and a guest-heavy
generic CSV. All six are imported into one raw directory (`--append`; their order ids and
contacts are disjoint) and built with ONE real `dbt build`; each format's orders, lines,
persons, revenue and rejects are then checked exactly.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from ingest.importers import PLATFORMS, ImportReport, import_csv_orders, import_shopify_orders
from warehouse.dbt import run_dbt

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shop_exports"


@dataclass(frozen=True)
class Expected:
    file: str
    input_rows: int
    rejects: dict[int, str]  # source row -> reason
    order_ids: set[str]
    lines: int
    identified_persons: int
    unidentified_persons: int
    net_revenue: Decimal


EXPECTED = {
    "shopify": Expected(
        "shopify_orders.csv",
        input_rows=10,
        rejects={10: "unparseable_timestamp: Created at='not a date'"},
        order_ids={f"700000000{i}" for i in range(1, 9)},
        lines=9,
        # ola (#2001 paid, #2002 pending), jan (authorized, voided), ewa (partially paid,
        # refunded), piotr (phone only); #2008 has no identifier
        identified_persons=4,
        unidentified_persons=1,
        # 40.99 + 40.00 paid of the partially paid 100.00 + 30.00 + 15.00; pending,
        # authorized, voided and the refunded order bring nothing
        net_revenue=Decimal("125.99"),
    ),
    "woocommerce": Expected(
        "woocommerce_orders.csv",
        input_rows=11,
        rejects={10: "non_numeric: order_total='abc'"},
        order_ids={"3101", "3102", "3103", "3104", "3105", "3106", "3107", "3108", "3110"},
        lines=10,
        # anna (account 12 + her guest order), marek, kasia (account 15), tomek, the
        # phone-only buyer, zofia; 3108's only contact is the phone 000000000
        identified_persons=6,
        unidentified_persons=1,
        # 90 + 30 + (50 - 10 refunded) + 25 + 12 + 0; on-hold, failed, refunded: nothing
        net_revenue=Decimal("197.00"),
    ),
    "prestashop": Expected(
        "prestashop_orders.csv",
        input_rows=7,
        rejects={7: "unparseable_timestamp: Date='13/31/2026 10:00:00'"},
        order_ids={"5001", "5002", "5003", "5004", "5005", "5006"},
        lines=0,
        identified_persons=0,  # the order list has no email, phone or customer id
        unidentified_persons=6,
        net_revenue=Decimal("1310.49"),  # 45.99 + 1,234.50 + 30.00
    ),
    "magento": Expected(
        "magento_orders.csv",
        input_rows=8,
        rejects={8: "missing_required: Purchase Date is empty"},
        order_ids={f"000000{i}" for i in range(101, 108)},
        lines=0,
        identified_persons=4,
        unidentified_persons=0,
        net_revenue=Decimal("135.99"),  # 45.99 + 30.00 + (80.00 - 20.00 refunded)
    ),
    "polish": Expected(
        "polish_orders_cp1250.csv",
        input_rows=6,
        rejects={6: "unparseable_timestamp: Data zamówienia='31.04.2026 10:00'"},
        order_ids={"0001001", "0001002", "0001003", "0001004", "0001005"},
        lines=5,  # quantity without a product: one line of the unnamed product each
        identified_persons=3,  # 00017 (email, then phone), lukasz, 00018
        unidentified_persons=1,  # Grażyna: a name only
        net_revenue=Decimal("1334.40"),  # 1 234,50 + 99,90; the rest cancelled/unpaid/0
    ),
    "guests": Expected(
        "guest_orders.csv",
        input_rows=12,
        rejects={
            11: "negative_value: Total='-5.00'",
            12: "missing_required: Created At is empty",
        },
        order_ids={f"000{i}" for i in range(41, 50)},
        lines=10,
        # C-001 + her guest order by email, the phone written twice ways + bob, carol;
        # two orders without contact and one with a blocklisted test address
        identified_persons=3,
        unidentified_persons=3,
        net_revenue=Decimal("105.00"),
    ),
}


@dataclass(frozen=True)
class Shop:
    raw_dir: Path
    duckdb_path: Path
    reports: dict[str, ImportReport]

    def query(self, sql: str, *params: object) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


def _import(name: str, raw: Path, append: bool) -> ImportReport:
    path = FIXTURES / EXPECTED[name].file
    if name == "shopify":
        return import_shopify_orders(path, raw, append=append)
    if name in PLATFORMS:
        return import_csv_orders(path, raw, PLATFORMS[name], append=append, importer=name)
    return import_csv_orders(path, raw, append=append)  # everything detected


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    root = tmp_path_factory.mktemp("shop_exports")
    raw = root / "raw"
    reports = {name: _import(name, raw, append=i > 0) for i, name in enumerate(EXPECTED)}
    db = root / "warehouse.duckdb"
    run_dbt(["build", "--exclude", "test_type:unit"], raw_dir=raw, duckdb_path=db)
    return Shop(raw, db, reports)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_export_imports_and_builds_exactly(shop: Shop, name: str) -> None:
    want = EXPECTED[name]
    report = shop.reports[name]
    assert report.input_rows == want.input_rows
    assert report.rejected_rows == len(want.rejects)
    source = str(FIXTURES / want.file)
    rejected = pq.read_table(shop.raw_dir / "_rejected" / "orders.parquet").to_pylist()
    assert {r["source_row"]: r["reason"] for r in rejected if r["source_file"] == source} == (
        want.rejects
    )
    ids = sorted(want.order_ids)
    marks = ", ".join("?" for _ in ids)
    (orders, persons, unidentified, revenue) = shop.query(
        "select count(*), count(distinct person_id), "
        "count(distinct case when is_unidentified then person_id end), sum(net_revenue) "
        f"from core.fct_orders where order_id in ({marks})",
        *ids,
    )[0]
    assert orders == len(want.order_ids) == report.facts["orders"]
    assert persons == want.identified_persons + want.unidentified_persons
    assert unidentified == want.unidentified_persons
    assert revenue == want.net_revenue
    (lines,) = shop.query(
        f"select count(*) from core.fct_order_items where order_id in ({marks})", *ids
    )[0]
    assert lines == want.lines == report.facts.get("order_lines", 0)


def test_import_reports_count_guest_unidentified_zero_value_and_unpaid_orders(shop: Shop) -> None:
    figures = ("guest_orders", "unidentified_orders", "zero_value_orders", "pending_orders")
    counted = {name: tuple(r.facts[f] for f in figures) for name, r in shop.reports.items()}
    assert counted == {
        "shopify": (8, 1, 0, 2),  # no Customer ID column: every order is a guest order
        "woocommerce": (6, 0, 1, 1),  # customer_id 0 = guest; 3108's phone is only junk
        "prestashop": (6, 6, 0, 1),
        "magento": (7, 0, 0, 2),
        "polish": (2, 1, 1, 1),
        "guests": (8, 2, 1, 1),
    }


def test_stitching_summary_counts_every_person_of_dim_customers(shop: Shop) -> None:
    (persons, identified, unidentified, unidentified_orders) = shop.query(
        "select persons, identified_persons, unidentified_persons, unidentified_orders "
        "from core.identity_stitching_summary"
    )[0]
    (dim_rows,) = shop.query("select count(*) from core.dim_customers")[0]
    assert persons == dim_rows == identified + unidentified
    assert identified == sum(e.identified_persons for e in EXPECTED.values())
    assert (
        unidentified
        == unidentified_orders
        == sum(e.unidentified_persons for e in EXPECTED.values())
    )


def test_every_blocked_or_nulled_identifier_is_reported_with_its_reason(shop: Shop) -> None:
    excluded = {
        key: (kind, reason)
        for key, kind, reason in shop.query(
            "select identifier_key, exclusion_type, exclusion_reason "
            "from core.identity_excluded_identifiers"
        )
    }
    assert excluded == {
        "email:dave@test.com": ("blocklist", "blocklist: test domain"),
        "phone:000000000": (
            "invalid",
            "invalid: not a phone number (8 to 15 digits with the country code)",
        ),
    }
    (blocked, invalid) = shop.query(
        "select blocked_identifiers, invalid_identifiers from core.identity_stitching_summary"
    )[0]
    assert (blocked, invalid) == (1, 1)


def test_shopify_statuses_billing_names_and_sms_consent(shop: Shop) -> None:
    statuses = dict(
        shop.query(
            "select order_id, status || ':' || cast(is_paid as varchar) from core.fct_orders "
            "where order_id like '700000000%'"
        )
    )
    assert statuses == {
        "7000000001": "paid:true",
        "7000000002": "pending:false",  # pending, empty Paid at
        "7000000003": "pending:false",  # authorized
        "7000000004": "cancelled:false",  # voided
        "7000000005": "paid:true",  # partially_paid: 40.00 of 100.00
        "7000000006": "paid:true",
        "7000000007": "refunded:true",
        "7000000008": "paid:true",
    }
    people = {
        row[0]: row[1:]
        for row in shop.query(
            "select coalesce(email, phone), first_name, last_name, country, consented_channels "
            "from core.dim_customers where coalesce(email, phone) in "
            "('ola@wp.pl', 'jan@onet.pl', 'ewa@gmail.com', '+48601234567')"
        )
    }
    assert people == {
        "ola@wp.pl": ("Ola", "Nowak", "PL", "email"),
        "jan@onet.pl": ("Jan", "Kowalski", "PL", None),
        "ewa@gmail.com": ("Ewa", "Maria Lis", "DE", None),
        # "Accepts Marketing" on a phone-only order: SMS consent, not email
        "+48601234567": ("Piotr", "Wiśniewski", "PL", "sms"),
    }


def test_guests_keep_the_name_and_country_written_on_their_orders(shop: Shop) -> None:
    names = set(
        shop.query(
            "select first_name, last_name, country from core.dim_customers "
            "where email in ('lena@wp.pl', 'marek@o2.pl') or phone = '+48601222333'"
        )
    )
    assert names == {
        ("Lena", "Fischer", None),  # Magento Bill-to Name
        ("Marek", "Nowicki", "PL"),  # WooCommerce guest (customer_id 0)
        ("Halina", "Kruk", "PL"),  # WooCommerce phone-only guest
    }


def test_leading_zeros_survive_to_the_marts_and_a_file_sync(shop: Shop, tmp_path: Path) -> None:
    ids = {r[0] for r in shop.query("select order_id from core.fct_orders")}
    assert {"000000101", "0001001", "00041"} <= ids
    accounts = dict(
        shop.query(
            "select email, customer_ids from core.dim_customers "
            "where email in ('ania.wisniewska@wp.pl', 'jerzy@wp.pl')"
        )
    )
    assert accounts == {"ania.wisniewska@wp.pl": "00017", "jerzy@wp.pl": "00018"}

    from typer.testing import CliRunner

    from reverse_etl.cli import app

    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(shop.duckdb_path, db)
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / "accounts.yml").write_text(
        yaml.safe_dump(
            {
                "name": "outbox_accounts",
                "source": "core.dim_customers",
                "primary_key": "person_id",
                "mode": "mirror",
                "destination": {"type": "file"},
                "fields": {"email": "email", "external_id": "customer_ids"},
                "required": ["email"],
            }
        )
    )
    outbox = tmp_path / "outbox"
    result = CliRunner().invoke(
        app,
        ["run", "--syncs-dir", str(syncs), "--duckdb-path", str(db), "--outbox-dir", str(outbox)],
    )
    assert result.exit_code == 0, result.output
    sent = [
        json.loads(line)["data"]
        for path in outbox.rglob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    by_email = {d["email"]: d.get("external_id") for d in sent}
    assert by_email["ania.wisniewska@wp.pl"] == "00017"
    assert by_email["jerzy@wp.pl"] == "00018"
