"""Segmentation build time on top of the foundation build (called by bench/run.py).

    python -m bench.segmentation_bench --customers 100000 [--workdir bench/out/segmentation]

Generates a shop, builds the foundation (everything the segmentation models need: seeds,
staging, identity, core marts, the identity snapshot) and then measures, each in a fresh
process: the segmentation models with the lifecycle snapshot (`dbt build --select
path:models/marts/segmentation snap_customer_lifecycle`, data tests excluded), a rebuild of
the same (the incremental holdout table then only appends), the segmentation data and unit
tests, rendering the retention report, and the hourly cart path (one more hour of events -
a copy of the last hour's, shifted - then the hourly dbt build as of 5 minutes after it;
orchestration/defs/automation/hourly.py). Node times come from dbt's run_results.json.
Targets: all segmentation models under 60 s at 1M customers (issue "Segmentation"); the
hourly run with one hour of new events under 60 s at 1M (issue 11).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bench.measure import END_DATE, measured, node_seconds
from warehouse.dbt import DBT_PROJECT_DIR, dbt_args, dbt_env
from warehouse.settings import PROJECT_ROOT

# the segmentation seeds (rule tables) are part of its build: a reused foundation may lack them
SEGMENTATION = [
    "rfm_segments",
    "audience_settings",
    "int_device_persons",  # identity fresh to the hour, for the cart and browse flows
    "path:models/intermediate/segmentation",
    "path:models/marts/segmentation",
    "snap_customer_lifecycle",
]
NO_TESTS = ["--exclude", "resource_type:test", "resource_type:unit_test"]


def dbt_measured(
    command: list[str],
    raw_dir: Path,
    db: Path,
    dbt_vars: dict | None = None,
    extra_env: dict | None = None,
) -> dict:
    """bench.run.dbt_measured with the project root on PYTHONPATH (the measuring process
    runs in dbt_project/, where `python -m bench.peak` is otherwise not importable). A
    command that names its own --target-path keeps it (and dbt's partial-parse state)."""
    own_target = "--target-path" in command
    if own_target:
        target = Path(command[command.index("--target-path") + 1])
    else:
        target = db.parent / f"target-{command[0]}-{time.monotonic_ns()}"
        command = [*command, "--target-path", str(target)]
    env = {**dbt_env(raw_dir, db), **(extra_env or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    result = measured(dbt_args(command, dbt_vars), env=env, cwd=DBT_PROJECT_DIR)
    result["nodes"] = node_seconds(target / "run_results.json")
    if not own_target:
        shutil.rmtree(target, ignore_errors=True)
    return result


def _model_seconds(nodes: dict[str, float]) -> float:
    return sum(s for uid, s in nodes.items() if uid.startswith(("model.", "snapshot.", "seed.")))


def run_benchmarks(
    workdir: Path,
    customers: int,
    raw_dir: Path | None = None,
    duckdb_path: Path | None = None,
    build_and_hourly_only: bool = False,
) -> dict:
    """Generate `customers` persons under `workdir`, build the foundation, time segmentation.

    With `raw_dir` and `duckdb_path` of an already built warehouse (e.g. bench/run.py's
    scale), the warehouse is copied into `workdir` and generation and the foundation build
    are skipped; the segmentation models are then timed on that copy. With
    `build_and_hourly_only` the rebuild, the tests and the report are not timed.
    """
    workdir = Path(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    figures: dict = {"customers": customers}
    if raw_dir is not None and duckdb_path is not None:
        raw_dir, db = Path(raw_dir), workdir / "warehouse.duckdb"
        shutil.copyfile(duckdb_path, db)
        return _segmentation(figures, raw_dir, db, workdir, build_and_hourly_only)
    raw_dir, truth_dir, db = workdir / "raw", workdir / "truth", workdir / "warehouse.duckdb"

    print(f"[segmentation {customers:,}] generating", flush=True)
    figures["generate_seconds"] = measured(
        [
            sys.executable, "-m", "ingest.cli", "generate",
            "--customers", str(customers), "--seed", "42", "--end-date", END_DATE,
            "--raw-dir", str(raw_dir), "--truth-dir", str(truth_dir),
        ]
    )["seconds"]  # fmt: skip

    print(f"[segmentation {customers:,}] foundation build", flush=True)
    foundation = dbt_measured(
        [
            "build", "--select", *("+" + node for node in SEGMENTATION),
            "--exclude", *SEGMENTATION, "resource_type:test", "resource_type:unit_test",
        ],
        raw_dir,
        db,
    )  # fmt: skip
    figures["foundation_build_seconds"] = foundation["seconds"]
    figures["foundation_models_seconds"] = _model_seconds(foundation["nodes"])
    return _segmentation(figures, raw_dir, db, workdir, build_and_hourly_only)


def _segmentation(
    figures: dict, raw_dir: Path, db: Path, workdir: Path, build_and_hourly_only: bool = False
) -> dict:
    customers = figures["customers"]
    figures["load_average_at_start"] = [round(x, 1) for x in os.getloadavg()]
    print(f"[segmentation {customers:,}] segmentation models", flush=True)
    first = dbt_measured(["build", "--select", *SEGMENTATION, *NO_TESTS], raw_dir, db)
    figures["segmentation_build_seconds"] = first["seconds"]
    figures["segmentation_build_cpu_seconds"] = first["cpu_seconds"]
    figures["segmentation_models_seconds"] = _model_seconds(first["nodes"])
    figures["segmentation_peak_rss_bytes"] = first["peak_rss_bytes"]
    figures["segmentation_models"] = len(first["nodes"])
    figures["slowest_segmentation_nodes"] = [
        (uid.split(".")[-1], round(s, 2))
        for uid, s in sorted(first["nodes"].items(), key=lambda kv: -kv[1])[:8]
    ]

    if build_and_hourly_only:
        return _with_hourly(figures, raw_dir, db, workdir)

    print(f"[segmentation {customers:,}] rebuild (holdouts append only)", flush=True)
    second = dbt_measured(["build", "--select", *SEGMENTATION, *NO_TESTS], raw_dir, db)
    figures["segmentation_rebuild_seconds"] = second["seconds"]
    figures["segmentation_rebuild_models_seconds"] = _model_seconds(second["nodes"])

    print(f"[segmentation {customers:,}] segmentation tests", flush=True)
    tests = dbt_measured(["test", "--select", *SEGMENTATION], raw_dir, db)
    figures["segmentation_tests_seconds"] = tests["seconds"]
    figures["segmentation_tests"] = len(tests["nodes"])

    print(f"[segmentation {customers:,}] retention report", flush=True)
    report = workdir / "retention.html"
    figures["report_seconds"] = measured(
        [
            sys.executable,
            "-m",
            "reports.retention_report",
            "--duckdb",
            str(db),
            "--out",
            str(report),
        ]
    )["seconds"]
    figures["warehouse_bytes"] = db.stat().st_size

    return _with_hourly(figures, raw_dir, db, workdir)


def _with_hourly(figures: dict, raw_dir: Path, db: Path, workdir: Path) -> dict:
    customers = figures["customers"]
    print(f"[segmentation {customers:,}] hourly cart and browse path (new hours)", flush=True)
    figures.update(_hourly(raw_dir, db, workdir))
    figures["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    return figures


def _hourly(raw_dir: Path, db: Path, workdir: Path, runs: int = 3) -> dict:
    """The hourly cart path's dbt build (orchestration/defs/automation/hourly.py), each run
    after one more hour of events (the last hour's, shifted by an hour, new ids) and as of 5
    minutes after that hour. The first run after the daily build parses the project (its
    vars differ); the next `runs` are the steady state, of which the median is reported."""
    import statistics
    from datetime import timedelta

    import duckdb

    from orchestration.defs.automation.hourly import (
        hourly_dbt_command,
        hourly_dbt_env,
        hourly_dbt_vars,
        hourly_target_path,
    )

    raw_dir = _private_events(raw_dir, workdir / "raw_hourly")
    events = raw_dir / "events.parquet"
    grown = raw_dir / "events.next.parquet"
    command = hourly_dbt_command(hourly_target_path(db))
    measured_runs = []
    for _ in range(runs + 1):
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            (last,) = con.execute(f"select max(occurred_at) from '{events}'").fetchone()
            tag = f"hourly-{last:%Y%m%d%H}-"
            con.execute(
                f"""
                copy (
                    select * from '{events}'
                    union all
                    select '{tag}' || event_id, anonymous_id, customer_id, email, event_type,
                        product_id, in_stock, occurred_at + interval 1 hour
                    from '{events}'
                    where occurred_at > timestamptz '{last.isoformat()}' - interval 1 hour
                ) to '{grown}' (format parquet)
                """
            )
            (new_events,) = con.execute(
                f"select count(*) from '{grown}' where starts_with(event_id, '{tag}')"
            ).fetchone()
        grown.replace(events)
        now = last + timedelta(hours=1, minutes=5)
        load = os.getloadavg()[0]
        run = dbt_measured(
            command, raw_dir, db, dbt_vars=hourly_dbt_vars(), extra_env=hourly_dbt_env(now)
        )
        measured_runs.append({**run, "new_events": new_events, "load_at_start": load})
    first, steady = measured_runs[0], measured_runs[1:]
    median = sorted(steady, key=lambda r: r["seconds"])[len(steady) // 2]
    return {
        "hourly_first_run_seconds": round(first["seconds"], 1),
        "hourly_runs_seconds": [round(r["seconds"], 1) for r in steady],
        "hourly_median_seconds": round(statistics.median(r["seconds"] for r in steady), 1),
        "hourly_runs_cpu_seconds": [round(r["cpu_seconds"], 1) for r in steady],
        "hourly_new_events_per_run": [r["new_events"] for r in measured_runs],
        "hourly_load_average_at_start": [round(r["load_at_start"], 1) for r in measured_runs],
        "hourly_peak_rss_bytes": max(r["peak_rss_bytes"] for r in measured_runs),
        "hourly_slowest_nodes_median_run": [
            (uid.split(".")[-1], round(sec, 2))
            for uid, sec in sorted(median["nodes"].items(), key=lambda kv: -kv[1])[:8]
        ],
    }


def _private_events(raw_dir: Path, private: Path) -> Path:
    """A raw folder the hourly runs may grow: the other tables linked, events copied (the
    source folder may be shared, e.g. the 1M shop or bench/run.py's warehouse)."""
    shutil.rmtree(private, ignore_errors=True)
    private.mkdir(parents=True)
    for path in Path(raw_dir).iterdir():
        if path.name == "events.parquet":
            shutil.copyfile(path, private / path.name)
        else:
            (private / path.name).symlink_to(path.resolve(), target_is_directory=path.is_dir())
    return private


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out/segmentation"))
    parser.add_argument(
        "--reuse",
        nargs=2,
        type=Path,
        metavar=("RAW_DIR", "DUCKDB"),
        help="an already generated shop and its foundation build (copied, not changed)",
    )
    parser.add_argument(
        "--build-and-hourly-only",
        action="store_true",
        help="time only the segmentation build and the hourly runs",
    )
    args = parser.parse_args()
    reuse = dict(zip(("raw_dir", "duckdb_path"), args.reuse, strict=True)) if args.reuse else {}
    figures = run_benchmarks(
        args.workdir, args.customers, build_and_hourly_only=args.build_and_hourly_only, **reuse
    )
    print(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
