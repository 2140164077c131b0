"""Model cards: one markdown file per model version, with a calibration curve and lift chart."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ml.metrics import calibration_by_decile  # noqa: E402

MODEL = "gradient_boosting"


def _plot_models(predictions: dict) -> list[str]:
    """The model first, then the baselines (the champion's refit is in the tables only)."""
    return [MODEL, *sorted(k for k in predictions if k not in (MODEL, "champion"))]


def _fmt(value) -> str:
    if isinstance(value, float):
        if not np.isfinite(value):
            return "n/a"
        return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def _reliability(ax, y, predictions: dict, title: str) -> None:
    hi = 0.0
    for name in _plot_models(predictions):
        if name not in predictions or not len(y):
            continue
        table = calibration_by_decile(y, predictions[name])
        ax.plot(table["mean_predicted"], table["mean_actual"], marker="o", ms=3, label=name)
        hi = max(hi, table["mean_predicted"].max(), table["mean_actual"].max())
    ax.plot([0, hi], [0, hi], color="grey", lw=0.8, ls="--", label="perfect")
    ax.set_xlabel("mean predicted (per decile)")
    ax.set_ylabel("mean actual (per decile)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def plot_calibration(backtest, path: Path, title: str) -> None:
    """Reliability curves: all backtest folds pooled, and the same-season fold alone."""
    season = backtest.same_season_cutoff
    panels = [(np.ones(len(backtest.y), dtype=bool), "all backtest folds")]
    if season is not None:
        panels.append((backtest.fold_of == season, f"same-season fold ({season})"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), dpi=100)
    for ax, (mask, label) in zip(np.atleast_1d(axes), panels, strict=True):
        preds = {k: v[mask] for k, v in backtest.predictions.items()}
        _reliability(ax, backtest.y[mask], preds, f"{title}: {label}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_lift(y: np.ndarray, predictions: dict[str, np.ndarray], path: Path, title: str):
    """Cumulative share of positives (or revenue) captured by the top-k% predictions."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=100)
    y = np.asarray(y, dtype="float64")
    total = y.sum()
    for name in _plot_models(predictions):
        if name not in predictions or total <= 0:
            continue
        order = np.lexsort((np.arange(len(y)), -predictions[name]))
        captured = np.cumsum(y[order]) / total
        share = np.arange(1, len(y) + 1) / len(y)
        step = max(1, len(y) // 400)
        ax.plot(share[::step], captured[::step], label=name)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="random")
    ax.axvline(0.1, color="grey", lw=0.5)
    ax.set_xlabel("share of customers, highest predictions first")
    ax.set_ylabel("share of outcome captured")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_model_card(directory: Path, metadata: dict, backtest, importance) -> Path:
    """Write model_card.md, calibration.png and lift.png into `directory`."""
    task = backtest.task
    directory.mkdir(parents=True, exist_ok=True)
    if len(backtest.y):
        plot_calibration(backtest, directory / "calibration.png", f"{task.name} reliability")
        plot_lift(
            backtest.y,
            backtest.predictions,
            directory / "lift.png",
            f"{task.name}: cumulative capture (backtest folds pooled)",
        )
    lines = [
        f"# Model card: {task.name} — version {metadata['version']}",
        "",
        f"**Predicts:** {task.description}  ",
        f"**Type:** {task.kind}; serves `{metadata.get('served_model', MODEL)}` "
        f"(`{metadata['estimator']}`)  ",
        f"**Main metric:** `{task.main_metric}`  ",
        f"**Trained at:** {metadata['trained_at']} (seed {metadata['seed']})  ",
        f"**Training data:** cutoffs {', '.join(metadata['train_cutoffs'])}; "
        f"{metadata['n_train']:,} rows ({metadata['n_train_population']:,} before sampling); "
        f"data up to {metadata['data_end_date']}  ",
        "**Beats every baseline on the main metric:** "
        + ("yes" if backtest.beats_baselines else "NO"),
        f"**Decision:** {backtest.decision}  ",
        f"**Champion at training time:** {backtest.champion_version or 'none'}"
        + (f" ({backtest.champion_note})" if backtest.champion_note else ""),
        "",
        "## Backtest (rolling cutoffs, mean over folds)",
        "",
    ]
    if backtest.summary:
        metric_names = [k for k in next(iter(backtest.summary.values())) if k not in ("n",)]
        lines.append("| model | " + " | ".join(metric_names) + " |")
        lines.append("|---|" + "---|" * len(metric_names))
        for model, vals in backtest.summary.items():
            cells = [_fmt(vals.get(k)) for k in metric_names]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "| fold cutoff | same season | train cutoffs | train rows | test rows | "
            f"model {task.main_metric} | best baseline |",
            "|---|---|---|---|---|---|---|",
        ]
        for fold in backtest.folds:
            m = fold["metrics"]
            base = {k: v[task.main_metric] for k, v in m.items() if k not in (MODEL, "champion")}
            sign = -1.0 if task.main_metric in ("mae", "rmse", "brier") else 1.0
            best = max(base.items(), key=lambda kv: sign * kv[1] if np.isfinite(kv[1]) else -np.inf)
            lines.append(
                f"| {fold['cutoff']} | {'yes' if fold.get('same_season') else ''} | "
                f"{len(fold['train_cutoffs'])} | {fold['n_train']:,} | "
                f"{fold['n_test']:,} | {_fmt(m[MODEL][task.main_metric])} | "
                f"{best[0]} {_fmt(best[1])} |"
            )
    else:
        lines.append("_No backtest fold had enough history for this task._")
    lines += [
        "",
        "![calibration](calibration.png) ![lift](lift.png)",
        "",
        "## Calibration",
        "",
        "Reliability curve: the mean prediction against the observed outcome in each decile "
        "of the prediction (points on the diagonal = calibrated). Expected calibration error "
        "(ECE) = the customer-weighted mean distance from the diagonal; ratio = mean "
        "prediction / observed rate. Each fold is a season the model did not train on.",
        "",
    ]
    served = metadata.get("served_model", MODEL)
    if len(backtest.y) and task.kind == "classifier":
        lines += [
            "Per-season calibration (`ml/season.py`): probabilities are raised to the "
            "exponent k that matched the observed rate on the training cutoffs of the "
            f"target's season; k = {metadata.get('season_exponent', 1.0):.3f} for the season "
            f"of {metadata.get('season_target_cutoff', 'the scoring cutoff')} "
            "(1 = no correction). Per fold:",
            "",
            "| fold cutoff | same season | model | season k | ECE | mean predicted | observed "
            "| ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for fold in backtest.folds:
            for name in dict.fromkeys([MODEL, served]):
                m = fold["metrics"][name]
                k = fold.get("season_exponent", {}).get(name, 1.0)
                lines.append(
                    f"| {fold['cutoff']} | {'yes' if fold.get('same_season') else ''} | {name} | "
                    f"{k:.3f} | {_fmt(m['ece'])} | {_fmt(m['mean_predicted'])} | "
                    f"{_fmt(m['base_rate'])} | {_fmt(m['calibration_ratio'])} |"
                )
        lines.append("")
    if len(backtest.y):
        lines.append(f"Pooled folds, by decile of `{served}`:")
        lines.append("")
        table = calibration_by_decile(backtest.y, backtest.predictions[served])
        lines.append("| decile | customers | mean predicted | mean actual | share of actual |")
        lines.append("|---|---|---|---|---|")
        for row in table.itertuples():
            lines.append(
                f"| {row.decile} | {row.customers:,} | {_fmt(float(row.mean_predicted))} | "
                f"{_fmt(float(row.mean_actual))} | {_fmt(float(row.share_of_actual))} |"
            )
    lines += [
        "",
        "## Features",
        "",
        f"{len(metadata['features'])} inputs: " + ", ".join(f"`{f}`" for f in metadata["features"]),
        "",
    ]
    if importance:
        lines += ["Most used in splits:", ""]
        lines += [f"- `{name}` {share:.1%}" for name, share in importance]
    lines += [
        "",
        "## Notes",
        "",
        "- Features are point-in-time (dbt `ml_customer_features`, only data before each "
        "cutoff); labels come from `ml_labels`. BTYD (BG/NBD + Gamma-Gamma) predictions fitted "
        "on each cutoff's own history are both a baseline and model inputs.",
        "- Baselines are fitted on the same training rows and scored on the same test rows.",
        "- Persons are resolved with the identity graph of the latest build; a later merge of "
        "two persons is not reconstructed as of the cutoff.",
        "",
    ]
    path = directory / "model_card.md"
    path.write_text("\n".join(lines))
    return path


def backtest_markdown(results) -> str:
    """Compact comparison table of all tasks for the CLI/bench output."""
    rows = [
        "| task | main metric | gradient boosting | simple rule | rfm rule | btyd | "
        "folds | beats baselines | served |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        main = res.main
        simple = res.task.simple_baseline
        rows.append(
            f"| {name} | {res.task.main_metric} | {_fmt(main.get(MODEL, np.nan))} "
            f"| {simple} {_fmt(main.get(simple, np.nan))} | {_fmt(main.get('rfm_rule', np.nan))} "
            f"| {_fmt(main.get('btyd', np.nan))} | {len(res.folds)} | "
            f"{'yes' if res.beats_baselines else 'no'} | {res.served_model} |"
        )
    return "\n".join(rows)


def to_frame(results) -> pd.DataFrame:  # pragma: no cover - convenience
    from ml.backtest import summary_table

    return summary_table(results)
