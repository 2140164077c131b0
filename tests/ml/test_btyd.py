"""BG/NBD and Gamma-Gamma: published figures, hand-computed cases, parameter recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.models.btyd import (
    BetaGeoModel,
    BTYDModel,
    GammaGammaModel,
    bgnbd_log_likelihood,
    simulate_bgnbd_gamma_gamma,
    summary_from_transactions,
)

# Published CDNOW estimates (Fader, Hardie & Lee 2005; Fader & Hardie 2013), in weeks.
CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _bgnbd(params: dict[str, float]) -> BetaGeoModel:
    model = BetaGeoModel()
    model.params_ = dict(params)
    return model


def test_cdnow_conditional_expectation_matches_paper():
    # FHL (2005), section 5: a customer with x=2, t_x=30.43, T=38.86 weeks is expected to
    # make 1.226 purchases in the next 39 weeks.
    model = _bgnbd(CDNOW_BGNBD)
    assert model.expected_purchases(39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)


def test_cdnow_gamma_gamma_population_mean():
    # Fader & Hardie: the fitted distribution of mean spend has mean p*gamma/(q-1) = $35.22.
    model = GammaGammaModel()
    model.params_ = dict(CDNOW_GG)
    assert model.population_mean_spend() == pytest.approx(35.22, abs=5e-3)


def test_hand_computed_closed_forms():
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    model = _bgnbd(CDNOW_BGNBD)
    x, tx, t_obs = 2.0, 30.43, 38.86
    # P(alive) = 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+tx))^(r+x))
    by_hand = 1 / (1 + a / (b + x - 1) * ((alpha + t_obs) / (alpha + tx)) ** (r + x))
    assert model.probability_alive([x], [tx], [t_obs])[0] == pytest.approx(by_hand, rel=1e-12)
    # nobody with zero repeat purchases has died yet
    assert model.probability_alive([0], [0], [10])[0] == 1.0
    # P(no purchase in t) = 1 - A + A ((alpha+T)/(alpha+T+t))^(r+x)
    quiet = 1 - by_hand + by_hand * ((alpha + t_obs) / (alpha + t_obs + 10)) ** (r + x)
    assert model.probability_no_purchase(10, [x], [tx], [t_obs])[0] == pytest.approx(quiet)
    # log-likelihood of a one-purchase-only customer: ln[Gamma-ratio terms * (alpha/(alpha+T))^r]
    ll = bgnbd_log_likelihood((r, alpha, a, b), np.array([0.0]), np.array([0.0]), np.array([5.0]))
    assert ll[0] == pytest.approx(r * np.log(alpha / (alpha + 5.0)))
    # Gamma-Gamma: E[M | x, m] = p (gamma + x m) / (p x + q - 1)
    gg = GammaGammaModel()
    gg.params_ = dict(CDNOW_GG)
    expected = 6.25 * (15.44 + 2 * 30.0) / (6.25 * 2 + 3.74 - 1)
    assert gg.expected_average_spend([2], [30.0])[0] == pytest.approx(expected)


def test_quadrature_agrees_with_closed_form():
    model = _bgnbd({"r": 0.5, "alpha": 30.0, "a": 0.8, "b": 2.5})
    x = np.array([0.0, 1.0, 3.0, 10.0])
    tx = np.array([0.0, 20.0, 100.0, 300.0])
    t_obs = np.array([50.0, 100.0, 200.0, 320.0])
    closed = model.expected_purchases(180.0, x, tx, t_obs)
    numeric = model._expected_purchases_quadrature(np.full(4, 180.0), x, t_obs)
    assert numeric * model.probability_alive(x, tx, t_obs) == pytest.approx(closed, rel=1e-8)


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return simulate_bgnbd_gamma_gamma(
        30_000,
        r=0.5,
        alpha=30.0,
        a=0.8,
        b=2.5,
        p=6.0,
        q=4.0,
        gamma=15.0,
        T_max=500,
        seed=7,
        horizon=180,
    )


def test_recovers_simulated_parameters(simulated):
    bg = BetaGeoModel().fit(simulated["frequency"], simulated["recency"], simulated["T"])
    for name, true in {"r": 0.5, "alpha": 30.0, "a": 0.8, "b": 2.5}.items():
        assert bg.params_[name] == pytest.approx(true, rel=0.15), name
    gg = GammaGammaModel().fit(simulated["frequency"], simulated["monetary_value"])
    for name, true in {"p": 6.0, "q": 4.0, "gamma": 15.0}.items():
        assert gg.params_[name] == pytest.approx(true, rel=0.2), name


def test_predictions_match_simulated_future(simulated):
    model = BTYDModel().fit(simulated)
    pred = model.predict(simulated, horizon_days=180)
    assert pred["expected_purchases"].sum() == pytest.approx(
        simulated["future_purchases"].sum(), rel=0.05
    )
    assert pred["expected_value"].sum() == pytest.approx(simulated["future_value"].sum(), rel=0.1)
    p_none = model.bgnbd.probability_no_purchase(
        180, simulated["frequency"], simulated["recency"], simulated["T"]
    )
    assert p_none.mean() == pytest.approx((simulated["future_purchases"] == 0).mean(), abs=0.01)


def test_weights_give_the_same_fit_as_raw_rows(simulated):
    small = simulated.iloc[:3000]
    counts = small.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
    raw = BetaGeoModel().fit(small["frequency"], small["recency"], small["T"])
    weighted = BetaGeoModel().fit(
        counts["frequency"], counts["recency"], counts["T"], weights=counts["w"].to_numpy()
    )
    for name in raw.params_:
        assert weighted.params_[name] == pytest.approx(raw.params_[name], rel=1e-4)


def test_summary_from_transactions():
    tx = pd.DataFrame(
        {
            "customer": ["a", "a", "a", "a", "b", "c"],
            "at": pd.to_datetime(
                [
                    "2026-01-01 10:00",
                    "2026-01-01 18:00",
                    "2026-01-11 00:00",
                    "2026-01-21 00:00",
                    "2026-01-15 00:00",
                    "2026-02-02 00:00",
                ],
                utc=True,
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 99.0],
        }
    )
    # observed through 2026-01-31 inclusive: T = last observed day - first purchase day
    summary = summary_from_transactions(tx, "customer", "at", "amount", "2026-01-31")
    assert list(summary.index) == ["a", "b"]  # c bought after the observation period
    a = summary.loc["a"]
    assert (a["frequency"], a["recency"], a["T"]) == (2, 20.0, 30.0)
    assert a["monetary_value"] == pytest.approx(30.0)  # repeat days only: (20 + 40) / 2
    b = summary.loc["b"]
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0.0, 16.0, 0.0)
    # a first purchase on the last observed day: T = 0 (not one day)
    last = summary_from_transactions(tx, "customer", "at", "amount", "2026-01-15")
    assert last.loc["b", "T"] == 0.0
    weeks = summary_from_transactions(tx, "customer", "at", "amount", "2026-01-31", unit="week")
    assert weeks.loc["a", "T"] == pytest.approx(30 / 7)
    assert weeks.loc["a", "recency"] == pytest.approx(20 / 7)
    with pytest.raises(ValueError, match="unit"):
        summary_from_transactions(tx, "customer", "at", "amount", "2026-01-31", unit="month")


def test_btyd_runs_on_a_plain_order_export():
    sim = simulate_bgnbd_gamma_gamma(
        2000, r=0.6, alpha=20.0, a=0.9, b=3.0, p=5.0, q=3.0, gamma=20.0, T_max=300, seed=3
    )
    # turn the summary back into a transactions table: first purchase, repeats, last at recency
    start = pd.Timestamp("2025-01-01", tz="UTC")
    cutoff = start + pd.Timedelta(days=400)
    rows = []
    for i, row in sim.iterrows():
        first = cutoff - pd.Timedelta(days=row["T"])
        rows.append((i, first, 10.0))
        for k in range(int(row["frequency"])):
            day = row["recency"] * (k + 1) / row["frequency"]
            rows.append((i, first + pd.Timedelta(days=int(np.ceil(day))), row["monetary_value"]))
    tx = pd.DataFrame(rows, columns=["customer", "ordered_at", "amount"])
    summary = summary_from_transactions(tx, "customer", "ordered_at", "amount", cutoff)
    assert (summary["T"].to_numpy() == sim["T"].to_numpy()).all()
    model = BTYDModel().fit(summary)
    pred = model.predict(summary, 365)
    assert pred.notna().all().all()
    assert (pred["probability_alive"].between(0, 1)).all()
    assert model.bgnbd.params_["r"] > 0


def test_btyd_cli_on_an_order_export(tmp_path):
    from typer.testing import CliRunner

    from ml.cli import app

    sim = simulate_bgnbd_gamma_gamma(
        300, r=0.6, alpha=20.0, a=0.9, b=3.0, p=5.0, q=3.0, gamma=20.0, T_max=300, seed=5
    )
    cutoff = pd.Timestamp("2026-01-01", tz="UTC")
    rows = []
    for i, row in sim.iterrows():
        first = cutoff - pd.Timedelta(days=row["T"])
        rows.append((f"c{i}", first.isoformat(), 25.0))
        if row["frequency"] > 0:
            rows.append((f"c{i}", (first + pd.Timedelta(days=row["recency"])).isoformat(), 40.0))
    pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"]).to_csv(
        tmp_path / "orders.csv", index=False
    )
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app, ["btyd", str(tmp_path / "orders.csv"), "-o", str(out), "--as-of", "2026-01-01"]
    )
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out)
    assert len(scores) == 300
    assert {"probability_alive", "expected_value", "p_no_order_90d"} <= set(scores.columns)


CDNOW_CSV = Path(__file__).parent / "data" / "cdnow_sample.csv"


def test_cdnow_fit_reproduces_the_published_parameters():
    # The published 2,357-customer CDNOW sample (tests/ml/data/README.md), calibration
    # period 1997-01-01 .. 1997-09-30 (39 weeks), fitted in weeks as in FHL (2005).
    tx = pd.read_csv(CDNOW_CSV, dtype={"customer_id": "str"})
    summary = summary_from_transactions(
        tx, "customer_id", "ordered_at", "amount", "1997-09-30", unit="week"
    )
    assert len(summary) == 2357
    # FHL's first customer: x = 2, t_x = 30.43, T = 38.86 weeks
    first = summary.loc["00004"]
    assert (first["frequency"], round(first["recency"], 2), round(first["T"], 2)) == (
        2,
        30.43,
        38.86,
    )
    bg = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    for name, published in CDNOW_BGNBD.items():
        assert bg.params_[name] == pytest.approx(published, abs=1e-3), name
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)


def test_btyd_cli_on_the_cdnow_csv_prints_parameters_with_their_unit(tmp_path):
    from typer.testing import CliRunner

    from ml.cli import app

    # calibration period only: orders after 1997-09-30 are ignored
    out = tmp_path / "scores.csv"
    args = ["btyd", str(CDNOW_CSV), "-o", str(out), "--as-of", "1997-09-30"]
    result = CliRunner().invoke(app, [*args, "--time-unit", "week"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "time unit: week" in text
    for published in ("r = 0.243", "alpha = 4.414 weeks", "a = 0.793", "b = 2.426"):
        assert published in text, published
    assert "log-likelihood -9582.4" in text
    scores = pd.read_csv(out, dtype={"customer_id": "str"})
    assert len(scores) == 2357
    # the same data in days: alpha scales by 7, the shape parameters do not move
    result = CliRunner().invoke(app, [*args, "--time-unit", "day"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "time unit: day" in text and "alpha = 30.89" in text and "a = 0.793" in text
