"""Rolling time-split backtest: every model against its baselines, on the same folds.

For a task with label horizon h, the test cutoffs are the latest `folds` cutoffs whose
label window is complete. For a test cutoff c the model trains on every cutoff c' with
c' + h <= c: all of its labels were observable on c, so nothing from after the test cutoff
reaches training. Baselines are fitted on exactly the same training rows and scored on
exactly the same test rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml import metrics as mx
from ml.features import feature_columns, sample_rows
from ml.models import gbm
from ml.models.baselines import BASELINES
from ml.tasks import TASKS, Task, population_mask
from warehouse.settings import Settings

log = logging.getLogger(__name__)

MODEL = "gradient_boosting"


@dataclass
class TaskBacktest:
    task: Task
    folds: list[dict] = field(default_factory=list)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    # pooled test-fold outcomes and predictions (for plots in the model card)
    y: np.ndarray = field(default_factory=lambda: np.array([]))
    predictions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def main(self) -> dict[str, float]:
        m = self.task.main_metric
        return {name: vals.get(m, float("nan")) for name, vals in self.summary.items()}

    @property
    def beats_baselines(self) -> bool:
        main = self.main
        if MODEL not in main:
            return False
        return all(
            mx.better(self.task.main_metric, main[MODEL], v) for k, v in main.items() if k != MODEL
        )

    def to_dict(self) -> dict:
        return {
            "task": self.task.name,
            "main_metric": self.task.main_metric,
            "folds": self.folds,
            "summary": self.summary,
            "beats_baselines": self.beats_baselines,
        }


def task_rows(frame: pd.DataFrame, task: Task, settings: Settings) -> pd.DataFrame:
    """Rows of the task's population whose label window is complete."""
    mask = population_mask(frame, task, settings.ml.churn_active_days)
    complete = frame[task.complete_flag].fillna(False).to_numpy(dtype=bool)
    return frame[mask & complete]


def _metrics(task: Task, y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    if task.kind == "classifier":
        return mx.classification_metrics(y, p)
    return mx.regression_metrics(y, p)


def backtest_task(frame: pd.DataFrame, task: Task, settings: Settings) -> TaskBacktest:
    rows = task_rows(frame, task, settings)
    features = feature_columns(frame)
    result = TaskBacktest(task)
    cutoffs = sorted(rows["cutoff_date"].unique())
    horizon = pd.Timedelta(days=task.horizon_days)
    candidates = [c for c in cutoffs if any(t + horizon <= c for t in cutoffs)]
    tests = candidates[-settings.ml.backtest_folds :]
    ys, preds = [], {}
    for cutoff in tests:
        train_cutoffs = [t for t in cutoffs if t + horizon <= cutoff]
        train = sample_rows(
            rows[rows["cutoff_date"].isin(train_cutoffs)],
            settings.ml.backtest_max_train_rows,
            settings.ml.seed,
        )
        test = sample_rows(
            rows[rows["cutoff_date"] == cutoff],
            settings.ml.backtest_max_test_rows,
            settings.ml.seed,
        )
        y_train = train[task.label].to_numpy(dtype="float64")
        y_test = test[task.label].to_numpy(dtype="float64")
        if task.kind == "classifier" and len(np.unique(y_train)) < 2:
            log.warning("%s: fold %s has a single class in training; skipped", task.name, cutoff)
            continue
        fold_preds = {}
        model = gbm.fit_model(
            task,
            train,
            y_train,
            features,
            settings.ml.seed,
            settings.ml.max_iter,
            settings.ml.learning_rate,
        )
        fold_preds[MODEL] = gbm.predict(task, model, test)
        for name, cls in BASELINES.items():
            fold_preds[name] = cls(task).fit(train, y_train).predict(test)
        fold = {
            "cutoff": pd.Timestamp(cutoff).date().isoformat(),
            "train_cutoffs": [pd.Timestamp(t).date().isoformat() for t in train_cutoffs],
            "n_train": int(len(train)),
            "n_test": int(len(test)),
            "metrics": {k: _metrics(task, y_test, v) for k, v in fold_preds.items()},
        }
        log.info(
            "%s @ %s: %s",
            task.name,
            fold["cutoff"],
            {k: round(v[task.main_metric], 4) for k, v in fold["metrics"].items()},
        )
        result.folds.append(fold)
        ys.append(y_test)
        for k, v in fold_preds.items():
            preds.setdefault(k, []).append(v)
    if result.folds:
        names = result.folds[0]["metrics"].keys()
        for name in names:
            keys = result.folds[0]["metrics"][name].keys()
            result.summary[name] = {
                key: float(np.nanmean([f["metrics"][name][key] for f in result.folds]))
                for key in keys
            }
        result.y = np.concatenate(ys)
        result.predictions = {k: np.concatenate(v) for k, v in preds.items()}
    return result


def run_backtest(
    frame: pd.DataFrame, settings: Settings, tasks: list[str] | None = None
) -> dict[str, TaskBacktest]:
    return {name: backtest_task(frame, TASKS[name], settings) for name in (tasks or list(TASKS))}


def summary_table(results: dict[str, TaskBacktest]) -> pd.DataFrame:
    """One row per (task, model) with the main metric and the headline metrics."""
    rows = []
    for name, res in results.items():
        for model, vals in res.summary.items():
            row = {"task": name, "model": model, "main_metric": res.task.main_metric}
            row["main_value"] = vals.get(res.task.main_metric)
            row.update(vals)
            row["folds"] = len(res.folds)
            rows.append(row)
    return pd.DataFrame(rows)
