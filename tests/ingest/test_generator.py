"""Tests of the sample-data generator: contract, determinism, integrity, realism, truth."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ingest.contract import TABLES
from ingest.generator import TABLET_ANONYMOUS_ID, GenerationConfig, generate

CONFIG = GenerationConfig(customers=2_000, seed=7, end_date=date(2026, 11, 15), years=3.0)
END = datetime(2026, 11, 16, tzinfo=UTC)  # end_date is inclusive
TRUTH = ("persons", "record_persons", "anonymous_persons", "future_orders", "stockouts")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("shop")
    report = generate(CONFIG, raw_dir=root / "raw", truth_dir=root / "truth")
    con = duckdb.connect()
    for name in TABLES:
        con.execute(f"create view {name} as select * from '{root}/raw/{name}.parquet'")
    for name in TRUTH:
        con.execute(f"create view t_{name} as select * from '{root}/truth/{name}.parquet'")
    return {"root": root, "report": report, "con": con}


def one(shop: dict, sql: str) -> tuple:
    return shop["con"].execute(sql).fetchone()


def df(shop: dict, sql: str) -> pd.DataFrame:
    return shop["con"].execute(sql).fetchdf()


# --- contract and report ------------------------------------------------------------------
def test_every_raw_table_matches_the_contract_schema(shop: dict) -> None:
    for name, table in TABLES.items():
        schema = pq.read_schema(shop["root"] / "raw" / f"{name}.parquet")
        assert schema.remove_metadata().equals(table.schema), name


def test_report_counts_rows_and_summarises(shop: dict) -> None:
    report = shop["report"]
    assert set(report.row_counts) == set(TABLES)
    for name, n in report.row_counts.items():
        assert pq.read_metadata(shop["root"] / "raw" / f"{name}.parquet").num_rows == n
    assert report.row_counts["orders"] > CONFIG.customers
    assert report.seconds > 0
    assert "orders" in report.summary()


def test_raw_volumes_per_person_match_the_targets(shop: dict) -> None:
    counts = shop["report"].row_counts
    assert 6 <= counts["order_items"] / CONFIG.customers <= 14
    assert 20 <= counts["events"] / CONFIG.customers <= 45


def test_primary_keys_are_unique(shop: dict) -> None:
    for name, table in TABLES.items():
        if not table.primary_key:
            continue
        key = ", ".join(table.primary_key)
        dupes = one(
            shop,
            f"select count(*) from (select {key} from {name} group by all having count(*) > 1)",
        )[0]
        assert dupes == 0, name


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(ValueError):
        GenerationConfig(customers=0)


# --- determinism --------------------------------------------------------------------------
def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_same_seed_gives_identical_files(tmp_path: Path, shop: dict) -> None:
    generate(CONFIG, raw_dir=tmp_path / "raw", truth_dir=tmp_path / "truth")
    again, first = _files(tmp_path), _files(shop["root"])
    assert again.keys() == first.keys() and len(again) == len(TABLES) + len(TRUTH)
    assert again == first


def test_different_seed_gives_different_data(tmp_path: Path, shop: dict) -> None:
    generate(replace(CONFIG, seed=8), raw_dir=tmp_path / "raw", truth_dir=tmp_path / "truth")
    assert (tmp_path / "raw" / "orders.parquet").read_bytes() != (
        shop["root"] / "raw" / "orders.parquet"
    ).read_bytes()


def test_chunked_generation_writes_every_chunk(tmp_path: Path) -> None:
    config = replace(CONFIG, customers=1_500, chunk_size=500)
    report = generate(config, raw_dir=tmp_path / "raw", truth_dir=tmp_path / "truth")
    assert pq.read_metadata(tmp_path / "raw" / "orders.parquet").num_row_groups == 3
    ids = pq.read_table(tmp_path / "raw" / "orders.parquet", columns=["order_id"])
    assert len(set(ids["order_id"].to_pylist())) == report.row_counts["orders"]
    persons = pq.read_table(tmp_path / "truth" / "persons.parquet")
    assert persons.num_rows == 1_500


# --- referential integrity and money --------------------------------------------------------
def test_references_resolve(shop: dict) -> None:
    assert (
        one(shop, "select count(*) from order_items i anti join orders o using (order_id)")[0] == 0
    )
    assert one(shop, "select count(*) from refunds r anti join orders o using (order_id)")[0] == 0
    assert (
        one(shop, "select count(*) from order_items i anti join products p using (product_id)")[0]
        == 0
    )
    assert (
        one(
            shop,
            "select count(*) from events e anti join products p using (product_id) "
            "where e.product_id is not null",
        )[0]
        == 0
    )
    assert (
        one(
            shop,
            "select count(*) from orders o anti join customers c using (customer_id) "
            "where o.customer_id is not null",
        )[0]
        == 0
    )
    assert (
        one(shop, "select count(*) from orders o anti join order_items i using (order_id)")[0] == 0
    )


def test_order_money_is_consistent(shop: dict) -> None:
    bad = one(
        shop,
        """
        with lines as (
            select order_id, sum(unit_price * quantity) as gross, sum(discount) as disc,
                   max(line_number) as max_line, count(*) as n
            from order_items group by 1
        )
        select count(*) filter (where o.subtotal <> l.gross),
               count(*) filter (where o.discount <> l.disc),
               count(*) filter (where o.total <> o.subtotal - o.discount + o.shipping),
               count(*) filter (where o.tax <> round(o.total * 23 / 123, 2)),
               count(*) filter (where l.max_line <> l.n),
               count(*) filter (where o.total <= 0 or o.discount < 0)
        from orders o join lines l using (order_id)
    """,
    )
    assert bad == (0, 0, 0, 0, 0, 0)
    assert one(shop, "select count(*) from products where unit_cost >= price or price <= 0")[0] == 0
    assert (
        one(
            shop,
            "select count(*) from products where is_consumable <> (replenishment_days is not null)",
        )[0]
        == 0
    )
    assert one(shop, "select count(distinct currency) from orders")[0] == 1


def test_refunds_agree_with_order_status(shop: dict) -> None:
    rows = df(
        shop,
        """
        select o.status, o.total, coalesce(r.amount, 0) as refunded, r.n
        from orders o
        left join (select order_id, sum(amount) as amount, count(*) as n
                   from refunds group by 1) r using (order_id)
    """,
    )
    refunded = rows[rows.status == "refunded"]
    partial = rows[rows.status == "partially_refunded"]
    other = rows[rows.status.isin(["paid", "cancelled"])]
    assert (refunded.refunded == refunded.total).all()
    assert ((partial.refunded > 0) & (partial.refunded < partial.total)).all()
    assert (other.refunded == 0).all()
    assert set(rows.status) == {"paid", "cancelled", "refunded", "partially_refunded"}
    share = len(refunded) + len(partial)
    assert 0.04 <= share / len(rows) <= 0.09
    assert (refunded.n > 1).any()  # some full refunds come in two instalments
    reasons = df(shop, "select distinct reason from refunds").reason
    assert set(reasons) == {
        "damaged",
        "wrong_size",
        "late_delivery",
        "not_as_described",
        "changed_mind",
    }
    late = one(
        shop,
        "select count(*) from refunds r join orders o using (order_id) "
        "where r.refunded_at < o.ordered_at",
    )[0]
    assert late == 0


def test_raw_data_stops_at_end_date(shop: dict) -> None:
    for table, col in [
        ("orders", "ordered_at"),
        ("events", "occurred_at"),
        ("email_events", "occurred_at"),
        ("consents", "recorded_at"),
        ("refunds", "refunded_at"),
        ("customers", "updated_at"),
    ]:
        latest = one(shop, f"select max({col}) from {table}")[0]
        assert latest < END, table
    start = one(shop, "select min(ordered_at) from orders")[0]
    assert (END - start).days <= 3 * 366


# --- realism ------------------------------------------------------------------------------
def _orders_by_person(shop: dict) -> pd.DataFrame:
    return df(
        shop,
        """
        select rp.true_person_id, count(*) as orders, sum(o.total) as revenue
        from orders o
        join t_record_persons rp on rp.record_type = 'order' and rp.record_id = o.order_id
        where o.status <> 'cancelled' group by 1
    """,
    )


def test_most_buyers_buy_once_and_revenue_is_concentrated(shop: dict) -> None:
    buyers = _orders_by_person(shop)
    assert (buyers.orders == 1).mean() > 0.5
    assert buyers.orders.max() >= 15
    revenue = buyers.revenue.astype(float).sort_values(ascending=False)
    top = revenue.head(max(1, len(revenue) // 100)).sum() / revenue.sum()
    assert top > 0.06  # the top 1 % of buyers hold several times their share
    prospects = one(shop, "select avg((archetype = 'prospect')::int) from t_persons")[0]
    assert 0.2 <= prospects <= 0.3


def test_guest_checkouts_are_in_band_and_include_account_holders(shop: dict) -> None:
    guest = one(shop, "select avg((customer_id is null)::int) from orders")[0]
    assert 0.35 <= guest <= 0.45
    by_account_holders = one(
        shop,
        """
        select count(*) from orders o
        join t_record_persons rp on rp.record_type = 'order' and rp.record_id = o.order_id
        where o.customer_id is null and rp.true_person_id in (
            select true_person_id from t_record_persons where record_type = 'customer')
    """,
    )[0]
    assert by_account_holders > 50


def test_seasonality_peaks_in_november_and_december(shop: dict) -> None:
    per_day = (
        df(
            shop,
            """
        select month(ordered_at) as m, count(*) / count(distinct ordered_at::date) as per_day
        from orders group by 1
    """,
        )
        .set_index("m")
        .per_day
    )
    assert per_day[[11, 12]].mean() > per_day[[7, 8]].mean() * 1.3


def test_identifiers_are_messy(shop: dict) -> None:
    phones = df(
        shop,
        "select phone from orders where phone is not null "
        "union all select phone from customers where phone is not null",
    ).phone
    formats = {
        r"^\+48 \d{3} \d{3} \d{3}$",
        r"^0048\d{9}$",
        r"^\d{3}-\d{3}-\d{3}$",
        r"^\d{9}$",
        r"^\+48\d{9}$",
        r"^\+(49|420|44) \d+$",
    }
    for pattern in formats:
        assert phones.str.match(pattern).any(), pattern
    emails = df(shop, "select email from orders where email is not null").email
    assert (emails != emails.str.strip()).any()
    assert (emails.str.strip() != emails.str.strip().str.lower()).any()
    devices = df(
        shop,
        """
        select owner_person_id, count(*) as n, count(true_person_id) as identified
        from t_anonymous_persons where owner_person_id is not null group by 1
    """,
    )
    assert (devices.n > 1).mean() > 0.2
    assert 0.8 < devices.identified.sum() / devices.n.sum() < 1.0  # some browse-only cookies
    ids = df(shop, "select anonymous_id from t_anonymous_persons where owner_person_id is not null")
    assert ids.anonymous_id.str.match(r"^anon-[0-9a-f]{16}$").all()


def test_junk_identifiers_are_shared_by_many_people(shop: dict) -> None:
    junk = json.loads((shop["root"] / "truth" / "junk_identifiers.json").read_text())
    assert CONFIG.shop_email in junk["emails"] and TABLET_ANONYMOUS_ID in junk["anonymous_ids"]
    orders = df(
        shop,
        """
        select lower(trim(o.email)) as email, o.phone, o.anonymous_id, rp.true_person_id
        from orders o
        join t_record_persons rp on rp.record_type = 'order' and rp.record_id = o.order_id
    """,
    )
    junk_email = orders[orders.email.isin(junk["emails"])]
    assert junk_email.true_person_id.nunique() >= 10
    assert junk_email.email.nunique() >= 3
    # staff phone orders and junk e-mails still carry the person's real phone
    assert junk_email.phone.notna().all()
    assert not junk_email.phone.isin(junk["phones"]).any()
    assert orders[orders.phone.isin(junk["phones"])].true_person_id.nunique() >= 5
    assert orders[orders.anonymous_id == TABLET_ANONYMOUS_ID].true_person_id.nunique() >= 5
    tablet_logins = one(
        shop,
        f"""
        select count(distinct customer_id) from events
        where anonymous_id = '{TABLET_ANONYMOUS_ID}' and event_type = 'login'
    """,
    )[0]
    assert tablet_logins >= 5


def _stitch(shop: dict, use_blocklist: bool) -> tuple[float, float]:
    """Exact connected components over normalised identifiers -> pairwise precision/recall."""
    root = shop["root"]
    junk = json.loads((root / "truth" / "junk_identifiers.json").read_text())

    def email(x: pd.Series) -> pd.Series:
        return "e:" + x.astype("string").str.strip().str.lower()

    def phone(x: pd.Series) -> pd.Series:
        x = x.astype("string")
        digits = x.str.replace(r"\D", "", regex=True)
        digits = digits.where(~digits.str.startswith("00"), digits.str[2:])
        national = (digits.str.len() == 9) & ~x.str.strip().str.startswith("+")
        return "p:" + digits.where(~national, "48" + digits)

    def plain(prefix: str) -> Callable[[pd.Series], pd.Series]:
        return lambda x: prefix + x.astype("string")

    norm = {"customer_id": plain("c:"), "email": email, "phone": phone, "anonymous_id": plain("a:")}
    blocked = set(email(pd.Series(junk["emails"]))) | set(phone(pd.Series(junk["phones"])))
    blocked |= {f"a:{a}" for a in junk["anonymous_ids"]}
    edges = []

    def add(kind: str, ids: pd.Series, frame: pd.DataFrame) -> None:
        for col, f in norm.items():
            if col in frame:
                edges.append(
                    pd.DataFrame(
                        {"rec": kind + ids.astype("string"), "ident": f(frame[col])}
                    ).dropna()
                )

    customers = pq.read_table(root / "raw" / "customers.parquet").to_pandas()
    orders = pq.read_table(root / "raw" / "orders.parquet").to_pandas()
    consents = pq.read_table(root / "raw" / "consents.parquet").to_pandas()
    events = pq.read_table(root / "raw" / "events.parquet").to_pandas()
    events = events[events.customer_id.notna() | events.email.notna()]
    add("customer:", customers.customer_id, customers)
    add("order:", orders.order_id, orders)
    add("consent:", pd.Series(np.arange(len(consents))), consents)
    add("event:", events.event_id, events)
    devices = pq.read_table(root / "truth" / "anonymous_persons.parquet").to_pandas()
    devices = devices[devices.true_person_id.notna()]
    add("device:", devices.anonymous_id, devices[["anonymous_id"]])
    e = pd.concat(edges)
    if use_blocklist:
        e = e[~e.ident.isin(blocked)]
    nodes = pd.Index(pd.concat([e.rec, e.ident]).unique())
    a, b = nodes.get_indexer(e.rec), nodes.get_indexer(e.ident)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
    _, label = connected_components(graph, directed=False)
    truth = pq.read_table(root / "truth" / "record_persons.parquet").to_pandas()
    truth = pd.concat([truth, devices.assign(record_type="device", record_id=devices.anonymous_id)])
    idx = nodes.get_indexer(truth.record_type + ":" + truth.record_id)
    assert (idx >= 0).all(), "every record carries at least one identifier"
    truth["component"] = label[idx].astype(str)

    def pairs(keys: pd.Series) -> int:
        n = keys.value_counts()
        return int((n * (n - 1) // 2).sum())

    both = pairs(truth.true_person_id + "|" + truth.component)
    return both / pairs(truth.component), both / pairs(truth.true_person_id)


def test_every_same_person_link_is_discoverable_and_junk_is_what_glues(shop: dict) -> None:
    precision, recall = _stitch(shop, use_blocklist=True)
    assert precision >= 0.999 and recall >= 0.999
    naive_precision, _ = _stitch(shop, use_blocklist=False)
    assert naive_precision < 0.5


def test_consumables_reorder_near_their_cycle(shop: dict) -> None:
    ratios = df(
        shop,
        """
        with staple_orders as (
            select p.true_person_id, p.staple_cycle_days, o.ordered_at
            from t_persons p
            join t_record_persons rp on rp.true_person_id = p.true_person_id
                 and rp.record_type = 'order'
            join orders o on o.order_id = rp.record_id
            join order_items i on i.order_id = o.order_id and i.product_id = p.staple_product_id
            where p.archetype = 'consumable'
        )
        select date_diff('second', lag(ordered_at) over w, ordered_at) / 86400.0
               / staple_cycle_days as ratio
        from staple_orders window w as (partition by true_person_id order by ordered_at)
        qualify ratio is not null
    """,
    ).ratio
    assert len(ratios) > 100
    assert 0.9 <= ratios.median() <= 1.15
    assert ((ratios > 0.75) & (ratios < 1.35)).mean() > 0.6


def test_discount_only_buyers_use_codes_and_buy_in_sales(shop: dict) -> None:
    rows = (
        df(
            shop,
            """
        select p.is_discount_only, avg((o.discount_code is not null)::int) as with_code
        from orders o
        join t_record_persons rp on rp.record_type = 'order' and rp.record_id = o.order_id
        join t_persons p using (true_person_id)
        group by 1
    """,
        )
        .set_index("is_discount_only")
        .with_code
    )
    assert rows[True] > 0.95 and rows[False] < 0.4


def test_stockouts_and_abandoned_carts_show_in_events(shop: dict) -> None:
    assert (
        one(shop, "select count(*) from events where event_type = 'view_item' and not in_stock")[0]
        > 10
    )
    adds, bought = one(
        shop,
        "select (select count(*) from events where event_type = "
        "'add_to_cart'), (select count(*) from order_items)",
    )
    assert adds > bought
    checkouts, purchases = one(
        shop,
        "select count(*) filter (where event_type = "
        "'begin_checkout'), count(*) filter (where event_type = "
        "'purchase') from events",
    )
    assert checkouts > purchases * 1.05
    leaked = one(
        shop,
        """
        select count(*) from events
        where (customer_id is not null or email is not null)
          and event_type not in ('login', 'signup', 'purchase')
    """,
    )[0]
    assert leaked == 0
    # a stock-out often ends the relationship soon after (planted, recorded in the truth)
    share, gap = one(
        shop,
        """
        select avg((churn_cause = 'stockout')::int),
               median(date_diff('day', first_stockout_at, dropout_at))
                   filter (where churn_cause = 'stockout')
        from t_persons where hit_stockout
    """,
    )
    assert share > 0.3 and gap < 60


def test_email_engagement_chains_and_decay(shop: dict) -> None:
    orphans = one(
        shop,
        """
        select count(*) from email_events e
        where e.event_type <> 'sent' and not exists (
            select 1 from email_events s where s.message_id = e.message_id
              and s.event_type = 'sent' and s.occurred_at <= e.occurred_at)
    """,
    )[0]
    assert orphans == 0
    types = set(df(shop, "select distinct event_type from email_events").event_type)
    assert types == {
        "sent",
        "delivered",
        "open",
        "click",
        "unsubscribe",
        "bounce",
        "spam_complaint",
    }
    workflows = set(df(shop, "select distinct workflow from email_events").workflow)
    assert {"newsletter", "welcome", "cart_abandonment", "winback"} <= workflows
    unengaged_recent = one(
        shop,
        """
        select count(*) from email_events e
        join t_persons p on lower(e.email) = lower(p.primary_email)
        where p.is_unengaged_subscriber and e.event_type in ('open', 'click')
          and e.occurred_at >= timestamp '2026-11-16' - interval 180 day
    """,
    )[0]
    assert unengaged_recent == 0
    n_unengaged = one(shop, "select count(*) from t_persons where is_unengaged_subscriber")[0]
    assert n_unengaged > 20


def test_consents_change_over_time(shop: dict) -> None:
    rows = df(
        shop,
        "select channel, status, source, legal_basis, count(*) as n from consents group by all",
    )
    assert set(rows.channel) == {"email", "sms", "push"}
    assert set(rows.status) == {"opt_in", "opt_out"}
    assert set(rows.source) <= {"checkout", "signup_form", "popup", "preference_center", "import"}
    assert set(rows.legal_basis) == {"consent", "legitimate_interest"}
    no_id = one(
        shop,
        "select count(*) from consents where email is null and phone is null "
        "and customer_id is null",
    )[0]
    assert no_id == 0


# --- ground truth -------------------------------------------------------------------------
def test_truth_covers_every_record(shop: dict) -> None:
    for record_type, table, key in [
        ("customer", "customers", "customer_id"),
        ("order", "orders", "order_id"),
    ]:
        missing = one(
            shop,
            f"""
            select count(*) from {table} x anti join t_record_persons rp
            on rp.record_type = '{record_type}' and rp.record_id = x.{key}
        """,
        )[0]
        assert missing == 0, table
    n_consents = one(shop, "select count(*) from consents")[0]
    assert (
        one(shop, "select count(*) from t_record_persons where record_type = 'consent'")[0]
        == n_consents
    )
    assert (
        one(
            shop,
            "select count(*) from t_record_persons rp anti join t_persons p using (true_person_id)",
        )[0]
        == 0
    )
    assert one(shop, "select count(*) from t_persons")[0] == CONFIG.customers
    unknown = one(
        shop,
        """
        select count(*) from (select distinct anonymous_id from events) e
        anti join t_anonymous_persons a using (anonymous_id)
    """,
    )[0]
    assert unknown == 0


def test_truth_never_leaks_into_raw(shop: dict) -> None:
    for name, table in TABLES.items():
        schema = pq.read_schema(shop["root"] / "raw" / f"{name}.parquet")
        assert not {"true_person_id", "archetype"} & set(schema.names), name
        assert schema.names == table.columns


def test_future_orders_follow_end_date(shop: dict) -> None:
    n, first, last = one(
        shop, "select count(*), min(ordered_at), max(ordered_at) from t_future_orders"
    )
    assert n > 200
    assert first >= END and (last - END).days <= CONFIG.future_days
    alive = (
        df(
            shop,
            """
        select p.dropout_at is null as alive, avg(p.n_future_orders) as future
        from t_persons p where archetype <> 'prospect' group by 1
    """,
        )
        .set_index("alive")
        .future
    )
    assert alive[True] > alive[False] * 3
    meta = json.loads((shop["root"] / "truth" / "meta.json").read_text())
    assert meta["seed"] == CONFIG.seed and meta["row_counts"]["orders"] > 0
