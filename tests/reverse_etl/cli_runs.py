"""Real `rw-sync run` processes for the crash tests: the sync file, the command line, and a
run SIGKILLed once the emulator has seen a given number of its requests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .conftest import SECRET_ENV

REPO = Path(__file__).resolve().parents[2]


def write_sync(dir_: Path, name: str, spec: dict) -> None:
    dir_.mkdir(parents=True, exist_ok=True)
    (dir_ / f"{name}.yml").write_text(yaml.safe_dump({"name": name, **spec}))


def run_cmd(syncs: Path, db: Path, outbox: Path, url: str, name: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "reverse_etl.cli",
        "run",
        name,
        "--syncs-dir",
        str(syncs),
        "--duckdb-path",
        str(db),
        "--outbox-dir",
        str(outbox),
        "--base-url",
        url,
    ]


def run_env() -> dict[str, str]:
    return {**os.environ, **SECRET_ENV, "PYTHONPATH": str(REPO)}


def run_and_kill(cmd: list[str], emulator, kill_after: int) -> bool:
    """Start ``cmd``; SIGKILL it once the emulator logged ``kill_after`` more requests (or
    60 s passed). True when it was killed mid-run, False when it finished first."""
    before = len(emulator.state.requests)
    proc = subprocess.Popen(
        cmd, env=run_env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 60
    while len(emulator.state.requests) - before < kill_after and time.time() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.002)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return killed
