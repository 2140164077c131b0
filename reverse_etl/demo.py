"""Demo: sync the warehouse's sync_ models to the local emulator and show what it now holds.

    python -m reverse_etl.demo [--duckdb-path PATH] [--syncs klaviyo_profiles,...]

Starts the emulator on a free loopback port, points the emulator's credentials at the
sync files' secret variables (only for this process), runs the syncs (Klaviyo, HubSpot and
the file outbox by default), and prints a summary of the platforms' state.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from reverse_etl.config import load_syncs
from reverse_etl.destinations import DeliveryContext
from reverse_etl.emulator import DEFAULT_CREDENTIALS, EmulatorConfig, RunningEmulator
from reverse_etl.engine import SyncEngine
from warehouse.settings import get_settings

DEMO_SYNCS = ("klaviyo_profiles", "klaviyo_winback_list", "hubspot_contacts", "file_customers")
DEMO_ENV = {
    "KLAVIYO_API_KEY": DEFAULT_CREDENTIALS["klaviyo"],
    "HUBSPOT_ACCESS_TOKEN": DEFAULT_CREDENTIALS["hubspot"],
    "BRAZE_API_KEY": DEFAULT_CREDENTIALS["braze"],
    "WEBHOOK_SECRET": DEFAULT_CREDENTIALS["webhook_secret"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb-path", type=Path, default=None)
    parser.add_argument("--syncs", default=",".join(DEMO_SYNCS))
    args = parser.parse_args()
    settings = get_settings(**({"duckdb_path": args.duckdb_path} if args.duckdb_path else {}))
    for key, value in DEMO_ENV.items():
        os.environ.setdefault(key, value)
    console = Console()
    syncs = load_syncs(settings.syncs_dir)
    with RunningEmulator(EmulatorConfig(job_polls=1)) as emu:
        console.print(f"emulator on {emu.url}")
        for name in args.syncs.split(","):
            ctx = DeliveryContext(
                run_id="pending", outbox_dir=settings.outbox_dir, base_url=emu.url
            )
            # A fresh emulator holds nothing, whatever the warehouse state says: full resync.
            r = SyncEngine(syncs[name], settings=settings, context=ctx).run(full_resync=True)
            console.print(
                f"{name}: {r.status} planned={r.plan.total} confirmed={r.confirmed} "
                f"rejected={r.rejected} invalid={r.plan.invalid} "
                f"no-consent={r.plan.excluded_no_consent} holdout={r.plan.excluded_holdout} "
                f"calls={r.api_calls} in {r.duration_s:.2f}s"
            )
        snap = emu.state.snapshot()
    t = Table(title="what the marketing platforms now hold")
    t.add_column("platform")
    t.add_column("object")
    t.add_column("count", justify="right")
    t.add_row("Klaviyo", "profiles", str(len(snap["klaviyo"]["profiles"])))
    for list_id, members in snap["klaviyo"]["lists"].items():
        t.add_row("Klaviyo", f"list {list_id}", str(len(members)))
    t.add_row("HubSpot", "contacts", str(len(snap["hubspot"]["contacts"])))
    t.add_row("Braze", "users", str(len(snap["braze"]["users"])))
    console.print(t)
    example = next(iter(snap["klaviyo"]["profiles"].values()), None)
    if example:
        console.print("a Klaviyo profile:", {k: v for k, v in example.items() if k != "email"})


if __name__ == "__main__":
    main()
