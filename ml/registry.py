"""Model registry on disk, mirrored to the warehouse table `ml.model_registry`.

Layout under `RW_ARTIFACTS_DIR` (default `data/ml/`, outside git):

    models/<task>/<version>/model.joblib        fitted scikit-learn Pipeline
    models/<task>/<version>/metrics.json        backtest: folds, means, model vs baselines
    models/<task>/<version>/metadata.json       training data window, features, params
    models/<task>/<version>/drift_reference.json  feature/score distributions for PSI
    models/<task>/<version>/model_card.md (+ calibration.png, lift.png)
    models/<task>/registry.json                 champion + promotion/rollback history

The files are the source of truth; the warehouse table is rewritten from them after
every change so dbt, dashboards and Dagster can read the registry with SQL.

A version is either the gradient-boosting model or, when that lost to a baseline in its
backtest, the best baseline (`served_model` in metrics.json and in the table). The
registry never makes a version champion that lost to a baseline on the main metric, not
even with `force`; and a challenger must not be worse than the champion on the same folds
(its backtest refits the champion's recipe next to it, `summary["champion"]`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from ml import metrics as mx
from ml.tasks import TASKS

log = logging.getLogger(__name__)


class PromotionRefusedError(Exception):
    """The candidate lost to a baseline, or is worse than the champion on the same folds."""


MODEL = "gradient_boosting"
CHAMPION = "champion"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


@dataclass
class Registry:
    root: Path

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def version_dir(self, task: str, version: str) -> Path:
        return self.models_dir / task / version

    # -- state -----------------------------------------------------------------------------

    def _state_path(self, task: str) -> Path:
        return self.models_dir / task / "registry.json"

    def state(self, task: str) -> dict:
        path = self._state_path(task)
        if path.exists():
            return json.loads(path.read_text())
        return {"champion": None, "history": []}

    def _save_state(self, task: str, state: dict) -> None:
        path = self._state_path(task)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(path)

    def versions(self, task: str) -> list[str]:
        base = self.models_dir / task
        if not base.exists():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "metadata.json").exists())

    def champion(self, task: str) -> str | None:
        return self.state(task)["champion"]

    # -- versions --------------------------------------------------------------------------

    def save(self, task: str, version: str, pipeline, metrics: dict, metadata: dict) -> Path:
        directory = self.version_dir(task, version)
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(pipeline, directory / "model.joblib", compress=3)
        (directory / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
        (directory / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str))
        return directory

    def load(self, task: str, version: str | None = None):
        version = version or self.champion(task)
        if version is None:
            raise LookupError(f"no champion for {task!r}: run `rw-ml train` (and promote)")
        return joblib.load(self.version_dir(task, version) / "model.joblib"), version

    def metrics(self, task: str, version: str) -> dict:
        return json.loads((self.version_dir(task, version) / "metrics.json").read_text())

    def metadata(self, task: str, version: str) -> dict:
        return json.loads((self.version_dir(task, version) / "metadata.json").read_text())

    def served_model(self, task: str, version: str) -> str:
        """What the version scores with: the gradient-boosting model or a baseline's name."""
        return self.metrics(task, version).get("served_model") or MODEL

    def main_metric(self, task: str, version: str) -> float:
        metric = TASKS[task].main_metric
        summary = self.metrics(task, version).get("summary", {})
        served = self.served_model(task, version)
        return float(summary.get(served, {}).get(metric, float("nan")))

    def lost_to_baseline(self, task: str, version: str) -> str | None:
        """Why the version may not be champion (a baseline beat it, or it has no backtest),
        or None."""
        metric = TASKS[task].main_metric
        summary = self.metrics(task, version).get("summary", {})
        served = self.served_model(task, version)
        value = summary.get(served, {}).get(metric)
        if value is None or not np.isfinite(value):
            return f"{task} {version}: no backtest {metric} for {served}"
        for name, vals in summary.items():
            if name in (served, MODEL, CHAMPION):
                continue
            if mx.strictly_better(metric, vals.get(metric, float("nan")), value):
                return (
                    f"{task} {version}: {served} lost to the {name} baseline on {metric} "
                    f"({value:.4f} vs {vals[metric]:.4f}) in the same backtest"
                )
        return None

    # -- promotion -------------------------------------------------------------------------

    def promote(
        self, task: str, version: str | None = None, tolerance: float = 0.0, force: bool = False
    ) -> str:
        """Make `version` (default: newest) champion.

        Refused if it lost to a baseline in its backtest (always), or unless `force`, if it
        is worse than the current champion's recipe on the same folds or was not compared
        with the current champion at all."""
        versions = self.versions(task)
        if not versions:
            raise LookupError(f"no versions of {task!r} to promote")
        version = version or versions[-1]
        if version not in versions:
            raise LookupError(f"{task!r} has no version {version!r}")
        state = self.state(task)
        current = state["champion"]
        if current == version:
            return version
        lost = self.lost_to_baseline(task, version)
        if lost:
            raise PromotionRefusedError(lost)
        metric = TASKS[task].main_metric
        cand = self.main_metric(task, version)
        metrics = self.metrics(task, version)
        champ = None
        if current is not None and not force:
            if metrics.get("champion_version") != current or CHAMPION not in metrics["summary"]:
                raise PromotionRefusedError(
                    f"{task} {version} was not compared with champion {current} on the same "
                    "folds: retrain (`rw-ml train`) or promote with --force"
                )
            champ = float(metrics["summary"][CHAMPION].get(metric, float("nan")))
            if not mx.better(metric, cand, champ, tolerance):
                raise PromotionRefusedError(
                    f"{task} {version}: {metric} {cand:.4f} is worse than champion "
                    f"{current} ({champ:.4f}) on the same folds"
                )
        state["history"].append(
            {
                "action": "promote",
                "version": version,
                "previous": current,
                "at": _now(),
                "metric": metric,
                "value": cand,
                "champion_value_same_folds": champ,
                "served_model": self.served_model(task, version),
                "forced": bool(force),
            }
        )
        state["champion"] = version
        self._save_state(task, state)
        log.info("%s: promoted %s (%s=%.4f)", task, version, metric, cand)
        return version

    def rollback(self, task: str) -> str:
        """Return to the champion before the current one."""
        state = self.state(task)
        current = state["champion"]
        if current is None:
            raise LookupError(f"{task!r} has no champion to roll back")
        promoted = [h for h in state["history"] if h["action"] == "promote"]
        rolled_back = {h["version"] for h in state["history"] if h["action"] == "rollback"}
        previous = None
        for h in reversed(promoted):
            v = h["version"]
            if v != current and v not in rolled_back and not self.lost_to_baseline(task, v):
                previous = v
                break
        if previous is None:
            raise LookupError(f"{task!r}: no earlier champion to roll back to")
        state["history"].append(
            {"action": "rollback", "version": current, "restored": previous, "at": _now()}
        )
        state["champion"] = previous
        self._save_state(task, state)
        log.info("%s: rolled back %s -> %s", task, current, previous)
        return previous

    # -- warehouse mirror ------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        rows = []
        for task in TASKS:
            state = self.state(task)
            promoted_at = {}
            for h in state["history"]:
                if h["action"] == "promote":
                    promoted_at[h["version"]] = h["at"]
            for version in self.versions(task):
                meta = self.metadata(task, version)
                metrics = self.metrics(task, version)
                main = TASKS[task].main_metric
                summary = metrics.get("summary", {})
                served = self.served_model(task, version)
                baselines = {
                    k: v.get(main) for k, v in summary.items() if k not in (MODEL, CHAMPION)
                }
                rows.append(
                    {
                        "model_name": task,
                        "model_version": version,
                        "is_champion": version == state["champion"],
                        "trained_at": pd.Timestamp(meta["trained_at"]),
                        "promoted_at": pd.Timestamp(promoted_at[version])
                        if version in promoted_at
                        else pd.NaT,
                        "main_metric": main,
                        "main_metric_value": self.main_metric(task, version),
                        "baseline_metric_values": json.dumps(baselines, default=float),
                        "served_model": served,
                        "model_metric_value": summary.get(MODEL, {}).get(main),
                        "beats_baselines": bool(metrics.get("beats_baselines", False)),
                        "decision": metrics.get("decision", ""),
                        "same_season_cutoff": metrics.get("same_season_cutoff"),
                        "backtest_folds": len(metrics.get("folds", [])),
                        "train_rows": int(meta["n_train"]),
                        "data_end_date": pd.Timestamp(meta["data_end_date"]).date(),
                        "metrics_json": json.dumps(summary, default=float),
                        "training_metadata_json": json.dumps(meta, default=str),
                        "artifact_path": str(self.version_dir(task, version)),
                    }
                )
        return pd.DataFrame(rows)

    def sync_to_warehouse(self, con) -> int:
        """Mirror the registry into `ml.model_registry` (a `warehouse.Connection`)."""
        frame = self.table()
        if frame.empty:
            return 0
        con.write_table("model_registry", frame)
        return len(frame)
