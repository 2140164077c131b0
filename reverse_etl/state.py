"""Sync state, run log, rejections and locks, kept in the warehouse (schema ``reverse_etl``).

Tables
- ``sync_state``: what each destination is known to hold: one row per (sync, pk) with the
  hash of the last *confirmed* payload, the destination's id for the record, and the identity
  fields (email, ...) needed to remove it after it has left the model.
- ``runs``: one row per run with planned/sent/confirmed/rejected/invalid counts and duration.
- ``rejections``: one row per rejected or invalid row per run, with the API's reason.
- ``journal`` and ``journal_windows``: a run's intent. The run writes every planned
  operation to ``journal`` once, in bulk, when its plan is made; before each window of
  batches leaves, a ``sent`` window records that its rows may be applied from now on; the
  answers come back as ``answered`` windows (or ``settled`` ones, already applied with their
  rejections). Settling a run (at the end of each operation and of the run, or at the start
  of the next run when it died) folds its answered rows into ``sync_state``, moves the sent
  but unanswered ones to ``pending`` and drops the rest.
- ``pending``: operations of unknown outcome (sent, never answered): the next run re-sends
  or undoes them.
- ``locks``: one row per running sync (owner pid/host, heartbeat) with stale detection.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

DEFAULT_SCHEMA = "reverse_etl"
# A running sync refreshes its lock's heartbeat every HEARTBEAT_S (a thread, so long waits
# on a vendor job count as alive); a lock not refreshed for STALE_AFTER_S has a dead owner.
HEARTBEAT_S = 10.0
STALE_AFTER_S = 90.0


def boot_id() -> str:
    """This machine's boot id: a lock from the same host with another boot id is dead."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def owner_dead(
    pid: int | None,
    host: str | None,
    owner_boot: str | None,
    heartbeat: datetime | None,
    stale_after_s: float = STALE_AFTER_S,
) -> str | None:
    """Why a lock's owner is dead (None when it may be alive)."""
    if host == socket.gethostname():
        if owner_boot and owner_boot != boot_id():
            return "host rebooted since"
        if pid is not None and not _pid_alive(pid):
            return f"pid {pid} is gone"
    age = (now_utc() - heartbeat).total_seconds() if heartbeat else 1e9
    if age > stale_after_s:
        return f"no heartbeat for {age:.0f} s"
    return None


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
        # Intent before send: the operations of every batch in flight, written before the
        # batch leaves and cleared when the destination answers. A row here after a crash
        # may or may not have been applied; the next run re-sends or undoes it.
        f"""create table if not exists {s}.pending (
            sync_name varchar not null,
            pk varchar not null,
            op varchar,
            op_class varchar,
            row_hash varchar,
            identity varchar,
            dest_id varchar,
            event_id varchar,
            position integer,
            job_id varchar,
            run_id varchar,
            recorded_at timestamptz
        )""",
        f"""create table if not exists {s}.journal (
            sync_name varchar not null,
            target varchar,
            run_id varchar not null,
            op varchar not null,
            op_class varchar not null,
            kind varchar,
            n bigint not null,
            pk varchar not null,
            row_hash varchar,
            identity varchar,
            dest_id varchar,
            event_id varchar,
            position integer,
            job_id varchar
        )""",
        f"""create table if not exists {s}.journal_windows (
            sync_name varchar not null,
            target varchar,
            run_id varchar not null,
            op varchar not null,
            lo bigint not null,
            hi bigint not null,
            state varchar not null,
            recorded_at timestamptz
        )""",
        f"""create table if not exists {s}.locks (
            sync_name varchar primary key,
            run_id varchar,
            owner_pid integer,
            owner_host varchar,
            acquired_at timestamptz,
            heartbeat_at timestamptz
        )""",
        # the destination target (type, account, base URL) a row was delivered to; tables
        # from before targets existed get the column empty: those rows are resent once
        f"alter table {s}.sync_state add column if not exists target varchar",
        f"alter table {s}.pending add column if not exists target varchar",
        f"alter table {s}.runs add column if not exists target varchar",
        f"alter table {s}.locks add column if not exists owner_boot_id varchar",
        # a pending row's ordinal in its run's plan (``__n``): answered batches leave the
        # journal by range
        f"alter table {s}.pending add column if not exists n bigint",
        # where a run's time went: seconds per step as JSON (RunResult.steps_s)
        f"alter table {s}.runs add column if not exists steps varchar",
        # the operations a run has sent whose answer it has not recorded yet (live or dead)
        f"""create view if not exists {s}.in_flight as
        select j.* from {s}.journal as j
        semi join {s}.journal_windows as w
            on w.run_id = j.run_id and w.op = j.op and w.state = 'sent'
            and j.n >= w.lo and j.n < w.hi
        anti join {s}.journal_windows as a
            on a.run_id = j.run_id and a.op = j.op and a.state <> 'sent'
            and j.n >= a.lo and j.n < a.hi""",
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
                f"select run_id, owner_pid, owner_host, heartbeat_at, owner_boot_id "
                f"from {self.schema}.locks where sync_name = ?",
                [self.sync_name],
            ).fetchone()
            stale_run = None
            if row is not None:
                run_id, pid, owner_host, heartbeat, owner_boot = row
                dead = owner_dead(pid, owner_host, owner_boot, heartbeat, self.stale_after_s)
                if not dead:
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
                f"insert into {self.schema}.locks (sync_name, run_id, owner_pid, owner_host,"
                " acquired_at, heartbeat_at, owner_boot_id) values (?, ?, ?, ?, ?, ?, ?)",
                [self.sync_name, self.run_id, os.getpid(), host, ts, ts, boot_id()],
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

    def keep_alive(self, con: duckdb.DuckDBPyConnection) -> Callable[[], None]:
        """Refresh the heartbeat every HEARTBEAT_S from a thread (own connection ``con``, the
        only writer of the lock row while the run lasts); call the result to stop it."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_S):
                with contextlib.suppress(duckdb.Error):
                    con.execute(
                        f"update {self.schema}.locks set heartbeat_at = ? "
                        "where sync_name = ? and run_id = ?",
                        [now_utc(), self.sync_name, self.run_id],
                    )

        thread = threading.Thread(target=beat, daemon=True, name=f"heartbeat-{self.sync_name}")
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join()

        return halt

    def release(self) -> None:
        self.con.execute(
            f"delete from {self.schema}.locks where sync_name = ? and run_id = ?",
            [self.sync_name, self.run_id],
        )
