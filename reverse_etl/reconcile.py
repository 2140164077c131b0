"""``rw-sync reconcile``: read what the platform holds back and repair drift.

The sync state says what the destination holds; people and other tools change the platform
behind its back (a member added or removed by hand, an attribute edited in the UI). Reconcile
reads the platform (``Destination.read_back``), compares it with the desired rows and:

- forgets the state of every desired row that is missing on the platform or differs from it,
  so the run that follows re-sends it (the plan counts it as a create);
- removes list/tag members that no key of the sync wants or has delivered (added by hand);
- then runs the sync, after which the next plan is empty.

Members that are in the state but no longer desired are left to that run (a normal removal
with its guard rails). Destinations without a read API are reported as such, nothing is sent.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from reverse_etl.destinations import DeliveryContext, build_destination
from reverse_etl.destinations.base import LIST_REMOVE, Row
from reverse_etl.engine import RunResult, SyncEngine
from reverse_etl.state import Lock, now_utc

SAMPLE = 5


@dataclass
class ReconcileResult:
    sync_name: str
    supported: bool
    note: str = ""
    checked: int = 0  # desired rows compared with the platform
    unchecked: int = 0  # desired rows without an email to look up
    platform_records: int = 0  # records read back
    missing: int = 0  # desired, not on the platform: re-sent
    changed: int = 0  # on the platform with other values: re-sent
    extra_removed: int = 0  # list/tag members nobody wants (added by hand): removed
    sample: dict[str, list[str]] = field(default_factory=dict)
    run: RunResult | None = None

    @property
    def drift(self) -> int:
        return self.missing + self.changed + self.extra_removed


def same(want: Any, got: Any) -> bool:
    """A desired value against what the platform shows (platforms return strings for numbers
    and booleans; HubSpot shows a cleared property as absent, Klaviyo as missing)."""
    if want is None:
        return got is None or got == ""
    if got is None:
        return False
    if isinstance(want, bool):
        return str(got).lower() == ("true" if want else "false")
    if isinstance(want, int | float):
        try:
            return float(got) == float(want)
        except (TypeError, ValueError):
            return False
    return str(want) == str(got)


def reconcile(engine: SyncEngine, *, dry_run: bool = False) -> ReconcileResult:
    sync = engine.sync
    out = ReconcileResult(sync.name, supported=True)
    if sync.mode == "gdpr_delete":
        out.supported, out.note = False, "erasure syncs hold nothing on the platform to compare"
        return out
    run_id = f"reconcile-{now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    ctx = engine.context or DeliveryContext(run_id=run_id, outbox_dir=engine.settings.outbox_dir)
    ctx.run_id = run_id
    dest = build_destination(sync, ctx)
    con = engine._connect()
    lock = Lock(con, engine.schema, sync.name, run_id)
    try:
        lock.acquire()  # SyncLockedError while a run is going on (released below: a no-op)
        engine._build(con, temp=True, full_resync=False)  # the desired rows, as a run sees them
        desired_t, _plan_t = engine._tables(temp=True)
        targets = engine._targets()
        cols = ", ".join(f"f{i}" for i in range(len(targets)))
        rows = con.execute(
            f"select __pk{', ' + cols if cols else ''} from {desired_t} "
            f"where {engine.desired_where()}"
        ).fetchall()
        state = con.execute(
            f"select pk, identity from {engine.schema}.sync_state where {engine._mine()}"
        ).fetchall()
        desired = {r[0]: dict(zip([t for t, _c in targets], r[1:], strict=True)) for r in rows}
        by_email = dest.keyed_by_email

        def key_of(pk: str, fields: dict[str, Any]) -> str:
            # the platform's record key: the address (email-keyed platforms) or our key
            return str(fields.get("email") or "").lower() if by_email else pk

        known = {key_of(pk, json.loads(ident) if ident else {}) for pk, ident in state} - {""}
        wanted = {key_of(pk, p): pk for pk, p in desired.items()}
        wanted.pop("", None)
        back = dest.read_back(sorted(wanted.keys() | known))
        if back is None:
            out.supported = False
            out.note = (
                f"reconcile cannot read {sync.destination.type} back (see the README's known "
                "limits): drift is not checked; `rw-sync resync` re-sends every desired row"
            )
            return out
        out.platform_records = len(back)
        forget: list[str] = []
        for pk, payload in desired.items():
            key = key_of(pk, payload)
            if not key:
                out.unchecked += 1
                continue
            out.checked += 1
            got = back.get(key)
            if got is None:
                out.missing += 1
                out.sample.setdefault("missing", []).append(pk)
            elif any(
                not (k == "email" or (v is None and sync.null_policy == "skip") or same(v, got[k]))
                for k, v in payload.items()
            ):
                out.changed += 1
                out.sample.setdefault("changed", []).append(pk)
            else:
                continue
            forget.append(pk)
        extras: list[Row] = []
        if sync.mode == "list":
            for email, rec in sorted(back.items()):  # list/tag platforms are email-keyed
                if email not in wanted and email not in known:
                    extras.append(
                        Row(f"reconcile:{email}", "removed", {"email": email}, rec["__id"])
                    )
                    out.sample.setdefault("extra", []).append(email)
        for kind in out.sample:
            out.sample[kind] = out.sample[kind][:SAMPLE]
        if dry_run:
            out.extra_removed = len(extras)
            return out
        for i in range(0, len(extras), dest.op_batch_size(LIST_REMOVE)):
            chunk = extras[i : i + dest.op_batch_size(LIST_REMOVE)]
            out.extra_removed += sum(r.ok for r in dest.deliver(LIST_REMOVE, chunk))
        if forget:
            con.execute("create or replace temp table __forget (pk varchar)")
            con.executemany("insert into __forget values (?)", [[pk] for pk in forget])
            con.execute(
                f"delete from {engine.schema}.sync_state where {engine._mine()} "
                "and pk in (select pk from __forget)"
            )
    finally:
        lock.release()
        con.close()
        dest.close()
    out.run = engine.run()
    return out
