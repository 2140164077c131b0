"""Train: backtest every model against its baselines, fit the final models, register them.

frame = prepare(con, settings)           # features + labels + per-cutoff BTYD
results = run_backtest(frame, settings)  # rolling cutoffs, model vs baselines
train_all(frame, results, settings)      # final fit on all complete cutoffs -> registry
"""

from __future__ import annotations

import hashlib
import logging
import time

import numpy as np
import pandas as pd
import sklearn

from ml import drift
from ml.backtest import TaskBacktest, run_backtest, task_rows
from ml.features import add_btyd, feature_columns, load_frame, sample_rows
from ml.model_card import write_model_card
from ml.models import gbm
from ml.registry import PromotionRefusedError, Registry, new_version
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
    started = time.perf_counter()
    pipeline = gbm.fit_model(
        task, train, y, features, settings.ml.seed, settings.ml.max_iter, settings.ml.learning_rate
    )
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
        "estimator": type(pipeline.named_steps["model"]).__name__,
        "params": {"max_iter": settings.ml.max_iter, "learning_rate": settings.ml.learning_rate},
        "features": features,
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
    results = run_backtest(frame, settings, tasks)
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
