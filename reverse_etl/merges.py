"""Person merges (dbt ``core.fct_person_merges``) replayed through the vendors' own merge
endpoints, before a run plans its diff.

When the identity graph merges person B into person A, B leaves every sync model. Without
this step a mirror sync would delete B's record (its history at the vendor lost) and an
upsert sync would leave it behind as a duplicate. Here, for every merge whose two persons
both have a record at this sync's destination target, the destination merges B's record
into A's (HubSpot ``POST /crm/v3/objects/contacts/merge``, Braze ``POST /users/merge``).
When A has no record there yet but B has, and this sync would create A, B's record is
handed to A where the vendor can rename it (Braze ``POST /users/external_ids/rename``), so
A starts with B's history instead of B's record being deleted.
Then B's state row is dropped (its record no longer exists on its own) and A's content hash
is forgotten, so the run that follows re-sends A's desired attributes over whatever the
vendor combined: the platform ends exactly at the desired state. The survivor's record is
never deleted.

A merge sent by a run that dies before it records the outcome is sent again by the next
run; the destinations treat "already merged into this survivor" as done. Destinations
without a merge endpoint (``MERGE`` not in their ops) keep the address-moves-between-keys
handling of the plan (release, never delete a record another key owns).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from reverse_etl.destinations.base import MERGE, Destination
from warehouse.connections import stage_in_duckdb
from warehouse.relations import RelationNotFoundError, quote

log = logging.getLogger(__name__)

MERGES_RELATION = "core.fct_person_merges"
PERSON_KEY = "person_id"  # merges are between person ids: only syncs keyed by them replay


@dataclass(frozen=True, slots=True)
class MergePair:
    previous_pk: str  # the person merged away
    previous_id: str | None  # its record id at the destination
    previous_email: str | None
    survivor_pk: str
    survivor_id: str | None
    survivor_email: str | None


def pending_merges(engine: Any, con: Any) -> tuple[list[MergePair], list[MergePair]]:
    """The latest merge of each previous person who has a record in this sync's state at
    this target, split in two: survivors with a record too (merged at the vendor; a record
    both keys share is not merged) and survivors with none yet, whom this sync would create
    (consented, not an excluded holdout member, not erased): the previous record can be
    handed to them (``Destination.rename``) instead of being deleted."""
    sync = engine.sync
    if sync.mode == "gdpr_delete" or sync.primary_key != PERSON_KEY:
        return [], []
    try:
        merges = stage_in_duckdb(
            con, MERGES_RELATION, engine.settings, alias=f"__merges__{sync.name}"
        )
    except RelationNotFoundError:
        return [], []
    state = f"(select * from {engine.schema}.sync_state where {engine._mine()})"
    rows = con.execute(
        f"""
        with latest as (
            select previous_person_id as prev, person_id as surv,
                row_number() over (
                    partition by previous_person_id order by changed_at desc
                ) as rn
            from {merges}
            where change_type = 'merge'
        )
        select p.pk, p.dest_id, lower(json_extract_string(p.identity, '$.email')),
            latest.surv, s.dest_id, lower(json_extract_string(s.identity, '$.email')),
            s.pk is not null as held
        from latest
        join {state} as p on p.pk = latest.prev
        left join {state} as s on s.pk = latest.surv
        where latest.rn = 1
            -- one record both keys share (an id, or our key where the vendor keys by it)
            and (s.pk is null or coalesce(p.dest_id, p.pk) <> coalesce(s.dest_id, s.pk))
        order by p.pk
        """
    ).fetchall()
    if not rows:
        return [], []
    # a merged-away person who is in the model again (a later split) is not merged, and a
    # survivor who left the model is not merged into
    pks = sorted({r[0] for r in rows} | {r[3] for r in rows})
    present = _in_source(engine, con, pks, eligible=False)
    wanted = _in_source(engine, con, [r[3] for r in rows if not r[6]], eligible=True)
    pairs = [(MergePair(*r[:6]), r[6]) for r in rows if r[0] not in present and r[3] in present]
    return (
        [p for p, held in pairs if held],
        [p for p, held in pairs if not held and p.survivor_pk in wanted],
    )


def _in_source(engine: Any, con: Any, pks: list[str], eligible: bool) -> set[str]:
    """Which of ``pks`` are in the sync's source (``eligible``: and would be sent: consent
    given, not a holdout member the sync excludes, not erased)."""
    if not pks:
        return set()
    sync = engine.sync
    key = f"cast({quote(sync.primary_key)} as varchar)"
    conds = [f"{key} in ({', '.join('?' for _ in pks)})"]
    if eligible and sync.consent:
        conds.append(f"coalesce(try_cast({quote(sync.consent.column)} as boolean), false)")
    if eligible and sync.holdout and sync.holdout.policy == "exclude":
        conds.append(f"not coalesce(try_cast({quote(sync.holdout.column)} as boolean), false)")
    erased = engine._find_relation(con, engine.settings.sync.erasure_relation) if eligible else None
    if erased:
        conds.append(f"{key} not in (select cast(person_id as varchar) from {erased})")
    source = engine._resolve_source(con)
    found = con.execute(
        f"select {key} from {source} where {' and '.join(conds)}", list(pks)
    ).fetchall()
    return {str(r[0]) for r in found}


def replay_merges(engine: Any, con: Any, dest: Destination) -> int:
    """Merge at the destination what the identity graph merged, then the contacts left
    holding an address a person moves to; returns the merges done."""
    if MERGE not in dest.ops:
        return 0
    return _replay_person_merges(engine, con, dest) + absorb_address_holders(engine, con, dest)


def _replay_person_merges(engine: Any, con: Any, dest: Destination) -> int:
    merges, handovers = pending_merges(engine, con)
    results = dest.merge(merges) if merges else []
    if handovers:  # the survivor has no record yet: given the merged person's, where possible
        results += dest.rename(handovers) or []
    pairs = merges + handovers
    if not results:
        return 0
    for r in results:
        if not r.ok:  # left to the plan: released or removed as before
            log.warning("merge of %s not applied: %s", r.pk, engine.scrub(r.reason or ""))
    done = [r.pk for r in results if r.ok]
    survivors = [p.survivor_pk for p in pairs if p.previous_pk in set(done)]
    if done:
        mine = engine._mine()
        con.execute("create or replace temp table __merged (pk varchar, survivor boolean)")
        con.executemany(
            "insert into __merged values (?, ?)",
            [[pk, False] for pk in done] + [[pk, True] for pk in survivors],
        )
        con.execute(
            f"delete from {engine.schema}.sync_state where {mine} "
            "and pk in (select pk from __merged where not survivor)"
        )
        # the vendor combined both records: re-send the survivor's desired content this run
        con.execute(
            f"update {engine.schema}.sync_state set row_hash = 'merged' where {mine} "
            "and pk in (select pk from __merged where survivor)"
        )
    return len(done)


def absorb_address_holders(engine: Any, con: Any, dest: Destination) -> int:
    """Where a destination writes the records it holds by record id (HubSpot), a person's
    address change moves their own record, and the new address must be free. When another
    record holds it and no key still in the model owns that record (a contact left behind
    by a person who withdrew consent, was merged or left, or one made by a form), it is
    merged into the person's record (the person's survives, nothing is archived). A record
    a key in the model still owns is never merged: that key's own change frees the address,
    or the row is rejected with the vendor's conflict."""
    sync = engine.sync
    column = sync.fields.get("email")
    if sync.mode == "gdpr_delete" or not column or not dest.records_follow_identity:
        return 0
    mine = engine._mine()
    source = engine._resolve_source(con)
    src = (
        f"(select cast({quote(sync.primary_key)} as varchar) as pk, "
        f"lower(trim(cast({quote(column)} as varchar))) as email from {source})"
    )
    movers = con.execute(
        f"""
        with src as {src},
        unique_src as (select * from src where email in (
            select email from src where email <> '' group by 1 having count(*) = 1))
        select s.pk, s.dest_id, u.email
        from {engine.schema}.sync_state as s
        join unique_src as u on u.pk = s.pk
        where {mine} and s.dest_id is not null
            and u.email is distinct from lower(json_extract_string(s.identity, '$.email'))
        order by s.pk
        """
    ).fetchall()
    if not movers:
        return 0
    holders = dest.address_holders(sorted({m[2] for m in movers}))
    wanted = {m[2]: holders[m[2]] for m in movers if holders.get(m[2]) not in (None, m[1])}
    if not wanted:
        return 0
    owned = {
        str(r[0])
        for r in con.execute(
            f"""
            with src as {src}
            select distinct s.dest_id from {engine.schema}.sync_state as s
            where {mine} and s.dest_id in (select unnest(?))
                and s.pk in (select pk from src)
            """,
            [sorted(wanted.values())],
        ).fetchall()
    }
    # previous = the record left holding the address, survivor = the mover's own record
    pairs = [
        MergePair(pk, wanted[email], email, pk, dest_id, None)
        for pk, dest_id, email in movers
        if email in wanted and wanted[email] not in owned
    ]
    if not pairs:
        return 0
    results = dest.merge(pairs)
    for r in results:
        if not r.ok:  # the update by id then meets the conflict and rejects the row
            log.warning("address holder not merged for %s: %s", r.pk, engine.scrub(r.reason or ""))
    return sum(r.ok for r in results)
