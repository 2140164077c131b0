"""The warehouse build per engine and scale: the growth curve behind docs/scaling.md.

For each engine (DuckDB, Spark in local mode, optionally PostgreSQL) and each scale
(customers): generate the shop once, load the raw contract into the engine (Spark,
PostgreSQL), then time `dbt build` of every model, seed and snapshot (data tests and unit
tests excluded: they measure the tests, not the engine) in a fresh process, with the
per-layer split from dbt's run_results. Events = web events + e-mail events + orders +
order lines, the rows a shop's volume is usually quoted in.

    python -m bench.engines_bench --scales 10000 100000 --engines duckdb spark

PostgreSQL needs RW_PG_* settings (a server you choose); Spark runs in local mode with
its warehouse under the work directory. `make bench` runs this at 100k and 1M customers
on DuckDB and Spark.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from warehouse.dbt import DBT_PROJECT_DIR, dbt_args, dbt_env

BENCH_DIR = Path(__file__).resolve().parent
END_DATE = "2026-11-15"
EVENT_TABLES = ("events", "email_events", "orders", "order_items")
LAYERS = {
    "staging": "models/staging/",
    "identity": "models/intermediate/identity/",
    "core": "models/marts/core/",
    "segmentation": "models/marts/segmentation/",
    "ml": "models/marts/ml/",
    "sync": "models/marts/sync/",
    "snapshots": "snapshots/",
}


def _measured(cmd: list[str], env: dict, cwd: Path | None = None) -> dict:
    from bench.measure import measured

    return measured(cmd, env=env, cwd=cwd)


def generate(raw_dir: Path, truth_dir: Path, customers: int) -> dict:
    if not (raw_dir / "orders.parquet").exists():
        cmd = [sys.executable, "-m", "ingest.cli", "generate", "--customers", str(customers),
               "--seed", "42", "--end-date", END_DATE, "--raw-dir", str(raw_dir),
               "--truth-dir", str(truth_dir)]  # fmt: skip
        _measured(cmd, env=dict(os.environ))
    rows = {t: pq.ParquetFile(raw_dir / f"{t}.parquet").metadata.num_rows for t in EVENT_TABLES}
    return {"rows": rows, "events": sum(rows.values())}


def engine_env(engine: str, root: Path, raw_dir: Path, customers: int) -> dict:
    env = dbt_env(raw_dir, root / "warehouse.duckdb")
    env["RW_DBT_TARGET"] = engine
    if engine == "spark":
        env["RW_SPARK_WAREHOUSE_DIR"] = str(root / "spark")
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        if customers >= 1_000_000:
            # the profile's defaults are sized for tests; the 1M figures in RESULTS used these
            env.setdefault("RW_SPARK_DRIVER_MEMORY", "8g")
            env.setdefault("RW_SPARK_SHUFFLE_PARTITIONS", "8")
    return env


def layer_seconds(run_results: Path) -> dict[str, float]:
    """Seconds per layer, from the paths of the nodes dbt ran."""
    manifest = json.loads((run_results.parent / "manifest.json").read_text())
    nodes = {**manifest["nodes"]}
    totals = dict.fromkeys(LAYERS, 0.0)
    for result in json.loads(run_results.read_text())["results"]:
        node = nodes.get(result["unique_id"], {})
        path = node.get("original_file_path", "")
        for layer, prefix in LAYERS.items():
            if path.startswith(prefix):
                totals[layer] += result["execution_time"]
    return {k: round(v, 2) for k, v in totals.items()}


def bench_engine(engine: str, customers: int, workdir: Path, raw_dir: Path) -> dict:
    root = workdir / engine / str(customers)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    env = engine_env(engine, root, raw_dir, customers)
    # the machine is shared: the load average at start and end qualifies every figure
    figures: dict = {"engine": engine, "customers": customers, "load_start": os.getloadavg()}
    if engine != "duckdb":
        print(f"[{engine} {customers:,}] loading raw", flush=True)
        load = [sys.executable, "-m", "ingest.cli", "load-raw", "--target", engine,
                "--raw-dir", str(raw_dir)]  # fmt: skip
        figures["load_seconds"] = round(_measured(load, env=env)["seconds"], 1)
    print(f"[{engine} {customers:,}] dbt build (models, seeds, snapshots)", flush=True)
    target = root / "target"
    build = dbt_args(["build", "--exclude-resource-type", "test", "unit_test",
                      "--target-path", str(target)])  # fmt: skip
    result = _measured(build, env=env, cwd=DBT_PROJECT_DIR)
    figures["build_seconds"] = round(result["seconds"], 1)
    figures["build_peak_rss_gib"] = round(result["peak_rss_bytes"] / 2**30, 2)
    figures["layers_seconds"] = layer_seconds(target / "run_results.json")
    figures["load_end"] = os.getloadavg()
    return figures


def run_benchmarks(
    workdir: Path, scales: list[int], engines: list[str], shops: dict[int, Path] | None = None
) -> dict:
    runs = []
    for customers in scales:
        shop = workdir / "shops" / str(customers)
        raw_dir = (shops or {}).get(customers, shop / "raw")
        print(f"[engines {customers:,}] generating (or reusing {raw_dir})", flush=True)
        size = generate(raw_dir, shop / "truth", customers)
        for engine in engines:
            figures = bench_engine(engine, customers, workdir, raw_dir)
            figures.update(events=size["events"], rows=size["rows"])
            figures["seconds_per_million_events"] = round(
                figures["build_seconds"] / (size["events"] / 1e6), 1
            )
            runs.append(figures)
            # kept after every run: a later, longer run may not finish
            (workdir / "engines.partial.json").write_text(json.dumps(runs, indent=2))
    return {"scales": scales, "engines": engines, "load": os.getloadavg(), "runs": runs}


def table(results: dict) -> str:
    lines = [
        "| engine | customers | events | raw load s | build s | s per 1M events "
        "| growth vs previous scale | peak RSS (dbt process) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous: dict[str, dict] = {}
    for run in results["runs"]:
        before = previous.get(run["engine"])
        growth = ""
        if before:
            growth = (
                f"{run['build_seconds'] / before['build_seconds']:.1f}x time for "
                f"{run['events'] / before['events']:.1f}x events"
            )
        lines.append(
            f"| {run['engine']} | {run['customers']:,} | {run['events']:,} "
            f"| {run.get('load_seconds', '')} | {run['build_seconds']} "
            f"| {run['seconds_per_million_events']} | {growth} | {run['build_peak_rss_gib']} GiB |"
        )
        previous[run["engine"]] = run
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR / "out" / "engines")
    parser.add_argument(
        "--shop",
        action="append",
        default=[],
        metavar="CUSTOMERS=RAW_DIR",
        help="an already generated shop (seed 42) to use for a scale; only read",
    )
    args = parser.parse_args()
    shops = {int(k): Path(v).resolve() for k, v in (item.split("=", 1) for item in args.shop)}
    args.workdir = args.workdir.resolve()  # dbt runs in dbt_project/: its paths must be absolute
    started = time.perf_counter()
    results = run_benchmarks(args.workdir, args.scales, args.engines, shops)
    results["command"] = f"python -m bench.engines_bench {' '.join(sys.argv[1:])}".strip()
    (args.workdir / "engines.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
