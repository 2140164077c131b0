"""Start the Dagster UI (`dagster dev`) on 127.0.0.1 with a persistent instance in the project.

    python -m orchestration.ui                 # http://127.0.0.1:3000
    python -m orchestration.ui --port 3001
    python -m orchestration.ui --emulator      # syncs deliver to the local MAP emulator
    python -m orchestration.ui --bootstrap     # first start: materialize the graph once

DAGSTER_HOME defaults to `<project>/dagster_home/` (git-ignored); its `dagster.yaml` is
written on first start: telemetry off, and one run at a time, because every asset writes the
same DuckDB file. The process `exec`s `dagster dev` with SIGINT restored to its default, so
`kill -INT <pid>` (or Ctrl-C) stops the UI and the daemon even when this was started from a
script that ignores SIGINT.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from warehouse.settings import PROJECT_ROOT

DEFAULT_HOME = PROJECT_ROOT / "dagster_home"
CODE_SERVER_HEARTBEAT_TTL_S = 600

INSTANCE_YAML = """\
# Written by orchestration/ui.py. Every asset writes the one DuckDB warehouse file, so runs
# are queued and executed one at a time.
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
"""


def ensure_instance(home: Path) -> Path:
    """Create DAGSTER_HOME and its dagster.yaml unless one exists (never overwritten)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML)
    return config


def dagster_command(port: int, host: str = "127.0.0.1") -> list[str]:
    executable = Path(sys.executable).parent / "dagster"
    dagster = str(executable) if executable.exists() else (shutil.which("dagster") or "dagster")
    # Loads [tool.dagster] from pyproject.toml (the process runs in the project root).
    return [dagster, "dev", "--host", host, "--port", str(port)]


def environment(home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["DAGSTER_HOME"] = str(home)
    # dagster-dbt's `dbt parse` under `dagster dev` looks for dbt on PATH: use the venv's.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    env["DAGSTER_DISABLE_TELEMETRY"] = "true"
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # The code server shuts itself down after 30 s without a heartbeat from dagster dev's
    # proxy, and is not started again (dagster-io/dagster#24050): on a busy machine, while
    # the code location loads, the UI was left with a location error. Allow minutes.
    env.setdefault("DAGSTER_GRPC_PROXY_HEARTBEAT_TTL_SECONDS", str(CODE_SERVER_HEARTBEAT_TTL_S))
    return env


def _die_with_parent() -> None:  # runs in the emulator child before exec (Linux)
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_emulator(env: dict[str, str]) -> str:
    """Start the local MAP emulator on a free port; it exits with this process (which
    becomes `dagster dev`). Points every API destination at it and sets the emulator's
    demo credentials where no real ones are set."""
    import socket

    from reverse_etl.demo import DEMO_ENV

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.Popen(
        [sys.executable, "-m", "reverse_etl.emulator", "--port", str(port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    url = f"http://127.0.0.1:{port}"
    env["RW_MAP_BASE_URL"] = url
    for name, value in DEMO_ENV.items():
        env.setdefault(name, value)
    return url


def bootstrap(env: dict[str, str]) -> bool:
    """Materialize the whole graph once, in-process, into a fresh instance, so the UI opens
    with trained models, scores, audiences, the report and sync results (raw data is
    generated only when there is none). Skipped when the instance already has runs.
    Returns whether every step succeeded."""
    os.environ.update(env)
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.dbt.project import dbt_project, manifest_is_fresh, prepare_manifest
    from warehouse.settings import get_settings

    instance = dg.DagsterInstance.get()
    if instance.get_runs_count() > 0:
        print("bootstrap: the instance already has runs; nothing to do", flush=True)
        return True
    if not manifest_is_fresh(dbt_project()):
        prepare_manifest()
    definitions = defs()
    graph = definitions.get_repository_def().asset_graph
    selection = dg.AssetSelection.all()
    raw_dir = Path(os.environ.get("RW_RAW_DIR") or get_settings().raw_dir)
    if (raw_dir / "orders.parquet").exists():
        selection = selection - dg.AssetSelection.groups("raw")
    print("bootstrap: materializing the asset graph once (this takes a few minutes)", flush=True)
    result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance,
        asset_selection=list(selection.resolve(graph)),
        raise_on_error=False,
        tags={"rw/bootstrap": "true"},
    )
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    print(f"bootstrap: {'done' if result.success else 'failed steps: ' + ', '.join(failed)}")
    return result.success


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("RW_UI_PORT", "3000")))
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="Run the local MAP emulator and send every API sync to it (demo).",
    )
    parser.add_argument(
        "--bootstrap",
        action="store_true",
        help="On a fresh DAGSTER_HOME, materialize the whole graph once before starting.",
    )
    args = parser.parse_args(argv)

    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_HOME).resolve()
    ensure_instance(home)
    env = environment(home)
    if args.emulator:
        print(f"MAP emulator: {start_emulator(env)}", flush=True)
    if args.bootstrap:
        bootstrap(env)
    command = dagster_command(args.port)
    print(f"Dagster UI: http://127.0.0.1:{args.port}  (DAGSTER_HOME={home})", flush=True)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.chdir(PROJECT_ROOT)
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
