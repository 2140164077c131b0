"""Per-season calibration of probabilities: a score must mean the same in November as in May.

A model (or a baseline) fitted on cutoffs from every season predicts an average season;
where purchases are seasonal its probabilities are too low before the peak and too high
after it (issue 10: 30-day propensity 0.100 against 0.140 at the November cutoff). The
correction is measured where it is needed: on the training cutoffs of the *target's*
season (day of year within `SEASON_WINDOW_DAYS`), rows the scores were not fitted to, the
exponent k that makes the mean score match the observed rate,

    p_season = 1 - (1 - p) ** k,

i.e. every person's purchase intensity scaled by the same seasonal factor (for a Poisson
buyer, P(no order) = exp(-rate x window); a season k times busier raises it to the k-th
power). It keeps the ranking within a cutoff (ROC/PR AUC unchanged) and k = 1 when there
is no same-season history. Estimated from few events, k is shrunk towards 1 (log k weighted
by events / (events + PRIOR_EVENTS), the minority class counted): a 7-day window at a small
shop holds a couple of dozen orders a season, and one busy week last year must not double
this year's scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize
from sklearn.base import BaseEstimator

SEASON_WINDOW_DAYS = 46  # half a quarter each side: the cutoffs of the same season
MIN_ROWS, MIN_POSITIVES = 200, 5
PRIOR_EVENTS = 50.0
K_BOUNDS = (0.2, 5.0)


def same_season(cutoffs: pd.Series, target: pd.Timestamp) -> np.ndarray:
    """Rows whose cutoff falls within SEASON_WINDOW_DAYS of the target's day of year."""
    doy = pd.to_datetime(cutoffs).dt.day_of_year.to_numpy()
    gap = np.abs(doy - pd.Timestamp(target).day_of_year)
    return np.minimum(gap, 365 - gap) <= SEASON_WINDOW_DAYS


def apply(p: np.ndarray, k: float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype="float64"), 0.0, 1.0)
    return 1.0 - (1.0 - q) ** k


def exponent(y: np.ndarray, p: np.ndarray) -> float:
    """k with mean(1 - (1 - p)^k) = mean(y), shrunk towards 1 by the number of events;
    1.0 without enough evidence."""
    y = np.asarray(y, dtype="float64")
    p = np.clip(np.asarray(p, dtype="float64"), 0.0, 1.0 - 1e-9)
    if len(y) < MIN_ROWS or y.sum() < MIN_POSITIVES or (len(y) - y.sum()) < MIN_POSITIVES:
        return 1.0
    target = y.mean()

    def gap(log_k: float) -> float:
        return float(apply(p, np.exp(log_k)).mean() - target)

    lo, hi = np.log(K_BOUNDS[0]), np.log(K_BOUNDS[1])
    if gap(lo) > 0:
        log_k = lo
    elif gap(hi) < 0:
        log_k = hi
    else:
        log_k = optimize.brentq(gap, lo, hi, xtol=1e-6)
    events = min(y.sum(), len(y) - y.sum())
    return float(np.exp(log_k * events / (events + PRIOR_EVENTS)))


class SeasonCalibrated(BaseEstimator):
    """A fitted classifier whose probabilities are raised to the season's exponent (the last
    step of a Pipeline; `fit` does nothing: the classifier and k are fitted already)."""

    def __init__(self, estimator=None, k: float = 1.0, target: str | None = None):
        self.estimator = estimator
        self.k = k
        self.target = target  # the cutoff whose season k was measured for
        self.classes_ = np.array([0, 1])

    def fit(self, X=None, y=None):  # noqa: N803
        return self

    def predict_proba(self, X):  # noqa: N803 - scikit-learn convention
        p = apply(self.estimator.predict_proba(X)[:, 1], self.k)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):  # noqa: N803
        return (self.predict_proba(X)[:, 1] >= 0.5).astype("int8")
