"""The dbt project as dagster-dbt sees it, and the dbt command lines the assets run."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from warehouse.dbt import DBT_PROJECT_DIR, dbt_executable

# Dagster keeps its manifest apart from `dbt_project/target/`, which analysts and `make build`
# overwrite with their own vars.
TARGET_PATH = Path("target") / "dagster"

# The dbt var that pins "today" of every model (inclusive; the ML cutoff is the next day).
AS_OF_VAR = "as_of_date"


# A run tag that sets the as-of date of every step of a run (launchpad: "Edit tags"): ingest
# (the sample shop's last day), every dbt step and scoring, e.g. to rebuild a historical
# date; a step's own `as_of_date` config wins.
AS_OF_TAG = "rw/as_of_date"


def resolve_as_of(configured: str | None, tags: Mapping[str, str]) -> str | None:
    return configured or tags.get(AS_OF_TAG) or None


def dbt_vars(as_of_date: str | None = None, extra: Mapping[str, object] | None = None) -> dict:
    """The `--vars` of a Dagster dbt invocation."""
    merged: dict[str, object] = {}
    if as_of_date:
        day = date.fromisoformat(as_of_date).isoformat()  # raises on a malformed date
        merged[AS_OF_VAR] = day
    merged.update(extra or {})
    return merged


def parse_args() -> list[str]:
    """`dbt parse` as dagster-dbt runs it under `dagster dev` (and tests/CI run it by hand)."""
    return ["parse", "--quiet", "--vars", json.dumps(dbt_vars(), sort_keys=True)]


def build_args(
    *,
    as_of_date: str | None = None,
    full_refresh: bool = False,
    fail_fast: bool = False,
    extra_vars: Mapping[str, object] | None = None,
) -> list[str]:
    """`dbt build` for one Dagster run; dagster-dbt appends the `--select` of the subset."""
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if fail_fast:
        args.append("--fail-fast")
    args += ["--vars", json.dumps(dbt_vars(as_of_date, extra_vars), sort_keys=True)]
    return args


# What a parse reads: a change to any of these makes the manifest stale.
_PARSED_PATHS = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "macros",
    "seeds",
    "snapshots",
    "tests",
    "analyses",
)


def manifest_is_fresh(project: DbtProject) -> bool:
    """True when `manifest.json` is newer than every file dbt parses."""
    if not project.manifest_path.exists():
        return False
    built = project.manifest_path.stat().st_mtime
    for name in _PARSED_PATHS:
        path = project.project_dir / name
        files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
        if any(f.stat().st_mtime > built for f in files):
            return False
    return True


@cache
def dbt_project() -> DbtProject:
    """The project, with its manifest regenerated under `dagster dev` when a dbt file changed
    since the last parse (every run worker loads the definitions too, so an unconditional
    parse would cost each run a `dbt parse`). Elsewhere (tests, CI, deployments) call
    `prepare_manifest()` first: the manifest is read when the definitions load."""
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target_path=TARGET_PATH,
        prepare_project_cli_args=parse_args(),
    )
    if not manifest_is_fresh(project):
        project.prepare_if_dev()
    return project


def prepare_manifest() -> Path:
    """Run `dbt parse` into the Dagster target path; returns the manifest path."""
    result = subprocess.run(
        [dbt_executable(), *parse_args(), "--target-path", str(TARGET_PATH)],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return DBT_PROJECT_DIR / TARGET_PATH / "manifest.json"


if __name__ == "__main__":  # python -m orchestration.defs.dbt.project  (CI: before pytest)
    print(prepare_manifest())
