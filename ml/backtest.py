"""Rolling time-split backtest: the model, its baselines and the champion, on the same folds.

For a task with label horizon h, the test cutoffs are the latest `folds` cutoffs whose
label window is complete, plus the same-season fold: the cutoff one year (52 weeks) before
the scoring cutoff, so every model is also judged in the season it will be used in. For a
test cutoff c the model trains on every cutoff c' with c' + h <= c: all of its labels were
observable on c, so nothing from after the test cutoff reaches training. Baselines are
fitted on exactly the same training rows and scored on exactly the same test rows, and so
is the current champion's recipe (its feature list and parameters, refitted fold by fold:
its registered pipeline saw these folds' labels, so scoring it as is would flatter it).

The model is served only if it beats every baseline on the main metric; otherwise the best
baseline is (`TaskBacktest.served_model`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml import metrics as mx
from ml import season as seasonal
from ml.features import feature_columns, sample_rows
from ml.models import gbm
from ml.models.baselines import baselines_for
from ml.tasks import TASKS, Task, population_mask
from warehouse.settings import Settings

log = logging.getLogger(__name__)

MODEL = "gradient_boosting"
CHAMPION = "champion"  # the current champion's recipe, refitted on the same folds
SAME_SEASON_DAYS = 364  # 52 weeks: same season and same weekday as the scoring cutoff
SAME_SEASON_TOLERANCE_DAYS = 21


@dataclass(frozen=True)
class ChampionRecipe:
    """What the current champion is, enough to refit it on the challenger's folds."""

    version: str
    served_model: str  # MODEL or a baseline name
    features: tuple[str, ...] = ()
    params: tuple[tuple[str, float], ...] = ()


@dataclass
class TaskBacktest:
    task: Task
    folds: list[dict] = field(default_factory=list)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    # pooled test-fold outcomes and predictions (for plots in the model card), and the
    # test cutoff of each pooled row
    y: np.ndarray = field(default_factory=lambda: np.array([]))
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    fold_of: np.ndarray = field(default_factory=lambda: np.array([]))
    champion_version: str | None = None
    champion_note: str = ""

    @property
    def main(self) -> dict[str, float]:
        m = self.task.main_metric
        return {name: vals.get(m, float("nan")) for name, vals in self.summary.items()}

    @property
    def baselines(self) -> list[str]:
        return [k for k in self.summary if k not in (MODEL, CHAMPION)]

    @property
    def beats_baselines(self) -> bool:
        """The model beats every baseline (strictly) on the main metric."""
        main = self.main
        if MODEL not in main:
            return False
        return all(
            mx.strictly_better(self.task.main_metric, main[MODEL], main[b]) for b in self.baselines
        )

    @property
    def best_baseline(self) -> str | None:
        main, metric = self.main, self.task.main_metric
        ranked = [b for b in self.baselines if np.isfinite(main[b])]
        if not ranked:
            return None
        sign = -1.0 if mx.HIGHER_IS_BETTER.get(metric, True) else 1.0
        return min(ranked, key=lambda b: sign * main[b])

    @property
    def served_model(self) -> str | None:
        """What gets registered and scored: the model if it beats every baseline, else the
        best baseline."""
        if self.beats_baselines:
            return MODEL
        return self.best_baseline

    @property
    def same_season_cutoff(self) -> str | None:
        return next((f["cutoff"] for f in self.folds if f.get("same_season")), None)

    @property
    def decision(self) -> str:
        metric, main = self.task.main_metric, self.main
        served = self.served_model
        if served is None:
            return "no backtest fold: nothing to compare"
        if served == MODEL:
            best = self.best_baseline
            return (
                f"gradient boosting beats every baseline on {metric} "
                f"({main[MODEL]:.4f}; best baseline {best} {main.get(best, float('nan')):.4f})"
            )
        return (
            f"gradient boosting lost to {served} on {metric} ({main.get(MODEL, float('nan')):.4f} "
            f"vs {main[served]:.4f}): the {served} baseline is served instead"
        )

    def to_dict(self) -> dict:
        return {
            "task": self.task.name,
            "main_metric": self.task.main_metric,
            "folds": self.folds,
            "summary": self.summary,
            "beats_baselines": self.beats_baselines,
            "best_baseline": self.best_baseline,
            "served_model": self.served_model,
            "decision": self.decision,
            "same_season_cutoff": self.same_season_cutoff,
            "champion_version": self.champion_version,
            "champion_note": self.champion_note,
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


def scoring_cutoff(frame: pd.DataFrame) -> pd.Timestamp:
    """The cutoff the models will score (the as-of date of the build)."""
    if "data_end_date" in frame.columns and frame["data_end_date"].notna().any():
        return pd.Timestamp(frame["data_end_date"].max())
    return pd.Timestamp(frame["cutoff_date"].max())


def backtest_cutoffs(
    cutoffs: list[pd.Timestamp], horizon_days: int, folds: int, scoring: pd.Timestamp
) -> tuple[list[pd.Timestamp], pd.Timestamp | None]:
    """The latest `folds` usable cutoffs plus the same-season one (if there is one)."""
    horizon = pd.Timedelta(days=horizon_days)
    usable = [c for c in cutoffs if any(t + horizon <= c for t in cutoffs)]
    tests = usable[-folds:]
    target = scoring - pd.Timedelta(days=SAME_SEASON_DAYS)
    near = [c for c in usable if abs(c - target) <= pd.Timedelta(days=SAME_SEASON_TOLERANCE_DAYS)]
    season = min(near, key=lambda c: abs(c - target)) if near else None
    if season is not None and season not in tests:
        tests = sorted([*tests, season])
    return tests, season


def _fit(task, train, y_train, features, settings, params=None):
    max_iter = (params or {}).get("max_iter", settings.ml.max_iter)
    learning_rate = (params or {}).get("learning_rate", settings.ml.learning_rate)
    model = gbm.fit_model(task, train, y_train, features, settings.ml.seed, max_iter, learning_rate)
    return lambda frame: gbm.predict(task, model, frame)


def season_exponent(
    name: str, predict, train: pd.DataFrame, y_train: np.ndarray, target: pd.Timestamp
) -> float:
    """The per-season calibration exponent of one candidate for the `target` cutoff, from
    the training rows of the target's season that the scores were not fitted to (for the
    model: the persons held out of its trees)."""
    rows = seasonal.same_season(train["cutoff_date"], target)
    if name in (MODEL, CHAMPION):
        rows &= gbm.calibration_split(train["person_id"])
    if not rows.any():
        return 1.0
    return seasonal.exponent(y_train[rows], predict(train[rows]))


def backtest_task(
    frame: pd.DataFrame,
    task: Task,
    settings: Settings,
    champion: ChampionRecipe | None = None,
) -> TaskBacktest:
    rows = task_rows(frame, task, settings)
    features = feature_columns(frame)
    result = TaskBacktest(task, champion_version=champion.version if champion else None)
    params = {"max_iter": settings.ml.max_iter, "learning_rate": settings.ml.learning_rate}
    # where the champion's fold predictions come from: "refit", MODEL (same recipe as the
    # challenger), a baseline name (a served baseline), or None (nothing comparable)
    champion_source = None
    if champion is not None and champion.served_model == MODEL:
        missing = sorted(set(champion.features) - set(frame.columns))
        if missing:
            result.champion_note = f"champion recipe not comparable: features gone {missing[:5]}"
        elif list(champion.features) == features and dict(champion.params) == params:
            champion_source = MODEL
            result.champion_note = "champion recipe identical to the challenger's"
        else:
            champion_source = "refit"
            result.champion_note = "champion recipe refitted on the same folds"
    elif champion is not None:
        champion_source = champion.served_model
        result.champion_note = f"champion is the {champion.served_model} baseline"
    cutoffs = sorted(pd.Timestamp(c) for c in rows["cutoff_date"].unique())
    tests, season = backtest_cutoffs(
        cutoffs, task.horizon_days, settings.ml.backtest_folds, scoring_cutoff(frame)
    )
    horizon = pd.Timedelta(days=task.horizon_days)
    ys, preds, fold_of = [], {}, []
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
        predictors = {MODEL: _fit(task, train, y_train, features, settings)}
        for name, cls in baselines_for(task).items():
            predictors[name] = cls(task).fit(train, y_train).predict
        if champion_source == "refit":
            predictors[CHAMPION] = _fit(
                task, train, y_train, list(champion.features), settings, dict(champion.params)
            )
        fold_preds = {name: predict(test) for name, predict in predictors.items()}
        exponents = {}
        if task.kind == "classifier":  # per-season calibration (ml.season)
            for name, predict in predictors.items():
                exponents[name] = season_exponent(name, predict, train, y_train, cutoff)
                fold_preds[name] = seasonal.apply(fold_preds[name], exponents[name])
        if champion_source in (MODEL, *baselines_for(task)):
            fold_preds[CHAMPION] = fold_preds[champion_source]
        fold = {
            "cutoff": cutoff.date().isoformat(),
            "same_season": cutoff == season,
            "train_cutoffs": [t.date().isoformat() for t in train_cutoffs],
            "n_train": int(len(train)),
            "n_test": int(len(test)),
            "season_exponent": exponents,
            "metrics": {k: _metrics(task, y_test, v) for k, v in fold_preds.items()},
        }
        log.info(
            "%s @ %s%s: %s",
            task.name,
            fold["cutoff"],
            " (same season)" if fold["same_season"] else "",
            {k: round(v[task.main_metric], 4) for k, v in fold["metrics"].items()},
        )
        result.folds.append(fold)
        ys.append(y_test)
        fold_of.append(np.full(len(y_test), fold["cutoff"]))
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
        result.fold_of = np.concatenate(fold_of)
        result.predictions = {k: np.concatenate(v) for k, v in preds.items()}
    return result


def run_backtest(
    frame: pd.DataFrame,
    settings: Settings,
    tasks: list[str] | None = None,
    champions: dict[str, ChampionRecipe] | None = None,
) -> dict[str, TaskBacktest]:
    champions = champions or {}
    return {
        name: backtest_task(frame, TASKS[name], settings, champions.get(name))
        for name in (tasks or list(TASKS))
    }


def summary_table(results: dict[str, TaskBacktest]) -> pd.DataFrame:
    """One row per (task, model) with the main metric and the headline metrics."""
    rows = []
    for name, res in results.items():
        for model, vals in res.summary.items():
            row = {"task": name, "model": model, "main_metric": res.task.main_metric}
            row["main_value"] = vals.get(res.task.main_metric)
            row["served"] = model == res.served_model
            row.update(vals)
            row["folds"] = len(res.folds)
            rows.append(row)
    return pd.DataFrame(rows)
