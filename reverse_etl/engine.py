"""The sync engine: set-based diff in DuckDB, streamed batches, confirmed-only state.

One run of a sync:

1. **Desired** (SQL): read the source model, cast each mapped column to a JSON-friendly type,
   flag invalid rows (null/duplicate primary key, null required field), drop people without
   consent for the channel and (per sync) holdout members, and hash each row's payload:
   ``md5(config fingerprint || to_json(struct_pack(...)))``.
2. **Plan** (SQL): anti-join/join desired against ``reverse_etl.sync_state`` to get creates,
   updates and (mirror/list modes) removals. Nothing is loaded into Python here.
3. **Deliver**: stream the plan with Arrow record batches sized to the destination's batch
   limit; a whole-batch rejection is bisected until the bad rows are isolated.
4. **Confirm**: after each delivered batch, one small transaction advances the state for the
   rows the destination confirmed, records the rejected rows with the API's reason, and bumps
   the run's counters. A crash at any point loses nothing (unconfirmed rows are in the next
   plan) and duplicates nothing (confirmed rows are not; event ids are stable per row version).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from reverse_etl.config import SyncConfig, SyncConfigError
from reverse_etl.destinations import DeliveryContext, build_destination, destination_class
from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    LIST_ADD,
    LIST_REMOVE,
    UPDATE,
    UPSERT,
    BatchRejectedError,
    Destination,
    DestinationError,
    Row,
    RowResult,
)
from reverse_etl.state import DEFAULT_SCHEMA, Lock, ensure_schema, now_utc
from warehouse.connections import connect_duckdb, stage_in_duckdb
from warehouse.relations import RelationNotFoundError
from warehouse.relations import literal as _lit
from warehouse.relations import quote as _q
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

IDENTITY_FIELDS = ("email", "phone_number", "phone", "external_id")
SAMPLE_ROWS = 5


@dataclass
class Plan:
    sync_name: str
    mode: str
    destination: str
    source: str
    source_rows: int = 0
    creates: int = 0
    updates: int = 0
    removals: int = 0
    invalid: int = 0
    excluded_no_consent: int = 0
    excluded_holdout: int = 0
    retrying: int = 0
    is_full_resync: bool = False
    api_calls: dict[str, int] = field(default_factory=dict)
    batch_sizes: dict[str, int] = field(default_factory=dict)
    quota_note: str = ""
    sample: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    invalid_sample: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.creates + self.updates + self.removals

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunResult:
    run_id: str
    sync_name: str
    status: str
    plan: Plan
    sent: int = 0
    confirmed: int = 0
    rejected: int = 0
    api_calls: int = 0
    retries: int = 0
    throttled: int = 0
    duration_s: float = 0.0
    error: str | None = None
    destination_stats: dict[str, Any] = field(default_factory=dict)


class SyncEngine:
    """Plans and runs one sync against one warehouse."""

    def __init__(
        self,
        sync: SyncConfig,
        duckdb_path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        schema: str = DEFAULT_SCHEMA,
        context: DeliveryContext | None = None,
        memory_limit: str | None = "1GB",
        on_batch: Callable[[str, int], None] | None = None,
        max_in_flight: int = 2,
    ) -> None:
        self.sync = sync
        self.settings = settings or get_settings()
        self.path = str(duckdb_path or self.settings.duckdb_path)
        self.schema = schema
        self.context = context
        self.memory_limit = memory_limit
        self.on_batch = on_batch
        self.max_in_flight = max_in_flight
        self._secrets = self._secret_values()

    # -- helpers ---------------------------------------------------------------------------
    def _secret_values(self) -> list[str]:
        values = []
        for name, value in self.sync.destination.model_dump().items():
            if name.endswith("_env") and isinstance(value, str) and os.environ.get(value):
                values.append(os.environ[value])
        return values

    def scrub(self, text: str) -> str:
        for s in self._secrets:
            if s:
                text = text.replace(s, "***")
        return text

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = connect_duckdb(self.path)
        con.execute("set TimeZone = 'UTC'")
        if self.memory_limit:
            con.execute(f"set memory_limit = {_lit(self.memory_limit)}")
        ensure_schema(con, self.schema)
        return con

    def _resolve_source(self, con: duckdb.DuckDBPyConnection) -> str:
        """The source relation as the DuckDB connection reads it. The diff and the sync state
        stay in DuckDB (the file at RW_DUCKDB_PATH); on a PostgreSQL or Spark warehouse the
        source is read once per run into Arrow (warehouse.stage_in_duckdb)."""
        try:
            return stage_in_duckdb(
                con, self.sync.source, self.settings, alias=f"__source__{self.sync.name}"
            )
        except RelationNotFoundError:
            raise SyncConfigError(
                f"sync {self.sync.name}: source: relation {self.sync.source!r} not found"
            ) from None

    def _targets(self) -> list[tuple[str, str | None]]:
        """(destination field, source column) in a stable order; holdout attribute last."""
        items: list[tuple[str, str | None]] = sorted(self.sync.fields.items())
        h = self.sync.holdout
        if h and h.policy == "attribute" and self.sync.mode != "gdpr_delete":
            items.append((h.attribute, None))
        return items

    @staticmethod
    def _cast(col: str, typ: str) -> str:
        t = typ.upper()
        c = _q(col)
        if t.startswith("DECIMAL") or t in ("HUGEINT", "UHUGEINT"):
            return f"cast({c} as double)"
        if t.startswith("TIMESTAMP"):
            return f"strftime(cast({c} as timestamp), '%Y-%m-%dT%H:%M:%SZ')"
        if t in ("DATE", "TIME", "UUID", "INTERVAL") or t.startswith("ENUM"):
            return f"cast({c} as varchar)"
        return c

    # -- SQL -------------------------------------------------------------------------------
    def _tables(self, temp: bool) -> tuple[str, str]:
        if temp:
            return _q(f"__desired__{self.sync.name}"), _q(f"__plan__{self.sync.name}")
        return (
            f"{self.schema}.{_q('_desired__' + self.sync.name)}",
            f"{self.schema}.{_q('_plan__' + self.sync.name)}",
        )

    def _build(self, con: duckdb.DuckDBPyConnection, temp: bool, full_resync: bool) -> Plan:
        sync = self.sync
        t0 = time.perf_counter()
        source = self._resolve_source(con)
        columns = {r[0]: r[1] for r in con.execute(f"describe select * from {source}").fetchall()}
        needed = [sync.primary_key, *sync.fields.values()]
        if sync.consent:
            needed.append(sync.consent.column)
        if sync.holdout:
            needed.append(sync.holdout.column)
        for col in needed:
            if col not in columns:
                raise SyncConfigError(
                    f"sync {sync.name}: column {col!r} not found in {sync.source}"
                )
        targets = self._targets()
        is_gdpr = sync.mode == "gdpr_delete"
        select_cols = []
        for i, (_target, col) in enumerate(targets):
            expr = "__holdout" if col is None else self._cast(col, columns[col])
            select_cols.append((f"f{i}", expr))
        consent = (
            f"coalesce(try_cast({_q(sync.consent.column)} as boolean), false)"
            if sync.consent and not is_gdpr
            else "true"
        )
        holdout = (
            f"coalesce(try_cast({_q(sync.holdout.column)} as boolean), false)"
            if sync.holdout
            else "false"
        )
        exclude_holdout = bool(sync.holdout and sync.holdout.policy == "exclude" and not is_gdpr)
        invalid_cases = [
            "when __pk is null or trim(__pk) = '' then 'null primary key'",
            "when __dups > 1 then 'duplicate primary key'",
        ]
        by_col = {col: f"f{i}" for i, (_t, col) in enumerate(targets) if col}
        for col in sync.required:
            ref = "__pk" if col == sync.primary_key else by_col[col]
            invalid_cases.append(f"when {ref} is null then {_lit('null required field ' + col)}")
        tmp = "temp " if temp else ""
        desired_t, plan_t = self._tables(temp)
        inner = ", ".join(
            [f"cast({_q(sync.primary_key)} as varchar) as __pk"]
            + [f"{expr} as {name}" for name, expr in select_cols if expr != "__holdout"]
            + [f"{consent} as __consent", f"{holdout} as __holdout"]
        )
        outer_f = ", ".join(
            f"{expr} as {name}" if expr == "__holdout" else name for name, expr in select_cols
        )
        con.execute(
            f"""
            create or replace {tmp}table {desired_t} as
            with src as (select {inner} from {source}),
            flagged as (select *, count(*) over (partition by __pk) as __dups from src)
            select __pk, {outer_f}{"," if outer_f else ""} __consent, __holdout,
                case {" ".join(invalid_cases)} else null end as __invalid
            from flagged
            """
        )
        fp = _lit(sync.fingerprint())
        struct = ", ".join(f"f{i} := f{i}" for i in range(len(targets))) or "k := __pk"
        ident = [(t, f"f{i}") for i, (t, _c) in enumerate(targets) if t in IDENTITY_FIELDS]
        ident_json = (
            "to_json(struct_pack(" + ", ".join(f"{_q(t)} := {f}" for t, f in ident) + "))"
            if ident
            else "null"
        )
        where_desired = "__invalid is null and __consent" + (
            " and not __holdout" if exclude_holdout else ""
        )
        state_t = f"{self.schema}.sync_state"
        if is_gdpr:
            cond = "s.pk is null"
        elif full_resync:
            cond = "true"
        else:
            cond = "s.pk is null or s.row_hash <> d.__hash"
        fcols = ", ".join(f"d.f{i}" for i in range(len(targets)))
        removal_cols = ", ".join(
            (
                f"json_extract_string(s.identity, {_lit('$.' + _q(t))})"
                if t in IDENTITY_FIELDS
                else "null"
            )
            + f" as f{i}"
            for i, (t, _c) in enumerate(targets)
        )
        with_removals = sync.mode in ("mirror", "list")
        removal_sql = (
            f"""
            union all
            select 'remove' as __kind, s.pk as __pk, null as __hash, s.identity as __identity,
                s.dest_id as __dest_id{", " + removal_cols if removal_cols else ""}
            from state as s
            anti join desired as d on d.__pk = s.pk
            """
            if with_removals
            else ""
        )
        con.execute(
            f"""
            create or replace {tmp}table {plan_t} as
            with desired as (
                select __pk, {fcols.replace("d.", "")}{"," if fcols else ""}
                    md5({fp} || to_json(struct_pack({struct}))) as __hash,
                    {ident_json} as __identity
                from {desired_t}
                where {where_desired}
            ),
            state as (select * from {state_t} where sync_name = {_lit(sync.name)})
            select case when s.pk is null then 'create' else 'update' end as __kind,
                d.__pk, d.__hash, d.__identity,
                s.dest_id as __dest_id{", " + fcols if fcols else ""}
            from desired as d
            left join state as s on s.pk = d.__pk
            where {cond}
            {removal_sql}
            """
        )
        counts = con.execute(
            f"""
            select count(*),
                count(*) filter (where __invalid is not null),
                count(*) filter (where __invalid is null and not __consent),
                count(*) filter (where __invalid is null and __consent and __holdout
                                 and {"true" if exclude_holdout else "false"})
            from {desired_t}
            """
        ).fetchone()
        kinds = dict(con.execute(f"select __kind, count(*) from {plan_t} group by 1").fetchall())
        retrying = con.execute(
            f"""
            select count(*) from {plan_t} as p
            where p.__pk in (
                select pk from {self.schema}.rejections
                where sync_name = ? and stage = 'rejected' and run_id = (
                    select run_id from {self.schema}.runs where sync_name = ?
                    and status <> 'running' order by started_at desc limit 1))
            """,
            [sync.name, sync.name],
        ).fetchone()[0]
        plan = Plan(
            sync_name=sync.name,
            mode=sync.mode,
            destination=sync.destination.type,
            source=sync.source,
            source_rows=counts[0],
            creates=kinds.get("create", 0),
            updates=kinds.get("update", 0),
            removals=kinds.get("remove", 0),
            invalid=counts[1],
            excluded_no_consent=counts[2],
            excluded_holdout=counts[3],
            retrying=retrying,
            is_full_resync=full_resync,
        )
        shape = destination_class(sync.destination.type).shape(sync.destination.batch_size)
        for op, kinds_for_op in self.op_groups():
            n = sum(kinds.get(k, 0) for k in kinds_for_op)
            plan.batch_sizes[op] = shape.op_batch_size(op)
            if n:
                plan.api_calls[op] = shape.calls_for(op, n)
        plan.quota_note = shape.quota_note()
        for kind in ("create", "update", "remove"):
            if kinds.get(kind):
                rel = con.execute(
                    f"select * from {plan_t} where __kind = ? order by __pk limit {SAMPLE_ROWS}",
                    [kind],
                )
                names = [d[0] for d in rel.description]
                plan.sample[kind] = [
                    self._display(dict(zip(names, r, strict=True)), targets) for r in rel.fetchall()
                ]
        rel = con.execute(
            f"select __pk, __invalid from {desired_t} where __invalid is not null "
            f"order by __pk nulls first limit {SAMPLE_ROWS}"
        )
        plan.invalid_sample = [{"pk": r[0], "reason": r[1]} for r in rel.fetchall()]
        plan.seconds = time.perf_counter() - t0
        return plan

    @staticmethod
    def _display(rec: dict[str, Any], targets: list[tuple[str, str | None]]) -> dict[str, Any]:
        out = {"pk": rec["__pk"]}
        for i, (t, _c) in enumerate(targets):
            out[t] = rec.get(f"f{i}")
        return out

    def op_groups(self) -> list[tuple[str, tuple[str, ...]]]:
        mode = self.sync.mode
        if mode == "upsert":
            return [(UPSERT, ("create", "update"))]
        if mode == "update":
            return [(UPDATE, ("create", "update"))]
        if mode == "mirror":
            return [(UPSERT, ("create", "update")), (DELETE, ("remove",))]
        if mode == "list":
            return [(LIST_REMOVE, ("remove",)), (LIST_ADD, ("create", "update"))]
        if mode == "gdpr_delete":
            return [(GDPR_DELETE, ("create",))]
        raise ValueError(mode)

    # -- public API -----------------------------------------------------------------------
    def plan(self, full_resync: bool = False) -> Plan:
        """Dry run: compute the plan in temp tables; nothing is sent or written."""
        con = self._connect()
        try:
            return self._build(con, temp=True, full_resync=full_resync)
        finally:
            con.close()

    def run(self, full_resync: bool = False) -> RunResult:
        started = time.perf_counter()
        run_id = f"{now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        con = self._connect()
        s = self.schema
        lock = Lock(con, s, self.sync.name, run_id)
        try:
            stale = lock.acquire()
        except BaseException:
            con.close()
            raise
        if stale:
            con.execute(
                f"update {s}.runs set status = 'abandoned', finished_at = ? "
                "where run_id = ? and status = 'running'",
                [now_utc(), stale],
            )
        con.execute(
            f"insert into {s}.runs (run_id, sync_name, mode, destination, is_full_resync, status,"
            " started_at, pid) values (?, ?, ?, ?, ?, 'running', ?, ?)",
            [
                run_id,
                self.sync.name,
                self.sync.mode,
                self.sync.destination.type,
                full_resync,
                now_utc(),
                os.getpid(),
            ],
        )
        result = RunResult(
            run_id,
            self.sync.name,
            "running",
            Plan(self.sync.name, self.sync.mode, self.sync.destination.type, self.sync.source),
        )
        dest: Destination | None = None
        reader_con = None
        desired_t, plan_t = self._tables(temp=False)
        try:
            plan = self._build(con, temp=False, full_resync=full_resync)
            result.plan = plan
            con.execute(
                f"""insert into {s}.rejections
                select ?, ?, __pk, 'validate', 'invalid', __invalid, ? from {desired_t}
                where __invalid is not null""",
                [run_id, self.sync.name, now_utc()],
            )
            con.execute(
                f"""update {s}.runs set source_rows = ?, planned_creates = ?, planned_updates = ?,
                planned_removals = ?, invalid = ?, excluded_no_consent = ?, excluded_holdout = ?
                where run_id = ?""",
                [
                    plan.source_rows,
                    plan.creates,
                    plan.updates,
                    plan.removals,
                    plan.invalid,
                    plan.excluded_no_consent,
                    plan.excluded_holdout,
                    run_id,
                ],
            )
            ctx = self.context or DeliveryContext(
                run_id=run_id, outbox_dir=self.settings.outbox_dir
            )
            ctx.run_id = run_id
            dest = build_destination(self.sync, ctx)
            targets = self._targets()
            reader_con = con.cursor()
            # One delivery in flight while this thread reads the next batch and commits the
            # previous one: the network wait overlaps DuckDB work. At most two batches are
            # unconfirmed at any moment; a crash re-sends them (same event ids), never loses.
            depth = max(1, self.max_in_flight)
            with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="deliver") as pool:
                for op, kinds in self.op_groups():
                    if not any(
                        getattr(
                            plan,
                            {"create": "creates", "update": "updates", "remove": "removals"}[k],
                        )
                        for k in kinds
                    ):
                        continue
                    size = dest.op_batch_size(op)
                    kinds_sql = ", ".join(_lit(k) for k in kinds)
                    removal = op in (DELETE, LIST_REMOVE)
                    record = type(dest).record_sql(
                        op, [t for t, _c in targets], self.sync.null_policy
                    )
                    extra = f", {record} as __record" if record and not removal else ""
                    reader = reader_con.sql(
                        f"select *{extra} from {plan_t} where __kind in ({kinds_sql}) order by __pk"
                    ).to_arrow_reader(max(size, 1024))
                    pending: deque[Future] = deque()
                    buf: list[Row] = []
                    try:
                        for rb in reader:
                            for row in self._rows(rb, targets, removal):
                                buf.append(row)
                                if len(buf) >= size:
                                    pending = self._pipeline(
                                        pool, pending, con, dest, op, buf, lock, result
                                    )
                                    buf = []
                        if buf:
                            pending = self._pipeline(
                                pool, pending, con, dest, op, buf, lock, result
                            )
                        while pending:
                            self._settle(pending.popleft(), con, op, lock, result)
                    finally:
                        # Break the future -> exception -> traceback -> frame cycle and release
                        # the Arrow stream now: it keeps the DuckDB file open otherwise.
                        for fut in pending:
                            fut.cancel()
                        pending.clear()
                        reader.close()
                        del reader
            result.status = "success" if result.rejected == 0 else "partial"
        except (DestinationError, SyncConfigError, duckdb.Error, OSError) as exc:
            result.status = "failed"
            result.error = self.scrub(f"{type(exc).__name__}: {exc}")[:1000]
            log.error("sync %s run %s failed: %s", self.sync.name, run_id, result.error)
            exc.__traceback__ = None
        except BaseException as exc:
            result.status = "failed"
            result.error = self.scrub(f"{type(exc).__name__}: {exc}")[:1000]
            self._finish(con, lock, dest, result, started, reader_con)
            raise
        self._finish(con, lock, dest, result, started, reader_con)
        return result

    def _finish(self, con, lock, dest, result: RunResult, started: float, reader_con) -> None:
        s = self.schema
        if dest is not None:
            result.destination_stats = dest.stats()
            result.api_calls = int(result.destination_stats.get("requests", 0))
            result.retries = int(result.destination_stats.get("retries", 0))
            result.throttled = int(result.destination_stats.get("throttled", 0))
            dest.close()
        result.duration_s = time.perf_counter() - started
        if reader_con is not None:
            reader_con.close()
        try:
            # An interruption (SIGTERM) inside a batch can leave its transaction open: roll it
            # back (nothing of it was confirmed) so the run record below is really committed.
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            con.execute(
                f"""update {s}.runs set status = ?, finished_at = ?, duration_s = ?, sent = ?,
                confirmed = ?, rejected = ?, api_calls = ?, retries = ?, throttled = ?, error = ?
                where run_id = ?""",
                [
                    result.status,
                    now_utc(),
                    result.duration_s,
                    result.sent,
                    result.confirmed,
                    result.rejected,
                    result.api_calls,
                    result.retries,
                    result.throttled,
                    result.error,
                    result.run_id,
                ],
            )
            desired_t, plan_t = self._tables(temp=False)
            con.execute(f"drop table if exists {desired_t}")
            con.execute(f"drop table if exists {plan_t}")
            lock.release()
        finally:
            con.close()
        log.info(
            "sync %s run %s %s: planned=%d sent=%d confirmed=%d rejected=%d invalid=%d in %.2fs",
            self.sync.name,
            result.run_id,
            result.status,
            result.plan.total,
            result.sent,
            result.confirmed,
            result.rejected,
            result.plan.invalid,
            result.duration_s,
        )

    @staticmethod
    def _rows(rb: pa.RecordBatch, targets, removal: bool) -> list[Row]:
        """Arrow record batch -> Rows, column by column (no per-row dict of every column)."""
        col = {name: rb.column(name).to_pylist() for name in rb.schema.names}
        keep = [
            (t, col[f"f{i}"])
            for i, (t, _c) in enumerate(targets)
            if not removal or t in IDENTITY_FIELDS
        ]
        names = [t for t, _ in keep]
        values = zip(*(v for _, v in keep), strict=True) if keep else ([] for _ in col["__pk"])
        records = col.get("__record") or [None] * len(col["__pk"])
        out = []
        for pk, row_hash, dest_id, kind, ident, record, vals in zip(
            col["__pk"],
            col["__hash"],
            col["__dest_id"],
            col["__kind"],
            col["__identity"],
            records,
            values,
            strict=True,
        ):
            payload = dict(zip(names, vals, strict=True))
            if removal:
                payload = {k: v for k, v in payload.items() if v is not None}
            out.append(Row(pk, row_hash or "removed", payload, dest_id, kind, ident, record))
        return out

    # -- delivery ----------------------------------------------------------------------------
    def _deliver_leaves(
        self, dest: Destination, op: str, rows: list[Row]
    ) -> list[tuple[list[Row], list[RowResult]]]:
        """Deliver one batch; a whole-batch rejection is split in halves until the bad rows
        are isolated. Returns (rows, results) for every sub-batch that got an answer."""
        try:
            return [(rows, dest.deliver(op, rows))]
        except BatchRejectedError as exc:
            if len(rows) == 1:
                return [(rows, [RowResult(rows[0].pk, False, reason=self.scrub(exc.reason))])]
            mid = len(rows) // 2
            return self._deliver_leaves(dest, op, rows[:mid]) + self._deliver_leaves(
                dest, op, rows[mid:]
            )

    def _pipeline(self, pool, pending: deque, con, dest, op, rows, lock, result) -> deque:
        """Submit a batch; settle (commit) the oldest ones beyond the in-flight depth, in order."""
        result.sent += len(rows)
        pending.append(pool.submit(self._deliver_leaves, dest, op, rows))
        while len(pending) > max(1, self.max_in_flight):
            self._settle(pending.popleft(), con, op, lock, result)
        return pending

    def _settle(self, fut: Future, con, op: str, lock: Lock, result: RunResult) -> None:
        n = 0
        for rows, results in fut.result():
            self._commit(con, op, rows, results, lock, result)
            n += len(rows)
        if self.on_batch:
            self.on_batch(op, n)

    def _commit(
        self, con, op: str, rows: list[Row], results: list[RowResult], lock: Lock, result: RunResult
    ) -> None:
        s = self.schema
        by_pk = {r.pk: r for r in rows}
        ok = [r for r in results if r.ok and r.pk in by_pk]
        bad = [r for r in results if not r.ok and r.pk in by_pk]
        answered = {r.pk for r in results}
        for row in rows:  # a row the destination did not answer for is not confirmed
            if row.pk not in answered:
                bad.append(RowResult(row.pk, False, reason="no result from destination"))
        ts = now_utc()
        removal = op in (DELETE, LIST_REMOVE)
        committed = False
        con.execute("begin transaction")
        try:
            if ok:
                ok_table = pa.table(
                    {
                        "pk": [r.pk for r in ok],
                        "row_hash": [
                            "deleted" if op == GDPR_DELETE else by_pk[r.pk].row_hash for r in ok
                        ],
                        "dest_id": [r.dest_id or by_pk[r.pk].dest_id for r in ok],
                        "identity": [
                            None if op == GDPR_DELETE else by_pk[r.pk].identity for r in ok
                        ],
                    },
                    schema=pa.schema(
                        [
                            ("pk", pa.string()),
                            ("row_hash", pa.string()),
                            ("dest_id", pa.string()),
                            ("identity", pa.string()),
                        ]
                    ),
                )
                con.register("__ok_rows", ok_table)
                if any(by_pk[r.pk].kind != "create" for r in ok):
                    con.execute(
                        f"delete from {s}.sync_state where sync_name = ? "
                        "and pk in (select pk from __ok_rows)",
                        [self.sync.name],
                    )
                if not removal:
                    con.execute(
                        f"insert into {s}.sync_state select ?, pk, row_hash, dest_id, identity, ?,"
                        " ?, ? from __ok_rows",
                        [self.sync.name, op, result.run_id, ts],
                    )
                con.unregister("__ok_rows")
            if bad:
                con.executemany(
                    f"insert into {s}.rejections values (?, ?, ?, ?, 'rejected', ?, ?)",
                    [
                        [
                            result.run_id,
                            self.sync.name,
                            r.pk,
                            op,
                            self.scrub(r.reason or "")[:1000],
                            ts,
                        ]
                        for r in bad
                    ],
                )
            con.execute(
                f"update {s}.runs set sent = ?, confirmed = ?, rejected = ? where run_id = ?",
                [
                    result.sent,
                    result.confirmed + len(ok),
                    result.rejected + len(bad),
                    result.run_id,
                ],
            )
            lock.heartbeat()
            con.execute("commit")
            committed = True
        except BaseException:
            # A signal (SIGTERM -> KeyboardInterrupt) can land right after COMMIT returned.
            if not committed:
                with contextlib.suppress(duckdb.Error):
                    con.execute("rollback")
            raise
        finally:
            if committed:
                result.confirmed += len(ok)
                result.rejected += len(bad)


# -- status -------------------------------------------------------------------------------
def status(
    duckdb_path: str | Path,
    sync_names: list[str] | None = None,
    schema: str = DEFAULT_SCHEMA,
    limit: int = 5,
) -> dict[str, Any]:
    con = connect_duckdb(duckdb_path)
    try:
        ensure_schema(con, schema)
        where = ""
        params: list[Any] = []
        if sync_names:
            where = "where sync_name in (" + ",".join("?" * len(sync_names)) + ")"
            params = list(sync_names)
        runs = con.execute(
            f"""select * from (
                select *, row_number() over (partition by sync_name order by started_at desc) as n
                from {schema}.runs {where}) where n <= {int(limit)}
            order by sync_name, started_at desc""",
            params,
        )
        names = [d[0] for d in runs.description]
        run_rows = [dict(zip(names, r, strict=True)) for r in runs.fetchall()]
        state = dict(
            con.execute(
                f"select sync_name, count(*) from {schema}.sync_state {where} group by 1", params
            ).fetchall()
        )
        locks = con.execute(f"select * from {schema}.locks {where}", params).fetchall()
        rej = con.execute(
            f"""select r.sync_name, r.pk, r.op, r.reason from {schema}.rejections as r
            join (select sync_name, max(started_at) as started_at from {schema}.runs
                  where status <> 'running' group by 1) as last using (sync_name)
            join {schema}.runs as ru on ru.run_id = r.run_id and ru.started_at = last.started_at
            {where.replace("sync_name", "r.sync_name")}
            order by 1, 2 limit 50""",
            params,
        ).fetchall()
        return {"runs": run_rows, "state_rows": state, "locks": locks, "open_rejections": rej}
    finally:
        con.close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text)
