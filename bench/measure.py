"""What every benchmark shares: the generated shop's end date and a measured subprocess.

Each external step runs in a fresh process (bench/peak.py) so its wall time, CPU time and
peak RSS are its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

END_DATE = "2026-11-15"


def measured(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> dict:
    """Wall time and peak RSS of `cmd`, run in a fresh measuring process."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.peak", "--", *cmd],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    if result["returncode"] != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed:\n{result['stdout_tail']}\n{result['stderr_tail']}"
        )
    return result


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


def node_seconds(run_results: Path) -> dict[str, float]:
    data = json.loads(run_results.read_text())
    return {r["unique_id"]: r["execution_time"] for r in data["results"]}
