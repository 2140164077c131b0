"""A sync reads its source model from a PostgreSQL warehouse.

The engine diffs in DuckDB: the source relation is read from PostgreSQL through the
warehouse layer (into Arrow) and the sync state stays in the DuckDB file at RW_DUCKDB_PATH.
"""

from __future__ import annotations

import json

import duckdb
import psycopg
import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.engine import SyncEngine
from warehouse.settings import Settings


@pytest.fixture
def pg_settings(postgres_server, tmp_path) -> Settings:
    with psycopg.connect(postgres_server.dsn, autocommit=True) as con:
        con.execute("drop schema if exists sync cascade")
        con.execute("create schema sync")
        con.execute(
            """create table sync.sync_pg__people as
            select 'P' || lpad(i::text, 4, '0') as person_id,
                   'person' || i || '@shop.test' as email,
                   cast(i * 1.5 as numeric(12, 2)) as net_revenue,
                   timestamptz '2026-11-15 10:00+00' + i * interval '1 hour' as last_order_at,
                   i % 4 <> 3 as is_email_consented
            from generate_series(1, 40) as i"""
        )
    return Settings(
        dbt_target="postgres",
        pg={"host": postgres_server.host, "port": postgres_server.port,
            "user": postgres_server.user, "database": postgres_server.database},
        duckdb_path=tmp_path / "state.duckdb",
        outbox_dir=tmp_path / "outbox",
    )  # fmt: skip


def _sync() -> SyncConfig:
    return SyncConfig.model_validate(
        {
            "name": "pg_people",
            "source": "sync_pg__people",  # resolved to sync.sync_pg__people on PostgreSQL
            "primary_key": "person_id",
            "destination": {"type": "file", "batch_size": 7},
            "fields": {"email": "email", "revenue": "net_revenue", "last": "last_order_at"},
            "consent": {"column": "is_email_consented"},
        }
    )


def _sent(settings: Settings, run_id: str) -> list[dict]:
    path = settings.outbox_dir / "pg_people" / f"{run_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_sync_reads_from_postgresql(pg_settings, postgres_server):
    first = SyncEngine(_sync(), settings=pg_settings).run()
    assert first.status == "success", first.error
    sent = _sent(pg_settings, first.run_id)
    assert first.plan.source_rows == 40 and first.plan.excluded_no_consent == 10
    assert len(sent) == 30 == first.confirmed
    first_person = next(r["data"] for r in sent if r["key"] == "P0001")
    assert first_person == {"email": "person1@shop.test", "last": "2026-11-15T11:00:00Z",
                            "revenue": 1.5}  # fmt: skip

    # The world changes in PostgreSQL: one revenue, one consent withdrawn.
    with psycopg.connect(postgres_server.dsn, autocommit=True) as con:
        con.execute("update sync.sync_pg__people set net_revenue = 999 where person_id = 'P0001'")
        con.execute(
            "update sync.sync_pg__people set is_email_consented = false where person_id = 'P0002'"
        )
    second = SyncEngine(_sync(), settings=pg_settings).run()
    assert second.status == "success", second.error
    changed = {r["key"]: r for r in _sent(pg_settings, second.run_id)}
    assert second.plan.creates + second.plan.updates == 1 and len(changed) == 2
    assert changed["P0001"]["op"] == "upsert" and changed["P0001"]["data"]["revenue"] == 999.0
    assert changed["P0002"]["op"] == "unsubscribe"  # the withdrawal reaches the receiver

    # The state lives in the DuckDB file; the source was never copied there.
    with duckdb.connect(str(pg_settings.duckdb_path), read_only=True) as con:
        states = con.execute(
            "select count(*) filter (where row_hash <> 'revoked'), "
            "list(pk) filter (where row_hash = 'revoked') "
            "from reverse_etl.sync_state where sync_name = 'pg_people'"
        ).fetchone()
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    # the withdrawn person is no longer delivered: remembered as revoked (the record stays)
    assert states == (29, ["P0002"])
    assert "sync_pg__people" not in tables


def test_a_missing_postgresql_source_is_named(pg_settings):
    from reverse_etl.config import SyncConfigError

    sync = _sync().model_copy(update={"source": "sync_absent"})
    with pytest.raises(SyncConfigError, match="sync_absent"):
        SyncEngine(sync, settings=pg_settings).plan()
