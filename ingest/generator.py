"""Seeded, scale-parameterised synthetic e-commerce shop that writes the raw contract.

Public API::

    report = generate(GenerationConfig(customers=10_000, seed=42), raw_dir=..., truth_dir=...)

Writes `<raw_dir>/<table>.parquet` for every table in `ingest.contract.TABLES` (exactly the
contract's Arrow schema) and the ground truth under `truth_dir` (never read by dbt).

Generative model (all steps vectorised with numpy/pyarrow; persons processed in chunks of
`chunk_size`, each chunk and step with its own seeded stream, so the same config gives
byte-identical files):

1. **Clock** - history of `years` ending at `end_date` (inclusive) plus `future_days` of
   simulated future kept only in the truth. Daily seasonality: Black Week (around the last
   Friday of November) x2.6, December before Christmas x1.6, summer dip x0.75, January sale;
   sale periods carry sale codes (BLACKWEEK25, JANSALE26, SUMMER25, ...).
2. **Catalogue** - a few hundred products in 7 categories; log-normal prices ending in .99,
   unit_cost 30-65 % of price; skincare/haircare/supplements/coffee_tea are consumables with
   `replenishment_days` 20-90; Zipf popularity; price tiers; random stock-out windows.
3. **Persons** - archetypes prospect (never buys; signup/newsletter only), one_time (low
   rate, fast dropout: mostly a single order), regular, consumable (staple product reordered
   every ~`replenishment_days * quantity`), discount_only (buys with codes, mostly in sales)
   and vip (~1 %, high rate and spend). Acquisition dates grow over the history with
   seasonality. Pareto/NBD-like behaviour: purchase rate ~ Gamma per archetype, Poisson
   purchases (thinned by seasonality) while alive, exponential lifetime (dropout). Spend
   level ~ log-normal per person (drives basket size and price tier: gamma-gamma-like).
4. **Identities** - accounts (customer_id `C0000001`), unique private e-mails (plus a work
   e-mail for a minority, linked through the account or phone), phones (mostly PL, some
   DE/CZ/GB), devices (`anon-<16 hex>`, several per person, cookie resets over time).
5. **Orders/items** - candidate orders per person; lines by favourite category and price
   tier; lines hitting a stock-out are dropped (a `view_item` with `in_stock=false` is
   emitted; if nothing is left the order does not happen). Hitting a stock-out or a
   bad-experience refund (damaged, late_delivery, not_as_described) makes churn likelier:
   with some probability the person drops out soon after (recorded as `churn_cause`).
   Guest checkouts (customer_id null) by account holders and account-less buyers; case and
   whitespace e-mail variants; phones in several formats; staff phone orders; in-store
   tablet orders; junk e-mails/phones.
6. **Refunds** - ~6.5 % of orders: `refunded` (refund rows sum to `total`, sometimes in two
   rows) or `partially_refunded` (sum below `total`); ~2 % `cancelled` (no refund rows).
   Refunds that would happen after `end_date` are left out of the raw data (status `paid`).
7. **Events** - sessions (purchase, abandoned cart, browse, stock-out, signup) expanded to
   page_view/search/signup/login/view_item/add_to_cart/begin_checkout/purchase events on the
   person's device at that time; customer_id/email only on login/signup/purchase events.
8. **E-mail** - MAP workflows (newsletter every `newsletter_every_days`, welcome series,
   cart_abandonment, post_purchase, replenishment, winback) to subscribers; chains
   sent -> delivered -> open -> click; unengaged subscribers' open rate decays to ~0 within
   months; unsubscribes, spam complaints, hard bounces end the subscription. An unsubscribe
   (or preference-centre opt-out) also writes an `opt_out` consent row; a spam complaint
   only shows in email_events (the MAP suppresses the address).
9. **Consents** - email/sms/push opt-ins and later opt-outs (latest wins) with source and
   legal_basis.

Each step is a `_Chunk._<step>` method with its own random stream (`_S_*` ids); a new step
(e.g. planted treatment effects of e-mail workflows on orders) gets a new stream id appended
at the end, so existing steps keep drawing exactly the same numbers.

Money (decimal(18,2), PLN, prices VAT-inclusive): `order_items.discount` is the line's
share of the order's code discount; `orders.subtotal = sum(unit_price * quantity)` (gross,
before discounts); `orders.discount = sum(line discounts)`; `shipping` 14.99 below 199.00
of discounted goods (free above, in store, or with FREESHIP); `total = subtotal - discount +
shipping`; `tax` is the 23 % VAT *included* in `total` (informational, not added).
Truth `net_amount` = `subtotal - discount - refunded`, floored at 0, excluding shipping
(0 for cancelled orders).

Ground truth (under `truth_dir`, never read by dbt; `TRUTH_FILES` lists the files):
- `persons.parquet`: true_person_id (`TP00000001`), archetype, country, acquired_at,
  purchase_rate (per year while alive), spend_level (latent), mean_spend (realised mean
  net order value, past + future), dropout_at (null if alive at end_date),
  lifetime_end_at (dropout within the simulated future too), churn_cause (natural |
  stockout | bad_experience), hit_stockout, first_stockout_at, had_bad_refund,
  has_account, has_two_emails, is_subscriber, is_unengaged_type, is_unengaged_subscriber
  (subscribed at end_date and no open/click in the last 180 days), is_discount_only,
  favourite_category, staple_product_id, staple_cycle_days, n_orders, n_future_orders,
  primary_email.
- `record_persons.parquet`: record_type (customer | order | consent), record_id
  (customer_id, order_id, or the 0-based row number in consents.parquet), true_person_id.
- `anonymous_persons.parquet`: anonymous_id, true_person_id, owner_person_id,
  is_identified. owner_person_id is the device's real owner (null only for the shared
  tablet); true_person_id is the owner only where the raw data can tie the device to them
  (is_identified: an order or a login/signup event on it) and null otherwise, so
  pairwise scoring on true_person_id never asks for links nothing in the data supports
  (browse-only cookies).
- `future_orders.parquet`: true_person_id, ordered_at, status, net_amount, n_lines,
  n_items, used_discount_code - orders in the `future_days` after end_date.
- `stockouts.parquet`: product_id, start_at, end_at.
- `junk_identifiers.json`: emails, phones, anonymous_ids that many persons share.
- `meta.json`: generator version, config, seed, history start, row counts.

Planted campaign effects (a second pass, once a warehouse has been built on the raw data):
`plant_campaign_effects(raw_dir, truth_dir, duckdb_path)` from `ingest._generator_campaigns`
(re-exported here) plays the marketing platform on the warehouse's replayed workflow entries
and holdout assignments: treated entries get their flow's e-mails, some workflows convert
extra persons (planted true effects), one workflow has none, held-out persons get nothing.
It appends to email_events/orders/order_items and writes `campaign_effects.json` and
`campaign_orders.parquet` to the truth; rebuild the warehouse afterwards
(docs/segmentation.md, "Planted lift").

Identity guarantees (what stitching is scored on): private e-mails and phone numbers are
unique per person (bijections of the person index), so the only identifiers shared by
different persons are the junk ones. Every order, customer and consent record carries at
least one genuine identifier connected to the person's other records: a work e-mail only
appears with the customer_id or with a phone that is on the account; junk e-mails, staff
phone orders and phone-only orders always carry the person's account phone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest import _generator_vocab as V  # noqa: N812
from ingest._generator_campaigns import (  # noqa: F401  (public API, see docstring)
    CampaignConfig,
    plant_campaign_effects,
)
from ingest._generator_util import (
    US_PER_DAY,
    bijection,
    choose,
    expand,
    group_first_index,
    grouped_cumsum,
    hex_ids,
    join,
    money,
    null_where,
    padded_ids,
    pick,
    rank_in_group,
    s,
    timestamps,
)
from ingest.contract import TABLES, conform

log = logging.getLogger(__name__)

GENERATOR_VERSION = "1.0.0"

ARCHETYPES = ("prospect", "one_time", "regular", "consumable", "discount_only", "vip")
ARCHETYPE_P = (0.25, 0.45, 0.16, 0.07, 0.06, 0.01)
# per archetype: (rate gamma shape, rate mean per year, dropout hazard mean per year,
#                 log spend mean, P(account), P(email subscriber))
_ARCH = {
    "prospect": (1.0, 0.0, 1.0, 0.0, 0.40, 0.80),
    "one_time": (0.8, 0.45, 2.5, -0.05, 0.55, 0.45),
    "regular": (2.5, 6.5, 0.35, 0.10, 0.85, 0.55),
    "consumable": (1.5, 1.0, 0.40, 0.00, 0.85, 0.55),
    "discount_only": (2.0, 4.0, 0.50, -0.10, 0.70, 0.70),
    "vip": (4.0, 20.0, 0.15, 0.80, 0.95, 0.70),
}

SHOP_EMAIL_LOCAL = "orders"
JUNK_EMAILS = ("test@test.com", "test@example.com", "noreply@example.com", "a@a.pl", "brak@brak.pl")
JUNK_PHONES = ("000000000", "123456789", "+48 000 000 000")
TABLET_ANONYMOUS_ID = "anon-5ab1e75b00c0ffee"

TRUTH_FILES = {
    "persons": "one row per true person (behavioural parameters and realised outcomes)",
    "record_persons": "record_type (customer|order|consent), record_id, true_person_id",
    "anonymous_persons": "anonymous_id -> true_person_id (null: tablet or never identified)",
    "future_orders": "orders placed in the future_days after end_date (never in raw)",
    "stockouts": "product_id, start_at, end_at of every stock-out window",
}

# step ids for independent random streams (add new steps at the end to keep old streams)
(_S_PERSONS, _S_IDENT, _S_ORDERS, _S_DEVICES, _S_EVENTS, _S_EMAIL, _S_CONSENT, _S_CATALOGUE) = (
    range(8)
)


# ------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GenerationConfig:
    """What to generate. `customers` is the number of true persons (prospects included)."""

    customers: int = 10_000
    seed: int = 42
    end_date: date = date(2026, 11, 15)
    years: float = 3.0
    future_days: int = 365
    currency: str = "PLN"
    default_phone_country: str = "PL"
    products: int = 300
    chunk_size: int = 100_000
    newsletter_every_days: int = 14
    shop_domain: str = "sklep-retention.pl"

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be >= 1")
        if self.years <= 0 or self.future_days < 0 or self.products < 20:
            raise ValueError("years > 0, future_days >= 0 and products >= 20 required")
        if self.default_phone_country != "PL":
            # national-format numbers (600-123-456) are Polish; other countries always
            # carry their calling code
            raise ValueError("only default_phone_country='PL' is supported")

    @property
    def shop_email(self) -> str:
        return f"{SHOP_EMAIL_LOCAL}@{self.shop_domain}"


@dataclass
class GenerationReport:
    config: GenerationConfig
    raw_dir: Path
    truth_dir: Path
    row_counts: dict[str, int]
    truth_row_counts: dict[str, int]
    seconds: float
    stats: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"Generated sample shop: {self.config.customers:,} persons, seed {self.config.seed}, "
            f"up to {self.config.end_date} ({self.config.years:g} years) in {self.seconds:.1f}s",
            f"  raw   -> {self.raw_dir}",
        ]
        lines += [f"    {name:<12} {n:>12,}" for name, n in self.row_counts.items()]
        lines.append(f"  truth -> {self.truth_dir}")
        lines += [f"    {name:<17} {n:>12,}" for name, n in self.truth_row_counts.items()]
        lines += [f"  {k}: {v:.3f}" for k, v in self.stats.items()]
        return "\n".join(lines)


def generate(config: GenerationConfig, raw_dir: Path, truth_dir: Path) -> GenerationReport:
    """Generate the shop into `raw_dir` (raw contract) and `truth_dir` (ground truth)."""
    t_start = time.perf_counter()
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    clock = _Clock(config)
    cat = _Catalogue(config, clock, _rng(config.seed, -1, _S_CATALOGUE))
    sink = _Sink(raw_dir, truth_dir)
    sink.write("products", cat.table)
    sink.write("stockouts", cat.stockout_table(clock), truth=True)
    counters = _Counters()
    sums: dict[str, float] = {}
    n = config.customers
    chunks = [(lo, min(lo + config.chunk_size, n)) for lo in range(0, n, config.chunk_size)]
    try:
        for ci, (lo, hi) in enumerate(chunks):
            log.info("generating persons %d..%d (chunk %d/%d)", lo, hi, ci + 1, len(chunks))
            chunk = _Chunk(config, clock, cat, ci, lo, hi, counters)
            for name, table, truth in chunk.run():
                sink.write(name, table, truth=truth)
            for k, v in chunk.stats.items():
                sums[k] = sums.get(k, 0.0) + v
    finally:
        sink.close()
    junk = {
        "emails": [*JUNK_EMAILS, config.shop_email],
        "phones": list(JUNK_PHONES),
        "anonymous_ids": [TABLET_ANONYMOUS_ID],
        "notes": {
            config.shop_email: "shop-internal address used by staff for phone orders",
            TABLET_ANONYMOUS_ID: "shared in-store tablet, used by many customers",
        },
    }
    (truth_dir / "junk_identifiers.json").write_text(json.dumps(junk, indent=2) + "\n")
    row_counts = {t: sink.counts.get(t, 0) for t in TABLES}
    truth_counts = {t: sink.counts.get(t, 0) for t in TRUTH_FILES}
    seconds = time.perf_counter() - t_start
    merged = _shares(sums)
    meta = {
        "generator_version": GENERATOR_VERSION,
        "config": {k: str(v) if isinstance(v, date) else v for k, v in asdict(config).items()},
        "seed": config.seed,
        "end_date": config.end_date.isoformat(),
        "history_start": clock.start_date.isoformat(),
        "row_counts": row_counts,
        "truth_row_counts": truth_counts,
        "truth_files": TRUTH_FILES,
    }
    (truth_dir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    report = GenerationReport(config, raw_dir, truth_dir, row_counts, truth_counts, seconds, merged)
    log.info("generation done in %.1fs", seconds)
    return report


def _shares(sums: dict[str, float]) -> dict[str, float]:
    """Headline shares from per-chunk counts (for the report summary)."""

    def ratio(a: str, b: str) -> float:
        return sums.get(a, 0.0) / max(sums.get(b, 0.0), 1.0)

    return {
        "buyer_share": ratio("buyers", "persons"),
        "one_time_buyer_share": ratio("one_time_buyers", "buyers"),
        "account_share": ratio("accounts", "persons"),
        "guest_order_share": ratio("guest_orders", "orders"),
        "refunded_order_share": ratio("refunded_orders", "orders"),
        "order_lines_per_person": ratio("order_lines", "persons"),
        "events_per_person": ratio("events", "persons"),
    }


# ------------------------------------------------------------------------------------------
# infrastructure
# ------------------------------------------------------------------------------------------
def _rng(seed: int, chunk: int, step: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, chunk + 1, step]))


@dataclass
class _Counters:
    customers: int = 0
    orders: int = 0
    events: int = 0
    email_events: int = 0
    messages: int = 0
    consents: int = 0


class _Sink:
    """One ParquetWriter per output file; each chunk is one row group."""

    def __init__(self, raw_dir: Path, truth_dir: Path) -> None:
        self.raw_dir, self.truth_dir = raw_dir, truth_dir
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.counts: dict[str, int] = {}
        self._raw_opened = False

    def _open_all_raw(self) -> None:
        # every contract table exists even when a chunk produces no rows for it
        for name, t in TABLES.items():
            if name not in self.writers:
                self.writers[name] = pq.ParquetWriter(self.raw_dir / f"{name}.parquet", t.schema)
                self.counts.setdefault(name, 0)
        self._raw_opened = True

    def write(self, name: str, table: pa.Table, truth: bool = False) -> None:
        if not self._raw_opened:
            self._open_all_raw()
        if truth:
            if name not in self.writers:
                path = self.truth_dir / f"{name}.parquet"
                self.writers[name] = pq.ParquetWriter(path, table.schema)
        else:
            table = conform(table, name)
        self.writers[name].write_table(table)
        self.counts[name] = self.counts.get(name, 0) + table.num_rows

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


class _Clock:
    """Time axis in float days since `start_date` 00:00 UTC; daily seasonality arrays."""

    def __init__(self, config: GenerationConfig) -> None:
        n_hist = round(config.years * 365.25)
        self.start_date = config.end_date + timedelta(days=1) - timedelta(days=n_hist)
        self.start_us = (self.start_date - date(1970, 1, 1)).days * US_PER_DAY
        self.t_end = float(n_hist)
        self.t_fut = float(n_hist + config.future_days)
        n_days = n_hist + config.future_days + 2
        days = np.datetime64(self.start_date, "D") + np.arange(n_days)
        month = days.astype("datetime64[M]").astype(int) % 12 + 1
        dom = (days - days.astype("datetime64[M]")).astype(int) + 1
        weekday = (days.astype(int) + 3) % 7  # Monday = 0
        year = days.astype("datetime64[Y]").astype(int) + 1970
        season = np.ones(n_days)
        season[month == 11] = 1.15
        season[(month == 12) & (dom <= 20)] = 1.6
        season[(month == 12) & (dom > 20)] = 0.8
        season[(month == 1) & (dom <= 14)] = 1.1
        season[(month == 7) | (month == 8)] = 0.75
        season *= np.where(weekday >= 5, 0.9, np.where(weekday <= 1, 1.08, 1.0))
        sale = np.full(n_days, -1, dtype=np.int64)
        codes: list[str] = []
        pcts: list[float] = []
        for y in range(int(year.min()), int(year.max()) + 1):
            nov30 = date(y, 11, 30)
            black_friday = nov30 - timedelta(days=(nov30.weekday() - 4) % 7)
            windows = [
                (
                    black_friday - timedelta(days=4),
                    black_friday + timedelta(days=4),
                    f"BLACKWEEK{y % 100:02d}",
                    0.25,
                    2.6,
                ),
                (date(y, 1, 2), date(y, 1, 15), f"JANSALE{y % 100:02d}", 0.20, None),
                (date(y, 6, 20), date(y, 7, 10), f"SUMMER{y % 100:02d}", 0.15, None),
            ]
            for lo, hi, code, pct, boost in windows:
                mask = (days >= np.datetime64(lo)) & (days <= np.datetime64(hi))
                if not mask.any():
                    continue
                sale[mask] = len(codes)
                codes.append(code)
                pcts.append(pct)
                if boost:
                    season[mask] = boost
        self.season = season / season.mean()
        self.sale_idx = sale
        self.sale_codes = codes
        self.sale_pct = np.array(pcts + [0.0])
        disc = np.where(sale >= 0, 6.0, 0.25) * season
        self.season_discount = disc / disc.mean()
        growth = np.exp(0.45 * np.arange(n_days) / 365.25) * (1 + 0.5 * (season - 1))
        growth[n_hist:] = 0.0
        self.acq_cdf = np.cumsum(growth) / growth.sum()

    def day(self, t: np.ndarray) -> np.ndarray:
        return np.clip(t.astype(np.int64), 0, len(self.season) - 1)


class _Catalogue:
    def __init__(self, config: GenerationConfig, clock: _Clock, rng: np.random.Generator):
        names, cats, prices, costs, cons, repl = [], [], [], [], [], []
        shares = np.array([c[1] for c in V.CATEGORIES])
        counts = np.maximum(3, np.round(shares / shares.sum() * config.products)).astype(int)
        for ci, (cname, _, median, sigma, consumable, rrange) in enumerate(V.CATEGORIES):
            adj, noun, size = V.CATEGORY_WORDS[cname]
            k = counts[ci]
            a, b, c = (rng.integers(0, len(x), k) for x in (adj, noun, size))
            names += [f"{adj[i]} {noun[j]} {size[m]}" for i, j, m in zip(a, b, c, strict=True)]
            cats += [ci] * k
            p = np.exp(np.log(median) + sigma * rng.standard_normal(k))
            p_cents = np.maximum(np.round(p) * 100 - 1, 999).astype(np.int64)
            prices.append(p_cents)
            costs.append(np.round(p_cents * rng.uniform(0.30, 0.65, k)).astype(np.int64))
            cons += [consumable] * k
            if consumable:
                repl.append(rng.integers(rrange[0], rrange[1] + 1, k))
            else:
                repl.append(np.zeros(k, dtype=np.int64))
        self.n = n = len(names)
        self.category = np.array(cats)
        self.price = np.concatenate(prices)
        self.cost = np.concatenate(costs)
        self.consumable = np.array(cons)
        self.replenishment = np.concatenate(repl)
        self.names = names
        # popularity: Zipf within category
        pop = np.empty(n)
        tier = np.empty(n, dtype=np.int64)
        for ci in range(len(V.CATEGORIES)):
            idx = np.flatnonzero(self.category == ci)
            pop[idx] = 1.0 / (1 + rng.permutation(len(idx))) ** 1.1
            order = np.argsort(np.argsort(self.price[idx], kind="stable"), kind="stable")
            tier[idx] = order * 3 // len(idx)
        self.popularity = pop
        self.tier = tier
        cat_p = np.array([0.24, 0.12, 0.12, 0.14, 0.18, 0.10, 0.10])
        self.category_p = cat_p / cat_p.sum()
        self.groups = {}
        for ci in range(len(V.CATEGORIES)):
            for ti in range(3):
                idx = np.flatnonzero((self.category == ci) & (self.tier == ti))
                if len(idx) == 0:
                    idx = np.flatnonzero(self.category == ci)
                self.groups[(ci, ti)] = (idx, np.cumsum(pop[idx]) / pop[idx].sum())
        self.global_cdf = np.cumsum(pop) / pop.sum()
        # stock-out windows (up to 4 per product), popular products sell out more often
        k_max = 4
        n_win = np.minimum(rng.poisson(0.5 * config.years * (0.5 + pop / pop.max())), k_max)
        starts = rng.uniform(0, clock.t_fut, (n, k_max))
        lengths = 4 + rng.exponential(10, (n, k_max))
        valid = np.arange(k_max)[None, :] < n_win[:, None]
        self.so_start = np.where(valid, starts, np.inf)
        self.so_end = np.where(valid, starts + lengths, -np.inf)
        self.product_ids = padded_ids("PRD-", np.arange(1, n + 1), 4)
        cat_names = [c[0] for c in V.CATEGORIES]
        sku_prefix = pick([c[:3].upper() for c in cat_names], self.category)
        self.table = pa.table(
            {
                "product_id": self.product_ids,
                "sku": join("SKU-", sku_prefix, "-", pc.utf8_lpad(s(np.arange(1, n + 1)), 5, "0")),
                "name": pa.array(names, pa.string()),
                "category": pick(cat_names, self.category),
                "price": money(self.price),
                "unit_cost": money(self.cost),
                "is_consumable": pa.array(self.consumable),
                "replenishment_days": pa.array(
                    np.where(self.consumable, self.replenishment, 0).astype(np.int32),
                    mask=~self.consumable,
                ),
            }
        )

    def out_of_stock(self, product: np.ndarray, t: np.ndarray) -> np.ndarray:
        st, en = self.so_start[product], self.so_end[product]
        return ((t[:, None] >= st) & (t[:, None] < en)).any(axis=1)

    def sample(self, rng: np.random.Generator, cat: np.ndarray, tier: np.ndarray) -> np.ndarray:
        out = np.empty(len(cat), dtype=np.int64)
        u = rng.random(len(cat))
        for (ci, ti), (idx, cdf) in self.groups.items():
            m = (cat == ci) & (tier == ti)
            if m.any():
                out[m] = idx[np.minimum(np.searchsorted(cdf, u[m]), len(idx) - 1)]
        return out

    def sample_popular(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.global_cdf, rng.random(n)), self.n - 1)

    def stockout_table(self, clock: _Clock) -> pa.Table:
        p, k = np.nonzero(np.isfinite(self.so_start))
        st, en = self.so_start[p, k], self.so_end[p, k]
        return pa.table(
            {
                "product_id": self.product_ids.take(pa.array(p)),
                "start_at": timestamps(clock.start_us, st),
                "end_at": timestamps(clock.start_us, en),
            }
        )


# ------------------------------------------------------------------------------------------
# one chunk of persons: catalogue -> persons -> identities -> orders/items -> refunds ->
# devices -> events -> email -> consents
# ------------------------------------------------------------------------------------------
_CONSUMABLE_CATS = np.array([i for i, c in enumerate(V.CATEGORIES) if c[4]])
_APPAREL = [c[0] for c in V.CATEGORIES].index("apparel")
_CODES = list(V.EVERGREEN_CODES)
_FREESHIP = _CODES.index("FREESHIP")
# slots of a web session, in order
(_PV, _SEARCH, _SIGNUP, _LOGIN, _VIEW, _CART, _CHECKOUT, _PURCHASE) = range(8)
_SLOT_NAMES = (
    "page_view",
    "search",
    "signup",
    "login",
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "purchase",
)
_WEB, _INSTORE, _STAFF = 0, 1, 2
_UNSUB, _PREFS, _SPAM = 0, 1, 2
_WF = {w: i for i, w in enumerate(V.EMAIL_WORKFLOWS)}


def _email_variant(base: pa.Array, rng: np.random.Generator, p_messy: float) -> pa.Array:
    """Same address, typed differently: capitalised, title case, upper case, padded."""
    k = len(base)
    which = np.where(rng.random(k) < p_messy, rng.integers(1, 6, k), 0)
    title = pc.utf8_title(base)
    return choose(
        which,
        base,
        pc.utf8_capitalize(base),
        title,
        pc.utf8_upper(base),
        join(" ", base, " "),
        join(title, " "),
    )


class _Chunk:
    def __init__(
        self,
        config: GenerationConfig,
        clock: _Clock,
        cat: _Catalogue,
        ci: int,
        lo: int,
        hi: int,
        counters: _Counters,
    ) -> None:
        self.cfg, self.clock, self.cat, self.ci = config, clock, cat, ci
        self.n = hi - lo
        self.gidx = np.arange(lo, hi, dtype=np.int64)
        self.counters = counters
        self.stats: dict[str, float] = {}

    def _rng(self, step: int) -> np.random.Generator:
        return _rng(self.cfg.seed, self.ci, step)

    def run(self) -> Iterator[tuple[str, pa.Table, bool]]:
        """Run the steps in order and yield (file name, table, is truth) to write."""
        self._persons()
        self._identities()
        self._orders()
        self._devices()
        yield "customers", self._customers_table(), False
        yield from self._order_tables()
        yield "events", self._events(), False
        yield "email_events", self._email(), False
        yield "consents", self._consents(), False
        yield "record_persons", self._record_persons(), True
        yield "anonymous_persons", self._anonymous_persons(), True
        yield "persons", self._persons_table(), True

    # --- persons --------------------------------------------------------------------------
    def _persons(self) -> None:
        r, ck, cat, n = self._rng(_S_PERSONS), self.clock, self.cat, self.n
        arch = r.choice(len(ARCHETYPES), n, p=ARCHETYPE_P)
        params = np.array([_ARCH[a] for a in ARCHETYPES])[arch]
        shape, rate_mean, hazard, log_spend, p_account, p_sub = params.T
        day = np.searchsorted(ck.acq_cdf, r.random(n))
        self.arch = arch
        self.buyer = arch != 0
        self.acq = np.minimum(day + r.random(n), ck.t_end - 1e-3)
        self.rate = np.where(self.buyer, r.gamma(shape, np.maximum(rate_mean, 1e-9) / shape), 0.0)
        haz = r.gamma(2.0, hazard / 2.0)
        delay = np.where(r.random(n) < 0.6, r.uniform(0, 0.02, n), r.exponential(20, n))
        self.t0 = np.where(self.buyer, self.acq + delay, np.inf)
        self.dropout = np.maximum(self.acq + r.exponential(365.25 / haz), self.t0)
        self.dropout[~self.buyer] = np.inf
        self.spend = np.exp(log_spend + 0.35 * r.standard_normal(n))
        fav = r.choice(len(V.CATEGORIES), n, p=cat.category_p)
        is_cons = arch == ARCHETYPES.index("consumable")
        fav[is_cons] = r.choice(_CONSUMABLE_CATS, int(is_cons.sum()))
        self.fav = fav
        staple = cat.sample(r, fav, r.integers(0, 3, n))
        self.staple = np.where(is_cons, staple, -1)
        self.staple_qty = r.choice([1, 2, 3], n, p=[0.7, 0.25, 0.05])
        self.cycle = np.where(is_cons, cat.replenishment[staple] * self.staple_qty, 0)
        self.has_account = r.random(n) < p_account
        self.subscriber = r.random(n) < p_sub
        self.unengaged = self.subscriber & (r.random(n) < 0.35)
        self.is_cons, self.is_disc = is_cons, arch == ARCHETYPES.index("discount_only")

    # --- identities -----------------------------------------------------------------------
    def _identities(self) -> None:
        r, n, ck, g = self._rng(_S_IDENT), self.n, self.clock, self.gidx
        country = r.choice(len(V.COUNTRIES), n, p=V.COUNTRY_P)
        female = r.random(n) < 0.5
        first_pool = V.PL_FEMALE_FIRST + V.PL_MALE_FIRST
        last_pool = [(m, am) for m, _, am, _ in V.PL_LAST] + [(f, af) for _, f, _, af in V.PL_LAST]
        groups_first = [(country == 0) & female, (country == 0) & ~female]
        offsets_first = [0, len(V.PL_FEMALE_FIRST)]
        sizes_first = [len(V.PL_FEMALE_FIRST), len(V.PL_MALE_FIRST)]
        groups_last = [(country == 0) & ~female, (country == 0) & female]
        offsets_last = [0, len(V.PL_LAST)]
        sizes_last = [len(V.PL_LAST), len(V.PL_LAST)]
        for ci, cc in enumerate(V.COUNTRIES[1:], start=1):
            groups_first.append(country == ci)
            offsets_first.append(len(first_pool))
            sizes_first.append(len(V.FOREIGN_FIRST[cc]))
            first_pool = first_pool + V.FOREIGN_FIRST[cc]
            groups_last.append(country == ci)
            offsets_last.append(len(last_pool))
            sizes_last.append(len(V.FOREIGN_LAST[cc]))
            last_pool = last_pool + V.FOREIGN_LAST[cc]
        fi = np.zeros(n, dtype=np.int64)
        li = np.zeros(n, dtype=np.int64)
        u1, u2 = r.random(n), r.random(n)
        for m, off, size in zip(groups_first, offsets_first, sizes_first, strict=True):
            fi[m] = off + (u1[m] * size).astype(np.int64)
        for m, off, size in zip(groups_last, offsets_last, sizes_last, strict=True):
            li[m] = off + (u2[m] * size).astype(np.int64)
        self.first_name = pick([a for a, _ in first_pool], fi)
        self.last_name = pick([a for a, _ in last_pool], li)
        fa, la = pick([b for _, b in first_pool], fi), pick([b for _, b in last_pool], li)
        self.country = pick(V.COUNTRIES, country)
        # unique private e-mail: the digit suffix is a bijection of the global person index
        num = s(bijection(g, 7919, 12345, 10_000_000))
        initial = pc.utf8_slice_codeunits(fa, 0, 1)
        local = choose(
            r.choice(5, n, p=[0.35, 0.2, 0.15, 0.15, 0.15]),
            join(fa, ".", la, num),
            join(fa, la, num),
            join(initial, ".", la, num),
            join(la, ".", fa, num),
            join(fa, "_", num),
        )
        dom_pool: list[str] = []
        dom = np.zeros(n, dtype=np.int64)
        u3 = r.random(n)
        for ci, cc in enumerate(V.COUNTRIES):
            m = country == ci
            pool = V.PRIVATE_DOMAINS[cc]
            dom[m] = len(dom_pool) + (u3[m] ** 1.6 * len(pool)).astype(np.int64)
            dom_pool += pool
        self.email = join(local, "@", pick(dom_pool, dom))
        # account creation: at the first order (80 %), later, or at signup for prospects
        last_hint = np.minimum(self.dropout, ck.t_end)
        later = self.t0 + r.random(n) * np.maximum(last_hint - self.t0, 0)
        t_acc = np.where(self.buyer, np.where(r.random(n) < 0.8, self.t0, later), self.acq)
        self.t_acc = np.where(self.has_account, t_acc, np.inf)
        has_raw_account = self.t_acc < ck.t_end
        self.has_raw_account = has_raw_account
        self.two_emails = has_raw_account & (r.random(n) < 0.08)
        num2 = s(bijection(g, 104729, 777, 10_000_000))
        work = join(
            initial, ".", la, num2, "@", pick(V.WORK_DOMAINS, r.integers(0, len(V.WORK_DOMAINS), n))
        )
        self.email2 = null_where(work, ~self.two_emails)
        # phones: unique national numbers per country
        self.has_phone = r.random(n) < 0.8
        phone_cc = np.where(r.random(n) < 0.95, country, 0)
        self.cc = np.array([48, 49, 420, 44])[phone_cc]
        self.national = np.select(
            [phone_cc == 0, phone_cc == 1, phone_cc == 2],
            [
                500_000_000 + bijection(g, 23757, 99991, 400_000_000),
                1_510_000_000 + bijection(g, 7919, 4321, 100_000_000),
                600_000_000 + bijection(g, 7919, 4321, 200_000_000),
            ],
            7_000_000_000 + bijection(g, 7919, 4321, 1_000_000_000),
        )
        # the phone on the account is what makes phone-only links discoverable
        self.phone_on_account = self.has_phone & has_raw_account & (r.random(n) < 0.85)
        order = np.argsort(np.where(has_raw_account, self.t_acc, np.inf), kind="stable")
        k = int(has_raw_account.sum())
        cust_num = np.zeros(n, dtype=np.int64)
        cust_num[order[:k]] = self.counters.customers + 1 + np.arange(k)
        self.counters.customers += k
        self.customer_id = null_where(padded_ids("C", cust_num, 7), ~has_raw_account)
        self.account_email = _email_variant(self.email, r, 0.15)

    def _phones(self, p: np.ndarray, r: np.random.Generator) -> pa.Array:
        """Phone strings of persons `p`, each in a randomly chosen real-world format."""
        nat, cc = s(self.national[p]), s(self.cc[p])
        a1 = pc.utf8_slice_codeunits(nat, 0, 3)
        a2 = pc.utf8_slice_codeunits(nat, 3, 6)
        a3 = pc.utf8_slice_codeunits(nat, 6, 20)
        k = len(p)
        which = np.where(
            self.cc[p] == 48,
            r.choice(6, k, p=[0.3, 0.1, 0.15, 0.2, 0.15, 0.1]),
            6 + r.integers(0, 3, k),
        )
        return choose(
            which,
            join("+48 ", a1, " ", a2, " ", a3),
            join("0048", nat),
            join(a1, "-", a2, "-", a3),
            nat,
            join("+48", nat),
            join(a1, " ", a2, " ", a3),
            join("+", cc, " ", nat),
            join("00", cc, nat),
            join("+", cc, nat),
        )

    def _customers_table(self) -> pa.Table:
        r = self._rng(_S_IDENT + 100)
        p = np.flatnonzero(self.has_raw_account)
        p = p[np.argsort(self.t_acc[p], kind="stable")]
        created = self.t_acc[p]
        last = np.minimum(np.maximum(self.last_activity[p], created), self.clock.t_end - 1e-4)
        updated = created + r.random(len(p)) ** 2 * (last - created)
        self.customer_rows = p
        return pa.table(
            {
                "customer_id": self.customer_id.take(pa.array(p)),
                "email": self.account_email.take(pa.array(p)),
                "phone": null_where(self._phones(p, r), ~self.phone_on_account[p]),
                "first_name": self.first_name.take(pa.array(p)),
                "last_name": self.last_name.take(pa.array(p)),
                "country": self.country.take(pa.array(p)),
                "created_at": timestamps(self.clock.start_us, created),
                "updated_at": timestamps(self.clock.start_us, updated),
            }
        )

    # --- orders: candidates, baskets, stock-outs, churn feedback, refunds -----------------
    def _orders(self) -> None:
        r, ck, cat = self._rng(_S_ORDERS), self.clock, self.cat
        buyers = np.flatnonzero(self.buyer & (self.t0 < ck.t_fut))
        end_w = np.minimum(self.dropout, ck.t_fut)
        dur = np.maximum(end_w - self.t0, 0.0)
        # Poisson repeat purchases while alive, thinned by (sale-)seasonality
        smax = np.where(self.is_disc, ck.season_discount.max(), ck.season.max())
        k = r.poisson(self.rate[buyers] / 365.25 * dur[buyers] * smax[buyers])
        pp = np.repeat(buyers, k)
        tp = self.t0[pp] + r.random(len(pp)) * dur[pp]
        d = ck.day(tp)
        sea = np.where(self.is_disc[pp], ck.season_discount[d], ck.season[d])
        keep = r.random(len(pp)) * smax[pp] < sea
        pp, tp = pp[keep], tp[keep]
        # consumable renewals: staple reordered about every replenishment_days * quantity
        cons = buyers[self.is_cons[buyers]]
        base = self.cycle[cons].astype(float)
        m = np.minimum(np.ceil(dur[cons] / (0.7 * base)).astype(np.int64) + 1, 80)
        pc_ = np.repeat(cons, m)
        b = np.repeat(base, m)
        gap = b * np.exp(0.12 * r.standard_normal(len(pc_)))
        gap += np.where(r.random(len(pc_)) < 0.12, r.exponential(0.5 * b), 0.0)
        tc = self.t0[pc_] + grouped_cumsum(gap, pc_)
        keep = tc < end_w[pc_]
        pc_, tc = pc_[keep], tc[keep]
        p = np.concatenate([buyers, pp, pc_])
        t = np.concatenate([self.t0[buyers], tp, tc])
        staple = np.concatenate(
            [self.is_cons[buyers], np.zeros(len(pp), bool), np.ones(len(pc_), bool)]
        )
        first = np.concatenate([np.ones(len(buyers), bool), np.zeros(len(pp) + len(pc_), bool)])
        o = np.lexsort((t, p))
        p, t, staple, first = p[o], t[o], staple[o], first[o]
        no = len(p)
        # baskets
        n_lines = np.minimum(1 + r.poisson(1.7 + 1.7 * self.spend[p]), 15)
        lo = expand(n_lines)
        lp = p[lo]
        rank = rank_in_group(n_lines)
        cat_l = np.where(
            r.random(len(lo)) < 0.45,
            self.fav[lp],
            r.choice(len(V.CATEGORIES), len(lo), p=cat.category_p),
        )
        tier_l = np.digitize(
            np.log(self.spend[lp]) + 0.7 * r.standard_normal(len(lo)), [-0.35, 0.35]
        )
        prod = cat.sample(r, cat_l, tier_l)
        qty = 1 + (r.random(len(lo)) < 0.15) + (r.random(len(lo)) < 0.04)
        is_st = staple[lo] & (rank == 0)
        prod[is_st] = self.staple[lp[is_st]]
        qty[is_st] = self.staple_qty[lp[is_st]]
        # one line per product and order
        key = lo * cat.n + prod
        so = np.argsort(key, kind="stable")
        so = so[np.r_[True, key[so][1:] != key[so][:-1]]]
        lo, prod, qty = lo[so], prod[so], qty[so]
        oos = cat.out_of_stock(prod, t[lo])
        in_lines = np.bincount(lo[~oos], minlength=no)
        happens = in_lines > 0
        oos_hit = np.bincount(lo[oos], minlength=no) > 0
        # status and refund (drawn for every candidate; used where the order happens)
        u = r.random(no)
        status = np.zeros(no, dtype=np.int64)  # index into contract.ORDER_STATUSES
        status[u < 0.02] = 1
        refund = (u >= 0.02) & (u < 0.085)
        status[refund] = np.where(r.random(int(refund.sum())) < 0.45, 2, 3)
        reason = r.choice(len(V.REFUND_REASONS), no, p=V.REFUND_REASON_P)
        apparel = np.bincount(lo[~oos & (cat.category[prod] == _APPAREL)], minlength=no) > 0
        wrong = reason == V.REFUND_REASONS.index("wrong_size")
        reason[wrong & ~apparel] = V.REFUND_REASONS.index("changed_mind")
        refund_at = t + 2 + r.exponential(8, no)
        bad_codes = [V.REFUND_REASONS.index(x) for x in V.BAD_EXPERIENCE_REASONS]
        bad = happens & (status >= 2) & np.isin(reason, bad_codes)
        # churn feedback: stock-outs and bad experiences make dropout likelier and sooner
        n = self.n
        hit_t = np.full(n, np.inf)
        idx = np.flatnonzero(oos_hit)
        first_hit = idx[np.r_[True, p[idx][1:] != p[idx][:-1]]] if len(idx) else idx
        hit_t[p[first_hit]] = t[first_hit]
        bad_t = np.full(n, np.inf)
        np.minimum.at(bad_t, p[bad], refund_at[bad])
        d_stock = hit_t + r.exponential(30, n)
        d_bad = bad_t + r.exponential(20, n)
        cause = np.where(self.dropout < ck.t_fut, 1, 0)
        dropout = self.dropout.copy()
        m = (r.random(n) < 0.5) & (d_stock < dropout)
        dropout[m], cause[m] = d_stock[m], 2
        m = (r.random(n) < 0.35) & (d_bad < dropout)
        dropout[m], cause[m] = d_bad[m], 3
        cause[~self.buyer] = 0
        self.dropout, self.churn_cause = dropout, cause
        alive_cand = t <= dropout[p]
        self.first_hit_t = np.where(hit_t <= dropout, hit_t, np.inf)
        self.bad_t = np.where(bad_t <= dropout, bad_t, np.inf)
        # sessions of candidates that failed on stock-outs (past only) are kept for events
        cand_keep = alive_cand & (t < ck.t_end)
        self.cand = {"p": p[cand_keep], "t": t[cand_keep], "happens": happens[cand_keep]}
        cand_map = np.full(no, -1)
        cand_map[cand_keep] = np.arange(int(cand_keep.sum()))
        lk = cand_keep[lo]
        self.cand_lines = {"c": cand_map[lo[lk]], "prod": prod[lk], "oos": oos[lk]}
        # realised orders
        ok = happens & alive_cand
        omap = np.full(no, -1)
        omap[ok] = np.arange(int(ok.sum()))
        keep_l = ok[lo] & ~oos
        self.cand["order"] = omap[cand_keep]
        lo2 = omap[lo[keep_l]]
        prod, qty = prod[keep_l], qty[keep_l]
        p, t, first, staple = p[ok], t[ok], first[ok], staple[ok]
        status, reason, refund_at = status[ok], reason[ok], refund_at[ok]
        no = len(p)
        # discount codes
        sale = ck.sale_idx[ck.day(t)]
        code = np.full(no, -1)
        u = r.random((5, no))
        code[(u[0] < 0.05)] = r.choice([1, 2, 4, 5], int((u[0] < 0.05).sum()))
        code[(self.arch[p] == ARCHETYPES.index("vip")) & (u[1] < 0.1)] = 3
        code[first & (u[2] < 0.2)] = 0
        in_sale = (sale >= 0) & (u[3] < 0.35)
        code[in_sale] = len(_CODES) + sale[in_sale]
        disc = self.is_disc[p]
        code[disc] = np.where(
            sale[disc] >= 0, len(_CODES) + sale[disc], r.choice([1, 2, 5], int(disc.sum()))
        )
        pct = np.concatenate([np.array(list(V.EVERGREEN_CODES.values())), ck.sale_pct[:-1]])
        code_names = _CODES + ck.sale_codes
        pct_o = np.where(code >= 0, pct[np.maximum(code, 0)], 0.0)
        # money (integer cents)
        gross = cat.price[prod] * qty
        line_disc = np.round(gross * pct_o[lo2]).astype(np.int64)
        subtotal = np.bincount(lo2, gross, minlength=no).round().astype(np.int64)
        discount = np.bincount(lo2, line_disc, minlength=no).round().astype(np.int64)
        goods = subtotal - discount
        channel = np.full(no, _WEB)
        uc = r.random(no)
        channel[uc < 0.02] = _INSTORE
        channel[(uc > 0.97) & self.phone_on_account[p]] = _STAFF
        shipping = np.where(
            (goods >= 19_900) | (code == _FREESHIP) | (channel == _INSTORE), 0, 1_499
        )
        total = goods + shipping
        tax = np.round(total * 23 / 123).astype(np.int64)
        # refunds: full (sometimes two rows) or partial; after end_date -> not in raw yet
        past = t < ck.t_end
        refund = status >= 2
        visible = refund & (refund_at < np.where(past, ck.t_end, np.inf))
        status_raw = np.where(refund & ~visible, 0, status)
        partial_amt = np.minimum(
            np.maximum(np.round(total * r.uniform(0.1, 0.7, no)), 100), total - 1
        ).astype(np.int64)
        refunded = np.where(status_raw == 2, total, np.where(status_raw == 3, partial_amt, 0))
        net = np.where(status_raw == 1, 0, np.maximum(goods - refunded, 0))
        self.orders = {
            "p": p,
            "t": t,
            "first": first,
            "staple": staple,
            "status": status_raw,
            "reason": reason,
            "refund_at": refund_at,
            "code": code,
            "subtotal": subtotal,
            "discount": discount,
            "shipping": shipping,
            "tax": tax,
            "total": total,
            "refunded": refunded,
            "net": net,
            "channel": channel,
            "past": past,
            "n_lines": np.bincount(lo2, minlength=no),
            "n_items": np.bincount(lo2, qty, no),
        }
        self.code_names = code_names
        self.lines = {
            "o": lo2,
            "prod": prod,
            "qty": qty,
            "price": cat.price[prod],
            "disc": line_disc,
        }
        self.n_orders_past = np.bincount(p[past], minlength=self.n)
        self.n_orders_future = np.bincount(p[~past], minlength=self.n)
        self.revenue = np.bincount(p, net, minlength=self.n)

    # --- devices (anonymous ids) ----------------------------------------------------------
    def _devices(self) -> None:
        r, ck, n = self._rng(_S_DEVICES), self.clock, self.n
        last = np.where(
            self.buyer,
            np.minimum(self.dropout + 60, ck.t_end),
            np.minimum(self.acq + 180, ck.t_end),
        )
        self.last_activity = np.maximum(last, self.acq)
        years = (self.last_activity - self.acq) / 365.25
        n_dev = 1 + r.poisson(np.where(self.buyer, 0.3 + 0.5 * np.minimum(years, 3), 0.2))
        dp = expand(n_dev)
        rank = rank_in_group(n_dev)
        span = self.last_activity[dp] - self.acq[dp]
        start = np.where(
            rank == 0,
            self.acq[dp] - r.uniform(0, 20, len(dp)),
            self.acq[dp] + r.random(len(dp)) * span,
        )
        o = np.lexsort((start, dp))
        self.dev_p, self.dev_start = dp[o], start[o]
        self.dev_first = group_first_index(self.dev_p, n)
        self.dev_key = (self.dev_p << 32) + ((self.dev_start + 30) * 1000).astype(np.int64)
        rand = r.integers(0, np.iinfo(np.int64).max, len(dp), dtype=np.int64)
        self.dev_ids = hex_ids("anon-", rand.view(np.uint64))

    def _device_at(self, p: np.ndarray, t: np.ndarray, r: np.random.Generator) -> np.ndarray:
        """The device a person uses at time t: latest started one, sometimes an older one."""
        key = (p.astype(np.int64) << 32) + ((np.maximum(t, -29) + 30) * 1000).astype(np.int64)
        idx = np.searchsorted(self.dev_key, key, side="right") - 1
        first = self.dev_first[p]
        idx = np.maximum(idx, first)
        older = r.random(len(p)) < 0.2
        alt = first + (r.random(len(p)) * (idx - first + 1)).astype(np.int64)
        return np.where(older, alt, idx)

    # --- orders, order_items, refunds (raw) and future orders (truth) ---------------------
    def _order_tables(self) -> Iterator[tuple[str, pa.Table, bool]]:
        r, ck, O = self._rng(_S_ORDERS + 100), self.clock, self.orders  # noqa: E741, N806
        past = np.flatnonzero(O["past"])
        no = len(past)
        p, t = O["p"][past], O["t"][past]
        channel = O["channel"][past]
        acct = (
            self.has_raw_account[p]
            & (t >= self.t_acc[p])
            & (channel != _STAFF)
            & ((r.random(no) >= 0.15) | (t == self.t_acc[p]))
        )
        linked = self.phone_on_account[p]
        two = self.two_emails[p]
        u = r.random((6, no))
        secondary = two & ((acct & (u[0] < 0.4)) | (~acct & linked & (u[0] < 0.3)))
        staff = channel == _STAFF
        junk = ~acct & linked & (channel == _WEB) & ~secondary & (u[1] < 0.03)
        missing = ~acct & linked & (channel == _WEB) & ~secondary & ~junk & (u[2] < 0.01)
        force_phone = (~acct & secondary) | junk | staff | missing
        genuine = _email_variant(
            pc.if_else(
                pa.array(secondary), self.email2.take(pa.array(p)), self.email.take(pa.array(p))
            ),
            r,
            0.3,
        )
        which = np.select([staff, junk, missing], [1, 2, 3], 0)
        email = choose(
            which,
            genuine,
            pa.array([self.cfg.shop_email] * no, pa.string()),
            pick(JUNK_EMAILS, r.integers(0, len(JUNK_EMAILS), no)),
            pa.nulls(no, pa.string()),
        )
        has_phone = self.has_phone[p] & (force_phone | (u[3] < 0.45))
        junk_phone = ~force_phone & ~has_phone & (u[4] < 0.015)
        phone = choose(
            np.select([has_phone, junk_phone], [0, 1], 2),
            self._phones(p, r),
            pick(JUNK_PHONES, r.integers(0, len(JUNK_PHONES), no)),
            pa.nulls(no, pa.string()),
        )
        dev = self._device_at(p, t, r)
        dev = np.where(channel == _INSTORE, len(self.dev_p), dev)
        anon_pool = pa.concat_arrays([self.dev_ids, pa.array([TABLET_ANONYMOUS_ID])])
        anon = null_where(anon_pool.take(pa.array(dev)), staff)
        customer_id = null_where(self.customer_id.take(pa.array(p)), ~acct)
        # ids in time order
        rank = np.empty(no, dtype=np.int64)
        rank[np.argsort(t, kind="stable")] = np.arange(no)
        order_id = padded_ids("O", self.counters.orders + 1 + rank, 9)
        self.counters.orders += no
        status = O["status"][past]
        code = O["code"][past]
        n_past = np.bincount(p, minlength=self.n)
        self.stats.update(
            persons=self.n,
            buyers=int((n_past > 0).sum()),
            one_time_buyers=int((n_past == 1).sum()),
            accounts=int(self.has_raw_account.sum()),
            orders=no,
            guest_orders=int((~acct).sum()),
            refunded_orders=int((O["status"][past] >= 2).sum()),
        )
        self.past = {
            "p": p,
            "t": t,
            "acct": acct,
            "order_id": order_id,
            "email": email,
            "customer_id": customer_id,
            "dev": dev,
            "channel": channel,
            "status": status,
            "staple": O["staple"][past],
        }
        yield (
            "orders",
            pa.table(
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "email": email,
                    "phone": phone,
                    "anonymous_id": anon,
                    "ordered_at": timestamps(ck.start_us, t),
                    "status": pick(("paid", "cancelled", "refunded", "partially_refunded"), status),
                    "currency": pa.array([self.cfg.currency] * no, pa.string()),
                    "subtotal": money(O["subtotal"][past]),
                    "discount": money(O["discount"][past]),
                    "shipping": money(O["shipping"][past]),
                    "tax": money(O["tax"][past]),
                    "total": money(O["total"][past]),
                    "discount_code": null_where(
                        pick(self.code_names, np.maximum(code, 0)), code < 0
                    ),
                }
            ),
            False,
        )
        # order_items
        L = self.lines  # noqa: N806
        pos = np.full(len(O["p"]), -1)
        pos[past] = np.arange(no)
        lp = pos[L["o"]]
        lk = lp >= 0
        line_no = rank_in_group(np.bincount(lp[lk], minlength=no))
        self.stats["order_lines"] = len(line_no)
        yield (
            "order_items",
            pa.table(
                {
                    "order_id": order_id.take(pa.array(lp[lk])),
                    "line_number": pa.array((line_no + 1).astype(np.int32)),
                    "product_id": self.cat.product_ids.take(pa.array(L["prod"][lk])),
                    "quantity": pa.array(L["qty"][lk].astype(np.int32)),
                    "unit_price": money(L["price"][lk]),
                    "discount": money(L["disc"][lk]),
                }
            ),
            False,
        )
        # refunds
        ref = np.flatnonzero(status >= 2)
        amount = O["refunded"][past][ref]
        split = (status[ref] == 2) & (r.random(len(ref)) < 0.15)
        first_amt = np.where(split, np.round(amount * r.uniform(0.3, 0.7, len(ref))), amount)
        first_amt = first_amt.astype(np.int64)
        at = O["refund_at"][past][ref]
        second_at = at + r.exponential(3, len(ref))
        split &= second_at < ck.t_end
        first_amt = np.where(split, first_amt, amount)
        rows = np.concatenate([ref, ref[split]])
        amounts = np.concatenate([first_amt, (amount - first_amt)[split]])
        when = np.concatenate([at, second_at[split]])
        reason = O["reason"][past][rows]
        yield (
            "refunds",
            pa.table(
                {
                    "order_id": order_id.take(pa.array(rows)),
                    "refunded_at": timestamps(ck.start_us, when),
                    "amount": money(amounts),
                    "reason": pick(V.REFUND_REASONS, reason),
                }
            ),
            False,
        )
        fut = np.flatnonzero(~O["past"])
        yield (
            "future_orders",
            pa.table(
                {
                    "true_person_id": self._person_ids(O["p"][fut]),
                    "ordered_at": timestamps(ck.start_us, O["t"][fut]),
                    "status": pick(
                        ("paid", "cancelled", "refunded", "partially_refunded"), O["status"][fut]
                    ),
                    "net_amount": money(O["net"][fut]),
                    "n_lines": pa.array(O["n_lines"][fut].astype(np.int32)),
                    "n_items": pa.array(O["n_items"][fut].astype(np.int32)),
                    "used_discount_code": pa.array(O["code"][fut] >= 0),
                }
            ),
            True,
        )

    def _person_ids(self, p: np.ndarray) -> pa.Array:
        return padded_ids("TP", self.gidx[p] + 1, 8)

    # --- web/app events -------------------------------------------------------------------
    def _events(self) -> pa.Table:
        r, ck, cat, n = self._rng(_S_EVENTS), self.clock, self.cat, self.n
        C, P = self.cand, self.past  # noqa: N806
        no = len(P["p"])
        # past positions of realised orders (orders index -> past index)
        pos = np.full(len(self.orders["p"]), -1)
        pos[np.flatnonzero(self.orders["past"])] = np.arange(no)
        c_order = np.where(C["order"] >= 0, pos[np.maximum(C["order"], 0)], -1)
        c_valid = ~((c_order >= 0) & (P["channel"][np.maximum(c_order, 0)] == _STAFF))
        c_valid &= (c_order >= 0) | ~C["happens"]
        sp = [C["p"]]
        st = [C["t"]]
        kind = [np.where(c_order >= 0, 0, 1)]
        sorder = [c_order]
        # abandoned carts and browsing, proportional to activity
        n_past = self.n_orders_past
        k_cart = r.poisson(np.where(self.buyer, 0.25 + 0.2 * n_past, 0.3))
        k_browse = r.poisson(np.where(self.buyer, 0.3 + 0.12 * n_past, 1.0))
        for k, kd in ((k_cart, 2), (k_browse, 3)):
            pp = expand(k)
            lo_t = self.acq[pp] - 5
            sp.append(pp)
            st.append(lo_t + r.random(len(pp)) * (self.last_activity[pp] - lo_t))
            kind.append(np.full(len(pp), kd))
            sorder.append(np.full(len(pp), -1))
        signup = np.flatnonzero(self.has_raw_account)
        sp.append(signup)
        st.append(self.t_acc[signup] - 0.003)
        kind.append(np.full(len(signup), 4))
        sorder.append(np.full(len(signup), -1))
        s_p, s_t, s_kind, s_order = map(np.concatenate, (sp, st, kind, sorder))
        ns = len(s_p)
        valid = np.concatenate([c_valid, np.ones(ns - len(c_valid), bool)])
        dev = self._device_at(s_p, s_t, r)
        shop = s_kind == 0
        dev[shop] = P["dev"][s_order[shop]]
        has_acc = self.has_raw_account[s_p] & (s_t >= self.t_acc[s_p])
        login = np.where(
            shop,
            P["acct"][np.maximum(s_order, 0)]
            & ((P["channel"][np.maximum(s_order, 0)] == _INSTORE) | (r.random(ns) < 0.7)),
            has_acc & (r.random(ns) < np.where(s_kind == 2, 0.5, 0.25)),
        )
        login &= s_kind != 4
        logged_cart = (s_kind == 2) & login & valid
        self.cart_sessions = (s_p[logged_cart], s_t[logged_cart])
        instore = shop & (P["channel"][np.maximum(s_order, 0)] == _INSTORE)
        cnt = np.zeros((8, ns), dtype=np.int64)
        cnt[_PV] = np.select(
            [instore, s_kind <= 1, s_kind == 2, s_kind == 3, s_kind == 4],
            [0, 1 + r.poisson(0.3, ns), 1 + r.poisson(0.8, ns), 1 + r.poisson(1.2, ns), 1],
        )
        cnt[_SEARCH] = (s_kind == 3) & (r.random(ns) < 0.35)
        cnt[_SIGNUP] = s_kind == 4
        cnt[_LOGIN] = login
        browse_views = np.select(
            [s_kind == 2, s_kind == 3], [1 + r.poisson(0.8, ns), r.poisson(1.2, ns)], 0
        )
        cart_adds = np.where(s_kind == 2, np.minimum(1 + r.poisson(0.3, ns), browse_views), 0)
        cnt[_CHECKOUT] = shop | ((s_kind == 2) & (r.random(ns) < 0.45))
        cnt[_PURCHASE] = shop
        cnt[:, ~valid] = 0
        browse_views[~valid] = 0
        cart_adds[~valid] = 0
        # rows without products
        parts_s, parts_slot, parts_prod, parts_in = [], [], [], []
        for slot in (_PV, _SEARCH, _SIGNUP, _LOGIN, _CHECKOUT, _PURCHASE):
            idx = expand(cnt[slot])
            parts_s.append(idx)
            parts_slot.append(np.full(len(idx), slot))
            parts_prod.append(np.full(len(idx), -1))
            parts_in.append(np.full(len(idx), -1))
        # product rows of shop sessions: a view per candidate line, a cart add per line in stock
        CL = self.cand_lines  # noqa: N806
        lv = c_valid[CL["c"]]
        c, prod, oos = CL["c"][lv], CL["prod"][lv], CL["oos"][lv]
        parts_s += [c, c[~oos]]
        parts_slot += [np.full(len(c), _VIEW), np.full(int((~oos).sum()), _CART)]
        parts_prod += [prod, prod[~oos]]
        parts_in += [(~oos).astype(np.int64), np.ones(int((~oos).sum()), dtype=np.int64)]
        # product rows of browse/cart sessions
        vs = expand(browse_views)
        vprod = cat.sample_popular(r, len(vs))
        vin = (~cat.out_of_stock(vprod, s_t[vs])).astype(np.int64)
        add = rank_in_group(browse_views) < cart_adds[vs]
        parts_s += [vs, vs[add]]
        parts_slot += [np.full(len(vs), _VIEW), np.full(int(add.sum()), _CART)]
        parts_prod += [vprod, vprod[add]]
        parts_in += [vin, vin[add]]
        e_s, e_slot, e_prod, e_in = map(np.concatenate, (parts_s, parts_slot, parts_prod, parts_in))
        o = np.argsort(e_s * 8 + e_slot, kind="stable")
        e_s, e_slot, e_prod, e_in = e_s[o], e_slot[o], e_prod[o], e_in[o]
        off = grouped_cumsum(r.exponential(40 / 86_400, len(e_s)), e_s)
        total = np.zeros(ns)
        ends = np.flatnonzero(np.r_[e_s[1:] != e_s[:-1], True])
        total[e_s[ends]] = off[ends]
        e_t = s_t[e_s] + off - np.where(shop[e_s], total[e_s], 0.0)
        keep = (e_t >= 0) & (e_t < ck.t_end)
        keep = np.flatnonzero(keep)
        keep = keep[np.argsort(e_t[keep], kind="stable")]  # event ids increase with time
        e_s, e_slot, e_prod, e_in = e_s[keep], e_slot[keep], e_prod[keep], e_in[keep]
        e_t = e_t[keep]
        ne = len(e_s)
        ep = s_p[e_s]
        # identifiers: only login/signup/purchase events carry customer_id/email
        is_id = (e_slot == _LOGIN) | (e_slot == _SIGNUP)
        is_buy = e_slot == _PURCHASE
        ref = np.where(is_buy, n + s_order[e_s], ep)
        cust_pool = pa.concat_arrays([self.customer_id, P["customer_id"]])
        email_pool = pa.concat_arrays([self.account_email, P["email"]])
        with_email = is_buy | (e_slot == _SIGNUP) | ((e_slot == _LOGIN) & (r.random(ne) < 0.25))
        anon_pool = pa.concat_arrays([self.dev_ids, pa.array([TABLET_ANONYMOUS_ID])])
        table = pa.table(
            {
                "event_id": padded_ids("EV", self.counters.events + 1 + np.arange(ne), 10),
                "anonymous_id": anon_pool.take(pa.array(dev[e_s])),
                "customer_id": cust_pool.take(pa.array(ref, mask=~(is_id | is_buy))),
                "email": email_pool.take(pa.array(ref, mask=~with_email)),
                "event_type": pick(_SLOT_NAMES, e_slot),
                "product_id": self.cat.product_ids.take(pa.array(e_prod, mask=e_prod < 0)),
                "in_stock": pa.array(e_in == 1, mask=e_in < 0),
                "occurred_at": timestamps(ck.start_us, e_t),
            }
        )
        self.counters.events += ne
        self.stats["events"] = ne
        # devices actually seen (for the anonymous_id truth)
        self.dev_seen = np.bincount(dev[e_s], minlength=len(self.dev_p) + 1) > 0
        self.dev_seen[P["dev"][P["channel"] != _STAFF]] = True
        # identified: an order or a login/signup event ties the device to its owner
        self.dev_identified = np.zeros(len(self.dev_p) + 1, dtype=bool)
        self.dev_identified[P["dev"][P["channel"] != _STAFF]] = True
        self.dev_identified[dev[e_s[is_id]]] = True
        return table

    # --- e-mail (MAP) ---------------------------------------------------------------------
    def _email(self) -> pa.Table:
        r, ck, n = self._rng(_S_EMAIL), self.clock, self.n
        sub_start = np.where(
            self.buyer & (r.random(n) < 0.6), self.t0 + 0.001, self.acq + r.exponential(2, n)
        )
        subscribed = self.subscriber & (sub_start < ck.t_end)
        t_opt = sub_start + r.exponential(np.where(self.unengaged, 400, 1100))
        mech = r.choice(3, n, p=[0.6, 0.3, 0.1])
        bouncer = subscribed & (r.random(n) < 0.02)
        use2 = self.two_emails & (r.random(n) < 0.3)
        self.sub = {
            "start": sub_start,
            "on": subscribed,
            "t_opt": t_opt,
            "mech": mech,
            "use2": use2,
        }
        base = pc.utf8_lower(pc.if_else(pa.array(use2), self.email2, self.email))
        self.sub_email = base
        end = np.minimum(t_opt, ck.t_end)
        # newsletter grid
        every = float(self.cfg.newsletter_every_days)
        k0 = np.ceil((sub_start - 0.4) / every).astype(np.int64)
        k1 = np.ceil((end - 0.4) / every).astype(np.int64)
        cnt = np.where(subscribed, np.maximum(k1 - k0, 0), 0)
        np_ = expand(cnt)
        sends_p = [np_]
        sends_t = [(k0[np_] + rank_in_group(cnt)) * every + 0.4 + r.uniform(0, 0.05, len(np_))]
        sends_w = [np.full(len(np_), _WF["newsletter"])]
        # triggered workflows
        subs = np.flatnonzero(subscribed)
        wp = np.repeat(subs, 3)
        sends_p.append(wp)
        sends_t.append(sub_start[wp] + np.tile([0.01, 2.4, 6.4], len(subs)))
        sends_w.append(np.full(len(wp), _WF["welcome"]))
        cp, ct = self.cart_sessions
        sends_p.append(cp)
        sends_t.append(ct + 0.15)
        sends_w.append(np.full(len(cp), _WF["cart_abandonment"]))
        P = self.past  # noqa: N806
        ok = (P["status"] != 1) & (r.random(len(P["p"])) < 0.6)
        sends_p.append(P["p"][ok])
        sends_t.append(P["t"][ok] + 10)
        sends_w.append(np.full(int(ok.sum()), _WF["post_purchase"]))
        st = P["staple"]
        sends_p.append(P["p"][st])
        sends_t.append(P["t"][st] + self.cycle[P["p"][st]] - 5)
        sends_w.append(np.full(int(st.sum()), _WF["replenishment"]))
        last_order = np.full(n, -np.inf)
        np.maximum.at(last_order, P["p"], P["t"])
        wb = np.flatnonzero(np.isfinite(last_order) & (last_order + 180 < ck.t_end))
        sends_p.append(wb)
        sends_t.append(last_order[wb] + 180)
        sends_w.append(np.full(len(wb), _WF["winback"]))
        p, t, w = map(np.concatenate, (sends_p, sends_t, sends_w))
        keep = subscribed[p] & (t >= sub_start[p]) & (t < end[p])
        p, t, w = p[keep], t[keep], w[keep]
        o = np.lexsort((t, p))
        p, t, w = p[o], t[o], w[o]
        # hard bounces end the subscription at the first send
        first = np.r_[True, p[1:] != p[:-1]] if len(p) else np.zeros(0, bool)
        first_t = np.full(n, np.inf)
        first_t[p[first]] = t[first]
        keep = ~bouncer[p] | (t <= first_t[p])
        p, t, w, first = p[keep], t[keep], w[keep], first[keep]
        bounce = bouncer[p] & first
        ns = len(p)
        # engagement: unengaged subscribers' open rate decays to ~0 within months
        base_open = np.where(self.unengaged, r.beta(2, 8, n), r.beta(4, 5, n))
        age = t - sub_start[p]
        p_open = base_open[p] * np.where(self.unengaged[p], np.exp(-age / 45), np.exp(-age / 1500))
        p_open *= np.where(t > self.dropout[p], 0.5, 1.0)
        p_open *= np.where(w == _WF["newsletter"], 1.0, 1.4)
        opened = ~bounce & (r.random(ns) < np.minimum(p_open, 0.95))
        p_click = np.where((w == _WF["cart_abandonment"]) | (w == _WF["replenishment"]), 0.3, 0.18)
        clicked = opened & (r.random(ns) < p_click)
        t_open = t + r.exponential(0.5, ns)
        t_click = t_open + r.exponential(0.01, ns)
        # unsubscribe / spam complaint: on the last message before opting out
        last = np.r_[p[1:] != p[:-1], True] if ns else np.zeros(0, bool)
        leave = last & (t_opt[p] < ck.t_end) & ((mech[p] == _UNSUB) | (mech[p] == _SPAM))
        leave &= ~bounce
        msg = self.counters.messages + 1 + np.arange(ns)
        self.counters.messages += ns
        ev_m = [
            np.arange(ns),
            np.flatnonzero(~bounce),
            np.flatnonzero(bounce),
            np.flatnonzero(opened),
            np.flatnonzero(clicked),
            np.flatnonzero(leave),
        ]
        ev_type = [0, 1, 5, 2, 3, -1]
        ev_t = [t, t + 0.0007, t + 0.0007, t_open, t_click, t_opt[p]]
        parts_m, parts_type, parts_t = [], [], []
        for m_idx, et, tt in zip(ev_m, ev_type, ev_t, strict=True):
            parts_m.append(m_idx)
            parts_t.append(tt[m_idx])
            if et >= 0:
                parts_type.append(np.full(len(m_idx), et))
            else:
                parts_type.append(np.where(mech[p[m_idx]] == _SPAM, 6, 4))
        em, etype, et = map(np.concatenate, (parts_m, parts_type, parts_t))
        o = np.argsort(et, kind="stable")
        em, etype, et = em[o], etype[o], et[o]
        keep = et < ck.t_end
        em, etype, et = em[keep], etype[keep], et[keep]
        ne = len(em)
        table = pa.table(
            {
                "event_id": padded_ids("EM", self.counters.email_events + 1 + np.arange(ne), 10),
                "email": base.take(pa.array(p[em])),
                "workflow": pick(V.EMAIL_WORKFLOWS, w[em]),
                "message_id": padded_ids("MSG", msg[em], 10),
                "event_type": pick(
                    (
                        "sent",
                        "delivered",
                        "open",
                        "click",
                        "unsubscribe",
                        "bounce",
                        "spam_complaint",
                    ),
                    etype,
                ),
                "occurred_at": timestamps(ck.start_us, et),
            }
        )
        self.counters.email_events += ne
        # unengaged in raw: subscribed, no open/click in the last 180 days before end_date
        recent = np.zeros(n, bool)
        rec = (etype >= 2) & (etype <= 3) & (et >= ck.t_end - 180)
        recent[p[em[rec]]] = True
        self.raw_unengaged = subscribed & (end >= ck.t_end) & ~recent & ~bouncer
        self.bouncer = bouncer
        return table

    # --- consents -------------------------------------------------------------------------
    def _consents(self) -> pa.Table:
        r, ck, n, S = self._rng(_S_CONSENT), self.clock, self.n, self.sub  # noqa: N806
        rows: list[dict[str, np.ndarray]] = []

        def add(
            p: np.ndarray,
            t: np.ndarray,
            channel: int,
            status: int,
            source: int | np.ndarray,
            basis: int | np.ndarray,
            with_email: np.ndarray,
            with_phone: np.ndarray,
            with_cust: np.ndarray,
        ) -> None:
            k = len(p)
            rows.append(
                {
                    "p": p,
                    "t": t,
                    "channel": np.full(k, channel),
                    "status": np.full(k, status),
                    "source": np.broadcast_to(source, (k,)).copy(),
                    "basis": np.broadcast_to(basis, (k,)).copy(),
                    "email": with_email,
                    "phone": with_phone,
                    "cust": with_cust,
                }
            )

        subs = np.flatnonzero(S["on"])
        t_in = S["start"][subs]
        early = (self.acq[subs] < 30) & (r.random(len(subs)) < 0.5)
        at_checkout = self.buyer[subs] & (np.abs(t_in - self.t0[subs] - 0.001) < 1e-9)
        source = np.select(
            [early, at_checkout, self.buyer[subs]],
            [4, 0, 1],
            np.where(r.random(len(subs)) < 0.6, 2, 1),
        )
        basis = np.where((source == 0) & (r.random(len(subs)) < 0.3), 1, 0)
        cust = self.has_raw_account[subs] & ((self.t_acc[subs] <= t_in) | S["use2"][subs])
        add(
            subs,
            t_in,
            0,
            0,
            source,
            basis,
            np.ones(len(subs), bool),
            np.zeros(len(subs), bool),
            cust,
        )
        # re-confirmations in the preference centre (duplicates, latest wins)
        re_ = subs[r.random(len(subs)) < 0.05]
        t_re = S["start"][re_] + r.random(len(re_)) * (
            np.minimum(S["t_opt"][re_], ck.t_end) - S["start"][re_]
        )
        add(
            re_,
            t_re,
            0,
            0,
            3,
            0,
            np.ones(len(re_), bool),
            np.zeros(len(re_), bool),
            self.has_raw_account[re_] & ((self.t_acc[re_] <= t_re) | S["use2"][re_]),
        )
        out = subs[(S["mech"][subs] != _SPAM) & (S["t_opt"][subs] < ck.t_end)]
        t_out = S["t_opt"][out]
        add(
            out,
            t_out,
            0,
            1,
            3,
            0,
            np.ones(len(out), bool),
            np.zeros(len(out), bool),
            self.has_raw_account[out] & ((self.t_acc[out] <= t_out) | S["use2"][out]),
        )
        # sms: phone given at checkout; opt-outs and some re-opt-ins later
        sms = np.flatnonzero(
            self.buyer & self.has_phone & (r.random(n) < 0.3) & (self.t0 < ck.t_end)
        )
        t_s = self.t0[sms] + 0.002
        cust = self.has_raw_account[sms] & (self.t_acc[sms] <= t_s)
        email = ~cust | (r.random(len(sms)) < 0.5)
        add(sms, t_s, 1, 0, 0, 0, email, np.ones(len(sms), bool), cust)
        o1 = r.random(len(sms)) < 0.3
        t_o = t_s + r.exponential(400, len(sms))
        add(sms[o1], t_o[o1], 1, 1, 3, 0, email[o1], np.ones(int(o1.sum()), bool), cust[o1])
        o2 = o1 & (r.random(len(sms)) < 0.25)
        t_r = t_o + r.exponential(200, len(sms))
        add(sms[o2], t_r[o2], 1, 0, 3, 0, email[o2], np.ones(int(o2.sum()), bool), cust[o2])
        # push: app users with an account
        push = np.flatnonzero(self.has_raw_account & (r.random(n) < 0.15))
        t_p = self.t_acc[push] + r.exponential(30, len(push))
        ones, zeros = np.ones(len(push), bool), np.zeros(len(push), bool)
        add(push, t_p, 2, 0, 3, 0, zeros, zeros, ones)
        o3 = r.random(len(push)) < 0.35
        t_po = t_p + r.exponential(300, len(push))
        add(push[o3], t_po[o3], 2, 1, 3, 0, zeros[o3], zeros[o3], ones[o3])
        c = {k: np.concatenate([row[k] for row in rows]) for k in rows[0]}
        keep = c["t"] < ck.t_end
        c = {k: v[keep] for k, v in c.items()}
        o = np.argsort(c["t"], kind="stable")
        c = {k: v[o] for k, v in c.items()}
        p = c["p"]
        k = len(p)
        is_email = c["channel"] == 0
        # e-mail channel rows use the subscribed address; others the private one
        email_base = pc.if_else(
            pa.array(is_email & S["use2"][p]),
            self.email2.take(pa.array(p)),
            self.email.take(pa.array(p)),
        )
        email = null_where(_email_variant(email_base, r, 0.1), ~c["email"])
        self.consent_p = p
        self.consent_offset = self.counters.consents
        self.counters.consents += k
        return pa.table(
            {
                "email": email,
                "phone": null_where(self._phones(p, r), ~c["phone"]),
                "customer_id": null_where(self.customer_id.take(pa.array(p)), ~c["cust"]),
                "channel": pick(("email", "sms", "push"), c["channel"]),
                "status": pick(("opt_in", "opt_out"), c["status"]),
                "source": pick(V.CONSENT_SOURCES, c["source"]),
                "legal_basis": pick(("consent", "legitimate_interest"), c["basis"]),
                "recorded_at": timestamps(ck.start_us, c["t"]),
            }
        )

    # --- ground truth ---------------------------------------------------------------------
    def _record_persons(self) -> pa.Table:
        cust = self.customer_rows
        P = self.past  # noqa: N806
        k = len(self.consent_p)
        ids = pa.concat_arrays(
            [
                self.customer_id.take(pa.array(cust)),
                P["order_id"],
                s(self.consent_offset + np.arange(k)),
            ]
        )
        types = np.concatenate(
            [np.zeros(len(cust), np.int64), np.ones(len(P["p"]), np.int64), np.full(k, 2)]
        )
        persons = np.concatenate([cust, P["p"], self.consent_p])
        return pa.table(
            {
                "record_type": pick(("customer", "order", "consent"), types),
                "record_id": ids,
                "true_person_id": self._person_ids(persons),
            }
        )

    def _anonymous_persons(self) -> pa.Table:
        seen = np.flatnonzero(self.dev_seen[:-1])
        owner = self._person_ids(self.dev_p[seen])
        identified = self.dev_identified[seen]
        table = pa.table(
            {
                "anonymous_id": self.dev_ids.take(pa.array(seen)),
                "true_person_id": null_where(owner, ~identified),
                "owner_person_id": owner,
                "is_identified": pa.array(identified),
            }
        )
        if self.ci == 0:
            tablet = pa.table(
                {
                    "anonymous_id": pa.array([TABLET_ANONYMOUS_ID]),
                    "true_person_id": pa.nulls(1, pa.string()),
                    "owner_person_id": pa.nulls(1, pa.string()),
                    "is_identified": pa.array([False]),
                }
            )
            table = pa.concat_tables([tablet, table])
        return table

    def _persons_table(self) -> pa.Table:
        ck, n = self.clock, self.n
        total_orders = self.n_orders_past + self.n_orders_future

        def ts_or_null(x: np.ndarray, mask: np.ndarray) -> pa.Array:
            return null_where(timestamps(ck.start_us, np.where(mask, x, 0.0)), ~mask)

        alive_end = self.dropout >= ck.t_end
        staple = self.staple
        return pa.table(
            {
                "true_person_id": self._person_ids(np.arange(n)),
                "archetype": pick(ARCHETYPES, self.arch),
                "country": self.country,
                "acquired_at": timestamps(ck.start_us, self.acq),
                "purchase_rate": pa.array(self.rate),
                "spend_level": pa.array(self.spend),
                "mean_spend": pa.array(
                    self.revenue / np.maximum(total_orders, 1) / 100, mask=total_orders == 0
                ),
                "dropout_at": ts_or_null(self.dropout, ~alive_end & self.buyer),
                "lifetime_end_at": ts_or_null(self.dropout, self.buyer & (self.dropout < ck.t_fut)),
                "churn_cause": null_where(
                    pick(("none", "natural", "stockout", "bad_experience"), self.churn_cause),
                    self.churn_cause == 0,
                ),
                "hit_stockout": pa.array(self.first_hit_t < ck.t_end),
                "first_stockout_at": ts_or_null(self.first_hit_t, self.first_hit_t < ck.t_end),
                "had_bad_refund": pa.array(self.bad_t < ck.t_end),
                "has_account": pa.array(self.has_raw_account),
                "has_two_emails": pa.array(self.two_emails),
                "is_subscriber": pa.array(self.sub["on"]),
                "is_unengaged_type": pa.array(self.unengaged & self.sub["on"]),
                "is_unengaged_subscriber": pa.array(self.raw_unengaged),
                "is_discount_only": pa.array(self.is_disc),
                "favourite_category": pick([c[0] for c in V.CATEGORIES], self.fav),
                "staple_product_id": self.cat.product_ids.take(
                    pa.array(np.maximum(staple, 0), mask=staple < 0)
                ),
                "staple_cycle_days": pa.array(self.cycle.astype(np.int32), mask=staple < 0),
                "n_orders": pa.array(self.n_orders_past.astype(np.int32)),
                "n_future_orders": pa.array(self.n_orders_future.astype(np.int32)),
                "primary_email": self.email,
            }
        )
