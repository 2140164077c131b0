"""Naive baselines every model must beat in the same backtest run.

- `historical_average`: classifiers predict the training base rate; LTV predicts the
  person's trailing-365-day net revenue run-rate; next-order predicts the person's own
  average gap minus the days already waited (training median when there is no gap).
- `rfm_rule`: the training outcome averaged per RFM cell (recency band x frequency band x
  monetary tercile), backing off to recency x frequency and then to the global mean for
  small cells.
- `btyd`: BG/NBD + Gamma-Gamma fitted on the cutoff's own history (no labels needed); the
  per-person predictions are precomputed as `btyd_*` columns by `ml.features.add_btyd`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
class HistoricalAverage:
    task: Task
    value_: float = 0.0

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> HistoricalAverage:
        y = np.asarray(y, dtype="float64")
        if self.task.name == "next_order":
            self.value_ = float(np.median(y))
        elif self.task.name == "ltv_12m":
            self.value_ = 0.0
        else:
            self.value_ = float(y.mean())
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        n = len(frame)
        if self.task.name == "ltv_12m":
            # trailing 12-month net revenue, annualised for customers younger than a year
            revenue = frame["net_revenue_365d"].fillna(0).to_numpy(dtype="float64")
            tenure = frame["days_since_first_order"].to_numpy(dtype="float64", na_value=np.nan)
            tenure = np.clip(np.nan_to_num(tenure, nan=365.0), 30.0, 365.0)
            return revenue * 365.0 / tenure
        if self.task.name == "next_order":
            gap = frame["gap_mean_days"].to_numpy(dtype="float64", na_value=np.nan)
            waited = frame["days_since_last_order"].to_numpy(dtype="float64", na_value=np.nan)
            days = gap - waited
            # overdue customers: expect them within another average gap, or never (cap)
            days = np.where(days < 1, np.minimum(gap, self.task.horizon_days), days)
            out = np.where(np.isfinite(days), days, self.value_)
            return np.clip(out, 0.0, float(self.task.horizon_days))
        return np.full(n, self.value_)


@dataclass
class BTYDBaseline:
    """Reads the `btyd_*` columns; persons without a purchase get the training mean."""

    task: Task
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


BASELINES = {"historical_average": HistoricalAverage, "rfm_rule": RFMRule, "btyd": BTYDBaseline}
