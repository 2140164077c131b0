"""``rw-sync``: plan, run, status and resync reverse-ETL syncs.

Examples::

    rw-sync validate
    rw-sync plan klaviyo_vip_list
    rw-sync run --all
    rw-sync run klaviyo_vip_list --base-url http://127.0.0.1:8765   # against the emulator
    rw-sync status
    rw-sync resync hubspot_contacts
    rw-sync reconcile klaviyo_vip_list --dry-run   # drift between platform and state
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

# The engine, destinations and settings (DuckDB, pyarrow, pydantic) load inside the
# commands, so `rw-sync --help` answers at once; tests/test_cli_startup.py keeps it so.
if TYPE_CHECKING:
    from reverse_etl.config import SyncConfig
    from reverse_etl.engine import Plan, RunResult
    from warehouse.settings import Settings

app = typer.Typer(
    help="Reverse ETL: sync warehouse models to marketing platforms.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=False)

SyncsOpt = Annotated[Path | None, typer.Option("--syncs-dir", help="Directory of sync YAML files")]
DbOpt = Annotated[Path | None, typer.Option("--duckdb-path", help="Warehouse (RW_DUCKDB_PATH)")]
OutboxOpt = Annotated[Path | None, typer.Option("--outbox-dir", help="File outbox directory")]
NamesArg = Annotated[list[str] | None, typer.Argument(help="Sync names (default: all enabled)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def _settings(
    syncs_dir: Path | None, duckdb_path: Path | None, outbox_dir: Path | None
) -> Settings:
    """The project settings, with the command line's options winning."""
    from warehouse.settings import get_settings

    options = {"syncs_dir": syncs_dir, "duckdb_path": duckdb_path, "outbox_dir": outbox_dir}
    return get_settings(**{k: v for k, v in options.items() if v is not None})


def _error(title: str, text: str) -> None:
    """Print an error whose text names files and fields: never folded (a path broken across
    lines cannot be copied, and tests look for it) and never read as rich markup."""
    console.print(f"[red]{title}[/red]")
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _select(settings: Settings, names: list[str] | None) -> list[SyncConfig]:
    from reverse_etl.config import SyncConfigError, load_syncs

    try:
        syncs = load_syncs(settings.syncs_dir)
    except SyncConfigError as exc:
        _error("invalid sync configuration", str(exc))
        raise typer.Exit(2) from None
    if not names:
        return [s for s in syncs.values() if s.enabled]
    missing = [n for n in names if n not in syncs]
    if missing:
        console.print(f"[red]unknown sync(s): {', '.join(missing)}[/red]; known: {sorted(syncs)}")
        raise typer.Exit(2)
    return [syncs[n] for n in names]


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    if not verbose:  # one line per request is noise at INFO
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)


def _print_plan(plan: Plan) -> None:
    t = Table(title=f"plan: {plan.sync_name} ({plan.mode} -> {plan.destination})")
    for col in (
        "source rows",
        "creates",
        "updates",
        "removals",
        "unsubscribes",
        "old ids off",
        "invalid",
        "no consent",
        "holdout excluded",
        "erased",
        "retrying",
        "plan s",
    ):
        t.add_column(col, justify="right")
    t.add_row(
        *(
            str(x)
            for x in (
                plan.source_rows,
                plan.creates,
                plan.updates,
                plan.removals,
                plan.revocations,
                plan.retirements,
                plan.invalid,
                plan.excluded_no_consent,
                plan.excluded_holdout,
                plan.excluded_erased,
                plan.retrying,
                f"{plan.seconds:.2f}",
            )
        )
    )
    console.print(t)
    calls = (
        ", ".join(
            f"{op}: {n} calls ({plan.batch_sizes.get(op)}/batch)"
            for op, n in plan.api_calls.items()
        )
        or "none"
    )
    console.print(f"API calls: {calls}")
    if plan.quota_note:
        console.print(f"quota: {plan.quota_note}")
    for kind, rows in plan.sample.items():
        console.print(f"[bold]{kind}[/bold] sample:")
        for r in rows:
            console.print(f"  {json.dumps(r, default=str)}")
    for r in plan.invalid_sample:
        console.print(f"[yellow]invalid[/yellow] {r['pk']!r}: {r['reason']}")
    if plan.refused:
        _error("a guard rail refuses this plan", plan.refused)


def _print_result(r: RunResult) -> None:
    colour = {"success": "green", "partial": "yellow"}.get(r.status, "red")
    console.print(
        f"[{colour}]{r.sync_name}: {r.status}[/{colour}] run {r.run_id} planned={r.plan.total} "
        f"sent={r.sent} confirmed={r.confirmed} rejected={r.rejected} invalid={r.plan.invalid} "
        f"api_calls={r.api_calls} retries={r.retries} throttled={r.throttled} "
        f"in {r.duration_s:.2f}s" + (f"\n  error: {r.error}" if r.error else "")
    )


@app.command()
def validate(syncs_dir: SyncsOpt = None) -> None:
    """Validate every sync file."""
    settings = _settings(syncs_dir, None, None)
    syncs = _select(settings, None)
    console.print(f"{len(syncs)} sync(s) valid in {settings.syncs_dir}")


@app.command()
def exposures(
    syncs_dir: SyncsOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Fail if the file is stale")] = False,
) -> None:
    """Write the dbt exposures (one per sync) generated from the sync files."""
    from reverse_etl import exposures as gen

    directory = _settings(syncs_dir, None, None).syncs_dir
    if check:
        current = gen.EXPOSURES_PATH.read_text() if gen.EXPOSURES_PATH.exists() else ""
        if current != gen.render(directory):
            _error("stale exposures", f"{gen.EXPOSURES_PATH}: run `rw-sync exposures`")
            raise typer.Exit(1)
        console.print(f"{gen.EXPOSURES_PATH} is up to date")
        return
    changed = gen.write(directory)
    console.print(f"{gen.EXPOSURES_PATH} {'written' if changed else 'unchanged'}")


@app.command()
def plan(
    names: NamesArg = None,
    syncs_dir: SyncsOpt = None,
    duckdb_path: DbOpt = None,
    full_resync: Annotated[bool, typer.Option("--full-resync")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Dry run: creates, updates, removals, invalid rows, a sample, API calls. Sends nothing."""
    from reverse_etl.config import SyncConfigError
    from reverse_etl.engine import SyncEngine

    settings = _settings(syncs_dir, duckdb_path, None)
    out = []
    for sync in _select(settings, names):
        try:
            p = SyncEngine(sync, settings=settings).plan(full_resync=full_resync)
        except SyncConfigError as exc:
            _error(f"{sync.name}: invalid", str(exc))
            raise typer.Exit(2) from None
        out.append(p.to_dict())
        if not as_json:
            _print_plan(p)
    if as_json:
        print(json.dumps(out, default=str, indent=2))


def _sigterm(signum, frame) -> None:
    # Stop like Ctrl-C: the engine records the run as failed and releases its lock. Rows that
    # were confirmed are already committed; the rest are simply in the next plan.
    raise KeyboardInterrupt(f"signal {signum}")


def _run(names, syncs_dir, duckdb_path, outbox_dir, base_url, full_resync, verbose) -> None:
    from reverse_etl.destinations import DeliveryContext
    from reverse_etl.engine import SyncEngine
    from reverse_etl.state import SyncLockedError

    _setup_logging(verbose)
    signal.signal(signal.SIGTERM, _sigterm)
    settings = _settings(syncs_dir, duckdb_path, outbox_dir)
    failed = False
    for sync in _select(settings, names):
        ctx = DeliveryContext(run_id="pending", outbox_dir=settings.outbox_dir, base_url=base_url)
        try:
            result = SyncEngine(sync, settings=settings, context=ctx).run(full_resync=full_resync)
        except SyncLockedError as exc:
            console.print(f"[yellow]skipped[/yellow]: {exc}")
            continue
        _print_result(result)
        # partial (rows rejected) and failed runs both need a look: a scheduler must see them
        failed |= result.status != "success"
    if failed:
        raise typer.Exit(1)


BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="Send every request to this base URL instead (e.g. the local emulator)"
    ),
]


@app.command()
def run(
    names: NamesArg = None,
    syncs_dir: SyncsOpt = None,
    duckdb_path: DbOpt = None,
    outbox_dir: OutboxOpt = None,
    base_url: BaseUrlOpt = None,
    verbose: Annotated[bool, typer.Option("-v")] = False,
) -> None:
    """Send new and changed rows (and removals) for the given syncs."""
    _run(names, syncs_dir, duckdb_path, outbox_dir, base_url, False, verbose)


@app.command()
def resync(
    names: Annotated[list[str], typer.Argument(help="Sync names")],
    syncs_dir: SyncsOpt = None,
    duckdb_path: DbOpt = None,
    outbox_dir: OutboxOpt = None,
    base_url: BaseUrlOpt = None,
    verbose: Annotated[bool, typer.Option("-v")] = False,
) -> None:
    """Full resync: resend every desired row regardless of the stored state."""
    _run(names, syncs_dir, duckdb_path, outbox_dir, base_url, True, verbose)


@app.command()
def reconcile(
    names: Annotated[list[str], typer.Argument(help="Sync names")],
    syncs_dir: SyncsOpt = None,
    duckdb_path: DbOpt = None,
    outbox_dir: OutboxOpt = None,
    base_url: BaseUrlOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report the drift; change nothing")
    ] = False,
    verbose: Annotated[bool, typer.Option("-v")] = False,
) -> None:
    """Read list members / profiles back from the platform and repair drift: re-send rows
    missing or changed there, remove list members nobody wants, then run the sync."""
    from reverse_etl.destinations import DeliveryContext
    from reverse_etl.engine import SyncEngine
    from reverse_etl.reconcile import reconcile as do_reconcile
    from reverse_etl.state import SyncLockedError

    _setup_logging(verbose)
    signal.signal(signal.SIGTERM, _sigterm)
    settings = _settings(syncs_dir, duckdb_path, outbox_dir)
    failed = False
    for sync in _select(settings, names):
        ctx = DeliveryContext(run_id="pending", outbox_dir=settings.outbox_dir, base_url=base_url)
        try:
            r = do_reconcile(SyncEngine(sync, settings=settings, context=ctx), dry_run=dry_run)
        except SyncLockedError as exc:
            console.print(f"[yellow]skipped[/yellow]: {exc}")
            failed = True
            continue
        if not r.supported:
            console.print(f"[yellow]{sync.name}: not reconciled[/yellow]: {r.note}")
            failed = True
            continue
        console.print(
            f"{sync.name}: checked={r.checked} on_platform={r.platform_records} "
            f"missing={r.missing} changed={r.changed} "
            f"{'extra' if dry_run else 'extra_removed'}={r.extra_removed}"
            + (f" unchecked(no email)={r.unchecked}" if r.unchecked else "")
        )
        for kind, sample in r.sample.items():
            console.print(f"  {kind}: {', '.join(sample)}", markup=False)
        if r.run is not None:
            _print_result(r.run)
            failed |= r.run.status != "success"
    if failed:
        raise typer.Exit(1)


@app.command(name="status")
def status_cmd(
    names: NamesArg = None,
    duckdb_path: DbOpt = None,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="Runs per sync")] = 5,
) -> None:
    """Recent runs, state size, locks, operations in flight and the last run's rejections."""
    from reverse_etl.engine import status

    settings = _settings(None, duckdb_path, None)
    info = status(settings.duckdb_path, names, limit=limit)
    if as_json:
        print(json.dumps(info, default=str, indent=2))
        return
    t = Table(title="recent runs")
    cols = (
        "sync",
        "target",
        "run",
        "status",
        "started",
        "s",
        "planned",
        "sent",
        "ok",
        "rejected",
        "invalid",
        "calls",
        "error",
    )
    for c in cols:
        t.add_column(c)
    for r in info["runs"]:
        planned = (
            (r["planned_creates"] or 0) + (r["planned_updates"] or 0) + (r["planned_removals"] or 0)
        )
        t.add_row(
            r["sync_name"],
            r.get("target") or "(before targets)",
            r["run_id"],
            r["status"],
            str(r["started_at"])[:19],
            f"{r['duration_s'] or 0:.2f}",
            str(planned),
            str(r["sent"]),
            str(r["confirmed"]),
            str(r["rejected"]),
            str(r["invalid"]),
            str(r["api_calls"]),
            (r["error"] or "")[:60],
        )
    console.print(t)
    for x in info["state_by_target"]:
        where = x["target"] or "(before targets)"
        console.print(f"{x['sync_name']}: {x['rows']} rows delivered to {where}")
    for name, run, pid, host, _beat, dead in info["locks"]:
        flag = f" [red]DEAD OWNER ({dead}): the next run takes it over[/red]" if dead else ""
        console.print(f"[yellow]lock[/yellow] {name}: run {run} pid {pid} on {host}{flag}")
    for x in info["in_flight"]:
        console.print(
            f"[yellow]in flight[/yellow] {x['sync_name']}: {x['rows']} operations of run "
            f"{x['run_id']} sent, no answer recorded (the next run settles them if it died)"
        )
    for sync_name, pk, op, reason in info["open_rejections"]:
        console.print(f"[red]rejected[/red] {sync_name} {pk} ({op}): {reason}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
