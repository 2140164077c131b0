"""`rw-ingest`: generate sample data or import real order exports into the raw contract.

    rw-ingest generate --customers 5000 --seed 42 --end-date 2026-06-30 --years 3
    rw-ingest inspect orders.csv
    rw-ingest import-csv orders.csv --column order_id="Order Number" --timezone Europe/Warsaw
    rw-ingest import-csv orders.csv --mapping mapping.yaml --append
    rw-ingest import-csv wc-orders.csv --format woocommerce --timezone Europe/Warsaw
    rw-ingest import-shopify orders_export.csv

Paths come from `warehouse.get_settings()` (env `RW_RAW_DIR`, `RW_TRUTH_DIR`, ...) unless
`--raw-dir` is given. Exit code 1 when the file cannot be read at all or when more than
`--max-rejected-share` of its rows would be rejected (then nothing is written); 0 with a
report when fewer rows were quarantined.
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
    from ingest.importers import CsvImportOptions, ImportReport, Plan

# the `--format` presets (ingest.importers.PLATFORMS; a test keeps the two in step)
PLATFORM_NAMES = ("woocommerce", "prestashop", "magento")

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
MaxRejectedShare = Annotated[
    float,
    typer.Option(
        "--max-rejected-share",
        min=0.0,
        max=1.0,
        help="Fail (exit 1, nothing written) when more than this share of rows is rejected.",
    ),
]
DEFAULT_MAX_REJECTED_SHARE = 0.05


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


def _csv_options(
    platform: str | None,
    mapping: Path | None,
    column: list[str] | None,
    **settings: object,
) -> CsvImportOptions:
    """Options from the platform preset or mapping file, then the command-line settings."""
    from ingest.importers import PLATFORMS, CsvImportOptions

    try:
        if platform is not None:
            if platform not in PLATFORMS:
                raise ValueError(f"unknown --format {platform!r}; known: {', '.join(PLATFORMS)}")
            options = PLATFORMS[platform]
            if mapping is not None:
                raise ValueError("--format and --mapping cannot be combined")
        else:
            options = CsvImportOptions.from_file(mapping) if mapping else CsvImportOptions()
        updates: dict = {k: v for k, v in settings.items() if v}
        if column:
            updates["columns"] = options.columns.with_overrides(_parse_columns(column))
        if updates:  # nested models passed as instances keep which columns were explicit
            current = {k: getattr(options, k) for k in CsvImportOptions.model_fields}
            options = CsvImportOptions(**{**current, **updates})
    except FileNotFoundError as exc:
        raise _fail(f"mapping file not found: {exc.filename}") from exc
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise _fail(f"invalid mapping/options: {_plain_error(exc)}") from exc
    return options


def _plain_error(exc: ValueError) -> str:
    """One line per problem, without pydantic's URLs and input echo."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}" for e in exc.errors()
        )
    return str(exc)


Platform = Annotated[
    str | None,
    typer.Option(
        "--format",
        help=f"Shop platform export: {', '.join(PLATFORM_NAMES)} (default: any orders CSV).",
    ),
]


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
    delimiter: Annotated[
        str | None, typer.Option(help="Field delimiter (default: detected , ; or tab).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="File encoding (default: detected, e.g. cp1250).")
    ] = None,
    decimal_comma: Annotated[
        bool | None,
        typer.Option(
            "--decimal-comma/--decimal-point", help="Money written 12,50 (default: detected)."
        ),
    ] = None,
    amount_level: Annotated[
        str | None,
        typer.Option(help="'order' (amount = order total, default) or 'line' (line total)."),
    ] = None,
    platform: Platform = None,
    max_rejected_share: MaxRejectedShare = DEFAULT_MAX_REJECTED_SHARE,
    append: Append = False,
    raw_dir: RawDir = None,
) -> None:
    """Import an orders CSV (one row per order or per order line), or a shop platform's
    order export with --format. Run `rw-ingest inspect FILE` first to see how it is read."""
    from ingest.importers import ImportFileError, import_csv_orders

    options = _csv_options(
        platform,
        mapping,
        column,
        timezone=timezone,
        timestamp_formats=timestamp_format,
        default_currency=default_currency,
        delimiter=delimiter,
        encoding=encoding,
        amount_level=amount_level,
    )
    if decimal_comma is not None:
        options = options.model_copy(update={"decimal_comma": decimal_comma})
    try:
        report = import_csv_orders(
            file,
            _raw_dir(raw_dir),
            options,
            append=append,
            max_rejected_share=max_rejected_share,
            importer=platform or "csv_orders",
        )
    except ImportFileError as exc:
        raise _fail(str(exc)) from exc
    _print_report(report)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="Orders CSV file to look at.")],
    platform: Platform = None,
    mapping: Annotated[Path | None, typer.Option(help="Mapping YAML/JSON to try.")] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", "-c", help="FIELD=COLUMN to try.")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="Time zone to try.")] = None,
    rows: Annotated[int, typer.Option(help="Sample parsed orders to show.")] = 5,
) -> None:
    """Show how FILE would be imported (encoding, delimiter, decimal comma, date format,
    column mapping, sample parsed orders, rejects and why) without writing anything."""
    import tempfile

    from ingest.importers import ImportFileError, import_csv_orders, plan_import

    options = _csv_options(platform, mapping, column, timezone=timezone)
    try:
        plan = plan_import(file, options, platform or "csv")
    except ImportFileError as exc:
        raise _fail(str(exc)) from exc
    console.print(_plan_table(plan))
    logging.getLogger("ingest").setLevel(logging.WARNING)  # the trial import's chatter
    with tempfile.TemporaryDirectory(prefix="rw-inspect-") as tmp:
        try:  # a trial import into a throw-away directory: the real rules, nothing kept
            report = import_csv_orders(file, Path(tmp), options, importer=platform or "csv")
        except ImportFileError as exc:
            raise _fail(str(exc)) from exc
        _print_samples(Path(tmp), report, rows)
    if platform is None:
        console.print("To pin this reading, save as mapping.yaml and pass --mapping mapping.yaml:")
        console.print(plan.mapping_yaml(), markup=False, highlight=False)
    console.print("Nothing was written.")


def _plan_table(plan: Plan):
    from rich.table import Table

    fmt = Table(title=f"{plan.path.name}: how it is read", show_header=False)
    fmt.add_row("encoding", plan.encoding)
    fmt.add_row("delimiter", {"\t": "tab"}.get(plan.delimiter, plan.delimiter))
    fmt.add_row("decimal separator", "comma (12,50)" if plan.decimal_comma else "point (12.50)")
    fmt.add_row("timestamps", ", ".join(plan.timestamp_formats or ["ISO 8601"]))
    for note in plan.notes:
        if not note.startswith(("delimiter", "decimal comma", "timestamp format")):
            fmt.add_row("note", note)
    cols = Table(title="column mapping")
    cols.add_column("field")
    cols.add_column("column")
    cols.add_column("how")
    for name, column in plan.columns.items():
        if column is not None:
            cols.add_row(name, column, plan.column_source.get(name, ""))
    unused = [h for h in plan.header if h not in set(plan.columns.values())]
    from rich.console import Group

    parts = [fmt, cols]
    if unused:
        parts.append(f"Columns not used: {', '.join(unused)}")
    return Group(*parts)


def _print_samples(raw: Path, report: ImportReport, n: int) -> None:
    import pyarrow.parquet as pq
    from rich.table import Table

    orders = pq.read_table(raw / "orders.parquet").slice(0, n).to_pylist()
    table = Table(title=f"first {len(orders)} parsed orders")
    shown = [
        "order_id",
        "customer_id",
        "email",
        "phone",
        "ordered_at",
        "status",
        "currency",
        "total",
    ]
    for c in shown:
        table.add_column(c)
    for o in orders:
        table.add_row(*("" if o[c] is None else str(o[c]) for c in shown))
    console.print(table)
    outcome = Table(title=f"{report.input_rows} input rows")
    outcome.add_column("outcome")
    outcome.add_column("count", justify="right")
    outcome.add_row("loaded rows", f"{report.loaded_rows:,}")
    for reason, count in sorted(report.rejected_by_reason.items()):
        outcome.add_row(f"rejected: {reason}", f"{count:,}", style="yellow")
    for name, count in report.facts.items():
        outcome.add_row(name.replace("_", " "), f"{count:,}")
    console.print(outcome)
    if report.rejected_rows and report.rejected_path is not None:
        rejected = pq.read_table(report.rejected_path, columns=["source_row", "reason"])
        why = Table(title="rejected rows (first 10)")
        why.add_column("row", justify="right")
        why.add_column("reason", overflow="fold")
        for r in rejected.slice(0, 10).to_pylist():
            why.add_row(str(r["source_row"]), r["reason"])
        console.print(why)


@app.command("import-shopify")
def import_shopify(
    file: Annotated[Path, typer.Argument(help="Shopify orders export CSV.")],
    append: Append = False,
    encoding: Annotated[str, typer.Option(help="File encoding.")] = "utf-8",
    max_rejected_share: MaxRejectedShare = DEFAULT_MAX_REJECTED_SHARE,
    raw_dir: RawDir = None,
) -> None:
    """Import a Shopify orders export (Admin -> Orders -> Export, one row per line item)."""
    from ingest.importers import ImportFileError, import_shopify_orders

    try:
        report = import_shopify_orders(
            file,
            _raw_dir(raw_dir),
            append=append,
            encoding=encoding,
            max_rejected_share=max_rejected_share,
        )
    except ImportFileError as exc:
        raise _fail(str(exc)) from exc
    _print_report(report)


# -- Pulls from APIs (ingest/pull/, dlt) -------------------------------------------------
pull_app = typer.Typer(
    help="Pull from shop and marketing-platform APIs into the raw contract (incremental).",
    no_args_is_help=True,
)
app.add_typer(pull_app, name="pull")

Since = Annotated[
    str,
    typer.Option(help="First run only: pull records changed since (ISO 8601 timestamp)."),
]


def _pull_settings():
    from warehouse.settings import get_settings

    return get_settings().pull


@pull_app.command("shopify")
def pull_shopify_command(
    shop_url: Annotated[
        str | None,
        typer.Option(help="https://<shop>.myshopify.com (default: SHOPIFY_SHOP_URL)."),
    ] = None,
    since: Since = "2000-01-01T00:00:00Z",
    page_size: Annotated[int, typer.Option(help="Records per page (Shopify allows 250).")] = 250,
    raw_dir: RawDir = None,
) -> None:
    """Orders and customers from Shopify's Admin REST API (SHOPIFY_ACCESS_TOKEN), new and
    changed since the last run; rewrites the raw orders, order_items, products, customers,
    refunds and consents tables."""
    from ingest.pull.shopify import pull_shopify

    settings = _pull_settings()
    url = shop_url or settings.shopify_shop_url
    if not url or settings.shopify_access_token is None:
        raise _fail("set SHOPIFY_SHOP_URL (or --shop-url) and SHOPIFY_ACCESS_TOKEN")
    try:
        result = pull_shopify(
            url,
            settings.shopify_access_token.get_secret_value(),
            _raw_dir(raw_dir),
            since=since,
            page_size=page_size,
        )
    except Exception as exc:  # dlt wraps the cause; show it without a traceback
        raise _fail(f"pull shopify failed: {_root_cause(exc)}") from exc
    console.print(f"pulled {result.rows_loaded}; raw tables now {result.raw_rows}")


@pull_app.command("klaviyo-events")
def pull_klaviyo_events_command(
    since: Since = "2000-01-01T00:00:00Z",
    raw_dir: RawDir = None,
) -> None:
    """E-mail engagement (received, opened, clicked, bounced, unsubscribed, marked as spam)
    from Klaviyo's Events API (KLAVIYO_API_KEY), new since the last run; rewrites the raw
    email_events table."""
    from ingest.pull.klaviyo import pull_klaviyo_events

    settings = _pull_settings()
    if settings.klaviyo_api_key is None:
        raise _fail("set KLAVIYO_API_KEY")
    try:
        result = pull_klaviyo_events(
            settings.klaviyo_api_key.get_secret_value(),
            _raw_dir(raw_dir),
            base_url=settings.klaviyo_base_url,
            since=since,
        )
    except Exception as exc:
        raise _fail(f"pull klaviyo-events failed: {_root_cause(exc)}") from exc
    console.print(f"pulled {result.rows_loaded}; raw tables now {result.raw_rows}")


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__}: {exc}"


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
