"""Our webhook sync against drt-core 1.2.1 (the open-source peer), side by side in one run.

Both send the same DuckDB table of profiles to the same local receiver of JSON batches
(``bench/receiver.py``, its own process), 500 records per request:

- **ours**: ``rw-sync run`` of a signed-webhook sync in mirror mode (content hash per row,
  deletes propagated, intent journaled before send);
- **drt-core**: ``drt run`` of a ``rest_api`` destination in batch mode
  (``max_records_per_request: 500``) with its read batch (``sync.batch_size``) at 5,000 and
  no rate limit, from its own virtual environment (created here under the work directory,
  outside the project's .venv, with drt-core pinned).

Every program runs in a fresh process through ``bench/proc_stats.py``: wall seconds, CPU
seconds (all threads) and its own peak RSS. The receiver checks that every row arrived
(records and distinct keys). Runs per scale: a full sync of both; then 1 % of the rows
change (with ``updated_at`` moved) and 0.1 % leave the model, and each tool re-runs: ours
by content diff (sends the changes and the deletes), drt-core in ``full`` mode (no change
detection on DuckDB: it resends everything, never deletes) and in ``incremental`` mode on
the ``updated_at`` cursor (sends the changed rows; deletes are not seen).

    python -m bench.drt_peer_bench --rows 100000 300000 --workdir /tmp/rw-peer
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.reverse_etl_bench import make_warehouse

REPO = Path(__file__).resolve().parents[1]
PROC_STATS = REPO / "bench" / "proc_stats.py"
DRT_CORE = "drt-core==1.2.1"
# drt-core's DuckDB source needs pytz to read timestamptz columns (not among its extras);
# duckdb pinned to ours so both read the same file format.
DRT_EXTRAS = ["pytz==2026.6"]
READ_BATCH = 5_000
PER_REQUEST = 500
# The webhook secret of the benchmark (the receiver verifies no signature: equal work).
SECRET = "whsec_YmVuY2htYXJrLXNlY3JldC0wMTIzNDU2Nzg5"
COLUMNS = [
    "person_id",
    "email",
    "first_name",
    "last_name",
    "country",
    "orders_count",
    "net_revenue",
    "last_order_at",
    "favourite_category",
]


def drt_venv(workdir: Path) -> Path:
    """drt-core's own virtual environment (created once per work directory)."""
    import duckdb

    venv = workdir / "drt-venv"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    want = f"{DRT_CORE} duckdb=={duckdb.__version__} {' '.join(DRT_EXTRAS)}"
    if not marker.exists() or marker.read_text() != want:
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"{DRT_CORE}", *want.split()[1:]],
            check=True,
        )
        marker.write_text(want)
    return python


def _drt_project(root: Path, db: Path, url: str) -> None:
    """A drt project (syncs + profile) reading ``db`` and posting batches to ``url``."""
    (root / "home" / ".drt").mkdir(parents=True, exist_ok=True)
    (root / "home" / ".drt" / "profiles.yml").write_text(
        f"bench:\n  type: duckdb\n  database: {db}\n"
    )
    proj = root / "project"
    (proj / "syncs" / "models").mkdir(parents=True, exist_ok=True)
    (proj / "drt_project.yml").write_text("name: drt_peer_bench\nprofile: bench\n")
    cols = ", ".join(COLUMNS)
    (proj / "syncs" / "models" / "profiles.sql").write_text(f"select {cols} from dim_customers\n")
    (proj / "syncs" / "models" / "profiles_cursor.sql").write_text(
        f"select {cols}, updated_at from dim_customers\n"
    )
    destination = {
        "type": "rest_api",
        "url": url,
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body_mode": "batch",
        "batch_template": '{"data": {"records": {{ rows | tojson_safe }}}}',
        "max_records_per_request": PER_REQUEST,
    }
    options = {
        "batch_size": READ_BATCH,
        "rate_limit": {"requests_per_second": 0},  # 0: no pacing (ours is unpaced too)
        "on_error": "fail",
    }
    syncs = {
        "profiles_full": {"model": "ref('profiles')", "sync": {"mode": "full", **options}},
        "profiles_incremental": {
            "model": "ref('profiles_cursor')",
            "sync": {"mode": "incremental", "cursor_field": "updated_at", **options},
        },
    }
    for name, spec in syncs.items():
        body = {"name": name, "model": spec["model"], "destination": destination}
        body["sync"] = spec["sync"]
        (proj / "syncs" / f"{name}.yml").write_text(json.dumps(body, indent=2))


def _our_syncs(root: Path, url: str) -> Path:
    syncs = root / "syncs"
    syncs.mkdir(parents=True, exist_ok=True)
    spec = {
        "name": "peer_webhook",
        "source": "dim_customers",
        "primary_key": "person_id",
        "mode": "mirror",
        "destination": {
            "type": "webhook",
            "url": url,
            "secret_env": "BENCH_WEBHOOK_SECRET",
            "batch_size": PER_REQUEST,
            "requests_per_second": 100_000,  # no pacing: the receiver is local
        },
        "fields": {c: c for c in COLUMNS[1:]},  # the columns drt-core sends
        "guard": {"max_removal_share": 1.0},
    }
    (syncs / "peer_webhook.yml").write_text(json.dumps(spec, indent=2))
    return syncs


class Receiver:
    """The receiver process: counters over HTTP, CPU and memory via psutil."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", "--port", "0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        port = int(self.proc.stdout.readline().split()[-1])
        self.base = f"http://127.0.0.1:{port}"
        self.ps = psutil.Process(self.proc.pid)
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def reset(self) -> float:
        self.client.post("/__reset")
        return sum(self.ps.cpu_times()[:2])

    def stats(self, cpu0: float) -> dict[str, Any]:
        out = self.client.get("/__stats").json()
        out["cpu_s"] = round(sum(self.ps.cpu_times()[:2]) - cpu0, 2)
        return out

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _measured(
    python: Path | str, flag: str, target: str, args: list[str], env: dict, cwd: Path
) -> dict:
    out = cwd / f"stats-{time.monotonic_ns()}.json"
    done = subprocess.run(
        [str(python), str(PROC_STATS), str(out), flag, target, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"{target} {' '.join(args)} failed:\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-3000:]}")  # fmt: skip
    stats = json.loads(out.read_text())
    out.unlink()
    return stats


def _figures(stats: dict, received: dict) -> dict[str, Any]:
    n = received["records"]
    return {
        "records": n,
        "distinct_keys": received["distinct_keys"],
        "requests": received["requests"],
        "wall_s": stats["wall_s"],
        "records_per_s": round(n / stats["wall_s"]) if n else 0,
        "cpu_s": stats["cpu_s"],
        "cpu_s_per_1k": round(1000 * stats["cpu_s"] / n, 4) if n else None,
        "peak_rss_mb": stats["peak_rss_mb"],
        "receiver_cpu_s": received["cpu_s"],
    }


def _last_steps(db: Path) -> dict[str, float]:
    """Where our last run's time went, as the engine recorded it (reverse_etl.runs.steps)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "select steps from reverse_etl.runs order by started_at desc limit 1"
        ).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def _change(db: Path, rows: int) -> dict[str, int]:
    """1 % of the rows change (updated_at moves with them), 0.1 % leave the model."""
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute(
            "update dim_customers set orders_count = orders_count + 1, "
            "updated_at = updated_at + interval 1 day where hash(person_id) % 100 = 1"
        )
        con.execute("delete from dim_customers where hash(person_id) % 1000 = 7")
        left = rows - con.execute("select count(*) from dim_customers").fetchone()[0]
        changed = con.execute(
            "select count(*) from dim_customers where hash(person_id) % 100 = 1"
        ).fetchone()[0]
    return {"changed": changed, "left": left}


def bench_scale(workdir: Path, rows: int, drt_python: Path, receiver: Receiver) -> dict:
    root = workdir / f"{rows}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    ours_db, drt_db = root / "ours.duckdb", root / "drt.duckdb"
    make_warehouse(ours_db, rows)
    shutil.copyfile(ours_db, drt_db)
    url = f"{receiver.base}/records"
    syncs = _our_syncs(root, url)
    _drt_project(root / "drt", drt_db, url)
    ours_env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_WEBHOOK_SECRET": SECRET}
    drt_env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {
        "HOME": str(root / "drt" / "home"),
        "NO_COLOR": "1",
    }
    drt_cwd = root / "drt" / "project"
    ours_cmd = ["run", "peer_webhook", "--syncs-dir", str(syncs), "--duckdb-path", str(ours_db)]

    def ours() -> dict:
        cpu0 = receiver.reset()
        stats = _measured(sys.executable, "-m", "reverse_etl.cli", ours_cmd, ours_env, REPO)
        return _figures(stats, receiver.stats(cpu0)) | {"steps_s": _last_steps(ours_db)}

    def drt(sync: str) -> dict:
        cpu0 = receiver.reset()
        stats = _measured(
            drt_python, "-e", "drt.cli.main:app", ["run", "--select", sync], drt_env, drt_cwd
        )
        return _figures(stats, receiver.stats(cpu0))

    out: dict[str, Any] = {"rows": rows, "load_average_at_start": os.getloadavg()}
    # alternate the order so neither tool always runs on the warmer page cache
    out["ours_full"] = ours()
    out["drt_full"] = drt("profiles_full")
    out["drt_incremental_first"] = drt("profiles_incremental")
    out["ours_unchanged_rerun"] = ours()
    out["change"] = _change(ours_db, rows)
    _change(drt_db, rows)
    out["ours_rerun_after_change"] = ours()
    out["drt_full_rerun_after_change"] = drt("profiles_full")
    out["drt_incremental_rerun_after_change"] = drt("profiles_incremental")
    full_o, full_d = out["ours_full"], out["drt_full"]
    out["ratios_full_sync"] = {
        "records_per_s_ours_over_drt": round(full_o["records_per_s"] / full_d["records_per_s"], 2),
        "peak_rss_ours_over_drt": round(full_o["peak_rss_mb"] / full_d["peak_rss_mb"], 2),
        "cpu_per_record_ours_over_drt": round(full_o["cpu_s_per_1k"] / full_d["cpu_s_per_1k"], 2),
    }
    out["load_average_at_end"] = os.getloadavg()
    shutil.rmtree(root, ignore_errors=True)
    return out


def run_benchmarks(workdir: str | Path, scales: tuple[int, ...] = (100_000, 300_000)) -> dict:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    drt_python = drt_venv(workdir)
    receiver = Receiver()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        results = {
            "commit": commit or None,
            # our engine's settings from the environment (defaults otherwise)
            "ours_settings": {k: v for k, v in os.environ.items() if k.startswith("RW_SYNC_")},
            "peer": f"{DRT_CORE} (own venv {drt_python.parent.parent}), rest_api batch mode, "
            f"read batch {READ_BATCH}, {PER_REQUEST} records per request, no rate limit",
            "ours": f"rw-sync webhook sync, mode mirror, {PER_REQUEST} records per request",
            "scales": {},
        }
        for rows in scales:
            print(f"[drt peer] {rows:,} profiles", flush=True)
            results["scales"][str(rows)] = bench_scale(workdir, rows, drt_python, receiver)
        return results
    finally:
        receiver.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out" / "drt_peer"))
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 300_000])
    args = parser.parse_args()
    print(json.dumps(run_benchmarks(args.workdir, tuple(args.rows)), indent=2, default=str))


if __name__ == "__main__":
    main()
