"""Sync state, run log, rejections and locks, kept in the warehouse (schema ``reverse_etl``).

Tables
- ``sync_state``: what each destination is known to hold: one row per (sync, pk) with the
  hash of the last *confirmed* payload, the destination's id for the record, and the identity
  fields (email, ...) needed to remove it after it has left the model.
- ``runs``: one row per run with planned/sent/confirmed/rejected/invalid counts and duration.
- ``rejections``: one row per rejected or invalid row per run, with the API's reason.
- ``locks``: one row per running sync (owner pid/host, heartbeat) with stale detection.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

DEFAULT_SCHEMA = "reverse_etl"
STALE_AFTER_S = 15 * 60


def ddl(schema: str) -> list[str]:
    s = schema
    return [
        f"create schema if not exists {s}",
        f"""create table if not exists {s}.sync_state (
            sync_name varchar not null,
            pk varchar not null,
            row_hash varchar not null,
            dest_id varchar,
            identity varchar,
            last_op varchar,
            last_run_id varchar,
            delivered_at timestamptz
        )""",
        f"""create table if not exists {s}.runs (
            run_id varchar primary key,
            sync_name varchar not null,
            mode varchar,
            destination varchar,
            is_full_resync boolean,
            status varchar,
            started_at timestamptz,
            finished_at timestamptz,
            duration_s double,
            source_rows bigint default 0,
            planned_creates bigint default 0,
            planned_updates bigint default 0,
            planned_removals bigint default 0,
            invalid bigint default 0,
            excluded_no_consent bigint default 0,
            excluded_holdout bigint default 0,
            sent bigint default 0,
            confirmed bigint default 0,
            rejected bigint default 0,
            api_calls bigint default 0,
            retries bigint default 0,
            throttled bigint default 0,
            pid integer,
            error varchar
        )""",
        f"""create table if not exists {s}.rejections (
            run_id varchar not null,
            sync_name varchar not null,
            pk varchar,
            op varchar,
            stage varchar,
            reason varchar,
            rejected_at timestamptz
        )""",
        f"""create table if not exists {s}.locks (
            sync_name varchar primary key,
            run_id varchar,
            owner_pid integer,
            owner_host varchar,
            acquired_at timestamptz,
            heartbeat_at timestamptz
        )""",
    ]


def ensure_schema(con: duckdb.DuckDBPyConnection, schema: str = DEFAULT_SCHEMA) -> None:
    for stmt in ddl(schema):
        for attempt in range(50):
            try:
                con.execute(stmt)
                break
            except duckdb.TransactionException:  # concurrent DDL from another connection
                if attempt == 49:
                    raise
                time.sleep(0.02)


def now_utc() -> datetime:
    return datetime.now(UTC)


class SyncLockedError(RuntimeError):
    """Another live run holds this sync's lock."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Lock:
    con: duckdb.DuckDBPyConnection
    schema: str
    sync_name: str
    run_id: str
    stale_after_s: float = STALE_AFTER_S

    def acquire(self) -> str | None:
        """Take the lock. Returns the run id of a stale owner that was taken over, if any."""
        host = socket.gethostname()
        con = self.con
        con.execute("begin transaction")
        try:
            row = con.execute(
                f"select run_id, owner_pid, owner_host, heartbeat_at from {self.schema}.locks "
                "where sync_name = ?",
                [self.sync_name],
            ).fetchone()
            stale_run = None
            if row is not None:
                run_id, pid, owner_host, heartbeat = row
                age = (now_utc() - heartbeat).total_seconds() if heartbeat else 1e9
                dead = owner_host == host and not _pid_alive(pid)
                if not dead and age < self.stale_after_s:
                    raise SyncLockedError(
                        f"sync {self.sync_name} is running "
                        f"(run {run_id}, pid {pid} on {owner_host})"
                    )
                stale_run = run_id
                con.execute(
                    f"delete from {self.schema}.locks where sync_name = ?", [self.sync_name]
                )
            ts = now_utc()
            con.execute(
                f"insert into {self.schema}.locks values (?, ?, ?, ?, ?, ?)",
                [self.sync_name, self.run_id, os.getpid(), host, ts, ts],
            )
            con.execute("commit")
            return stale_run
        except (duckdb.ConstraintException, duckdb.TransactionException) as exc:
            # another connection took the lock between our read and our insert
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            raise SyncLockedError(f"sync {self.sync_name} is running") from exc
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            raise

    def heartbeat(self) -> None:
        self.con.execute(
            f"update {self.schema}.locks set heartbeat_at = ? where sync_name = ? and run_id = ?",
            [now_utc(), self.sync_name, self.run_id],
        )

    def release(self) -> None:
        self.con.execute(
            f"delete from {self.schema}.locks where sync_name = ? and run_id = ?",
            [self.sync_name, self.run_id],
        )
