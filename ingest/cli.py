"""`rw-ingest`: generate sample data or import real order exports into the raw contract.

    rw-ingest generate --customers 5000 --seed 42 --end-date 2026-06-30 --years 3
    rw-ingest import-csv orders.csv --column order_id="Order Number" --timezone Europe/Warsaw
    rw-ingest import-csv orders.csv --mapping mapping.yaml --append
    rw-ingest import-shopify orders_export.csv

Paths come from `warehouse.get_settings()` (env `RW_RAW_DIR`, `RW_TRUTH_DIR`, ...) unless
`--raw-dir` is given. Exit code 1 when the file cannot be read at all; 0 with a report when
some rows were quarantined.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

# Importers (DuckDB, pyarrow) load inside the commands, so `--help` answers at once.
if TYPE_CHECKING:
    from ingest.importers import ImportReport

app = typer.Typer(
    name="rw-ingest",
    help="Load shop data into the raw contract (Parquet under the raw directory).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
logger = logging.getLogger("ingest")

RawDir = Annotated[
    Path | None,
    typer.Option("--raw-dir", help="Raw directory (default: RW_RAW_DIR or data/raw)."),
]
Append = Annotated[
    bool,
    typer.Option(
        "--append",
        help="Merge with the existing raw tables (dedupe on primary keys; orders already "
        "in raw are rejected) instead of replacing them.",
    ),
]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )


def _raw_dir(raw_dir: Path | None) -> Path:
    if raw_dir is not None:
        return raw_dir
    from warehouse.settings import get_settings

    return get_settings().raw_dir


def _print_report(report: ImportReport) -> None:
    console.print(report.to_rich())


def _fail(message: str) -> typer.Exit:
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    return typer.Exit(code=1)


@app.command()
def generate(
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    end_date: Annotated[
        str | None, typer.Option(help="Last day of generated history, YYYY-MM-DD.")
    ] = None,
    years: Annotated[int | None, typer.Option(help="Years of history.")] = None,
    raw_dir: RawDir = None,
    truth_dir: Annotated[
        Path | None, typer.Option(help="Ground-truth directory (default: RW_TRUTH_DIR).")
    ] = None,
) -> None:
    """Generate a seeded synthetic shop into the raw directory (truth kept apart)."""
    from ingest.generator import GenerationConfig
    from ingest.generator import generate as run_generate
    from warehouse.settings import get_settings

    settings = get_settings()
    kwargs: dict = {"customers": customers, "seed": seed}
    if end_date is not None:
        try:
            kwargs["end_date"] = datetime.strptime(end_date, "%Y-%m-%d").date()
        except ValueError as exc:
            raise typer.BadParameter(f"expected YYYY-MM-DD, got {end_date!r}") from exc
    if years is not None:
        kwargs["years"] = years
    report = run_generate(
        GenerationConfig(**kwargs),
        raw_dir=raw_dir or settings.raw_dir,
        truth_dir=truth_dir or settings.truth_dir,
    )
    print(report.summary())


def _parse_columns(values: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in values:
        field, sep, column = item.partition("=")
        if not sep or not field.strip():
            raise typer.BadParameter(f"expected FIELD=COLUMN, got {item!r}", param_hint="--column")
        out[field.strip()] = column.strip() or None
    return out


@app.command("import-csv")
def import_csv(
    file: Annotated[Path, typer.Argument(help="Orders/transactions CSV file.")],
    mapping: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON with `columns:` and options (timezone, formats, ...)."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help="FIELD=COLUMN, e.g. order_id='Order Number' (repeatable; FIELD= ignores it).",
        ),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Time zone of timestamps without an offset (UTC).")
    ] = None,
    timestamp_format: Annotated[
        list[str] | None,
        typer.Option(help="strptime pattern(s) for the timestamp column (repeatable)."),
    ] = None,
    default_currency: Annotated[
        str | None, typer.Option(help="Currency for rows without one, e.g. EUR.")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="Field delimiter (,).")] = None,
    encoding: Annotated[str | None, typer.Option(help="File encoding (utf-8).")] = None,
    amount_level: Annotated[
        str | None,
        typer.Option(help="'order' (amount = order total, default) or 'line' (line total)."),
    ] = None,
    append: Append = False,
    raw_dir: RawDir = None,
) -> None:
    """Import a generic orders CSV (one row per order or per order line)."""
    from ingest.importers import CsvImportOptions, ImportFileError, import_csv_orders

    try:
        options = CsvImportOptions.from_file(mapping) if mapping else CsvImportOptions()
        updates: dict = {}
        if column:
            updates["columns"] = options.columns.with_overrides(_parse_columns(column))
        for key, value in (
            ("timezone", timezone),
            ("timestamp_formats", timestamp_format),
            ("default_currency", default_currency),
            ("delimiter", delimiter),
            ("encoding", encoding),
            ("amount_level", amount_level),
        ):
            if value:
                updates[key] = value
        if updates:  # nested models passed as instances keep which columns were explicit
            current = {k: getattr(options, k) for k in CsvImportOptions.model_fields}
            options = CsvImportOptions(**{**current, **updates})
    except FileNotFoundError as exc:
        raise _fail(f"mapping file not found: {exc.filename}") from exc
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise _fail(f"invalid mapping/options: {exc}") from exc
    try:
        report = import_csv_orders(file, _raw_dir(raw_dir), options, append=append)
    except ImportFileError as exc:
        raise _fail(str(exc)) from exc
    _print_report(report)


@app.command("import-shopify")
def import_shopify(
    file: Annotated[Path, typer.Argument(help="Shopify orders export CSV.")],
    append: Append = False,
    encoding: Annotated[str, typer.Option(help="File encoding.")] = "utf-8",
    raw_dir: RawDir = None,
) -> None:
    """Import a Shopify orders export (Admin -> Orders -> Export, one row per line item)."""
    from ingest.importers import ImportFileError, import_shopify_orders

    try:
        report = import_shopify_orders(file, _raw_dir(raw_dir), append=append, encoding=encoding)
    except ImportFileError as exc:
        raise _fail(str(exc)) from exc
    _print_report(report)


@app.command("load-raw")
def load_raw(
    target: Annotated[
        str,
        typer.Option(help="Engine: postgres or spark (default: RW_DBT_TARGET)."),
    ] = "",
    raw_dir: RawDir = None,
) -> None:
    """Load the raw Parquet tables into the `raw` schema of PostgreSQL or Spark."""
    import os

    from ingest.raw_loader import ENGINES
    from ingest.raw_loader import load_raw as run_load

    engine = target or os.environ.get("RW_DBT_TARGET", "duckdb")
    if engine == "duckdb":
        print("duckdb reads the raw Parquet files directly: nothing to load")
        return
    if engine not in ENGINES:
        raise _fail(f"unknown target {engine!r}: one of duckdb, {', '.join(ENGINES)}")
    try:
        run_load(engine, _raw_dir(raw_dir))
    except (FileNotFoundError, RuntimeError) as exc:
        raise _fail(str(exc)) from exc
    print(f"raw tables loaded into {engine}")


if __name__ == "__main__":
    app()
