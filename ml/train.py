"""Train: backtest every model against its baselines, fit what earned its place, register it.

frame = prepare(con, settings)           # features + labels + per-cutoff BTYD
results = run_backtest(frame, settings)  # rolling + same-season folds: model, baselines,
                                         # and the current champion's recipe
train_all(settings)                      # the above, then per task: fit the served model
                                         # (the model if it beats every baseline, else the
                                         # best baseline) on all complete cutoffs, register,
                                         # promote if not worse than the champion
"""

from __future__ import annotations

import hashlib
import logging
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.pipeline import Pipeline

from ml import drift
from ml.backtest import (
    MODEL,
    ChampionRecipe,
    TaskBacktest,
    run_backtest,
    scoring_cutoff,
    season_exponent,
    task_rows,
)
from ml.features import add_btyd, feature_columns, load_frame, sample_rows
from ml.model_card import write_model_card
from ml.models import gbm
from ml.models.baselines import ServedBaseline, make_baseline
from ml.registry import PromotionRefusedError, Registry, new_version
from ml.season import SeasonCalibrated
from ml.tasks import TASKS
from warehouse.connections import connect
from warehouse.settings import Settings

log = logging.getLogger(__name__)


def prepare(con, settings: Settings) -> tuple[pd.DataFrame, dict]:
    """Features joined with labels for every cutoff, plus per-cutoff BTYD predictions."""
    started = time.perf_counter()
    frame = load_frame(con, settings.ml.training_table, None, max_rows=settings.ml.max_load_rows)
    loaded = time.perf_counter()
    frame, btyd_params = add_btyd(frame)
    log.info(
        "loaded %d rows x %d columns in %.1fs; BTYD per cutoff in %.1fs",
        len(frame),
        frame.shape[1],
        loaded - started,
        time.perf_counter() - loaded,
    )
    return frame, btyd_params


def fingerprint(frame: pd.DataFrame, columns: list[str]) -> str:
    """Stable hash of the training rows (ids, features, label): same data -> same hash."""
    h = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()[:16]


def _data_end(frame: pd.DataFrame) -> str:
    if "data_end_date" in frame.columns and frame["data_end_date"].notna().any():
        return str(pd.Timestamp(frame["data_end_date"].max()).date())
    return str(pd.Timestamp(frame["cutoff_date"].max()).date())


def train_task(
    frame: pd.DataFrame,
    backtest: TaskBacktest,
    settings: Settings,
    registry: Registry,
    btyd_params: dict,
) -> str | None:
    task = backtest.task
    rows = task_rows(frame, task, settings)
    if rows.empty:
        log.warning("%s: no rows with a complete label window; not trained", task.name)
        return None
    features = feature_columns(frame)
    train = sample_rows(rows, settings.ml.max_train_rows, settings.ml.seed)
    y = train[task.label].to_numpy(dtype="float64")
    served = backtest.served_model or MODEL
    started = time.perf_counter()
    if served == MODEL:
        pipeline = gbm.fit_model(
            task,
            train,
            y,
            features,
            settings.ml.seed,
            settings.ml.max_iter,
            settings.ml.learning_rate,
        )
    else:
        pipeline = served_baseline(task, served).fit(train, y)
    season_k, target = 1.0, scoring_cutoff(frame)
    if task.kind == "classifier":  # calibrated for the season it will score in
        season_k = season_exponent(
            served, lambda rows: gbm.predict(task, pipeline, rows), train, y, target
        )
        model = pipeline.steps[-1][1]
        pipeline.steps[-1] = ("model", SeasonCalibrated(model, season_k, str(target.date())))
    fit_seconds = time.perf_counter() - started
    latest = train["cutoff_date"].max()
    ref_rows = train[train["cutoff_date"] == latest]
    reference = drift.build_reference(ref_rows, gbm.predict(task, pipeline, ref_rows))
    version = new_version()
    cutoffs = sorted(train["cutoff_date"].unique())
    metadata = {
        "version": version,
        "task": task.name,
        "label": task.label,
        "population": task.population,
        "trained_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "seed": settings.ml.seed,
        "served_model": served,
        "estimator": type(
            getattr(pipeline.named_steps["model"], "estimator", None)
            or pipeline.named_steps["model"]
        ).__name__,
        "season_exponent": season_k,
        "season_target_cutoff": str(target.date()),
        "params": {"max_iter": settings.ml.max_iter, "learning_rate": settings.ml.learning_rate}
        if served == MODEL
        else {},
        "features": list(pipeline.named_steps["select"].columns),
        "train_cutoffs": [str(pd.Timestamp(c).date()) for c in cutoffs],
        "n_train": int(len(train)),
        "n_train_population": int(len(rows)),
        "label_mean": float(np.mean(y)),
        "data_end_date": _data_end(frame),
        "data_fingerprint": fingerprint(train, ["person_id", "cutoff_date", task.label]),
        "fit_seconds": round(fit_seconds, 2),
        "sklearn_version": sklearn.__version__,
        "btyd_params_latest_cutoff": btyd_params.get(max(btyd_params)) if btyd_params else None,
    }
    directory = registry.save(task.name, version, pipeline, backtest.to_dict(), metadata)
    (directory / "drift_reference.json").write_text(_json(reference))
    write_model_card(directory, metadata, backtest, gbm.feature_importance(pipeline))
    log.info("%s: registered %s (%d rows, %.1fs fit)", task.name, version, len(train), fit_seconds)
    return version


def served_baseline(task, name: str) -> Pipeline:
    """An unfitted Pipeline that serves the `name` baseline like a model."""
    columns = list(make_baseline(task, name).columns)
    return Pipeline(
        [("select", gbm.SelectColumns(columns)), ("model", ServedBaseline(task, name, columns))]
    )


def champion_recipes(registry: Registry, tasks) -> dict[str, ChampionRecipe]:
    """What each current champion is, so the backtest can refit it on the same folds."""
    out = {}
    for name in tasks:
        version = registry.champion(name)
        if version is None:
            continue
        meta = registry.metadata(name, version)
        out[name] = ChampionRecipe(
            version=version,
            served_model=registry.served_model(name, version),
            features=tuple(meta.get("features", ())),
            params=tuple(sorted(meta.get("params", {}).items())),
        )
    return out


def _json(obj) -> str:
    import json

    return json.dumps(obj, indent=1, default=float)


def train_all(
    settings: Settings,
    tasks: list[str] | None = None,
    promote: bool = True,
) -> dict:
    """Load, backtest, fit and register every task; promote candidates that pass the gate."""
    registry = Registry(settings.artifacts_dir)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with connect(settings, read_only=True) as con:
        frame, btyd_params = prepare(con, settings)
    timings["load_and_btyd"] = time.perf_counter() - started

    t0 = time.perf_counter()
    champions = champion_recipes(registry, tasks or list(TASKS))
    results = run_backtest(frame, settings, tasks, champions)
    timings["backtest"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    out: dict = {"versions": {}, "promoted": {}, "refused": {}, "backtest": {}}
    for name, res in results.items():
        out["backtest"][name] = res.to_dict()
        version = train_task(frame, res, settings, registry, btyd_params)
        if version is None:
            continue
        out["versions"][name] = version
        if promote:
            try:
                registry.promote(name, version, settings.ml.promotion_tolerance)
                out["promoted"][name] = version
            except PromotionRefusedError as exc:
                out["refused"][name] = str(exc)
                log.warning("%s", exc)
    timings["final_fit"] = time.perf_counter() - t0
    with connect(settings) as con:
        registry.sync_to_warehouse(con)
    out["timings"] = timings
    out["results"] = results
    return out
