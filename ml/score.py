"""Score every known person with the champion models and write `ml.customer_scores`.

Features are taken at the latest cutoff of `ml_customer_features` (the as-of date of the
dbt build). Churn and next-order scores exist for persons with at least one paid order;
propensities and predicted 12-month LTV for everyone. Each run also writes a PSI drift
report (`ml.drift_reports`, plus JSON under the artifacts dir) and a run log row
(`ml.score_runs`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import date

import numpy as np
import pandas as pd

from ml import drift
from ml.features import add_btyd, cutoffs_in, load_frame
from ml.models import gbm
from ml.registry import Registry
from ml.tasks import TASKS
from warehouse.connections import connect
from warehouse.settings import Settings

log = logging.getLogger(__name__)

VERSION_COLUMNS = {
    "churn": "churn_model_version",
    "propensity_7d": "propensity_7d_model_version",
    "propensity_30d": "propensity_30d_model_version",
    "ltv_12m": "ltv_model_version",
    "next_order": "next_order_model_version",
}


def cutoff_for(as_of_date: str | date) -> pd.Timestamp:
    """The feature cutoff of an (inclusive) as-of date: the next midnight, exclusive."""
    return pd.Timestamp(as_of_date).normalize() + pd.Timedelta(days=1)


def score(settings: Settings, as_of_date: str | date | None = None) -> dict:
    """Score as of `as_of_date` (inclusive, like dbt's var as_of_date; default: the latest
    cutoff the features were built for)."""
    registry = Registry(settings.artifacts_dir)
    started = time.perf_counter()
    with connect(settings, read_only=True) as con:
        cutoffs = cutoffs_in(con, settings.ml.features_table)
        cutoff = cutoff_for(as_of_date) if as_of_date else cutoffs[-1]
        if cutoff not in cutoffs:
            built = [str((c - pd.Timedelta(days=1)).date()) for c in cutoffs[-3:]]
            raise ValueError(
                f"no features as of {(cutoff - pd.Timedelta(days=1)).date()}: build dbt with "
                f"--vars '{{as_of_date: ...}}' first (latest as-of dates built: {built})"
            )
        frame = load_frame(con, settings.ml.features_table, None, cutoffs=[cutoff])
    frame, _ = add_btyd(frame)
    loaded = time.perf_counter() - started

    scored_at = pd.Timestamp.now(tz="UTC").floor("s")
    run_id = scored_at.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    buyers = frame["orders_count"].fillna(0).to_numpy() > 0
    out = pd.DataFrame({"person_id": frame["person_id"].to_numpy()})
    as_of = cutoff - pd.Timedelta(days=1)  # the inclusive as-of date of the cutoff
    out["as_of_date"] = as_of  # cast to date when written
    drift_rows: list[dict] = []
    versions: dict[str, str] = {}
    matrices: dict[tuple, np.ndarray] = {}  # one input matrix per distinct feature list
    drift_frame_columns = [c for c in drift.KEY_FEATURES if c in frame.columns]
    for name, task in TASKS.items():
        try:
            pipeline, version = registry.load(name)
        except LookupError as exc:  # no champion yet: the column stays empty
            log.warning("%s", exc)
            out[task.score_column] = np.nan
            out[VERSION_COLUMNS[name]] = pd.Series(pd.NA, index=out.index, dtype="string")
            continue
        versions[name] = version
        key = tuple(pipeline.named_steps["select"].columns)
        if key not in matrices:
            matrices[key] = gbm.feature_matrix(pipeline, frame)
        if task.population in ("buyers", "active_buyers"):  # only persons with orders
            values = np.full(len(frame), np.nan)
            values[buyers] = gbm.predict(task, pipeline, matrices[key][buyers])
        else:
            values = gbm.predict(task, pipeline, matrices[key]).astype("float64")
        out[task.score_column] = values
        out[VERSION_COLUMNS[name]] = version
        ref_path = registry.version_dir(name, version) / "drift_reference.json"
        if ref_path.exists():
            mask = _population(frame, task, settings)
            ref = json.loads(ref_path.read_text())
            sub = frame[drift_frame_columns][mask]
            for row in drift.report(ref, sub, values[mask], settings.ml.psi_alert):
                drift_rows.append({"model_name": name, "model_version": version, **row})
    if not versions:
        raise LookupError("no champion models: run `rw-ml train` first")
    days = out["expected_days_to_next_order"]
    # a timestamp here, cast to date when written (no per-row Python date objects)
    out["expected_next_order_date"] = pd.Timestamp(cutoff) + pd.to_timedelta(days.round(), unit="D")
    out["churn_risk_band"] = (
        pd.cut(out["churn_probability"], [-0.01, 0.3, 0.6, 1.01], labels=["low", "medium", "high"])
        .astype("str")
        .where(out["churn_probability"].notna(), None)
    )
    out["scored_at"] = scored_at
    out["score_run_id"] = run_id
    columns = [
        "person_id",
        "as_of_date",
        "churn_probability",
        "churn_risk_band",
        "propensity_7d",
        "propensity_30d",
        "predicted_ltv_12m",
        "expected_next_order_date",
        "expected_days_to_next_order",
        *VERSION_COLUMNS.values(),
        "scored_at",
        "score_run_id",
    ]
    out = out[columns]
    predicted = time.perf_counter() - started - loaded

    drift_frame = pd.DataFrame(drift_rows)
    if not drift_frame.empty:
        drift_frame.insert(0, "score_run_id", run_id)
        drift_frame["scored_at"] = scored_at
    run = pd.DataFrame(
        [
            {
                "score_run_id": run_id,
                "scored_at": scored_at,
                "as_of_date": as_of.date(),
                "persons_scored": len(out),
                "model_versions": json.dumps(versions),
                "drift_alerts": int((drift_frame["status"] == "alert").sum())
                if not drift_frame.empty
                else 0,
                "max_psi": float(drift_frame["psi"].max()) if not drift_frame.empty else 0.0,
            }
        ]
    )
    with connect(settings) as con:
        # The table is dbt's (created empty by its on-run-start hook): its rows are replaced,
        # cast to its column types; a later `dbt build` never clears them.
        con.replace_rows("customer_scores", out)
        if not drift_frame.empty:
            con.write_table("drift_reports", drift_frame, mode="append")
        con.write_table("score_runs", run, mode="append")
    run_dir = settings.artifacts_dir / "score_runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "drift.json").write_text(
        drift_frame.to_json(orient="records", indent=1, date_format="iso")
    )
    total = time.perf_counter() - started
    log.info("scored %d persons as of %s in %.1fs", len(out), cutoff.date(), total)
    return {
        "run_id": run_id,
        "as_of_date": str(as_of.date()),
        "persons_scored": int(len(out)),
        "versions": versions,
        "drift": drift_frame,
        "timings": {"load_and_btyd": loaded, "predict": predicted, "total": total},
    }


def _population(frame: pd.DataFrame, task, settings: Settings) -> np.ndarray:
    from ml.tasks import population_mask

    return population_mask(frame, task, settings.ml.churn_active_days)
