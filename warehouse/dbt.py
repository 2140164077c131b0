"""Running dbt from Python (tests, benchmarks, the demo) with the project's paths.

Plain Python; the Dagster definitions use dagster-dbt instead. Each dbt CLI call costs a
few seconds of start-up, so callers batch work into few invocations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from warehouse.settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def dbt_executable() -> str:
    """The dbt next to the running interpreter (the project's virtualenv)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_args(command: Sequence[str], dbt_vars: Mapping[str, object] | None = None) -> list[str]:
    """The dbt command line for `command` (e.g. ["build", "--select", "+dim_customers"])."""
    args = [dbt_executable(), *command, "--project-dir", ".", "--profiles-dir", "."]
    if dbt_vars:
        args += ["--vars", json.dumps(dict(dbt_vars), sort_keys=True)]
    return args


def dbt_env(raw_dir: Path, duckdb_path: Path, base: Mapping[str, str] | None = None) -> dict:
    """Environment for a dbt run reading `raw_dir` and writing `duckdb_path`."""
    env = dict(os.environ if base is None else base)
    env["RW_RAW_DIR"] = str(Path(raw_dir).resolve())
    env["RW_DUCKDB_PATH"] = str(Path(duckdb_path).resolve())
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return env


def run_dbt(
    command: Sequence[str],
    *,
    raw_dir: Path,
    duckdb_path: Path,
    dbt_vars: Mapping[str, object] | None = None,
    extra_env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run dbt in dbt_project/; raises with dbt's output when it fails and `check` is set."""
    result = subprocess.run(
        dbt_args(command, dbt_vars),
        cwd=DBT_PROJECT_DIR,
        env={**dbt_env(raw_dir, duckdb_path), **(extra_env or {})},
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"dbt {' '.join(command)} failed (exit {result.returncode}):\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
        )
    return result
