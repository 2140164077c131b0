"""Benchmarks of the ml package: feature build, training, scoring, backtest quality.

    from bench.ml_bench import run_benchmarks
    figures = run_benchmarks(workdir, customers=1_000_000)

Steps, each in a fresh process (wall time, CPU time, peak RSS of that process):
1. the sample shop (skipped if `workdir/raw` already holds one) and the warehouse marts
   the features need (skipped if `workdir/warehouse.duckdb` already has them);
2. feature build: `dbt run` of the ml marts (ml_cutoffs, ml_customer_features, ml_labels,
   ml_training_set);
3. `rw-ml train`: load, per-cutoff BTYD, rolling backtest (3 folds x 5 models x 4
   baselines), final fit of all models, registry;
4. `rw-ml score`: every person scored into ml.customer_scores, with the drift report;
5. BG/NBD fit alone on `customers` simulated customers (collapsed rows), for comparison
   with the figures in ANCHORS.md (lifetimes 7.9 s, scipy 3.1 s collapsed at 1M).

Returns the figures as a dict (bench/run.py writes RESULTS.md). `python -m bench.ml_bench
--customers 20000 --workdir /tmp/ml-bench` prints them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from ml.tasks import TASKS

ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = ROOT / "dbt_project"
ML_MARTS = "marts.ml"


def _measured(cmd: list[str], env: dict, cwd: Path = ROOT) -> dict:
    """Run `cmd` in a fresh process: wall time, CPU time (user + sys) and its peak RSS.

    CPU time is reported beside wall time because this machine is shared: under load the
    wall time grows while the CPU time the step needs stays about the same.
    """
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.read()[-6000:]}")
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_average_at_start": round(load, 1),
        "peak_rss_gib": round(usage.ru_maxrss / 2**20, 2),
    }


def _dbt(args: list[str], env: dict, work: Path) -> dict:
    exe = str(Path(sys.executable).parent / "dbt")
    cmd = [
        exe,
        *args,
        "--profiles-dir",
        ".",
        "--project-dir",
        ".",
        "--target-path",
        str(work / "dbt_target"),
        "--log-path",
        str(work / "dbt_logs"),
    ]
    return _measured(cmd, env, cwd=DBT_DIR)


def _has_table(db: Path, table: str) -> bool:
    if not db.exists():
        return False
    with duckdb.connect(str(db), read_only=True) as con:
        return bool(
            con.execute(
                "select count(*) from information_schema.tables where table_name = ?", [table]
            ).fetchone()[0]
        )


def _btyd_fit_seconds(customers: int) -> dict:
    from ml.models.btyd import BetaGeoModel, simulate_bgnbd_gamma_gamma

    sim = simulate_bgnbd_gamma_gamma(
        customers,
        r=0.5,
        alpha=30.0,
        a=0.8,
        b=2.5,
        p=6.0,
        q=4.0,
        gamma=15.0,
        T_max=1000,
        seed=1,
        max_purchases=60,
    )
    sim["recency"] = sim["recency"].round()  # whole days, as in the warehouse
    start = time.perf_counter()
    model = BetaGeoModel().fit(sim["frequency"], sim["recency"], sim["T"])
    seconds = time.perf_counter() - start
    unique = len(sim.groupby(["frequency", "recency", "T"]).size())
    return {
        "customers": customers,
        "unique_rows": unique,
        "seconds": round(seconds, 2),
        "params": {k: round(v, 3) for k, v in model.params_.items()},
    }


def truth_check(db: Path, truth: Path) -> dict:
    """Score quality on the generator's true future (never seen by dbt or the models).

    Persons are matched to true persons through their orders (the most frequent true owner
    of a person's orders); outcomes are the true orders after the scoring cutoff. LTV is
    compared by rank only: the truth's net_amount excludes shipping, the label includes it.
    """
    import numpy as np
    import pandas as pd

    from ml import metrics as mx

    records = pd.read_parquet(truth / "record_persons.parquet")
    records = records[records["record_type"] == "order"][["record_id", "true_person_id"]]
    future = pd.read_parquet(truth / "future_orders.parquet")
    future = future[future["status"] != "cancelled"]
    with duckdb.connect(str(db), read_only=True) as con:
        scores = con.execute("select * from ml.customer_scores").df()
        orders = con.execute("select order_id as record_id, person_id from core.fct_orders").df()
    owners = orders.merge(records, on="record_id")
    owner = (
        owners.groupby(["person_id", "true_person_id"])
        .size()
        .reset_index(name="n")
        .sort_values(["person_id", "n", "true_person_id"], ascending=[True, False, True])
        .drop_duplicates("person_id")
    )
    frame = scores.merge(owner[["person_id", "true_person_id"]], on="person_id")
    cutoff = pd.Timestamp(frame["as_of_date"].iloc[0]).tz_localize("UTC")
    days = (future["ordered_at"] - cutoff).dt.total_seconds() / 86400
    future = future.assign(days=days)
    out = {"persons_matched": int(len(frame))}
    for horizon, col in ((90, "churn_probability"), (7, "propensity_7d"), (30, "propensity_30d")):
        buyers_in = set(
            future.loc[(future["days"] >= 0) & (future["days"] < horizon), "true_person_id"]
        )
        sub = frame[frame[col].notna()]
        y = sub["true_person_id"].isin(buyers_in).to_numpy()
        y = ~y if col == "churn_probability" else y
        m = mx.classification_metrics(y.astype(int), sub[col].to_numpy())
        out[col] = {
            "n": m["n"],
            "base_rate": round(m["base_rate"], 4),
            "roc_auc": round(m["roc_auc"], 4),
            "pr_auc": round(m["pr_auc"], 4),
            "brier": round(m["brier"], 4),
        }
    revenue = (
        future[(future["days"] >= 0) & (future["days"] < 365)]
        .groupby("true_person_id")["net_amount"]
        .sum()
    )
    actual = frame["true_person_id"].map(revenue).fillna(0).to_numpy(dtype="float64")
    m = mx.regression_metrics(actual, frame["predicted_ltv_12m"].to_numpy())
    out["predicted_ltv_12m"] = {
        "spearman": round(m["spearman"], 4),
        "top_decile_revenue_capture": round(m["top_decile_revenue_capture"], 4),
        "mean_predicted": round(float(np.mean(frame["predicted_ltv_12m"])), 2),
        "mean_actual_excl_shipping": round(float(actual.mean()), 2),
    }
    return out


def run_benchmarks(workdir: Path, customers: int) -> dict:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    raw, truth = workdir / "raw", workdir / "truth"
    db, artifacts = workdir / "warehouse.duckdb", workdir / "ml_artifacts"
    env = dict(
        os.environ,
        RW_RAW_DIR=str(raw),
        RW_DUCKDB_PATH=str(db),
        RW_ARTIFACTS_DIR=str(artifacts),
        PYTHONPATH=str(ROOT),
    )
    figures: dict = {"customers": customers}

    if not (raw / "orders.parquet").exists():
        code = (
            "from ingest.generator import generate, GenerationConfig; "
            f"generate(GenerationConfig(customers={customers}, seed=42), "
            f"raw_dir={str(raw)!r}, truth_dir={str(truth)!r})"
        )
        figures["generate"] = _measured([sys.executable, "-c", code], env)
    if not (_has_table(db, "fct_order_items") and _has_table(db, "dim_customers")):
        figures["warehouse_build"] = _dbt(
            [
                "build",
                "--indirect-selection",
                "empty",
                "--select",
                "+ml_customer_features,resource_type:model",
                "+ml_customer_features,resource_type:seed",
                "--exclude",
                ML_MARTS,
            ],
            env,
            workdir,
        )

    figures["feature_build"] = _dbt(["run", "--select", ML_MARTS], env, workdir)
    with duckdb.connect(str(db), read_only=True) as con:
        figures["feature_rows"] = con.execute(
            "select count(*) from ml.ml_customer_features"
        ).fetchone()[0]
        figures["cutoffs"] = con.execute("select count(*) from ml.ml_cutoffs").fetchone()[0]

    train_report = workdir / "train_report.json"
    figures["train"] = _measured(
        [sys.executable, "-m", "ml.cli", "train", "--report", str(train_report)], env
    )
    report = json.loads(train_report.read_text())
    figures["train"]["steps"] = {k: round(v, 1) for k, v in report["timings"].items()}
    figures["feature_build_plus_train_seconds"] = round(
        figures["feature_build"]["seconds"] + figures["train"]["seconds"], 1
    )
    backtest = {}
    for name, result in report["backtest"].items():
        metric = result["main_metric"]
        backtest[name] = {
            "main_metric": metric,
            "folds": len(result["folds"]),
            **{model: round(vals[metric], 4) for model, vals in result["summary"].items()},
            "beats_baselines": result["beats_baselines"],
            "served_model": result["served_model"],
        }
    figures["backtest"] = backtest
    figures["backtest_detail"] = {
        name: {
            model: {k: round(v, 4) for k, v in vals.items()}
            for model, vals in result["summary"].items()
        }
        for name, result in report["backtest"].items()
    }

    score_report = workdir / "score_report.json"
    figures["score"] = _measured(
        [sys.executable, "-m", "ml.cli", "score", "--report", str(score_report)], env
    )
    score = json.loads(score_report.read_text())
    figures["score"]["persons_scored"] = score["persons_scored"]
    figures["score"]["steps"] = {k: round(v, 1) for k, v in score["timings"].items()}
    figures["score"]["max_psi"] = round(max((d["psi"] for d in score["drift"]), default=0.0), 3)

    if (truth / "future_orders.parquet").exists():
        figures["truth_check"] = truth_check(db, truth)
    figures["btyd_fit"] = _btyd_fit_seconds(customers)
    figures["peak_rss_gib"] = max(
        v["peak_rss_gib"] for v in figures.values() if isinstance(v, dict) and "peak_rss_gib" in v
    )
    return figures


def markdown(figures: dict) -> str:
    """A RESULTS.md section for bench/run.py."""
    lines = [
        f"### Models at {figures['customers']:,} customers",
        "",
        "| step | wall s | CPU s | load avg at start | peak RSS |",
        "|---|---|---|---|---|",
    ]
    for step in ("generate", "warehouse_build", "feature_build", "train", "score"):
        if step in figures:
            f = figures[step]
            lines.append(
                f"| {step} | {f['seconds']} | {f['cpu_seconds']} | "
                f"{f['load_average_at_start']} | {f['peak_rss_gib']} GiB |"
            )
    lines += [
        "",
        f"Feature build + training (incl. backtest): "
        f"{figures['feature_build_plus_train_seconds']} s; scoring "
        f"{figures['score']['persons_scored']:,} persons: {figures['score']['seconds']} s; "
        f"BG/NBD fit on {figures['btyd_fit']['customers']:,} simulated customers: "
        f"{figures['btyd_fit']['seconds']} s.",
        "",
        "| model | main metric | gradient boosting | simple rule | rfm rule | btyd | "
        "folds | served |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, b in figures["backtest"].items():
        simple = TASKS[name].simple_baseline
        lines.append(
            f"| {name} | {b['main_metric']} | {b.get('gradient_boosting')} | "
            f"{simple} {b.get(simple)} | {b.get('rfm_rule')} | {b.get('btyd')} | "
            f"{b['folds']} | {b['served_model']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "ml")
    args = parser.parse_args()
    figures = run_benchmarks(args.workdir, args.customers)
    print(json.dumps(figures, indent=1, default=str))
    print(markdown(figures))


if __name__ == "__main__":
    main()
