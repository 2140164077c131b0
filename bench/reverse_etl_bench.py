"""Reverse-ETL benchmark: plan (diff) time, Klaviyo sync throughput to the emulator, memory.

``run_benchmarks(workdir, rows=1_000_000) -> dict`` returns the figures (bench/run.py writes
them to RESULTS.md). Each measurement runs in a fresh subprocess so its peak RSS is its own;
the emulator runs in another process (it does not share the engine's GIL, and its memory,
which holds every profile it received, is reported apart from the engine's). The side by
side with drt-core is bench/drt_peer_bench.py.

    python -m bench.reverse_etl_bench --rows 100000 --workdir /tmp/rw-bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]

FIELDS = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "location.country": "country",
    "properties.orders_count": "orders_count",
    "properties.net_revenue": "net_revenue",
    "properties.last_order_at": "last_order_at",
    "properties.favourite_category": "favourite_category",
}


def make_warehouse(db: Path, rows: int) -> None:
    """A profile table of ``rows`` rows (``updated_at`` for cursor-based peers)."""
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(
        f"""
        create or replace table dim_customers as
        select
            'P' || lpad(cast(i as varchar), 8, '0') as person_id,
            'person' || i || '@shop.test' as email,
            'First' || (i % 5000) as first_name,
            'Last' || (i % 7919) as last_name,
            ['PL', 'DE', 'GB', 'US'][1 + i % 4] as country,
            cast(i % 13 as integer) as orders_count,
            cast((i % 100000) * 0.37 as decimal(28, 6)) as net_revenue,
            timestamptz '2026-01-01 00:00:00+00' + to_minutes(i % 400000) as last_order_at,
            ['shoes', 'bags', 'coats', null][1 + i % 4] as favourite_category,
            i % 5 <> 4 as is_email_consented,
            timestamptz '2026-11-01 00:00:00+00' + to_minutes(i % 1000) as updated_at
        from range({rows}) as t(i)
        """
    )
    con.close()


def _sync(kind: str):
    from reverse_etl.config import SyncConfig

    dest: dict[str, Any] = {"type": kind}
    if kind == "klaviyo":
        dest.update(poll_interval_s=0.05, requests_per_second=1000)
    return SyncConfig.model_validate(
        {
            "name": f"bench_{kind}",
            "source": "dim_customers",
            "primary_key": "person_id",
            "mode": "upsert",
            "destination": dest,
            "fields": FIELDS,
            "required": ["email"],
            "consent": {"column": "is_email_consented"},
        }
    )


def _worker(args: argparse.Namespace) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import pandas  # noqa: F401  (DuckDB imports it on first Arrow registration: keep it untimed)

    from reverse_etl.destinations import DeliveryContext
    from reverse_etl.engine import SyncEngine
    from warehouse.settings import Settings

    db = Path(args.workdir) / "bench.duckdb"
    settings = Settings(duckdb_path=db, outbox_dir=Path(args.workdir) / "outbox")
    ctx = DeliveryContext(run_id="pending", outbox_dir=settings.outbox_dir, base_url=args.url)
    engine = SyncEngine(_sync(args.kind), settings=settings, context=ctx)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if args.action == "plan":
        plan = engine.plan()
        out = {
            "seconds": time.perf_counter() - t0,
            "creates": plan.creates,
            "updates": plan.updates,
            "api_calls": plan.api_calls,
        }
    else:
        r = engine.run()
        out = {
            "seconds": time.perf_counter() - t0,
            "status": r.status,
            "sent": r.sent,
            "confirmed": r.confirmed,
            "api_calls": r.api_calls,
            "plan_s": r.plan.seconds,
            "error": r.error,
        }
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["peak_rss_mb"] = peak_rss_mb()
    # CPU of the timed part only (all threads: DuckDB's and the delivery thread).
    out["cpu_s"] = round(ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime, 2)
    print(json.dumps(out))


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident memory of one process (``VmHWM``). Not ``ru_maxrss``: Linux carries
    that across fork and exec, so a fresh child of a large parent reports the parent's."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM for process {pid}")


def _spawn(workdir: Path, action: str, kind: str, url: str | None = None) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "bench.reverse_etl_bench",
        "--worker",
        "--workdir",
        str(workdir),
        "--action",
        action,
        "--kind",
        kind,
    ]
    if url:
        cmd += ["--url", url]
    env = {**os.environ, "PYTHONPATH": str(REPO), "KLAVIYO_API_KEY": "pk_emulator_key"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _change_one_percent(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(
        "update dim_customers set orders_count = orders_count + 1 where hash(person_id) % 100 = 0"
    )
    n = con.execute(
        "select count(*) from dim_customers where hash(person_id) % 100 = 0 and is_email_consented"
    ).fetchone()[0]
    con.close()
    return n


def run_benchmarks(workdir: str | Path, rows: int = 1_000_000) -> dict[str, Any]:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.duckdb"
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    make_warehouse(db, rows)
    results: dict[str, Any] = {
        "rows": rows,
        "setup_s": round(time.perf_counter() - t0, 2),
        "load_average_at_start": os.getloadavg(),
    }

    plan = _spawn(workdir, "plan", "klaviyo")
    results["plan_initial"] = plan

    port = _free_port()
    emu = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reverse_etl.emulator",
            "--port",
            str(port),
            "--job-polls",
            "0",
            "--validation",
            "sample",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        emu.stdout.readline()  # "emulator listening on ..."
        url = f"http://127.0.0.1:{port}"
        emu_proc = psutil.Process(emu.pid)
        emu_cpu0 = sum(emu_proc.cpu_times()[:2])
        full = _spawn(workdir, "run", "klaviyo", url)
        emu_cpu = sum(emu_proc.cpu_times()[:2]) - emu_cpu0
        results["full_sync_klaviyo"] = {
            **full,
            "engine_peak_rss_mb": full["peak_rss_mb"],
            "emulator_cpu_s": round(emu_cpu, 2),
            # the emulator's own process (it keeps every profile it received)
            "emulator_peak_rss_mb": peak_rss_mb(emu.pid),
        }
        results["throughput_rows_per_s"] = round(full["confirmed"] / full["seconds"])
        # Load-independent capacity: engine and emulator run in parallel (pipelined), so on
        # two otherwise idle cores the slower of the two bounds the rate.
        results["cpu_bound_rows_per_s"] = round(
            full["confirmed"] / max(full["cpu_s"], emu_cpu, 1e-9)
        )
        unchanged = _spawn(workdir, "run", "klaviyo", url)
        results["unchanged_rerun"] = unchanged
        changed = _change_one_percent(db)
        # against the emulator's target: the state is keyed by where rows were delivered
        plan_1pct = _spawn(workdir, "plan", "klaviyo", url)
        results["plan_1pct_changed"] = plan_1pct
        rerun = _spawn(workdir, "run", "klaviyo", url)
        results["rerun_1pct_changed"] = {**rerun, "expected": changed}
        results["emulator_peak_rss_mb"] = peak_rss_mb(emu.pid)
    finally:
        emu.terminate()
        emu.wait(timeout=10)
    # the engine's processes only; the emulator's memory is reported apart
    results["engine_peak_rss_mb"] = max(
        v["peak_rss_mb"] for v in results.values() if isinstance(v, dict) and "peak_rss_mb" in v
    )
    results["load_average_at_end"] = os.getloadavg()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out" / "reverse_etl"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--action", default="plan", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="klaviyo", help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    print(json.dumps(run_benchmarks(args.workdir, args.rows), indent=2, default=str))


if __name__ == "__main__":
    main()
