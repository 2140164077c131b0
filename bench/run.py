"""`make bench`: warehouse benchmarks at several scales, written to bench/RESULTS.md.

For each scale (customers): sample-data generation, a generic-CSV import of the orders,
the full `dbt build` (models + tests), and the identity-stitching step alone compared on
the same edges, in the same run, with scipy.sparse.csgraph.connected_components (the
practical floor on one machine) and, at the smaller scale, with the portable recursive-CTE
version of the same dbt model. Each external step runs in a fresh process whose wall time
and peak RSS are recorded (bench/peak.py). Figures are medians of --repeats runs where
a step is repeated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import psutil

from bench.measure import END_DATE, gib, measured, node_seconds
from ingest.evaluation import stitching_quality
from ingest.export import export_transactions_csv
from warehouse.dbt import DBT_PROJECT_DIR, dbt_args, dbt_env

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
# The warehouse foundation: seeds, staging, identity, core marts and their tests. Later
# layers (segmentation, ml, sync) have their own benchmarks on top of it.
FOUNDATION = "+path:models/marts/core"


def dbt_measured(command: list[str], raw_dir: Path, db: Path, dbt_vars: dict | None = None):
    target = db.parent / f"target-{command[0]}-{time.monotonic_ns()}"
    args = dbt_args([*command, "--target-path", str(target)], dbt_vars)
    result = measured(args, env=dbt_env(raw_dir, db), cwd=DBT_PROJECT_DIR)
    result["nodes"] = node_seconds(target / "run_results.json")
    shutil.rmtree(target, ignore_errors=True)
    return result


def scipy_components(db: Path, repeats: int) -> dict:
    """scipy connected_components on the dbt model's own edges (int_identity_edges)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    with duckdb.connect(str(db), read_only=True) as con:
        start = time.perf_counter()
        nodes = con.execute(
            "select identifier_key from intermediate.int_identifiers_profiled where is_usable"
        ).fetchnumpy()["identifier_key"]
        edges = con.execute(
            "select node_a, node_b from intermediate.int_identity_edges"
        ).fetchnumpy()
        sorter = np.argsort(nodes)
        a = sorter[np.searchsorted(nodes, edges["node_a"], sorter=sorter)]
        b = sorter[np.searchsorted(nodes, edges["node_b"], sorter=sorter)]
        load_seconds = time.perf_counter() - start
        n = len(nodes)
        graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            n_components, labels = connected_components(graph, directed=False)
            runs.append(time.perf_counter() - start)
        (sql_components,) = con.execute(
            "select count(distinct person_id) from intermediate.int_identifiers_stitched"
            " where person_id is not null"
        ).fetchone()
    return {
        "nodes": n,
        "edges": len(a),
        "seconds_median": statistics.median(runs),
        "load_and_index_seconds": load_seconds,
        "components": int(n_components),
        "sql_components": int(sql_components),
    }


def bench_scale(customers: int, workdir: Path, repeats: int, portable: bool) -> dict:
    root = workdir / f"{customers}"
    shutil.rmtree(root, ignore_errors=True)
    raw_dir, truth_dir, db = root / "raw", root / "truth", root / "warehouse.duckdb"
    env = {**os.environ, "RW_RAW_DIR": str(raw_dir), "RW_TRUTH_DIR": str(truth_dir)}
    figures: dict = {"customers": customers}

    print(f"[{customers:,}] generating", flush=True)
    figures["generate"] = measured(
        [
            sys.executable,
            "-m",
            "ingest.cli",
            "generate",
            "--customers",
            str(customers),
            "--seed",
            "42",
            "--end-date",
            END_DATE,
        ],
        env=env,
    )
    with duckdb.connect() as con:
        figures["rows"] = {
            t: con.execute(
                f"select count(*) from read_parquet('{raw_dir / t}.parquet')"
            ).fetchone()[0]
            for t in ("customers", "orders", "order_items", "events", "email_events", "consents")
        }

    print(f"[{customers:,}] importing a transactions CSV", flush=True)
    csv_path = root / "transactions.csv"
    figures["import_rows"] = export_transactions_csv(raw_dir, csv_path)
    figures["import"] = measured(
        [
            sys.executable,
            "-m",
            "ingest.cli",
            "import-csv",
            str(csv_path),
            "--raw-dir",
            str(root / "imported"),
        ],
        env=env,
    )

    print(f"[{customers:,}] dbt build", flush=True)
    figures["dbt_build"] = dbt_measured(
        ["build", "--select", FOUNDATION, "--indirect-selection", "cautious"], raw_dir, db
    )
    nodes = figures["dbt_build"]["nodes"]
    figures["dbt_models_seconds"] = sum(
        s for uid, s in nodes.items() if uid.startswith(("model.", "snapshot.", "seed."))
    )
    figures["dbt_tests_seconds"] = sum(
        s for uid, s in nodes.items() if uid.startswith(("test.", "unit_test."))
    )
    figures["slowest_nodes"] = sorted(nodes.items(), key=lambda kv: -kv[1])[:8]

    print(f"[{customers:,}] stitching alone", flush=True)
    component_model = "model.retention_warehouse.int_identity_components"
    runs = [nodes[component_model]]
    for _ in range(repeats - 1):
        rerun = dbt_measured(["run", "--select", "int_identity_components"], raw_dir, db)
        runs.append(rerun["nodes"][component_model])
    figures["stitching_sql_seconds_median"] = statistics.median(runs)
    figures["stitching_sql_runs"] = runs
    figures["scipy"] = scipy_components(db, repeats)
    if portable:
        copy = root / "portable.duckdb"
        shutil.copyfile(db, copy)
        result = dbt_measured(
            ["run", "--select", "int_identity_components"],
            raw_dir,
            copy,
            {"identity_cc_algorithm": "portable"},
        )
        figures["stitching_portable_seconds"] = result["nodes"][component_model]
        copy.unlink()
    figures["quality"] = stitching_quality(db, truth_dir).as_dict()
    figures["warehouse_bytes"] = db.stat().st_size
    return figures


def optional_benchmarks(workdir: Path, customers: int, scales: list[int]) -> dict:
    """Benchmarks the other packages contribute (bench/<name>_bench.py: run_benchmarks).

    Segmentation reuses the foundation built at the same scale above when it is there.
    """
    from bench import (
        cli_help,
        drt_peer_bench,
        engines_bench,
        ml_bench,
        reverse_etl_bench,
        segmentation_bench,
    )

    built = workdir / f"{customers}"
    reuse = {}
    if (built / "warehouse.duckdb").exists():
        reuse = {"raw_dir": built / "raw", "duckdb_path": built / "warehouse.duckdb"}
    runs = {
        "segmentation": lambda: segmentation_bench.run_benchmarks(
            workdir / "segmentation", customers, **reuse
        ),
        "ml": lambda: ml_bench.run_benchmarks(workdir / "ml", customers),
        "reverse_etl": lambda: reverse_etl_bench.run_benchmarks(workdir / "reverse_etl"),
        # side by side with drt-core 1.2.1 (own venv) at 100k and 300k profiles
        "reverse_etl_vs_drt_core": lambda: drt_peer_bench.run_benchmarks(workdir / "drt_peer"),
        # the growth curve of docs/scaling.md: every scale, DuckDB and Spark in local mode
        "engines": lambda: engines_bench.run_benchmarks(
            workdir / "engines", scales, ["duckdb", "spark"]
        ),
        # every console script and sub-command answering --help (target: under 1 s)
        "cli_help": cli_help.run_benchmarks,
    }
    extra = {}
    for name, run in runs.items():
        print(f"[{name}] benchmarks", flush=True)
        extra[name] = run()
    return extra


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total
    return (
        f"{cpu}, {psutil.cpu_count()} cores, {gib(mem)} RAM, Python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}"
    )


def render(warehouse: dict | None, extra: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"- Written: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- Machine: {machine()}",
        "- Times are wall-clock seconds; memory is the peak RSS of the measured process.",
        "",
    ]
    if warehouse:
        lines += warehouse_section(warehouse)
    for name, figures in extra["extra"].items():
        lines += [
            "",
            f"## {name} (`{extra['command']}`)",
            "",
            "```json",
            json.dumps(figures, indent=2, default=str),
            "```",
        ]
    lines.append("")
    return "\n".join(lines)


def warehouse_section(warehouse: dict) -> list[str]:
    scales = warehouse["scales"]
    load = ", ".join(f"{x:.1f}" for x in warehouse["load"])
    lines = [
        f"Command: `{warehouse['command']}`; load average at the end (1/5/15 min): {load}.",
        "The build is the warehouse foundation (`dbt build --select " + FOUNDATION + "`:",
        "seeds, staging, identity, core marts, snapshot, data and unit tests).",
        "",
        "## Warehouse (generate, import, dbt build)",
        "",
        "| customers | orders | order lines | events | generate | import CSV (rows) | dbt build (models / tests) | build peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in scales:
        r = f["rows"]
        lines.append(
            f"| {f['customers']:,} | {r['orders']:,} | {r['order_items']:,} | {r['events']:,} "
            f"| {f['generate']['seconds']:.1f} s, {gib(f['generate']['peak_rss_bytes'])} "
            f"| {f['import']['seconds']:.1f} s ({f['import_rows']:,}), "
            f"{gib(f['import']['peak_rss_bytes'])} "
            f"| {f['dbt_build']['seconds']:.1f} s ({f['dbt_models_seconds']:.1f} / "
            f"{f['dbt_tests_seconds']:.1f}) | {gib(f['dbt_build']['peak_rss_bytes'])} |"
        )
    lines += [
        "",
        "## Identity stitching alone (same edges, same run)",
        "",
        "| customers | nodes | edges | dbt model (DuckDB fast path), median | scipy connected_components, median | ratio | portable recursive CTE | scipy load+index | components equal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in scales:
        s = f["scipy"]
        ratio = f["stitching_sql_seconds_median"] / max(s["seconds_median"], 1e-9)
        portable = f.get("stitching_portable_seconds")
        lines.append(
            f"| {f['customers']:,} | {s['nodes']:,} | {s['edges']:,} "
            f"| {f['stitching_sql_seconds_median']:.2f} s | {s['seconds_median']:.2f} s "
            f"| {ratio:.1f}x | {f'{portable:.2f} s' if portable else 'not run'} "
            f"| {s['load_and_index_seconds']:.2f} s "
            f"| {s['components'] == s['sql_components']} ({s['components']:,}) |"
        )
    lines += [
        "",
        "## Stitching quality against the generator's ground truth",
        "",
        "| customers | records | true links | precision | recall | most true persons in one person |",
        "|---|---|---|---|---|---|",
    ]
    for f in scales:
        q = f["quality"]
        lines.append(
            f"| {f['customers']:,} | {q['records']:,} | {q['true_links']:,} "
            f"| {q['precision']:.4f} | {q['recall']:.4f} "
            f"| {q['largest_true_persons_in_one_person']} |"
        )
    lines += ["", "## Slowest dbt nodes in the build", ""]
    for f in scales:
        slow = ", ".join(f"{uid.split('.')[-1]} {s:.1f} s" for uid, s in f["slowest_nodes"])
        lines.append(f"- {f['customers']:,} customers: {slow}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR / "out")
    parser.add_argument("--skip-extra", action="store_true", help="warehouse benchmarks only")
    parser.add_argument("--skip-warehouse", action="store_true", help="other packages only")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    command = (
        "make bench" if sys.argv[1:] == [] else f"python -m bench.run {' '.join(sys.argv[1:])}"
    )

    args.workdir.mkdir(parents=True, exist_ok=True)
    warehouse_json, extra_json = args.workdir / "warehouse.json", args.workdir / "extra.json"
    if not args.skip_warehouse:
        scales = [
            bench_scale(n, args.workdir, args.repeats, portable=(n <= 100_000)) for n in args.scales
        ]
        warehouse = {"command": command, "load": os.getloadavg(), "scales": scales}
        warehouse_json.write_text(json.dumps(warehouse, indent=2, default=str))
    if not args.skip_extra:
        extra = optional_benchmarks(args.workdir, max(args.scales), args.scales)
        extra_json.write_text(
            json.dumps({"command": command, "extra": extra}, indent=2, default=str)
        )
    # RESULTS.md shows the latest run of each part
    warehouse = json.loads(warehouse_json.read_text()) if warehouse_json.exists() else None
    extra = json.loads(extra_json.read_text()) if extra_json.exists() else {"extra": {}}
    args.output.write_text(render(warehouse, extra))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
