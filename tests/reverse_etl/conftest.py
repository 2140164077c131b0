"""Shared fixtures: a loopback emulator, a tiny warehouse, engines with shrunken clocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.destinations import DeliveryContext
from reverse_etl.emulator import DEFAULT_CREDENTIALS, EmulatorConfig, RunningEmulator
from reverse_etl.engine import SyncEngine
from reverse_etl.ratelimit import ScaledClock
from warehouse.settings import Settings

SECRET_ENV = {
    "KLAVIYO_API_KEY": DEFAULT_CREDENTIALS["klaviyo"],
    "HUBSPOT_ACCESS_TOKEN": DEFAULT_CREDENTIALS["hubspot"],
    "BRAZE_API_KEY": DEFAULT_CREDENTIALS["braze"],
    "SALESMANAGO_API_KEY": DEFAULT_CREDENTIALS["salesmanago_api_key"],
    "SALESMANAGO_API_SECRET": DEFAULT_CREDENTIALS["salesmanago_api_secret"],
    "WEBHOOK_SECRET": DEFAULT_CREDENTIALS["webhook_secret"],
}

DESTINATIONS: dict[str, dict[str, Any]] = {
    "klaviyo": {"type": "klaviyo", "poll_interval_s": 0.01},
    "hubspot": {"type": "hubspot"},
    "salesmanago": {"type": "salesmanago", "client_id": "emu-client", "owner": "owner@shop.test"},
    "braze": {"type": "braze"},
    "webhook": {"type": "webhook", "url": "http://127.0.0.1:9/webhooks/crm"},
}

FIELDS = {
    "klaviyo": {
        "email": "email",
        "first_name": "first_name",
        "properties.segment": "segment",
        "properties.net_revenue": "net_revenue",
    },
    "hubspot": {
        "email": "email",
        "firstname": "first_name",
        "segment": "segment",
        "net_revenue": "net_revenue",
    },
    "salesmanago": {
        "email": "email",
        "name": "first_name",
        "segment": "segment",
        "net_revenue": "net_revenue",
    },
    "braze": {
        "email": "email",
        "first_name": "first_name",
        "segment": "segment",
        "net_revenue": "net_revenue",
    },
    "webhook": {
        "email": "email",
        "first_name": "first_name",
        "segment": "segment",
        "net_revenue": "net_revenue",
    },
}


@pytest.fixture
def secrets_env(monkeypatch):
    for k, v in SECRET_ENV.items():
        monkeypatch.setenv(k, v)
    return SECRET_ENV


@pytest.fixture
def emulator():
    with RunningEmulator(EmulatorConfig(job_polls=1)) as emu:
        yield emu


def make_customers(path: Path, n: int, *, bad_emails: int = 0, seed_offset: int = 0) -> None:
    """A dim_customers-like table: every 5th person without consent, every 10th in holdout."""
    con = duckdb.connect(str(path))
    con.execute(
        f"""
        create or replace table dim_customers as
        select
            'P' || lpad(cast(i as varchar), 6, '0') as person_id,
            case when i < {bad_emails} then 'broken-email-' || i
                 else 'person' || i || '@shop.test' end as email,
            'First' || i as first_name,
            case i % 3 when 0 then 'champions' when 1 then 'at_risk' else 'new' end as segment,
            cast(i * 1.25 + {seed_offset} as decimal(12, 2)) as net_revenue,
            i % 5 <> 4 as is_email_consented,
            i % 10 = 7 as is_holdout
        from range({n}) as t(i)
        """
    )
    con.close()


def sync_config(dest: str, **overrides: Any) -> SyncConfig:
    spec: dict[str, Any] = {
        "name": f"{dest}_customers",
        "source": "dim_customers",
        "primary_key": "person_id",
        "destination": dict(DESTINATIONS[dest]),
        "mode": "upsert",
        "fields": dict(FIELDS[dest]),
    }
    dest_over = overrides.pop("destination", {})
    spec["destination"].update(dest_over)
    spec.update(overrides)
    return SyncConfig.model_validate(spec)


def engine_for(
    sync: SyncConfig,
    db: Path,
    emu_url: str | None,
    tmp_path: Path,
    *,
    seed: int = 0,
    timeout_s: float = 0.25,
    **kw: Any,
) -> SyncEngine:
    ctx = DeliveryContext(
        run_id="pending",
        outbox_dir=tmp_path / "outbox",
        clock=ScaledClock(0.005),
        seed=seed,
        timeout_s=timeout_s,
        base_url=emu_url,
        backoff_base=0.2,
        max_attempts=kw.pop("max_attempts", 12),
    )
    settings = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
    return SyncEngine(sync, settings=settings, context=ctx, **kw)


def state_rows(db: Path, sync_name: str) -> dict[str, str]:
    con = duckdb.connect(str(db))
    try:
        return dict(
            con.execute(
                "select pk, row_hash from reverse_etl.sync_state where sync_name = ?", [sync_name]
            ).fetchall()
        )
    finally:
        con.close()


def desired_people(db: Path, where: str = "true") -> dict[str, dict[str, Any]]:
    con = duckdb.connect(str(db))
    try:
        rel = con.execute(f"select * from dim_customers where {where}")
        names = [d[0] for d in rel.description]
        return {r[0]: dict(zip(names, r, strict=True)) for r in rel.fetchall()}
    finally:
        con.close()


from tests.engines import postgres_server  # noqa: E402, F401  (pytest fixture)
