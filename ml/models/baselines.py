"""Baselines every model must beat, on the same folds, before it may be promoted.

Each is what a careful analyst would use without machine learning, fitted on the same
training rows and scored on the same test rows as the model:

- `recency_rank` (churn, propensities): days since the last paid order, turned into a
  probability by isotonic regression on the training rows (the outcome rate is monotone in
  recency; persons who never bought sort after the longest-lapsed buyers). Ranks exactly
  like "most recent buyers first".
- `trailing_revenue` (12-month LTV): the person's net revenue of the last 365 days, as is
  ("next year looks like last year").
- `own_cadence` (next order): the person's average gap between orders minus the days
  already waited (overdue customers: another average gap; no gap yet: the training median).
- `rfm_rule`: the training outcome averaged per RFM cell (recency band x frequency band x
  monetary tercile), backing off to recency x frequency and then to the global mean for
  small cells.
- `btyd`: BG/NBD + Gamma-Gamma fitted on the cutoff's own history (no labels needed); the
  per-person predictions are precomputed as `btyd_*` columns by `ml.features.add_btyd`.

(The former `historical_average` -- a constant base rate, ROC AUC 0.5 by construction --
was a strawman and is gone.) When the model does not beat every baseline, the best
baseline is what gets registered, scored and synced (`ServedBaseline`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression

from ml.tasks import Task

RECENCY_EDGES = [-np.inf, 30, 90, 180, 365, np.inf]
FREQUENCY_EDGES = [0, 1, 2, 4, np.inf]
MIN_CELL = 30


def _cells(frame: pd.DataFrame, monetary_edges: np.ndarray) -> pd.DataFrame:
    orders = frame["orders_count"].fillna(0).to_numpy(dtype="float64")
    recency = frame["days_since_last_order"].to_numpy(dtype="float64", na_value=np.nan)
    revenue = frame["net_revenue"].fillna(0).to_numpy(dtype="float64")
    r = np.where(orders > 0, np.searchsorted(RECENCY_EDGES, recency, side="left"), 0)
    f = np.where(orders > 0, np.searchsorted(FREQUENCY_EDGES, orders, side="left"), 0)
    m = np.where(orders > 0, np.searchsorted(monetary_edges, revenue, side="right") + 1, 0)
    return pd.DataFrame({"r": r, "f": f, "m": m})


@dataclass
class RFMRule:
    task: Task
    columns = ("orders_count", "days_since_last_order", "net_revenue")
    monetary_edges_: np.ndarray = field(default_factory=lambda: np.array([]))
    fine_: dict = field(default_factory=dict)
    coarse_: dict = field(default_factory=dict)
    global_: float = 0.0

    def _stat(self, y: pd.Series):
        return y.median() if self.task.main_metric == "mae" else y.mean()

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> RFMRule:
        buyers = frame["orders_count"].fillna(0) > 0
        revenue = frame.loc[buyers, "net_revenue"].fillna(0)
        self.monetary_edges_ = (
            np.quantile(revenue, [1 / 3, 2 / 3]) if len(revenue) else np.array([0.0, 0.0])
        )
        cells = _cells(frame, self.monetary_edges_)
        cells["y"] = np.asarray(y, dtype="float64")
        self.global_ = float(self._stat(cells["y"]))
        for keys, target in (("rfm", "fine_"), ("rf", "coarse_")):
            grouped = cells.groupby(list(keys))["y"]
            stat = grouped.median() if self.task.main_metric == "mae" else grouped.mean()
            size = grouped.size()
            setattr(self, target, stat[size >= MIN_CELL].to_dict())
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        cells = _cells(frame, self.monetary_edges_)

        def lookup(table: dict, keys: list[str]) -> np.ndarray:
            if not table:
                return np.full(len(cells), np.nan)
            index = pd.MultiIndex.from_tuples(list(table), names=keys)
            values = pd.Series(list(table.values()), index=index, dtype="float64")
            return values.reindex(pd.MultiIndex.from_frame(cells[keys])).to_numpy()

        fine = lookup(self.fine_, ["r", "f", "m"])
        coarse = lookup(self.coarse_, ["r", "f"])
        return np.where(np.isnan(fine), np.where(np.isnan(coarse), self.global_, coarse), fine)


@dataclass
class RecencyRank:
    """Outcome rate as a monotone function of days since the last order (isotonic fit)."""

    task: Task
    columns = ("orders_count", "days_since_last_order")
    isotonic_: IsotonicRegression | None = None
    never_: float = 0.0

    def _recency(self, frame: pd.DataFrame) -> np.ndarray:
        orders = frame["orders_count"].fillna(0).to_numpy(dtype="float64")
        days = frame["days_since_last_order"].to_numpy(dtype="float64", na_value=np.nan)
        return np.where((orders > 0) & np.isfinite(days), days, np.nan)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> RecencyRank:
        y = np.asarray(y, dtype="float64")
        days = self._recency(frame)
        buyer = np.isfinite(days)
        self.never_ = float(y[~buyer].mean()) if (~buyer).any() else float(y.mean())
        if buyer.sum() >= 2:
            self.isotonic_ = IsotonicRegression(increasing="auto", out_of_bounds="clip")
            self.isotonic_.fit(days[buyer], y[buyer])
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        days = self._recency(frame)
        out = np.full(len(days), self.never_)
        buyer = np.isfinite(days)
        if self.isotonic_ is not None and buyer.any():
            out[buyer] = self.isotonic_.predict(days[buyer])
        return out


@dataclass
class TrailingRevenue:
    """Next year's revenue = the last 365 days' net revenue."""

    task: Task
    columns = ("net_revenue_365d",)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> TrailingRevenue:
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        revenue = frame["net_revenue_365d"].to_numpy(dtype="float64", na_value=np.nan)
        return np.clip(np.nan_to_num(revenue, nan=0.0), 0.0, None)


@dataclass
class OwnCadence:
    """Days to the next order from the person's own average gap between orders."""

    task: Task
    columns = ("gap_mean_days", "days_since_last_order")
    value_: float = 0.0

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> OwnCadence:
        self.value_ = float(np.median(np.asarray(y, dtype="float64")))
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        gap = frame["gap_mean_days"].to_numpy(dtype="float64", na_value=np.nan)
        waited = frame["days_since_last_order"].to_numpy(dtype="float64", na_value=np.nan)
        days = gap - waited
        # overdue customers: expect them within another average gap, or never (cap)
        days = np.where(days < 1, np.minimum(gap, self.task.horizon_days), days)
        out = np.where(np.isfinite(days), days, self.value_)
        return np.clip(out, 0.0, float(self.task.horizon_days))


@dataclass
class BTYDBaseline:
    """Reads the `btyd_*` columns; persons without a purchase get the training mean."""

    task: Task
    columns = (
        "btyd_p_no_order_7d",
        "btyd_p_no_order_30d",
        "btyd_p_no_order_90d",
        "btyd_expected_value_365d",
        "btyd_median_days_to_next_order",
    )
    fill_: float = 0.0

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        t = self.task
        if t.name == "churn":
            col = frame["btyd_p_no_order_90d"]
        elif t.name == "propensity_7d":
            col = 1.0 - frame["btyd_p_no_order_7d"]
        elif t.name == "propensity_30d":
            col = 1.0 - frame["btyd_p_no_order_30d"]
        elif t.name == "ltv_12m":
            col = frame["btyd_expected_value_365d"]
        else:
            col = frame["btyd_median_days_to_next_order"]
        return col.to_numpy(dtype="float64", na_value=np.nan)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> BTYDBaseline:
        raw = self._raw(frame)
        y = np.asarray(y, dtype="float64")
        missing = ~np.isfinite(raw)
        self.fill_ = float(y[missing].mean()) if missing.any() else float(np.mean(y))
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        raw = self._raw(frame)
        return np.where(np.isfinite(raw), raw, self.fill_)


SIMPLE = {
    "recency_rank": RecencyRank,
    "trailing_revenue": TrailingRevenue,
    "own_cadence": OwnCadence,
}
SHARED = {"rfm_rule": RFMRule, "btyd": BTYDBaseline}


def baselines_for(task: Task) -> dict[str, type]:
    """The baselines `task`'s model must beat: its simple rule, the RFM rule and BTYD."""
    return {task.simple_baseline: SIMPLE[task.simple_baseline], **SHARED}


def make_baseline(task: Task, name: str):
    return baselines_for(task)[name](task)


class ServedBaseline(BaseEstimator):
    """A baseline as the last step of a scikit-learn Pipeline, so the registry can store,
    score and sync it exactly like a fitted model when it wins the backtest.

    The pipeline's first step selects `columns` (the baseline's inputs) as a matrix; this
    step turns the matrix back into named columns for the baseline.
    """

    def __init__(self, task: Task | None = None, name: str = "", columns: list[str] | None = None):
        self.task = task
        self.name = name
        self.columns = columns

    def _frame(self, X) -> pd.DataFrame:  # noqa: N803 - scikit-learn convention
        if isinstance(X, pd.DataFrame):
            return X
        return pd.DataFrame(np.asarray(X, dtype="float64"), columns=list(self.columns))

    def fit(self, X, y):  # noqa: N803
        self.baseline_ = make_baseline(self.task, self.name).fit(self._frame(X), y)
        if self.task.kind == "classifier":
            self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):  # noqa: N803
        return self.baseline_.predict(self._frame(X))

    def predict_proba(self, X):  # noqa: N803
        p = np.clip(self.predict(X), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])
