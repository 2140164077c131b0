"""Buy-till-you-die models: BG/NBD (purchase counts) and Gamma-Gamma (spend per order).

Implemented from the published papers with scipy instead of depending on `lifetimes`
(unmaintained since 2020; see the README's "Models" section for the reasoning):

- Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2) -- log-likelihood (eq. 6), P(alive) (eq. 13),
  conditional expectation (eq. 10).
- Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" -- likelihood and the
  conditional expectation of average spend.

Everything works on a plain transactions table (customer, timestamp, amount), so a shop
whose only data is an order export gets a lifetime-value model too:

    summary = summary_from_transactions(df, "customer", "ordered_at", "amount", last_day)
    btyd = BTYDModel().fit(summary)
    btyd.predict(summary, horizon_days=365)

Conventions as in Fader, Hardie & Lee (2005) and `lifetimes`: frequency = repeat purchase
days, recency t_x = last purchase day minus first purchase day, and T = the last day of
observation (inclusive) minus the first purchase day -- a customer who first bought on the
last observed day has T = 0. Time is in days unless the summary was built with
`unit="week"` (the papers' unit): the rate parameter `alpha` is in that unit (see
`TIME_UNITS`), and prediction horizons (`horizon_days`) are then in that unit.
Identical (frequency, recency, T) rows are collapsed into weights before fitting, which
makes the fit at a million customers a matter of seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


# ---------------------------------------------------------------------------------------
# Summary data
# ---------------------------------------------------------------------------------------


TIME_UNITS = {"day": 1, "week": 7}  # days per unit


def summary_from_transactions(
    transactions: pd.DataFrame,
    customer_col: str,
    datetime_col: str,
    monetary_col: str | None,
    observation_end: pd.Timestamp | str,
    unit: str = "day",
) -> pd.DataFrame:
    """RFM summary per customer from transactions on or before `observation_end`.

    `observation_end` is the last day of observation, inclusive (FHL's "end of week 39").
    Purchases on the same calendar day (UTC) are one purchase (their amounts summed), as in
    the papers and in `lifetimes`. `frequency` counts repeat purchase days; `recency` and
    `T` are measured from the first purchase day, in `unit` ("day" or "week");
    `monetary_value` is the mean amount of the repeat purchase days (0 when there are
    none), matching the Gamma-Gamma convention.
    """
    if unit not in TIME_UNITS:
        raise ValueError(f"unit must be one of {sorted(TIME_UNITS)}, not {unit!r}")
    last_day = pd.Timestamp(observation_end)
    if last_day.tzinfo is not None:
        last_day = last_day.tz_convert("UTC").tz_localize(None)
    last_day = last_day.normalize()

    ts = pd.to_datetime(transactions[datetime_col], utc=True).dt.tz_localize(None)
    frame = pd.DataFrame(
        {
            "customer": transactions[customer_col].to_numpy(),
            "day": ts.dt.normalize(),
            "amount": (
                pd.to_numeric(transactions[monetary_col], errors="coerce").astype("float64")
                if monetary_col
                else 0.0
            ),
        }
    )
    frame = frame[(frame["day"] <= last_day) & frame["customer"].notna()]
    daily = frame.groupby(["customer", "day"], sort=True, observed=True)["amount"].sum()
    daily = daily.reset_index()
    day_num = (daily["day"] - last_day).dt.days.to_numpy()  # <= 0: days before the last day
    daily["d"] = day_num
    grouped = daily.groupby("customer", sort=True, observed=True)
    first = grouped["d"].transform("min")
    is_repeat = daily["d"] > first
    agg = grouped.agg(first=("d", "min"), last=("d", "max"), n=("d", "size"))
    repeat_amount = daily["amount"].where(is_repeat, 0.0).groupby(daily["customer"]).sum()
    per_unit = float(TIME_UNITS[unit])
    out = pd.DataFrame(index=agg.index)
    out["frequency"] = (agg["n"] - 1).astype("int64")
    out["recency"] = (agg["last"] - agg["first"]).astype("float64") / per_unit
    out["T"] = (-agg["first"]).astype("float64") / per_unit
    freq = out["frequency"].to_numpy()
    out["monetary_value"] = np.where(
        freq > 0, repeat_amount.reindex(out.index).to_numpy() / np.maximum(freq, 1), 0.0
    )
    out.index.name = customer_col
    return out


def collapse(summary: pd.DataFrame, columns: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray]:
    """Unique rows of `columns` and how many customers share each (the fit's weights)."""
    counts = summary.groupby(list(columns), sort=True, observed=True).size()
    return counts.index.to_frame(index=False), counts.to_numpy(dtype="float64")


# ---------------------------------------------------------------------------------------
# BG/NBD
# ---------------------------------------------------------------------------------------


def bgnbd_log_likelihood(
    params: tuple[float, float, float, float],
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,  # noqa: N803 - the papers' notation
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    x = np.asarray(frequency, dtype="float64")
    tx = np.asarray(recency, dtype="float64")
    t_obs = np.asarray(T, dtype="float64")
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    ln_a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    ln_a3 = -(r + x) * np.log(alpha + t_obs)
    has_repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_a4 = np.where(
            has_repeat,
            np.log(a) - np.log(np.where(has_repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4)


def _fit_positive(
    neg_ll, x0: np.ndarray, n_params: int, max_iter: int = 500
) -> tuple[np.ndarray, float]:
    """Minimise a negative log-likelihood over positive parameters (optimised on logs)."""

    def objective(log_params: np.ndarray) -> float:
        value = neg_ll(np.exp(log_params))
        return float(value) if np.isfinite(value) else 1e300

    best = None
    # The problem is tiny (4 parameters): BLAS threads only add contention.
    with threadpool_limits(limits=1):
        best = _minimise(objective, x0, n_params, max_iter)
    return np.exp(best.x), float(best.fun)


def _minimise(objective, x0: np.ndarray, n_params: int, max_iter: int):
    """L-BFGS-B on log-parameters (a second start if the first fails), then a short
    Nelder-Mead polish, which is robust where the surface is flat in one direction."""
    best = None
    for start in (x0, np.ones(n_params)):
        res = optimize.minimize(
            objective,
            np.log(start),
            method="L-BFGS-B",
            bounds=[(-12.0, 12.0)] * n_params,
            options={"maxiter": max_iter, "ftol": 1e-12, "gtol": 1e-8},
        )
        if best is None or res.fun < best.fun:
            best = res
        if res.success and np.isfinite(res.fun) and res.fun < 1e299:
            break
    polished = optimize.minimize(
        objective,
        best.x,
        method="Nelder-Mead",
        options={"maxiter": 60 * n_params, "xatol": 1e-6, "fatol": 1e-10},
    )
    return polished if polished.fun <= best.fun else best


@dataclass
class BetaGeoModel:
    """BG/NBD: Poisson purchasing while alive, geometric dropout after each repeat purchase."""

    penalizer: float = 0.0
    params_: dict[str, float] = field(default_factory=dict)
    log_likelihood_: float = float("nan")
    n_customers_: int = 0

    def fit(
        self,
        frequency: np.ndarray,
        recency: np.ndarray,
        T: np.ndarray,  # noqa: N803
        weights: np.ndarray | None = None,
    ) -> BetaGeoModel:
        frame = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T})
        if weights is None:
            uniq, w = collapse(frame, ("frequency", "recency", "T"))
        else:
            uniq, w = frame, np.asarray(weights, dtype="float64")
        x, tx, t_obs = (uniq[c].to_numpy("float64") for c in ("frequency", "recency", "T"))
        total = w.sum()

        def neg_ll(p: np.ndarray) -> float:
            ll = (w * bgnbd_log_likelihood(tuple(p), x, tx, t_obs)).sum()
            return -ll / total + self.penalizer * float(np.sum(p**2))

        scale = max(float(np.average(t_obs, weights=w)), 1.0)
        x0 = np.array([1.0, scale, 1.0, 1.0])
        p, value = _fit_positive(neg_ll, x0, 4)
        self.params_ = dict(zip(("r", "alpha", "a", "b"), map(float, p), strict=True))
        self.log_likelihood_ = float(-value * total)
        self.n_customers_ = int(total)
        log.info("BG/NBD fitted on %d customers (%d unique rows): %s", total, len(x), self.params_)
        return self

    def _p(self) -> tuple[float, float, float, float]:
        if not self.params_:
            raise RuntimeError("BetaGeoModel is not fitted")
        return (self.params_["r"], self.params_["alpha"], self.params_["a"], self.params_["b"])

    def probability_alive(self, frequency, recency, T) -> np.ndarray:  # noqa: N803
        """P(alive at T | x, t_x, T) (eq. 13)."""
        r, alpha, a, b = self._p()
        x = np.asarray(frequency, dtype="float64")
        tx = np.asarray(recency, dtype="float64")
        t_obs = np.asarray(T, dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = (
                np.log(a)
                - np.log(np.where(x > 0, b + x - 1, 1.0))
                + (r + x) * (np.log(alpha + t_obs) - np.log(alpha + tx))
            )
        return np.where(x > 0, special.expit(-log_ratio), 1.0)

    def probability_no_purchase(self, t, frequency, recency, T) -> np.ndarray:  # noqa: N803
        """P(no purchase in (T, T+t] | history).

        Dead customers never buy; alive ones have lambda ~ Gamma(r+x, alpha+T) a posteriori
        and cannot drop out before their next purchase, so
        P = 1 - P(alive) + P(alive) * ((alpha+T) / (alpha+T+t))^(r+x).
        """
        r, alpha, _, _ = self._p()
        x = np.asarray(frequency, dtype="float64")
        t_obs = np.asarray(T, dtype="float64")
        alive = self.probability_alive(frequency, recency, T)
        stay_quiet = np.exp((r + x) * (np.log(alpha + t_obs) - np.log(alpha + t_obs + t)))
        return 1.0 - alive + alive * stay_quiet

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:  # noqa: N803
        """E[purchases in (T, T+t] | x, t_x, T] (eq. 10)."""
        r, alpha, a, b = self._p()
        x = np.asarray(frequency, dtype="float64")
        tx = np.asarray(recency, dtype="float64")
        t_obs = np.asarray(T, dtype="float64")
        t = np.broadcast_to(np.asarray(t, dtype="float64"), x.shape)
        z = t / (alpha + t_obs + t)
        with np.errstate(all="ignore"):
            hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
            term = 1.0 - np.exp((r + x) * (np.log(alpha + t_obs) - np.log(alpha + t_obs + t))) * hyp
            numer = (a + b + x - 1) / (a - 1) * term
        alive = self.probability_alive(x, tx, t_obs)
        out = numer * alive
        bad = ~np.isfinite(out) | (out < 0)
        if bad.any():
            out = out.copy()
            out[bad] = self._expected_purchases_quadrature(t[bad], x[bad], t_obs[bad]) * alive[bad]
        return out

    def _expected_purchases_quadrature(self, t, x, t_obs) -> np.ndarray:
        """E[purchases in t | alive] by integrating over p ~ Beta(a, b+x) numerically.

        Given alive, lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x) independently, and
        E[Y(t) | lambda, p] = (1 - exp(-lambda p t)) / p. Used where the closed form's
        hypergeometric function is not finite.
        """
        r, alpha, a, b = self._p()
        out = np.empty_like(t)
        for xi in np.unique(x):
            # Gauss-Jacobi nodes for the Beta(a, b+x) weight p^(a-1) (1-p)^(b+x-1) on [0, 1].
            nodes, wts = special.roots_jacobi(64, b + xi - 1, a - 1)
            p = (nodes + 1) / 2
            norm = np.exp(-(a + b + xi - 1) * np.log(2.0) - special.betaln(a, b + xi))
            rows = np.flatnonzero(x == xi)
            ti, to = t[rows, None], t_obs[rows, None]
            quiet = np.exp((r + xi) * (np.log(alpha + to) - np.log(alpha + to + p * ti)))
            out[rows] = norm * ((1 - quiet) / p) @ wts
        return out

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """E[X(t)] for a randomly chosen customer over t days after the first purchase."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype="float64")
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)

    def median_days_to_next_purchase(
        self,
        frequency,
        recency,
        T,  # noqa: N803
        cap: float,
    ) -> np.ndarray:
        """Days until P(purchased by then) reaches 1/2, capped at `cap`.

        Solves 1 - A + A * ((alpha+T)/(alpha+T+t))^(r+x) = 1/2 for t in closed form, with
        A = P(alive); if A <= 1/2 the median is beyond any horizon and `cap` is returned.
        """
        r, alpha, _, _ = self._p()
        x = np.asarray(frequency, dtype="float64")
        t_obs = np.asarray(T, dtype="float64")
        alive = self.probability_alive(frequency, recency, T)
        with np.errstate(all="ignore"):
            ratio = alive / (alive - 0.5)
            days = (alpha + t_obs) * (np.exp(np.log(ratio) / (r + x)) - 1.0)
        days = np.where(alive > 0.5, days, cap)
        return np.clip(np.nan_to_num(days, nan=cap, posinf=cap), 0.0, cap)


# ---------------------------------------------------------------------------------------
# Gamma-Gamma
# ---------------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    params: tuple[float, float, float], frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """Per-customer log-density of the mean spend m_x of x transactions (Fader & Hardie)."""
    p, q, gamma = params
    x = np.asarray(frequency, dtype="float64")
    m = np.asarray(monetary_value, dtype="float64")
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + x * m)
    )


@dataclass
class GammaGammaModel:
    """Gamma-Gamma spend model: order values ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""

    penalizer: float = 0.0
    params_: dict[str, float] = field(default_factory=dict)
    log_likelihood_: float = float("nan")
    n_customers_: int = 0

    def fit(self, frequency, monetary_value, weights: np.ndarray | None = None) -> GammaGammaModel:
        frame = pd.DataFrame({"frequency": frequency, "monetary_value": monetary_value})
        keep = (frame["frequency"] > 0) & (frame["monetary_value"] > 0)
        if weights is not None:
            w = np.asarray(weights, dtype="float64")[keep.to_numpy()]
            frame = frame[keep]
        else:
            frame, w = collapse(frame[keep], ("frequency", "monetary_value"))
        if len(frame) < 3:
            raise ValueError("Gamma-Gamma needs customers with repeat purchases and spend > 0")
        x = frame["frequency"].to_numpy("float64")
        m = frame["monetary_value"].to_numpy("float64")
        total = w.sum()

        def neg_ll(par: np.ndarray) -> float:
            ll = (w * gamma_gamma_log_likelihood(tuple(par), x, m)).sum()
            return -ll / total + self.penalizer * float(np.sum(par**2))

        mean_spend = float(np.average(m, weights=w))
        p, value = _fit_positive(neg_ll, np.array([1.0, 2.0, mean_spend]), 3)
        self.params_ = dict(zip(("p", "q", "gamma"), map(float, p), strict=True))
        self.log_likelihood_ = float(-value * total)
        self.n_customers_ = int(total)
        log.info("Gamma-Gamma fitted on %d repeat customers: %s", total, self.params_)
        return self

    def population_mean_spend(self) -> float:
        p, q, gamma = self.params_["p"], self.params_["q"], self.params_["gamma"]
        return p * gamma / (q - 1) if q > 1 else float("nan")

    def expected_average_spend(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, m_x]: a credibility-weighted mix of the population mean and m_x."""
        p, q, gamma = self.params_["p"], self.params_["q"], self.params_["gamma"]
        x = np.asarray(frequency, dtype="float64")
        m = np.asarray(monetary_value, dtype="float64")
        m = np.where(x > 0, m, 0.0)
        return p * (gamma + x * m) / (p * x + q - 1)


# ---------------------------------------------------------------------------------------
# Combined
# ---------------------------------------------------------------------------------------


@dataclass
class BTYDModel:
    """BG/NBD + Gamma-Gamma on a summary table (frequency, recency, T, monetary_value)."""

    penalizer: float = 0.0
    bgnbd: BetaGeoModel | None = None
    gamma_gamma: GammaGammaModel | None = None
    fallback_spend_: float = 0.0

    def fit(self, summary: pd.DataFrame) -> BTYDModel:
        self.bgnbd = BetaGeoModel(self.penalizer).fit(
            summary["frequency"], summary["recency"], summary["T"]
        )
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        self.fallback_spend_ = float(repeat["monetary_value"].mean()) if len(repeat) else 0.0
        try:
            self.gamma_gamma = GammaGammaModel(self.penalizer).fit(
                summary["frequency"], summary["monetary_value"]
            )
            if not np.isfinite(self.gamma_gamma.population_mean_spend()):
                raise ValueError("Gamma-Gamma q <= 1: population mean spend is infinite")
        except ValueError as exc:  # too few repeat buyers: fall back to the mean spend
            log.warning("Gamma-Gamma not usable (%s); using mean repeat spend", exc)
            self.gamma_gamma = None
        return self

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        if self.gamma_gamma is None:
            return np.full(len(summary), self.fallback_spend_)
        return self.gamma_gamma.expected_average_spend(
            summary["frequency"], summary["monetary_value"]
        )

    def predict(self, summary: pd.DataFrame, horizon_days: float = 365.0) -> pd.DataFrame:
        """Per-customer P(alive), expected purchases, expected spend and value in horizon."""
        assert self.bgnbd is not None, "fit first"
        f, r, t = summary["frequency"], summary["recency"], summary["T"]
        expected = self.bgnbd.expected_purchases(horizon_days, f, r, t)
        spend = self.expected_spend(summary)
        return pd.DataFrame(
            {
                "probability_alive": self.bgnbd.probability_alive(f, r, t),
                "expected_purchases": expected,
                "expected_average_spend": spend,
                "expected_value": expected * spend,
                "median_days_to_next_purchase": self.bgnbd.median_days_to_next_purchase(
                    f, r, t, cap=horizon_days
                ),
            },
            index=summary.index,
        )

    def describe(self, unit: str = "day") -> str:
        """The fitted parameters in words, with the time unit they are expressed in."""
        lines = []
        if self.bgnbd:
            p = self.bgnbd.params_
            lines.append(
                f"BG/NBD (time unit: {unit}): r = {p['r']:.3f}, alpha = {p['alpha']:.3f} "
                f"{unit}s (purchase rate ~ Gamma(r, alpha): mean {p['r'] / p['alpha']:.4f} "
                f"purchases per {unit}), a = {p['a']:.3f}, b = {p['b']:.3f} (dropout "
                f"probability after a purchase ~ Beta(a, b)); log-likelihood "
                f"{self.bgnbd.log_likelihood_:.1f} on {self.bgnbd.n_customers_:,} customers"
            )
        if self.gamma_gamma:
            g = self.gamma_gamma.params_
            lines.append(
                f"Gamma-Gamma (money, no time unit): p = {g['p']:.3f}, q = {g['q']:.3f}, "
                f"gamma = {g['gamma']:.3f}; mean spend per purchase "
                f"{self.gamma_gamma.population_mean_spend():.2f}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "bgnbd": self.bgnbd.params_ if self.bgnbd else None,
            "bgnbd_log_likelihood": self.bgnbd.log_likelihood_ if self.bgnbd else None,
            "gamma_gamma": self.gamma_gamma.params_ if self.gamma_gamma else None,
        }


# ---------------------------------------------------------------------------------------
# Simulation (tests and benchmarks)
# ---------------------------------------------------------------------------------------


def simulate_bgnbd_gamma_gamma(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    p: float,
    q: float,
    gamma: float,
    T_max: float,  # noqa: N803
    seed: int = 0,
    horizon: float = 0.0,
    max_purchases: int = 400,
) -> pd.DataFrame:
    """Draw customers from the BG/NBD + Gamma-Gamma process.

    Returns the summary columns over [0, T] (T uniform on [1, T_max] days since the first
    purchase) plus `future_purchases` and `future_value` in (T, T + horizon].
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    nu = rng.gamma(q, 1.0 / gamma, n)
    t_obs = np.floor(rng.uniform(1.0, T_max, n))
    # purchases until (and including) the one after which the customer drops out
    life = rng.geometric(drop)
    gaps = rng.exponential(1.0, (n, max_purchases)) / lam[:, None]
    times = np.cumsum(gaps, axis=1)
    made = np.arange(1, max_purchases + 1)[None, :] <= life[:, None]
    in_obs = made & (times <= t_obs[:, None])
    x = in_obs.sum(axis=1)
    tx = np.where(x > 0, np.take_along_axis(times, np.maximum(x - 1, 0)[:, None], 1)[:, 0], 0.0)
    spend = rng.gamma(p, 1.0, (n, max_purchases)) / nu[:, None]
    m = np.where(x > 0, (spend * in_obs).sum(axis=1) / np.maximum(x, 1), 0.0)
    in_future = made & (times > t_obs[:, None]) & (times <= t_obs[:, None] + horizon)
    return pd.DataFrame(
        {
            "frequency": x,
            "recency": tx,
            "T": t_obs,
            "monetary_value": m,
            "future_purchases": in_future.sum(axis=1),
            "future_value": (spend * in_future).sum(axis=1),
        }
    )
