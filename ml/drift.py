"""Population stability index (PSI) of scores and key features: training vs scoring time.

At training time each version stores a reference: decile bin edges of every monitored
variable on the training rows of the latest training cutoff, with the share of rows per
bin (missing values get their own bin). At scoring time the same bins are counted on the
scored population and PSI = sum((a - e) * ln(a / e)) is reported per variable.
Convention: < 0.1 stable, 0.1-0.25 watch, > 0.25 significant shift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EPS = 1e-4
KEY_FEATURES = [
    "orders_count",
    "days_since_last_order",
    "net_revenue_365d",
    "gap_mean_days",
    "product_views_30d",
    "email_opens_90d",
    "btyd_p_alive",
]


def reference(values: np.ndarray, bins: int = 10) -> dict:
    v = np.asarray(values, dtype="float64")
    finite = v[np.isfinite(v)]
    if len(finite) == 0:
        edges: list[float] = []
    else:
        edges = sorted(set(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]).tolist()))
    return {"edges": edges, "expected": _shares(v, edges).tolist(), "n": int(len(v))}


def _shares(values: np.ndarray, edges: list[float]) -> np.ndarray:
    v = np.asarray(values, dtype="float64")
    finite = np.isfinite(v)
    counts = np.bincount(
        np.searchsorted(np.asarray(edges), v[finite], side="right"), minlength=len(edges) + 1
    ).astype("float64")
    counts = np.append(counts, (~finite).sum())  # last bin: missing
    return counts / max(len(v), 1)


def psi(ref: dict, values: np.ndarray) -> float:
    expected = np.clip(np.asarray(ref["expected"], dtype="float64"), EPS, None)
    actual = np.clip(_shares(values, ref["edges"]), EPS, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def status(value: float, alert: float = 0.25) -> str:
    if value > alert:
        return "alert"
    return "watch" if value > 0.1 else "stable"


def build_reference(frame: pd.DataFrame, scores: np.ndarray) -> dict:
    out = {"score": reference(scores), "features": {}}
    for col in KEY_FEATURES:
        if col in frame.columns:
            out["features"][col] = reference(frame[col].to_numpy(dtype="float64", na_value=np.nan))
    return out


def report(ref: dict, frame: pd.DataFrame, scores: np.ndarray, alert: float) -> list[dict]:
    rows = [{"variable": "score", "kind": "score", "psi": psi(ref["score"], scores)}]
    for col, r in ref.get("features", {}).items():
        if col in frame.columns:
            values = frame[col].to_numpy(dtype="float64", na_value=np.nan)
            rows.append({"variable": col, "kind": "feature", "psi": psi(r, values)})
    for row in rows:
        row["status"] = status(row["psi"], alert)
    return rows
