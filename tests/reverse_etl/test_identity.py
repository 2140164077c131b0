"""Identity-aware delivery against the real destination classes through the emulator: an
email change takes the old address off the list/tag, a record another key now owns is never
deleted, duplicate identities are invalid rows (never removals). Hypothesis drives random
sequences of email changes, merges and consent flips."""

from __future__ import annotations

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverse_etl.emulator import EmulatorConfig, RunningEmulator

from .conftest import SECRET_ENV, engine_for, make_customers, state_rows, sync_config
from .platform_view import view

LISTS = {
    "klaviyo": ({"object": "list", "list_id": "L1"}, "L1"),
    "hubspot": ({"object": "list", "list_id": "88", "subscription_id": "9001"}, "88"),
    "salesmanago": ({"object": "tag", "tag": "LOYAL"}, "LOYAL"),
}


def _sql(db, sql: str, params=None) -> None:
    con = duckdb.connect(str(db))
    con.execute(sql, params or [])
    con.close()


def _exists(db, person_id: str) -> bool:
    con = duckdb.connect(str(db))
    try:
        q = "select count(*) from dim_customers where person_id = ?"
        return con.execute(q, [person_id]).fetchone()[0] > 0
    finally:
        con.close()


def _list_sync(dest: str):
    return sync_config(
        dest,
        mode="list",
        destination=LISTS[dest][0],
        consent={"column": "is_email_consented"},
        holdout={"column": "is_holdout", "policy": "exclude"},
        guard={"max_removal_share": 1.0, "allow_empty_source": True},
    )


def _members(emu, dest, sync) -> set[str]:
    return view(emu.state.snapshot(), dest, sync.name, LISTS[dest][1])[1]


def _eligible(db) -> set[str]:
    con = duckdb.connect(str(db))
    try:
        rows = con.execute(
            "select email from dim_customers where is_email_consented and not is_holdout "
            "and email in (select email from dim_customers group by 1 having count(*) = 1)"
        ).fetchall()
        return {r[0] for r in rows}
    finally:
        con.close()


def test_email_change_takes_the_old_address_off_every_list(emulator, secrets_env, tmp_path):
    for dest in LISTS:
        db = tmp_path / f"{dest}.duckdb"
        make_customers(db, 12)
        sync = _list_sync(dest)
        engine = engine_for(sync, db, emulator.url, tmp_path)
        engine.run()
        _sql(db, "update dim_customers set email = 'new0@shop.test' where person_id = 'P000000'")
        r = engine.run()
        # HubSpot moves the person's own contact (updated by id): nothing to retire
        assert r.status == "success" and r.plan.retirements == (dest != "hubspot"), dest
        members = _members(emulator, dest, sync)
        assert "new0@shop.test" in members and "person0@shop.test" not in members, dest
        # a later withdrawal takes the new address off too: nothing of the person is left
        _sql(db, "update dim_customers set is_email_consented = false where person_id = 'P000000'")
        engine.run()
        assert not {"new0@shop.test", "person0@shop.test"} & _members(emulator, dest, sync)
        assert engine.plan().total == 0


def test_merge_never_deletes_the_surviving_persons_record(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config("hubspot", mode="mirror", guard={"max_removal_share": 1.0})
    engine = engine_for(sync, db, emulator.url, tmp_path)
    engine.run()
    # P000002 is merged into P000001, which now carries P000002's address
    _sql(db, "delete from dim_customers where person_id = 'P000002'")
    _sql(db, "update dim_customers set email = 'person2@shop.test' where person_id = 'P000001'")
    r = engine.run()
    assert r.status == "success" and r.plan.released == 1 and r.plan.removals == 0
    contacts = emulator.state.snapshot()["hubspot"]["contacts"]
    assert "person2@shop.test" in contacts  # the survivor's contact was not archived
    assert contacts["person2@shop.test"]["firstname"] == "First1"
    assert emulator.state.snapshot()["effects"].get("hubspot.contacts_archived", 0) == 0
    assert "P000002" not in state_rows(db, sync.name)


def test_duplicate_identity_is_invalid_never_a_removal(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config("braze", mode="mirror", guard={"max_removal_share": 1.0})
    engine = engine_for(sync, db, emulator.url, tmp_path)
    engine.run()
    _sql(db, "update dim_customers set email = 'person3@shop.test' where person_id = 'P000005'")
    r = engine.run()
    assert r.plan.invalid == 2 and r.plan.removals == 0
    assert {x["reason"] for x in r.plan.invalid_sample} == {"duplicate identity email"}
    users = emulator.state.snapshot()["braze"]["users"]
    assert {"P000003", "P000005"} <= set(users)


# -- property: random identity histories converge to exactly the eligible people ----------
steps = st.lists(
    st.tuples(
        st.sampled_from(["email", "merge", "consent", "revert"]),
        st.integers(0, 7),
        st.integers(0, 7),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(dest=st.sampled_from(sorted(LISTS)), history=steps)
def test_lists_follow_identity_changes_and_merges(dest, history, tmp_path_factory, monkeypatch):
    for k, v in SECRET_ENV.items():
        monkeypatch.setenv(k, v)
    tmp = tmp_path_factory.mktemp("identity")
    db = tmp / "w.duckdb"
    make_customers(db, 8)
    sync = _list_sync(dest)
    with RunningEmulator(EmulatorConfig(job_polls=0)) as emu:
        engine = engine_for(sync, db, emu.url, tmp)
        assert engine.run().status == "success"
        for n, (kind, a, b) in enumerate(history):
            pa, pb = f"P{a:06d}", f"P{b:06d}"
            if kind == "email":
                _sql(
                    db,
                    "update dim_customers set email = ? where person_id = ?",
                    [f"changed{n}.{a}@shop.test", pa],
                )
            elif kind == "merge" and a != b and _exists(db, pa) and _exists(db, pb):
                # b disappears, a takes b's address (both must still exist: merging a person
                # who is gone would give a a null address, an invalid row, not a merge)
                _sql(
                    db,
                    "update dim_customers set email = (select email from dim_customers "
                    "where person_id = ?) where person_id = ?",
                    [pb, pa],
                )
                _sql(db, "delete from dim_customers where person_id = ?", [pb])
            elif kind == "consent":
                _sql(
                    db,
                    "update dim_customers set is_email_consented = not is_email_consented "
                    "where person_id = ?",
                    [pa],
                )
            elif kind == "revert":  # an address moves back to a person who had it before
                _sql(
                    db,
                    "update dim_customers set email = ? where person_id = ?",
                    [f"person{a}@shop.test", pa],
                )
            r = engine.run()
            assert r.status in ("success", "partial"), r.error
            assert _members(emu, dest, sync) == _eligible(db), (kind, a, b)
        assert engine.plan().total == 0
