"""Command line for the models: `python -m ml.cli ...` or `rw-ml ...` (no Dagster needed).

Order of operations with the warehouse:

    cd dbt_project && dbt build                 # marts + ml_customer_features / ml_labels
    rw-ml train                                 # backtest, fit, register, promote if not worse
    rw-ml score                                 # ml.customer_scores (+ drift report)
    cd dbt_project && dbt build --select ...    # models that read the scores source
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from ml.tasks import TASKS

# Each command imports what it runs (pandas, scikit-learn, DuckDB, even the settings'
# pydantic), so `rw-ml --help` answers at once; tests/test_cli_startup.py keeps it so.
if TYPE_CHECKING:
    from ml.registry import Registry
    from warehouse.settings import Settings

app = typer.Typer(help="Churn, propensity, LTV and next-order models.", no_args_is_help=True)
console = Console()

TaskOpt = Annotated[
    list[str] | None,
    typer.Option("--model", "-m", help=f"Limit to these models: {', '.join(TASKS)}"),
]


def load_settings() -> Settings:
    from warehouse.settings import get_settings

    return get_settings()


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    # OpenMP threads (scikit-learn's gradient boosting) sleep instead of spinning while
    # they wait: on a shared machine spinning burns the other processes' CPU for nothing.
    # Read when the OpenMP runtime loads, i.e. before scikit-learn is first imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


def _check(models: list[str] | None) -> list[str] | None:
    for m in models or []:
        if m not in TASKS:
            raise typer.BadParameter(f"unknown model {m!r}; choose from {', '.join(TASKS)}")
    return models


def _print_backtest(results) -> None:
    table = Table(title="Backtest: main metric, mean over rolling and same-season cutoffs")
    for col in (
        "model",
        "metric",
        "gradient boosting",
        "simple rule",
        "rfm rule",
        "btyd",
        "champion (same folds)",
        "folds",
        "served",
    ):
        table.add_column(col)
    for name, res in results.items():
        main = res.main
        simple = res.task.simple_baseline
        table.add_row(
            name,
            res.task.main_metric,
            f"{main.get('gradient_boosting', float('nan')):.4f}",
            f"{simple} {main.get(simple, float('nan')):.4f}",
            f"{main.get('rfm_rule', float('nan')):.4f}",
            f"{main.get('btyd', float('nan')):.4f}",
            f"{main['champion']:.4f}" if "champion" in main else "-",
            str(len(res.folds)),
            str(res.served_model),
        )
    console.print(table)


@app.command()
def train(
    models: TaskOpt = None,
    promote: Annotated[
        bool,
        typer.Option(
            help="Promote each new version if it beats every baseline (else the best baseline "
            "is registered instead) and is not worse than the champion on the same folds"
        ),
    ] = True,
    report: Annotated[Path | None, typer.Option(help="Write backtest + timings as JSON")] = None,
) -> None:
    """Backtest against baselines, fit on all complete cutoffs, register (and promote)."""
    from ml.train import train_all

    cfg = load_settings()
    out = train_all(cfg, _check(models), promote=promote)
    if report:
        payload = {k: v for k, v in out.items() if k != "results"}
        report.write_text(json.dumps(payload, indent=1, default=float))
    _print_backtest(out["results"])
    for name, version in out["versions"].items():
        state = "promoted" if name in out["promoted"] else "candidate"
        console.print(f"{name}: {version} ({state}): {out['results'][name].decision}")
    for name, reason in out["refused"].items():
        console.print(f"[yellow]{name}: not promoted — {reason}[/yellow]")
    console.print({k: round(v, 1) for k, v in out["timings"].items()})


@app.command()
def backtest(
    models: TaskOpt = None,
    output: Annotated[Path | None, typer.Option(help="Write the full results as JSON")] = None,
) -> None:
    """Rolling-cutoff backtest of every model vs its baselines (nothing is registered)."""
    from ml.backtest import run_backtest
    from ml.train import prepare
    from warehouse.connections import connect

    cfg = load_settings()
    with connect(cfg, read_only=True) as con:
        frame, _ = prepare(con, cfg)
    results = run_backtest(frame, cfg, _check(models))
    _print_backtest(results)
    if output:
        output.write_text(json.dumps({k: r.to_dict() for k, r in results.items()}, indent=2))
        console.print(f"wrote {output}")


@app.command()
def promote(
    model: Annotated[str, typer.Option("--model", "-m")],
    version: Annotated[str | None, typer.Option(help="Default: newest version")] = None,
    force: Annotated[
        bool,
        typer.Option(help="Skip the champion comparison (never the baseline gate)"),
    ] = False,
) -> None:
    """Make a version champion: it must not have lost to a baseline, and not be worse than
    the champion on the same folds."""
    from ml.registry import PromotionRefusedError

    _change_champion(
        model,
        lambda reg, cfg: reg.promote(model, version, cfg.ml.promotion_tolerance, force=force),
        refused=PromotionRefusedError,
    )


@app.command()
def rollback(model: Annotated[str, typer.Option("--model", "-m")]) -> None:
    """Restore the previous champion of a model."""
    _change_champion(model, lambda reg, cfg: reg.rollback(model), refused=LookupError)


def _change_champion(
    model: str, change: Callable[[Registry, Settings], str], refused: type[Exception]
) -> None:
    """Promote or roll back in the registry, then mirror it into the warehouse (scoring and
    the dbt models read the champions there)."""
    from ml.registry import Registry
    from warehouse.connections import connect

    cfg = load_settings()
    _check([model])
    reg = Registry(cfg.artifacts_dir)
    try:
        champion = change(reg, cfg)
    except refused as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1) from exc
    with connect(cfg) as con:
        reg.sync_to_warehouse(con)
    console.print(f"{model}: champion is now {champion}")


@app.command()
def score(
    as_of_date: Annotated[
        str | None,
        typer.Option(help="As-of date, inclusive (dbt var as_of_date; default: the latest)"),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the run summary as JSON")] = None,
) -> None:
    """Score all persons with the champions into ml.customer_scores; report drift (PSI)."""
    from ml.score import score as run_score

    cfg = load_settings()
    out = run_score(cfg, as_of_date)
    if report:
        payload = {k: v for k, v in out.items() if k != "drift"}
        payload["drift"] = out["drift"].to_dict(orient="records")
        report.write_text(json.dumps(payload, indent=1, default=str))
    console.print(
        f"scored {out['persons_scored']:,} persons as of {out['as_of_date']} "
        f"in {out['timings']['total']:.1f}s (run {out['run_id']})"
    )
    drift = out["drift"]
    if not drift.empty:
        flagged = drift[drift["status"] != "stable"]
        console.print(f"drift: max PSI {drift['psi'].max():.3f}; {len(flagged)} not stable")
        for row in flagged.itertuples():
            console.print(f"  {row.model_name} {row.variable}: PSI {row.psi:.3f} ({row.status})")


@app.command(name="list")
def list_versions() -> None:
    """Registered versions and champions."""
    from ml.registry import Registry

    reg = Registry(load_settings().artifacts_dir)
    frame = reg.table()
    if frame.empty:
        console.print("no versions registered")
        return
    for row in frame.itertuples():
        star = "*" if row.is_champion else " "
        console.print(
            f"{star} {row.model_name:<15} {row.model_version}  {row.main_metric}="
            f"{row.main_metric_value:.4f}  serves {row.served_model}",
            soft_wrap=True,
        )
    console.print("(* = champion)")


@app.command()
def btyd(
    transactions: Annotated[Path, typer.Argument(help="CSV or Parquet order export")],
    output: Annotated[Path, typer.Option("--output", "-o")],
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Last day of observation, inclusive (orders after it are ignored). "
            "Default: the day of the last order"
        ),
    ] = None,
    time_unit: Annotated[
        str,
        typer.Option(
            help="Unit of recency, T and the rate parameter alpha: day, or week as in the "
            "published CDNOW estimates"
        ),
    ] = "day",
    horizon_days: Annotated[int, typer.Option(help="Prediction horizon in days")] = 365,
) -> None:
    """BG/NBD + Gamma-Gamma on a plain transactions table (customer, date, amount)."""
    import pandas as pd

    from ml.models.btyd import TIME_UNITS, BTYDModel, summary_from_transactions

    if time_unit not in TIME_UNITS:
        raise typer.BadParameter(f"choose from {', '.join(TIME_UNITS)}", param_hint="--time-unit")
    if transactions.suffix == ".parquet":
        frame = pd.read_parquet(transactions)
    else:
        # ids are text: `00017` must come out as `00017`, the shop's id, not 17
        frame = pd.read_csv(transactions, dtype={customer_col: str})
    dates = pd.to_datetime(frame[date_col], utc=True, format="mixed")
    frame[date_col] = dates
    last_day = pd.Timestamp(as_of) if as_of else dates.max().tz_localize(None).normalize()
    summary = summary_from_transactions(
        frame, customer_col, date_col, amount_col, last_day, unit=time_unit
    )
    per_unit = TIME_UNITS[time_unit]
    model = BTYDModel().fit(summary)
    pred = model.predict(summary, horizon_days / per_unit)
    pred["p_no_order_90d"] = model.bgnbd.probability_no_purchase(
        90 / per_unit, summary["frequency"], summary["recency"], summary["T"]
    )
    result = summary.join(pred)
    if output.suffix == ".parquet":
        result.to_parquet(output)
    else:
        result.to_csv(output)
    console.print(model.describe(time_unit))
    console.print(json.dumps({"time_unit": time_unit, **model.to_dict()}, indent=1, default=float))
    console.print(
        f"{len(result):,} customers observed through {last_day.date()} (inclusive); "
        f"recency and T in {time_unit}s; horizon {horizon_days} days -> {output}"
    )


if __name__ == "__main__":
    app()
