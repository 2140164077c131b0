"""`rw-ml btyd` on an order export keeps the shop's ids as written (leading zeros)."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from ml.cli import app
from ml.models.btyd import simulate_bgnbd_gamma_gamma


def test_btyd_cli_keeps_leading_zero_customer_ids(tmp_path) -> None:
    sim = simulate_bgnbd_gamma_gamma(
        200, r=0.6, alpha=20.0, a=0.9, b=3.0, p=5.0, q=3.0, gamma=20.0, T_max=300, seed=11
    )
    cutoff = pd.Timestamp("2026-01-01", tz="UTC")
    rows = []
    for i, row in sim.iterrows():
        customer = f"{i:05d}"  # 00000, 00001, ... as a shop writes account numbers
        first = cutoff - pd.Timedelta(days=row["T"])
        rows.append((customer, first.isoformat(), 25.0))
        if row["frequency"] > 0:
            rows.append((customer, (first + pd.Timedelta(days=row["recency"])).isoformat(), 40.0))
    export = tmp_path / "orders.csv"
    pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"]).to_csv(export, index=False)
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["btyd", str(export), "-o", str(out), "--as-of", "2026-01-01"])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out, dtype={"customer": str, "customer_id": str})
    id_column = scores.columns[0]
    assert set(scores[id_column]) == {f"{i:05d}" for i in range(200)}
