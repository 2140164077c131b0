"""How fast each command line answers `--help` (target: under 1 s; issue 12, item 8).

    python -m bench.cli_help [--runs 5]

Runs each console script of the project's virtual environment as a fresh process (as an
operator would) and prints the median and worst wall time. Heavy libraries (pandas,
scikit-learn, DuckDB, pyarrow, httpx) must load inside the commands, never at import.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = ("rw-ingest", "rw-ml", "rw-sync")
TARGET_S = 1.0


def measure(command: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds per run; CPU time is what a busy machine
    does not inflate."""
    exe = Path(sys.executable).parent / command
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    slow = False
    print(f"| command | median wall s | worst wall s | median CPU s | under {TARGET_S:g} s |")
    print("|---|---|---|---|---|")
    for command in COMMANDS:
        wall, cpu = measure(command, args.runs)
        median = statistics.median(wall)
        slow |= median >= TARGET_S
        print(
            f"| {command} --help | {median:.2f} | {max(wall):.2f} | "
            f"{statistics.median(cpu):.2f} | {median < TARGET_S} |"
        )
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
