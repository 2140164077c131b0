"""The sync engine: set-based diff in DuckDB, streamed batches, confirmed-only state.

One run of a sync:

1. **Desired** (SQL): read the source model, cast each mapped column to a JSON-friendly type,
   flag invalid rows (null/duplicate primary key, null required field), drop people without
   consent for the channel and (per sync) holdout members, and hash each row's payload:
   ``md5(config fingerprint || to_json(struct_pack(...)))``.
2. **Plan** (SQL): anti-join/join desired against ``reverse_etl.sync_state`` to get creates,
   updates and (mirror/list modes) removals (a first sync, with no state, skips the joins).
   Desired and plan live in an in-memory database attached for the run (never written to
   the warehouse file). Nothing is loaded into Python here.
3. **Deliver**: stream the plan from DuckDB in batches of the destination's size (as the
   tuples DuckDB returns, records rendered by DuckDB where the destination allows); a
   whole-batch rejection is bisected until the bad rows are isolated.
4. **Journal**: the plan's operations are written to ``reverse_etl.journal`` once, in bulk,
   before anything is sent. Before a window of batches (``JOURNAL_ROWS``) leaves, one small
   transaction records it as ``sent`` and the answers that came back since the previous
   window as ``answered`` (while waiting on the network, further transactions record answers
   as they come); rejected rows are recorded with the API's reason at once. When an
   operation ends, the state takes its answered rows in one set-based statement. A crash at
   any point loses nothing (the next run settles the dead run's journal first: answered rows
   go to the state, sent but unanswered ones to ``pending``, to be re-sent with their event
   ids or undone) and duplicates no effect (answered rows are not re-sent; a re-sent event
   keeps its id). Bulk writes, not a transaction per batch with rows in it: DuckDB writes
   a large insert straight to the file, compressed, while small row-bearing transactions
   each pay for their write-ahead log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from reverse_etl.config import SyncConfig, SyncConfigError
from reverse_etl.destinations import DeliveryContext, build_destination, destination_class
from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    LIST_ADD,
    LIST_REMOVE,
    REMOVAL_OPS,
    UNSUBSCRIBE,
    UPDATE,
    UPSERT,
    BatchRejectedError,
    Destination,
    DestinationError,
    Row,
    RowBatch,
    RowResult,
)
from reverse_etl.merges import replay_merges
from reverse_etl.state import (
    DEFAULT_SCHEMA,
    Lock,
    SyncLockedError,
    ensure_schema,
    now_utc,
    owner_dead,
)
from warehouse.connections import connect_duckdb, stage_in_duckdb
from warehouse.relations import RelationNotFoundError
from warehouse.relations import literal as _lit
from warehouse.relations import quote as _q
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

IDENTITY_FIELDS = ("email", "phone_number", "phone", "external_id")
SAMPLE_ROWS = 5
# Most rows whose intent one transaction records, ahead of sending them (a window of
# whole batches). Rows journaled but never sent are only re-sent by the next run if it
# finds them (their first transmission), so a large window costs nothing after a crash.
JOURNAL_ROWS = 10_000
# The plan's count of each kind of row (``Plan`` attributes)
PLAN_COUNT = {
    "create": "creates",
    "update": "updates",
    "remove": "removals",
    "revoke": "revocations",
    "retire": "retirements",
    "undo": "undos",
}
# While waiting on the network, answers that came back are recorded at least this often
# (seconds); a fast destination's answers go with the next window's transaction instead.
RECORD_ANSWERS_S = 0.25
# the state's row hash of a record whose person withdrew consent (unsubscribed, still there)
REVOKED = "revoked"
# The in-memory database holding a run's desired and plan tables (see SyncEngine._tables).
SCRATCH = "rw_sync_scratch"
# Connections to one DuckDB file in one process share its database instance, attachments
# included: ATTACH IF NOT EXISTS from two threads at once can both try to create it.
_SCRATCH_ATTACH = threading.Lock()


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
    undos: int = 0  # of the removals: a crashed run's writes taken back (never in the state)
    revocations: int = 0  # delivered people whose consent is withdrawn: unsubscribed
    retirements: int = 0  # old identities (changed email) taken off a list/tag
    released: int = 0  # left the model, but their record is another key's now: not deleted
    invalid: int = 0
    excluded_no_consent: int = 0
    excluded_holdout: int = 0
    excluded_erased: int = 0  # persons with an erasure request (global suppression)
    retrying: int = 0
    state_rows: int = 0  # rows the destination holds according to the state
    refused: str | None = None  # a guard rail refuses to run this plan (why)
    is_full_resync: bool = False
    api_calls: dict[str, int] = field(default_factory=dict)
    batch_sizes: dict[str, int] = field(default_factory=dict)
    quota_note: str = ""
    sample: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    invalid_sample: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.creates + self.updates + self.removals + self.revocations + self.retirements

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
    resumed: int = 0  # rows of a crashed run's jobs settled by job id
    duration_s: float = 0.0
    error: str | None = None
    destination_stats: dict[str, Any] = field(default_factory=dict)
    # where the run's time went: wall seconds of this thread per step (see StepTimes)
    steps_s: dict[str, float] = field(default_factory=dict)


class StepTimes:
    """Wall seconds a run's own thread spends per step: ``plan`` (diff and plan), ``read``
    (reading the plan, DuckDB rendering the records), ``journal`` (the transactions that
    record intents and confirm answers), ``wait`` (waiting for the destination's answers).
    The rest of ``duration_s`` is set-up and the end of the run."""

    def __init__(self, into: dict[str, float]) -> None:
        self.seconds = into

    @contextlib.contextmanager
    def __call__(self, step: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - started


@dataclass
class Outcome:
    """What the destination answered for sent rows, reduced to what the journal writes
    (the rows themselves are not kept once answered)."""

    ok: int = 0
    updates: bool = False  # a confirmed row replaces a state row (not a create)
    bad: list[tuple[str, str]] = field(default_factory=list)  # (pk, reason)
    unanswered: list[str] = field(default_factory=list)  # pks: outcome unknown
    new_ids: list[tuple[str, str]] = field(default_factory=list)  # (pk, destination id)

    def add(self, other: Outcome) -> None:
        self.ok += other.ok
        self.updates = self.updates or other.updates
        self.bad += other.bad
        self.unanswered += other.unanswered
        self.new_ids += other.new_ids


class GuardRailError(RuntimeError):
    """The plan looks like a broken model (mass removal, empty source): nothing is sent."""


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
        memory_limit: str | None = None,
        on_batch: Callable[[str, int], None] | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        self.sync = sync
        self.settings = settings or get_settings()
        self.path = str(duckdb_path or self.settings.duckdb_path)
        self.schema = schema
        self.context = context
        self.memory_limit = memory_limit or self.settings.sync.memory_limit
        self.on_batch = on_batch
        self.max_in_flight = max_in_flight or self.settings.sync.max_in_flight
        self._secrets = self._secret_values()
        # where this sync delivers (type, account, base URL): the state belongs to it, so a
        # run against the emulator never counts as delivered to the real account
        ctx = self.context
        self.target = destination_class(sync.destination.type).target(
            sync,
            base_url=ctx.base_url if ctx else None,
            outbox_dir=ctx.outbox_dir if ctx else self.settings.outbox_dir,
        )
        self._job_lock = threading.Lock()
        self._job_con: duckdb.DuckDBPyConnection | None = None
        self._beat_con: duckdb.DuckDBPyConnection | None = None
        self._stop_beat: Callable[[], None] | None = None
        self._step = StepTimes({})  # a run's own, from run()

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
        con.execute(f"set memory_limit = {_lit(self.memory_limit)}")
        con.execute(f"set threads = {int(self.settings.sync.threads)}")
        with _SCRATCH_ATTACH:
            con.execute(f"attach if not exists ':memory:' as {SCRATCH}")
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

    def _mine(self) -> str:
        """SQL condition for this sync's rows at this destination target (state, pending)."""
        return f"sync_name = {_lit(self.sync.name)} and target = {_lit(self.target)}"

    def _find_relation(self, con: duckdb.DuckDBPyConnection, name: str) -> str | None:
        """An optional warehouse relation as DuckDB reads it, or None when not built."""
        try:
            return stage_in_duckdb(con, name, self.settings, alias=f"__erased__{self.sync.name}")
        except RelationNotFoundError:
            return None

    def _targets(self) -> list[tuple[str, str | None]]:
        """(destination field, source column) in a stable order; holdout attribute last."""
        items: list[tuple[str, str | None]] = sorted(self.sync.fields.items())
        h = self.sync.holdout
        if h and h.policy == "attribute" and self.sync.mode != "gdpr_delete":
            items.append((h.attribute, None))
        return items

    def desired_where(self) -> str:
        """SQL condition over the desired table: the rows the destination should hold."""
        h = self.sync.holdout
        exclude_holdout = bool(h and h.policy == "exclude" and self.sync.mode != "gdpr_delete")
        return "__invalid is null and __consent and not __erased" + (
            " and not __holdout" if exclude_holdout else ""
        )

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
        """The desired and plan tables: a dry run's are temporary (this connection's); a
        run's live in an in-memory database attached to the warehouse's DuckDB, which the
        run's other cursors (the reader) see too. Neither is ever written to the warehouse
        file: a run rebuilds its plan, and what a crash must not lose is in ``pending``."""
        if temp:
            return _q(f"__desired__{self.sync.name}"), _q(f"__plan__{self.sync.name}")
        return (
            f"{SCRATCH}.main.{_q('_desired__' + self.sync.name)}",
            f"{SCRATCH}.main.{_q('_plan__' + self.sync.name)}",
        )

    def _build(
        self,
        con: duckdb.DuckDBPyConnection,
        temp: bool,
        full_resync: bool,
        run_id: str = "dry-run",
    ) -> Plan:
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
            "when __pk in (select k from dup_pk) then 'duplicate primary key'",
        ]
        by_col = {col: f"f{i}" for i, (_t, col) in enumerate(targets) if col}
        # The same email (phone, external id) under two keys: both rows are invalid, reported
        # and never sent or removed (which of the two is the person is not ours to guess).
        ident_dups = [
            (t, f"f{i}") for i, (t, c) in enumerate(targets) if c and t in IDENTITY_FIELDS
        ]
        for t, f in ident_dups:
            invalid_cases.append(
                f"when {f} is not null and lower(cast({f} as varchar)) in "
                f"(select k from dup_{f}) then {_lit('duplicate identity ' + t)}"
            )
        for col in sync.required:
            ref = "__pk" if col == sync.primary_key else by_col[col]
            invalid_cases.append(f"when {ref} is null then {_lit('null required field ' + col)}")
        tmp = "temp " if temp else ""
        desired_t, plan_t = self._tables(temp)
        # Global suppression: a person with an erasure request is never sent again by any
        # sync (the gdpr_delete syncs erase them; they must not come back).
        erased_rel = (
            self._find_relation(con, self.settings.sync.erasure_relation)
            if not is_gdpr and "person_id" in columns
            else None
        )
        erased = (
            f"cast(person_id as varchar) in (select cast(person_id as varchar) from {erased_rel})"
            if erased_rel
            else "false"
        )
        inner = ", ".join(
            [f"cast({_q(sync.primary_key)} as varchar) as __pk"]
            + [f"{expr} as {name}" for name, expr in select_cols if expr != "__holdout"]
            + [f"{consent} as __consent", f"{holdout} as __holdout", f"{erased} as __erased"]
        )
        outer_f = ", ".join(
            f"{expr} as {name}" if expr == "__holdout" else name for name, expr in select_cols
        )
        # Duplicates found by aggregating the keys alone (a window over every row would
        # hold every column of the source in memory at once).
        exprs = dict(select_cols)
        dup_ctes = "".join(
            f""",
            dup_{f} as (
                select lower(cast({exprs[f]} as varchar)) as k from {source}
                where {exprs[f]} is not null group by 1 having count(*) > 1
            )"""
            for _t, f in ident_dups
        )
        fp = _lit(sync.fingerprint())
        struct = ", ".join(f"f{i} := f{i}" for i in range(len(targets))) or "k := __pk"
        ident = [(t, f"f{i}") for i, (t, _c) in enumerate(targets) if t in IDENTITY_FIELDS]
        ident_json = (
            "to_json(struct_pack(" + ", ".join(f"{_q(t)} := {f}" for t, f in ident) + "))"
            if ident
            else "null"
        )
        # Each row's content hash and identity are computed once, here: the plan reads them
        # from this table (a CTE computing them, read by several joins, would be held in
        # memory whole).
        con.execute(
            f"""
            create or replace {tmp}table {desired_t} as
            with src as (select {inner} from {source}),
            dup_pk as (
                select cast({_q(sync.primary_key)} as varchar) as k from {source}
                group by 1 having count(*) > 1
            ){dup_ctes}
            select *, md5({fp} || to_json(struct_pack({struct}))) as __hash,
                {ident_json} as __identity
            from (
                select __pk, {outer_f}{"," if outer_f else ""} __consent, __holdout, __erased,
                    case {" ".join(invalid_cases)} else null end as __invalid
                from src
            )
            """
        )
        where_desired = self.desired_where()
        state_t = f"{self.schema}.sync_state"
        pending_t = f"{self.schema}.pending"
        state_rows, pending_rows = con.execute(
            f"select (select count(*) from {state_t} where {self._mine()}), "
            f"(select count(*) from {pending_t} where {self._mine()})"
        ).fetchone()
        # Nothing delivered and nothing pending (a first sync): every desired row is a
        # create and there is nothing to remove, retire or revoke; the plan is the desired
        # rows alone (no diff joins, which would hold the desired keys in memory).
        fresh = not state_rows and not pending_rows
        if is_gdpr:
            cond = "s.pk is null"
        elif full_resync:
            cond = "true"
        else:
            # a removal that may have been applied before a crash is re-sent as a write
            cond = "s.pk is null or s.row_hash <> d.__hash or pe.op_class = 'remove'"
        fcols = ", ".join(f"d.f{i}" for i in range(len(targets)))

        def removal_cols(alias: str) -> str:
            return ", ".join(
                (
                    f"json_extract_string({alias}.identity, {_lit('$.' + _q(t))})"
                    if t in IDENTITY_FIELDS
                    else "null"
                )
                + f" as f{i}"
                for i, (t, _c) in enumerate(targets)
            )

        run = _lit(run_id)
        # An emission's event id: kept while the same operation is pending (retries, a re-run
        # after a crash), new for every later lifecycle event (re-add, update, removal).
        write_id = (
            "case when pe.op_class = 'write' and pe.row_hash = d.__hash then pe.event_id "
            f"else md5({run} || '|' || d.__pk || '|write|' || d.__hash) end"
        )
        remove_id = (
            "case when pe.op_class = 'remove' then pe.event_id "
            f"else md5({run} || '|' || s.pk || '|remove|' || s.row_hash) end"
        )
        with_removals = sync.mode in ("mirror", "list")
        # records keyed by email at the destination: an address another key now has is theirs
        by_email = destination_class(sync.destination.type).keyed_by_email
        taken_cond = "taken.e is not null" if by_email else "false"
        with_revocations = bool(sync.consent) and not is_gdpr
        rcols = removal_cols("s")
        pcols = removal_cols("pe")
        revoked_cte = (
            f"select __pk from {desired_t} "
            "where __invalid is null and not __consent and not __erased"
            if with_revocations
            else f"select __pk from {desired_t} where false"
        )
        # a record that outlives the revocation is remembered as revoked (see _confirm_work)
        revoked_hash = f"'{REVOKED}'" if self._revocation_keeps_record else "null"
        revoke_sql = (
            f"""
            union all
            select 'revoke', s.pk, {revoked_hash}, s.identity, s.dest_id,
                md5({run} || '|' || s.pk || '|revoke|' || s.row_hash){", " + rcols if rcols else ""}
            from state as s
            semi join revoked as rv on rv.__pk = s.pk
            where s.row_hash is distinct from '{REVOKED}'
            """
            if with_revocations
            else ""
        )
        removal_sql = (
            f"""
            union all
            -- a record another key now maps to (same email, same destination id: a merge or
            -- an address moving between persons) is released from the state, never deleted
            select case when {taken_cond} or tid.dest_id is not null then 'release'
                    else 'remove' end as __kind,
                s.pk as __pk, null as __hash, s.identity as __identity,
                s.dest_id as __dest_id, {remove_id} as __event_id{", " + rcols if rcols else ""}
            from state as s
            left join pending as pe on pe.pk = s.pk
            left join (select distinct lower(json_extract_string(__identity, '$.email')) as e
                       from desired) as taken
                on taken.e = lower(json_extract_string(s.identity, '$.email'))
            left join (select distinct s2.dest_id from state as s2
                       semi join desired as d2 on d2.__pk = s2.pk
                       where s2.dest_id is not null) as tid
                on tid.dest_id = s.dest_id
            anti join desired as d on d.__pk = s.pk
            -- an invalid row (duplicate key, null required field) is reported, never a removal
            anti join invalid as inv on inv.__pk = s.pk
            anti join revoked as rv on rv.__pk = s.pk
            union all
            -- a write of a crashed run may have been applied: undo it if no longer wanted;
            -- an undo whose answer was lost is sent again (the same emission, the same id)
            select 'undo', pe.pk, null, pe.identity, pe.dest_id,
                case when pe.op_class = 'remove' then pe.event_id
                else md5({run} || '|' || pe.pk || '|undo|' || pe.row_hash) end
                {", " + pcols if pcols else ""}
            from pending as pe
            anti join state as s on s.pk = pe.pk
            anti join desired as d on d.__pk = pe.pk
            anti join invalid as inv on inv.__pk = pe.pk
            """
            if with_removals
            else ""
        )
        # list/tag: an identity change (new email) takes the old identity off the list first,
        # except where a record this sync holds follows its person's change by record id
        moves = destination_class(sync.destination.type).records_follow_identity
        retire_held = f"""
            union all
            select 'retire', s.pk, null, s.identity, s.dest_id,
                md5({run} || '|' || s.pk || '|retire|' || s.row_hash){", " + rcols if rcols else ""}
            from state as s
            join desired as d on d.__pk = s.pk
            where s.identity is distinct from d.__identity
            """
        retire_sql = (
            f"""
            {"" if moves else retire_held}
            union all
            -- a crashed run may have added the person under an address they no longer have
            -- (a record whose id the crash kept from us cannot follow them), or its
            -- retirement of that address may not have been answered (sent again, the same
            -- emission)
            select 'retire', pe.pk, null, pe.identity, pe.dest_id,
                case when pe.op_class = 'remove' then pe.event_id
                else md5({run} || '|' || pe.pk || '|retire|' || pe.row_hash) end
                {", " + pcols if pcols else ""}
            from pending as pe
            join desired as d on d.__pk = pe.pk
            left join state as s on s.pk = pe.pk
            where pe.identity is distinct from d.__identity
                and (s.pk is null or s.identity is not distinct from d.__identity)
                {"and s.pk is null and pe.dest_id is null" if moves else ""}
            """
            if sync.mode == "list" and ident
            else ""
        )
        # Each row's operation (``__op``) and ordinal (``__n``, numbered as the rows are
        # stored: no sort, which would hold every planned row in memory at once): delivery
        # streams an operation's rows in that order, and the journal writes a window's
        # intent and confirms answered batches as ranges of ``__n``, set-based from this
        # table (no rows pass back through Python).
        op_of = " ".join(
            f"when {_lit(k)} then {_lit(op)}" for op, kinds in self.op_groups() for k in kinds
        )
        op_case = f"case __kind {op_of} else null end"
        fc = ", " + fcols if fcols else ""
        if fresh:
            writes = f"""select 'create' as __kind, d.__pk, d.__hash, d.__identity,
                    cast(null as varchar) as __dest_id,
                    md5({run} || '|' || d.__pk || '|write|' || d.__hash) as __event_id{fc}
                from desired as d"""
            removal_sql = retire_sql = revoke_sql = ""
        else:
            writes = f"""select case when s.pk is null then 'create' else 'update' end as __kind,
                    d.__pk, d.__hash, d.__identity,
                    s.dest_id as __dest_id, {write_id} as __event_id{fc}
                from desired as d
                left join state as s on s.pk = d.__pk
                left join pending as pe on pe.pk = d.__pk
                where {cond}"""
        con.execute(
            f"""
            create or replace {tmp}table {plan_t} as
            with desired as not materialized (
                select __pk, {fcols.replace("d.", "")}{"," if fcols else ""} __hash, __identity
                from {desired_t}
                where {where_desired}
            ),
            state as (select * from {state_t} where {self._mine()}),
            pending as (select * from {pending_t} where {self._mine()}),
            invalid as (select __pk from {desired_t} where __invalid is not null),
            revoked as ({revoked_cte}),
            planned as (
                {writes}
                {removal_sql}
                {retire_sql}
                {revoke_sql}
            ),
            numbered as (select *, {op_case} as __op from planned)
            select *, row_number() over () - 1 as __n from numbered
            """
        )
        counts = con.execute(
            f"""
            select count(*),
                count(*) filter (where __invalid is not null),
                count(*) filter (where __invalid is null and not __consent),
                count(*) filter (where __invalid is null and __consent and __holdout
                                 and {"true" if exclude_holdout else "false"}),
                count(*) filter (where __invalid is null and __erased)
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
            removals=kinds.get("remove", 0) + kinds.get("undo", 0),
            undos=kinds.get("undo", 0),
            revocations=kinds.get("revoke", 0),
            retirements=kinds.get("retire", 0),
            released=kinds.get("release", 0),
            invalid=counts[1],
            excluded_no_consent=counts[2],
            excluded_holdout=counts[3],
            excluded_erased=counts[4],
            retrying=retrying,
            state_rows=state_rows,
            is_full_resync=full_resync,
        )
        plan.refused = self._guard(plan)
        shape = destination_class(sync.destination.type).shape(sync.destination.batch_size)
        for op, kinds_for_op in self.op_groups():
            n = sum(kinds.get(k, 0) for k in kinds_for_op)
            plan.batch_sizes[op] = shape.op_batch_size(op)
            if n:
                plan.api_calls[op] = shape.calls_for(op, n)
        plan.quota_note = shape.quota_note()
        for kind in ("create", "update", "remove", "undo", "revoke", "retire"):
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

    @property
    def _revocation_keeps_record(self) -> bool:
        """Whether the platform's record outlives a consent revocation (an unsubscribed
        profile in mirror and upsert modes; a list sync only takes the member off): its
        state row stays, marked revoked, so that a later leave still deletes it (mirror) and
        a return finds it by its destination id."""
        return self.sync.mode in ("mirror", "upsert", "update")

    def _guard(self, plan: Plan) -> str | None:
        """Why this plan must not run (guard rails of the sync), or None."""
        guard = self.sync.guard
        if self.sync.mode == "gdpr_delete" or not plan.state_rows:
            return None
        if plan.source_rows == 0 and not guard.allow_empty_source:
            return (
                f"source {self.sync.source} is empty while {plan.state_rows} rows are delivered"
                " (a failed build?); set guard.allow_empty_source to sync an empty model"
            )
        # the share is of the delivered rows (the state): undos take back a crashed run's
        # unconfirmed writes (at most a journal window), which the state never held
        removals = plan.removals - plan.undos
        if removals > guard.max_removal_share * plan.state_rows:
            return (
                f"{removals} removals are {removals / plan.state_rows:.1%} of the "
                f"{plan.state_rows} delivered rows, above guard.max_removal_share "
                f"{guard.max_removal_share:.0%}; check the model, or raise the share for this sync"
            )
        return None

    @staticmethod
    def _display(rec: dict[str, Any], targets: list[tuple[str, str | None]]) -> dict[str, Any]:
        out = {"pk": rec["__pk"]}
        for i, (t, _c) in enumerate(targets):
            out[t] = rec.get(f"f{i}")
        return out

    def op_groups(self) -> list[tuple[str, tuple[str, ...]]]:
        mode = self.sync.mode
        # consent withdrawn: the platform's own unsubscribe/suppression, before anything else
        revoke = [(UNSUBSCRIBE, ("revoke",))] if self.sync.consent and mode != "gdpr_delete" else []
        return revoke + self._mode_groups()

    def _mode_groups(self) -> list[tuple[str, tuple[str, ...]]]:
        mode = self.sync.mode
        if mode == "upsert":
            return [(UPSERT, ("create", "update"))]
        if mode == "update":
            return [(UPDATE, ("create", "update"))]
        if mode == "mirror":
            return [(UPSERT, ("create", "update")), (DELETE, ("remove", "undo"))]
        if mode == "list":
            return [(LIST_REMOVE, ("remove", "retire", "undo")), (LIST_ADD, ("create", "update"))]
        if mode == "gdpr_delete":
            return [(GDPR_DELETE, ("create",))]
        raise ValueError(mode)

    # -- public API -----------------------------------------------------------------------
    def plan(self, full_resync: bool = False) -> Plan:
        """Dry run: compute the plan in temp tables; nothing is sent. A journal a dead run
        left is settled first (under the sync's lock), so the plan is what the next run
        would do; while a live run holds the lock, its journal is left to it."""
        con = self._connect()
        try:
            if con.execute(
                f"select count(*) from {self.schema}.journal where {self._mine()}"
            ).fetchone()[0]:
                lock = Lock(con, self.schema, self.sync.name, f"plan-{uuid.uuid4().hex[:8]}")
                try:
                    self._take_lock(con, lock)
                except SyncLockedError:
                    pass
                else:
                    try:
                        self._settle_dead(con, lock.run_id)
                    finally:
                        lock.release()
            return self._build(con, temp=True, full_resync=full_resync)
        finally:
            con.close()

    def _take_lock(self, con, lock: Lock) -> None:
        """Acquire the sync's lock; a dead owner's run is marked ``abandoned``."""
        stale = lock.acquire()
        if stale:
            con.execute(
                f"update {self.schema}.runs set status = 'abandoned', finished_at = ? "
                "where run_id = ? and status = 'running'",
                [now_utc(), stale],
            )

    def run(self, full_resync: bool = False) -> RunResult:
        started = time.perf_counter()
        run_id = f"{now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        con = self._connect()
        s = self.schema
        lock = Lock(con, s, self.sync.name, run_id)
        try:
            self._take_lock(con, lock)
        except BaseException:
            con.close()
            raise
        con.execute(
            f"insert into {s}.runs (run_id, sync_name, mode, destination, is_full_resync, status,"
            " started_at, pid, target) values (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            [
                run_id,
                self.sync.name,
                self.sync.mode,
                self.sync.destination.type,
                full_resync,
                now_utc(),
                os.getpid(),
                self.target,
            ],
        )
        result = RunResult(
            run_id,
            self.sync.name,
            "running",
            Plan(self.sync.name, self.sync.mode, self.sync.destination.type, self.sync.source),
        )
        self._step = StepTimes(result.steps_s)
        self._run_id = run_id
        self._journaled = False  # whether this run's plan is in the journal (to settle)
        dest: Destination | None = None
        reader_con = None
        desired_t, plan_t = self._tables(temp=False)
        self._job_con = con.cursor()
        self._beat_con = con.cursor()
        self._stop_beat = lock.keep_alive(self._beat_con)
        try:
            ctx = self.context or DeliveryContext(
                run_id=run_id, outbox_dir=self.settings.outbox_dir
            )
            ctx.run_id = run_id
            ctx.on_job = self._record_job
            dest = build_destination(self.sync, ctx)
            self._settle_dead(con, run_id)  # a crashed run's journal, before pending is read
            self._resume(con, dest, lock, result)
            replay_merges(self, con, dest)  # person merges via the vendor's merge endpoint
            with self._step("plan"):
                plan = self._build(con, temp=False, full_resync=full_resync, run_id=run_id)
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
            if plan.refused:
                raise GuardRailError(plan.refused)
            if plan.released:
                con.execute(
                    f"delete from {s}.sync_state where {self._mine()} and pk in "
                    f"(select __pk from {plan_t} where __kind = 'release')"
                )
            if self.sync.mode in ("upsert", "update") and plan.excluded_erased:
                # nothing is ever sent for them again: keep no PII of theirs in the state
                con.execute(
                    f"delete from {s}.sync_state where {self._mine()} "
                    f"and pk in (select __pk from {desired_t} where __erased)"
                )
            con.execute(f"drop table {desired_t}")  # the plan has all delivery needs: free it
            if plan.total:
                with self._step("journal"):
                    self._journal_plan(con, dest, plan_t, run_id)
            targets = self._targets()
            reader_con = con.cursor()
            # Deliveries run on a small pool (max_in_flight requests at once) while this
            # thread reads the next window of batches and journals it: the network wait
            # overlaps DuckDB work, and one transaction covers a whole window.
            depth = max(1, self.max_in_flight)
            with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="deliver") as pool:
                for op, kinds in self.op_groups():
                    planned = {k: getattr(plan, PLAN_COUNT[k]) for k in kinds}
                    if not any(planned.values()):
                        continue
                    size = dest.op_batch_size(op)
                    removal = op in REMOVAL_OPS
                    record = type(dest).record_sql(
                        op, [t for t, _c in targets], self.sync.null_policy
                    )
                    # in __n order (insertion order is kept; checked while reading): no
                    # sort; streamed a batch at a time as Python tuples (no Arrow tables)
                    where = f"from {plan_t} where __op = {_lit(op)}"
                    if record and type(dest).record_is_complete:
                        # all the destination reads is DuckDB's record: the batch stays the
                        # tuples of the plan's columns (RowBatch), no Row per row
                        cols = ", ".join(record if c == "__record" else c for c in RowBatch.COLUMNS)
                        with self._step("read"):
                            reader = reader_con.execute(f"select {cols} {where}")
                        batches = self._tuple_batches(reader, size)
                    else:
                        extra = f", {record} as __record" if record else ""
                        with self._step("read"):
                            reader = reader_con.execute(f"select *{extra} {where}")
                        batches = self._batches(reader, targets, removal, size)
                    # whether a confirmed row may replace a state row (else all are creates)
                    updates = any(n for k, n in planned.items() if k != "create")
                    self._deliver_op(pool, con, dest, op, batches, result, plan_t, updates)
            result.status = "success" if result.rejected == 0 else "partial"
        except (DestinationError, SyncConfigError, GuardRailError, duckdb.Error, OSError) as exc:
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
        if reader_con is not None:
            reader_con.close()
        if self._job_con is not None:
            self._job_con.close()
            self._job_con = None
        if self._stop_beat is not None:
            self._stop_beat()
            self._stop_beat = None
            self._beat_con.close()
        try:
            # An interruption (SIGTERM) inside a batch can leave its transaction open: roll it
            # back (nothing of it was confirmed) so the run record below is really committed.
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            try:
                if self._journaled:
                    with self._step("journal"):
                        self._settle(con, result.run_id)
            except duckdb.Error as exc:  # the journal stays: the next run settles it
                result.status = "failed"
                result.error = self.scrub(f"settling the journal: {type(exc).__name__}: {exc}")
                result.error = result.error[:1000]
            result.duration_s = time.perf_counter() - started
            result.steps_s = {k: round(v, 3) for k, v in result.steps_s.items()}
            con.execute(
                f"""update {s}.runs set status = ?, finished_at = ?, duration_s = ?, sent = ?,
                confirmed = ?, rejected = ?, api_calls = ?, retries = ?, throttled = ?, error = ?,
                steps = ? where run_id = ?""",
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
                    json.dumps(result.steps_s),
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
            "sync %s run %s %s: planned=%d sent=%d confirmed=%d rejected=%d invalid=%d in %.2fs"
            " (%s)",
            self.sync.name,
            result.run_id,
            result.status,
            result.plan.total,
            result.sent,
            result.confirmed,
            result.rejected,
            result.plan.invalid,
            result.duration_s,
            ", ".join(f"{step} {sec:.2f}s" for step, sec in result.steps_s.items()) or "no steps",
        )

    @staticmethod
    def _rows(names: list[str], tuples: list[tuple], targets, removal: bool) -> list[Row]:
        """Plan rows (tuples with columns ``names``) -> Rows."""
        ix = {name: i for i, name in enumerate(names)}
        keep = [
            (t, ix[f"f{i}"])
            for i, (t, _c) in enumerate(targets)
            if not removal or t in IDENTITY_FIELDS
        ]
        pk, row_hash, dest_id, kind, ident, event_id = (
            ix[c] for c in ("__pk", "__hash", "__dest_id", "__kind", "__identity", "__event_id")
        )
        record = ix.get("__record")
        out = []
        for t in tuples:
            payload = {name: t[j] for name, j in keep}
            if removal:
                payload = {k: v for k, v in payload.items() if v is not None}
            out.append(
                Row(
                    t[pk],
                    t[row_hash] or "removed",
                    payload,
                    t[dest_id],
                    t[kind],
                    t[ident],
                    None if record is None else t[record],
                    t[event_id],
                )
            )
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

    @staticmethod
    def _ranges(tuples: list[tuple], n_at: int, last: int) -> int:
        """Check that the plan streams in ``__n`` order (column ``n_at``; ``last``: the
        previous row's): a batch is then exactly the operation's rows of its ``__n``
        range, which the journal reads back. Returns the last ``__n``."""
        for t in tuples:
            if t[n_at] <= last:
                raise RuntimeError("sync plan read out of __n order")
            last = t[n_at]
        return last

    def _tuple_batches(self, reader, size: int):
        """Like ``_batches``, each batch a RowBatch of the reader's tuples."""
        n_at = RowBatch.COLUMNS.index("__n")
        last = -1
        buf: list[tuple] = []
        while True:
            with self._step("read"):
                chunk = reader.fetchmany(size - len(buf))
                if not chunk:
                    break
                last = self._ranges(chunk, n_at, last)
            buf += chunk
            if len(buf) >= size:
                yield RowBatch(buf), buf[0][n_at], last + 1
                buf = []
        if buf:
            yield RowBatch(buf), buf[0][n_at], last + 1

    def _batches(self, reader, targets, removal: bool, size: int):
        """The plan's rows for one operation in batches of the destination's size: each as
        (rows, lo, hi): the operation's rows with ``lo <= __n < hi`` (the journal reads
        them back from the plan by that range)."""
        buf: list[Row] = []
        names = [d[0] for d in reader.description]
        n_at = names.index("__n")
        last = -1
        lo = 0
        while True:
            with self._step("read"):
                chunk = reader.fetchmany(size)
                if not chunk:
                    break
                rows = self._rows(names, chunk, targets, removal)
            start = 0
            while start < len(rows):
                take = min(size - len(buf), len(rows) - start)
                if not buf:
                    lo = chunk[start][n_at]
                last = self._ranges(chunk[start : start + take], n_at, last)
                buf.extend(rows[start : start + take])
                start += take
                if len(buf) >= size:
                    yield buf, lo, last + 1
                    buf = []
        if buf:
            yield buf, lo, last + 1

    def _deliver_op(
        self, pool, con, dest, op: str, batches, result: RunResult, plan_t: str, updates: bool
    ) -> None:
        """Send one operation's batches; one small transaction per window of batches.

        Before a window of batches leaves, one transaction records it as ``sent`` (its
        rows are in ``journal`` since the plan was made) and the batches answered since
        the previous window as ``answered``: after a crash, the next run finds every row
        that may have been sent and whose answer is not recorded (and re-sends it with its
        event id, which receivers de-duplicate, or undoes it). Windows start at one batch
        and double up to ``JOURNAL_ROWS`` rows. A window's batches go to the pool
        (``max_in_flight`` requests at once) while this thread reads and journals the next
        window and, until the window before is answered, records answers as they come (a
        group commit: as many transactions as the destination's pace needs). After a failed
        delivery no further batch leaves. Windows are ``__n`` ranges: Python passes only
        the exceptions (rejected rows, unanswered rows, new destination ids), which are
        applied to the state at once; the state takes the rest when the operation ends."""
        # batches as (rows, lo, hi): the operation's rows with lo <= __n < hi
        in_flight: deque[tuple[Future, Sequence[Row], int, int]] = deque()
        ahead: deque[tuple[Sequence[Row], int, int]] = deque()  # read, not yet journaled
        answered: list[tuple[int, int, int, Outcome]] = []  # (lo, hi, rows, outcome)
        reported: list[int] = []  # sizes of the batches the next commit confirms
        stop = threading.Event()  # a delivery failed (or the run ends): send nothing more
        replace = bool(
            con.execute(
                f"select count(*) from {self.schema}.pending where {self._mine()}"
            ).fetchone()[0]
        )
        target = 0
        last_commit = time.monotonic()
        last_window = 0  # batches of the window sent last (the rest of in_flight is older)

        def send(rows: Sequence[Row]) -> list[tuple[Sequence[Row], list[RowResult]]] | None:
            if stop.is_set():
                return None  # never sent: its rows stay pending for the next run
            try:
                return self._deliver_leaves(dest, op, rows)
            except BaseException:
                stop.set()
                raise

        def rows_of(lo: int, hi: int) -> str:
            return (
                f"select __pk, __hash, __identity, __dest_id, __event_id, __n from {plan_t} "
                f"where __op = {_lit(op)} and __n >= {int(lo)} and __n < {int(hi)}"
            )

        def collect() -> None:
            fut, rows, lo, hi = in_flight.popleft()
            with self._step("wait"):
                answers = fut.result()
            results = [x for _rows, got in answers for x in got]
            answered.append((lo, hi, len(rows), self._outcome(rows, results)))

        def confirm_work() -> Callable[[], None]:
            """Statements recording the answered batches (one contiguous ``__n`` range): an
            ``answered`` window, or, when some rows were rejected, unanswered or given a new
            destination id, their state applied at once (a ``settled`` window)."""
            if not answered:
                return lambda: None
            outcome = Outcome()
            for _lo, _hi, _n, got in answered:
                outcome.add(got)
            lo, hi = answered[0][0], answered[-1][1]
            reported.extend(n for _lo, _hi, n, _o in answered)
            answered.clear()
            if outcome.bad or outcome.unanswered or outcome.new_ids:
                work = self._confirm_work(
                    con, op, rows_of(lo, hi), [], outcome, result, journaled=(lo, hi)
                )
                settled = self._window_work(con, result.run_id, op, lo, hi, "settled")
                return lambda: (work(), settled())
            result.confirmed += outcome.ok
            return self._window_work(con, result.run_id, op, lo, hi, "answered")

        def commit(*works: Callable[[], None]) -> None:
            nonlocal last_commit
            with self._step("journal"):
                self._transaction(con, lambda: [work() for work in works])
            last_commit = time.monotonic()
            while reported and self.on_batch:  # batches confirmed by this transaction
                self.on_batch(op, reported.pop(0))
            reported.clear()

        def drain(until: int) -> None:
            """Wait until at most ``until`` batches are out. A long wait records the answers
            that came back every ``RECORD_ANSWERS_S`` (a row answered but not recorded would
            be sent again after a crash); a short one leaves them to the next window's
            transaction."""
            while len(in_flight) > until:
                collect()
                while in_flight and in_flight[0][0].done():
                    collect()
                if len(in_flight) > until and time.monotonic() - last_commit > RECORD_ANSWERS_S:
                    commit(confirm_work())
            while in_flight and in_flight[0][0].done():
                collect()

        def send_window() -> None:
            """Confirm what came back, journal the batches read ahead, then send them."""
            nonlocal last_window
            drain(last_window)
            confirm = confirm_work()
            result.sent += sum(len(rows) for rows, _lo, _hi in ahead)
            lo, hi = ahead[0][1], ahead[-1][2]
            intent = self._intent_work(con, op, lo, hi, rows_of(lo, hi), result, replace)
            commit(confirm, intent)
            last_window = len(ahead)
            while ahead:
                rows, lo, hi = ahead.popleft()
                in_flight.append((pool.submit(send, rows), rows, lo, hi))

        try:
            try:
                ahead_rows = 0
                for rows, lo, hi in batches:
                    ahead.append((rows, lo, hi))
                    ahead_rows += len(rows)
                    target = target or len(rows)
                    if ahead_rows >= target:
                        target = min(2 * target, max(JOURNAL_ROWS, len(rows)))
                        send_window()
                        ahead_rows = 0
                if ahead:
                    send_window()
                drain(0)
            except DestinationError:
                # the run stops: what was answered before the failure is still recorded (and
                # settled when the run ends)
                stop.set()
                commit(confirm_work())
                raise
            commit(confirm_work())
            # the state takes this operation's answers before the next operation starts
            commit(self._fold_work(con, result.run_id, op, plan_t, updates))
        finally:
            stop.set()
            # Break the future -> exception -> traceback -> frame cycle.
            for fut, *_batch in in_flight:
                fut.cancel()
            in_flight.clear()

    def _transaction(self, con, work: Callable[[], None]) -> None:
        con.execute("begin transaction")
        committed = False
        try:
            work()
            con.execute("commit")
            committed = True
        except BaseException:
            # A signal (SIGTERM -> KeyboardInterrupt) can land right after COMMIT returned.
            if not committed:
                with contextlib.suppress(duckdb.Error):
                    con.execute("rollback")
            raise

    def _journal_plan(self, con, dest: Destination, plan_t: str, run_id: str) -> None:
        """Write every planned operation to ``journal`` in one statement, before anything is
        sent (windows then mark which of them left). ``position`` is each row's place in its
        batch (a job's rows in their order): batches are the operation's rows in ``__n``
        order, ``op_batch_size`` at a time."""
        sizes = " ".join(
            f"when {_lit(op)} then {dest.op_batch_size(op)}" for op, _ in self.op_groups()
        )
        removal = ", ".join(_lit(op) for op in sorted(REMOVAL_OPS))
        con.execute(
            f"""insert into {self.schema}.journal (sync_name, target, run_id, op, op_class, kind,
                n, pk, row_hash, identity, dest_id, event_id, position)
            select ?, ?, ?, __op,
                case when __op in ({removal}) then 'remove' else 'write' end, __kind, __n,
                __pk, __hash, __identity, __dest_id, __event_id,
                cast((row_number() over (partition by __op order by __n) - 1)
                     % (case __op {sizes} end) as integer)
            from {plan_t} where __op is not null""",
            [self.sync.name, self.target, run_id],
        )
        self._journaled = True

    def _window_work(
        self, con, run_id: str, op: str, lo: int, hi: int, state: str
    ) -> Callable[[], None]:
        """The statement recording the journal's rows of ``op`` with lo <= n < hi as
        ``sent``, ``answered`` or ``settled``."""

        def work() -> None:
            con.execute(
                f"insert into {self.schema}.journal_windows values (?, ?, ?, ?, ?, ?, ?, ?)",
                [self.sync.name, self.target, run_id, op, int(lo), int(hi), state, now_utc()],
            )

        return work

    def _intent_work(
        self, con, op: str, lo: int, hi: int, rows_sql: str, result: RunResult, replace: bool
    ) -> Callable[[], None]:
        """Before a window of batches leaves (the plan's rows of ``op`` with lo <= __n < hi,
        as ``rows_sql`` reads them): the statements, for the caller's transaction, that
        record it as ``sent``. The run's progress counters move here too (once a window,
        not once a batch). With ``replace``, older pending operations of the same keys are
        dropped first (when ``pending`` holds none of this sync, there are none to drop)."""
        run_id = result.run_id
        s = self.schema
        sent = self._window_work(con, run_id, op, lo, hi, "sent")

        def work() -> None:
            if replace:
                con.execute(
                    f"delete from {s}.pending where {self._mine()} "
                    f"and pk in (select __pk from ({rows_sql}))"
                )
            sent()
            con.execute(
                f"update {s}.runs set sent = ?, confirmed = ?, rejected = ? where run_id = ?",
                [result.sent, result.confirmed, result.rejected, run_id],
            )

        return work

    def _fold_work(
        self, con, run_id: str, op: str, plan_t: str | None = None, updates: bool | None = None
    ) -> Callable[[], None]:
        """The statements by which the state takes the rows of ``op`` in the run's
        ``answered`` windows (which become ``settled``): one set-based pass, reading the
        rows from the run's plan while it has one (in memory), else from the journal.
        ``updates``: whether some row may replace a state row (None: look)."""
        s = self.schema
        if plan_t:
            source = f"""select __pk, __hash, __identity, __dest_id, __kind, __n
                from {plan_t} where __op = {_lit(op)}"""
        else:
            source = f"""select pk as __pk, row_hash as __hash, identity as __identity,
                dest_id as __dest_id, kind as __kind, n as __n
                from {s}.journal where run_id = {_lit(run_id)} and op = {_lit(op)}"""
        rows = f"""select j.* from ({source}) as j
            semi join (select lo, hi from {s}.journal_windows
                       where run_id = {_lit(run_id)} and op = {_lit(op)}
                       and state = 'answered') as w
                on j.__n >= w.lo and j.__n < w.hi"""

        def work() -> None:
            replaces = updates
            if replaces is None:
                (replaces,) = con.execute(
                    f"select coalesce(bool_or(__kind <> 'create'), false) from ({rows})"
                ).fetchone()
            self._state_work(con, op, rows, [], updates=replaces, run_id=run_id)()
            con.execute(
                f"update {s}.journal_windows set state = 'settled' "
                "where run_id = ? and op = ? and state = 'answered'",
                [run_id, op],
            )

        return work

    def _settle(self, con, run_id: str) -> None:
        """Close a run's journal (at its end, or the next run's start when it died): the
        state takes its answered rows (operation by operation, in the order they run), its
        sent but unanswered rows become ``pending`` (of unknown outcome), the rest (never
        sent) is dropped."""
        s = self.schema
        found = {
            op
            for (op,) in con.execute(
                f"select distinct op from {s}.journal_windows "
                "where run_id = ? and state = 'answered'",
                [run_id],
            ).fetchall()
        }
        order = [op for op, _kinds in self.op_groups() if op in found]
        order += sorted(found - set(order))  # the sync's mode changed since that run

        def work() -> None:
            for op in order:
                self._fold_work(con, run_id, op)()
            self._to_pending(
                con,
                f"""{s}.in_flight as j join {s}.journal_windows as w
                    on w.run_id = j.run_id and w.op = j.op and w.state = 'sent'
                    and j.n >= w.lo and j.n < w.hi
                where j.run_id = ?""",
                "w.recorded_at",
                [run_id],
            )
            con.execute(f"delete from {s}.journal where run_id = ?", [run_id])
            con.execute(f"delete from {s}.journal_windows where run_id = ?", [run_id])

        self._transaction(con, work)

    def _to_pending(self, con, source: str, recorded_at: str, params: list[Any]) -> None:
        """Journal rows (``source``: a from-clause over journal rows ``j``) of unknown outcome
        become ``pending`` operations (a removal keeps no hash), recorded at
        ``recorded_at`` (an expression; ``params`` fill it first, then ``source``)."""
        con.execute(
            f"""insert into {self.schema}.pending (sync_name, pk, op, op_class, row_hash,
                identity, dest_id, event_id, position, job_id, run_id, recorded_at, target, n)
            select j.sync_name, j.pk, j.op, j.op_class,
                case when j.op_class = 'remove' then null else j.row_hash end, j.identity,
                j.dest_id, j.event_id, j.position, j.job_id, j.run_id, {recorded_at},
                j.target, j.n
            from {source}""",
            params,
        )

    def _settle_dead(self, con, run_id: str) -> None:
        """Settle the journals that runs of this sync (at this target) left when they died."""
        for (dead,) in con.execute(
            f"select distinct run_id from {self.schema}.journal "
            f"where {self._mine()} and run_id <> ? order by run_id",
            [run_id],
        ).fetchall():
            self._settle(con, dead)

    def _confirm(
        self,
        con,
        op: str,
        sql: str,
        params: list[Any],
        rows: list[Row],
        results: list[RowResult],
        result: RunResult,
    ) -> None:
        """One transaction confirming answered rows (see ``_confirm_work``)."""
        work = self._confirm_work(con, op, sql, params, self._outcome(rows, results), result)
        self._transaction(con, work)

    def _outcome(self, rows: list[Row], results: list[RowResult]) -> Outcome:
        if isinstance(rows, RowBatch) and len(results) == len(rows):
            # the common answer, every row confirmed and no new ids: no Row per row
            pks = rows.column("__pk")
            plain = all(r.ok and r.dest_id is None for r in results)
            if plain and {r.pk for r in results} == set(pks):
                kinds = rows.column("__kind")
                return Outcome(ok=len(pks), updates=any(k != "create" for k in kinds))
        by_pk = {r.pk: r for r in rows}
        answered = {r.pk for r in results if r.pk in by_pk}
        ok = [r for r in results if r.ok and r.pk in by_pk]
        unanswered = [pk for pk in by_pk if pk not in answered]
        bad = [
            (r.pk, self.scrub(r.reason or "")[:1000]) for r in results if not r.ok and r.pk in by_pk
        ]
        return Outcome(
            ok=len(ok),
            updates=any(by_pk[r.pk].kind != "create" for r in ok),
            bad=bad + [(pk, "no result from destination") for pk in unanswered],
            unanswered=unanswered,
            new_ids=[
                (r.pk, r.dest_id) for r in ok if r.dest_id and r.dest_id != by_pk[r.pk].dest_id
            ],
        )

    def _confirm_work(
        self,
        con,
        op: str,
        sql: str,
        params: list[Any],
        outcome: Outcome,
        result: RunResult,
        journaled: tuple[int, int] | None = None,
    ) -> Callable[[], None]:
        """The statements confirming answered rows at once (as DuckDB reads them: ``sql``
        with ``params``, columns __pk, __hash, __identity, __dest_id), for the caller's
        transaction: the state advances for the confirmed rows, rejected rows are recorded
        with the API's reason, and a row without an answer is of unknown outcome: with
        ``journaled`` (the ``__n`` range of this run's journal the rows come from) it is
        written to ``pending``; rows read from ``pending`` (a dead run's job) leave it once
        answered. The run's counters move at once (in memory; written with the next
        window's intent and at the end)."""
        s = self.schema
        ok, bad, unanswered, new_ids = outcome.ok, outcome.bad, outcome.unanswered, outcome.new_ids
        # The exception filters and joins only when there are exceptions: the common batch
        # (all confirmed, no new ids) is a plain insert and a plain delete.
        not_in = "__pk not in (select unnest(cast(? as varchar[])))"
        ok_rows, ok_params = sql, list(params)
        if bad:
            ok_rows = f"select * from ({sql}) where {not_in}"
            ok_params.append([pk for pk, _ in bad])
        answered_rows, answered_params = sql, list(params)
        if unanswered:
            answered_rows = f"select * from ({sql}) where {not_in}"
            answered_params.append(unanswered)
        ts = now_utc()
        state = self._state_work(
            con, op, ok_rows, ok_params, updates=outcome.updates, run_id=result.run_id,
            new_ids=new_ids, ts=ts,
        )  # fmt: skip

        def work() -> None:
            if ok:
                state()
            if journaled is None:
                # the destination answered for these rows: they are no longer of unknown outcome
                con.execute(
                    f"delete from {s}.pending where {self._mine()} "
                    f"and pk in (select __pk from ({answered_rows}))",
                    answered_params,
                )
            elif unanswered:
                lo, hi = journaled
                self._to_pending(
                    con,
                    f"""{s}.journal as j where j.run_id = ? and j.op = ? and j.n >= ?
                        and j.n < ? and j.pk in (select unnest(cast(? as varchar[])))""",
                    "?",
                    [ts, result.run_id, op, int(lo), int(hi), unanswered],
                )
            if bad:
                con.execute(
                    f"insert into {s}.rejections select ?, ?, unnest(cast(? as varchar[])), ?,"
                    " 'rejected', unnest(cast(? as varchar[])), ?",
                    [
                        result.run_id,
                        self.sync.name,
                        [pk for pk, _ in bad],
                        op,
                        [reason for _, reason in bad],
                        ts,
                    ],
                )

        result.confirmed += ok
        result.rejected += len(bad)
        return work

    def _state_work(
        self,
        con,
        op: str,
        rows_sql: str,
        params: list[Any],
        *,
        updates: bool,
        run_id: str,
        new_ids: list[tuple[str, str]] = (),
        ts: Any = None,
    ) -> Callable[[], None]:
        """The statements by which the state takes confirmed rows of ``op`` (``rows_sql``
        with ``params``: columns __pk, __hash, __identity, __dest_id): a write replaces the
        key's state row (``updates``: some key may have one), a removal deletes it, an
        erasure leaves a tombstone; ``new_ids``: destination ids the answers gave."""
        s = self.schema
        removal = op in REMOVAL_OPS and not (op == UNSUBSCRIBE and self._revocation_keeps_record)
        gdpr = op == GDPR_DELETE
        dest_id, ids_join, ids_params = "o.__dest_id", "", []
        if new_ids:
            dest_id = "coalesce(ids.dest_id, o.__dest_id)"
            ids_join = (
                "left join (select unnest(cast(? as varchar[])) as pk, "
                "unnest(cast(? as varchar[])) as dest_id) as ids on ids.pk = o.__pk"
            )
            ids_params = [[pk for pk, _ in new_ids], [i for _, i in new_ids]]

        def work() -> None:
            if updates or removal:
                con.execute(
                    f"delete from {s}.sync_state where {self._mine()} "
                    f"and pk in (select __pk from ({rows_sql}))",
                    params,
                )
            if not removal:
                con.execute(
                    f"""insert into {s}.sync_state (sync_name, pk, row_hash, dest_id, identity,
                    last_op, last_run_id, delivered_at, target)
                    select ?, o.__pk, {"'deleted'" if gdpr else "o.__hash"}, {dest_id},
                        {"null" if gdpr else "o.__identity"}, ?, ?, ?, ?
                    from ({rows_sql}) as o {ids_join}""",
                    [
                        self.sync.name,
                        op,
                        run_id,
                        ts or now_utc(),
                        self.target,
                        *params,
                        *ids_params,
                    ],
                )

        return work

    def _resume(self, con, dest: Destination, lock: Lock, result: RunResult) -> None:
        """Settle the asynchronous jobs a crashed run left pending (e.g. Klaviyo bulk imports):
        ask the destination for each job's outcome by id instead of sending the rows again."""
        found = con.execute(
            f"""select job_id, op, pk, row_hash, identity, dest_id, event_id
            from {self.schema}.pending where {self._mine()} and job_id is not null
            order by job_id, position"""
        ).fetchall()
        jobs: dict[tuple[str, str], list[Row]] = {}
        for job_id, op, pk, row_hash, identity, dest_id, event_id in found:
            payload = json.loads(identity) if identity else {}
            row = Row(pk, row_hash, payload, dest_id, "update", identity, None, event_id)
            jobs.setdefault((job_id, op), []).append(row)
        for (job_id, op), rows in jobs.items():
            results = dest.resume(op, job_id, rows)
            if results is not None:  # unknown/expired job: the plan sends the rows again
                source = (
                    "select pk as __pk, row_hash as __hash, identity as __identity, "
                    f"dest_id as __dest_id from {self.schema}.pending "
                    f"where {self._mine()} and job_id = ? and op = ?"
                )
                self._confirm(con, op, source, [job_id, op], rows, results, result)
                result.resumed += len(rows)

    def _record_job(self, job_id: str, pks: list[str]) -> None:
        """A destination's asynchronous job id for rows in flight (resumed after a crash)."""
        with self._job_lock:
            cur = self._job_con
            cur.execute(
                f"update {self.schema}.journal set job_id = ? where run_id = ? "
                "and pk in (select unnest(?))",
                [job_id, self._run_id, pks],
            )


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
        by_target = [
            {"sync_name": name, "target": target, "rows": n}
            for name, target, n in con.execute(
                f"select sync_name, target, count(*) from {schema}.sync_state {where} "
                "group by 1, 2 order by 1, 2",
                params,
            ).fetchall()
        ]
        locks = []
        for row in con.execute(
            f"select sync_name, run_id, owner_pid, owner_host, heartbeat_at, owner_boot_id "
            f"from {schema}.locks {where}",
            params,
        ).fetchall():
            name, run, pid, host, beat, boot = row
            dead = owner_dead(pid, host, boot, beat)
            locks.append((name, run, pid, host, beat, dead))
        in_flight = [
            {"sync_name": name, "run_id": run, "target": target, "rows": n}
            for name, run, target, n in con.execute(
                f"select sync_name, run_id, target, count(*) from {schema}.in_flight {where} "
                "group by 1, 2, 3 order by 1, 2",
                params,
            ).fetchall()
        ]
        rej = con.execute(
            f"""select r.sync_name, r.pk, r.op, r.reason from {schema}.rejections as r
            join (select sync_name, max(started_at) as started_at from {schema}.runs
                  where status <> 'running' group by 1) as last using (sync_name)
            join {schema}.runs as ru on ru.run_id = r.run_id and ru.started_at = last.started_at
            {where.replace("sync_name", "r.sync_name")}
            order by 1, 2 limit 50""",
            params,
        ).fetchall()
        return {
            "runs": run_rows,
            "state_rows": state,
            "state_by_target": by_target,
            "locks": locks,
            "in_flight": in_flight,
            "open_rejections": rej,
        }
    finally:
        con.close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text)
