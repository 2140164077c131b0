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
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib
import pandas as pd

from ml import metrics as mx
from ml.tasks import TASKS

log = logging.getLogger(__name__)


class PromotionRefusedError(Exception):
    """The candidate's backtest main metric is worse than the champion's."""


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

    def main_metric(self, task: str, version: str) -> float:
        metric = TASKS[task].main_metric
        summary = self.metrics(task, version).get("summary", {})
        return float(summary.get("gradient_boosting", {}).get(metric, float("nan")))

    # -- promotion -------------------------------------------------------------------------

    def promote(
        self, task: str, version: str | None = None, tolerance: float = 0.0, force: bool = False
    ) -> str:
        """Make `version` (default: newest) champion if it is not worse than the champion."""
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
        metric = TASKS[task].main_metric
        cand = self.main_metric(task, version)
        if current is not None and not force:
            champ = self.main_metric(task, current)
            if not mx.better(metric, cand, champ, tolerance):
                raise PromotionRefusedError(
                    f"{task} {version}: {metric} {cand:.4f} is worse than champion "
                    f"{current} ({champ:.4f})"
                )
        state["history"].append(
            {
                "action": "promote",
                "version": version,
                "previous": current,
                "at": _now(),
                "metric": metric,
                "value": cand,
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
            if v != current and v not in rolled_back:
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
                baselines = {k: v.get(main) for k, v in summary.items() if k != "gradient_boosting"}
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
                        "beats_baselines": bool(metrics.get("beats_baselines", False)),
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
