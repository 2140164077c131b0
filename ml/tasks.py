"""The prediction tasks: label, horizon, population, main metric and baselines of each model.

One place says what every model predicts, for whom, and how it is judged; backtest,
training, the registry and scoring all read from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # numpy/pandas load on first use: `rw-ml --help` must not wait for them
    import numpy as np
    import pandas as pd

Kind = Literal["classifier", "regressor"]
Population = Literal["active_buyers", "buyers", "all"]


@dataclass(frozen=True)
class Task:
    name: str
    kind: Kind
    label: str
    horizon_days: int  # a cutoff is usable once this many days after it are in the data
    population: Population
    main_metric: str
    description: str
    score_column: str  # column written to ml.customer_scores

    @property
    def complete_flag(self) -> str:
        return f"is_label_complete_{self.horizon_days}d"


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "churn",
            "classifier",
            "is_churned_next_90d",
            90,
            "active_buyers",
            "roc_auc",
            "No paid order in the 90 days after the cutoff, for customers with a paid order "
            "in the year before it.",
            "churn_probability",
        ),
        Task(
            "propensity_7d",
            "classifier",
            "has_order_next_7d",
            7,
            "all",
            "pr_auc",
            "Any paid order in the 7 days after the cutoff (every known person).",
            "propensity_7d",
        ),
        Task(
            "propensity_30d",
            "classifier",
            "has_order_next_30d",
            30,
            "all",
            "pr_auc",
            "Any paid order in the 30 days after the cutoff (every known person).",
            "propensity_30d",
        ),
        Task(
            "ltv_12m",
            "regressor",
            "net_revenue_next_365d",
            365,
            "all",
            "rmse",
            "Net revenue (after refunds) in the 365 days after the cutoff.",
            "predicted_ltv_12m",
        ),
        Task(
            "next_order",
            "regressor",
            "days_to_next_order_capped",
            365,
            "buyers",
            "mae",
            "Days from the cutoff to the next paid order, capped at 365 (= not within a year), "
            "for customers with at least one paid order.",
            "expected_days_to_next_order",
        ),
    )
}


def population_mask(frame: pd.DataFrame, task: Task, churn_active_days: int) -> np.ndarray:
    """Rows of `frame` that belong to the task's population."""
    import numpy as np

    orders = frame["orders_count"].fillna(0).to_numpy()
    if task.population == "all":
        return np.ones(len(frame), dtype=bool)
    if task.population == "buyers":
        return orders > 0
    recency = frame["days_since_last_order"].to_numpy(dtype="float64", na_value=np.nan)
    return (orders > 0) & (recency <= churn_active_days)
