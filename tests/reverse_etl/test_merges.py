"""Person merges (``core.fct_person_merges``) replayed through the vendors' merge endpoints,
against the real destination classes over HTTP to the emulator: the merged-away record is
merged into the survivor's (HubSpot contacts merge, Braze /users/merge), never archived or
deleted, the survivor is never deleted, and the survivor ends with exactly its desired
attributes. Hypothesis drives random histories of merges, email changes, updates and leaves."""

from __future__ import annotations

import duckdb
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverse_etl.emulator import EmulatorConfig, RunningEmulator

from .conftest import (
    SECRET_ENV,
    desired_people,
    engine_for,
    make_customers,
    state_rows,
    sync_config,
)
from .platform_view import desired, view

GUARD = {"max_removal_share": 1.0, "allow_empty_source": True}


def _merge(db, previous: str, survivor: str, n: int = 0) -> None:
    """The identity graph merged ``previous`` into ``survivor``: the previous person leaves the
    model and fct_person_merges records the merge (as the snapshot-based mart does)."""
    con = duckdb.connect(str(db))
    con.execute("create schema if not exists core")
    con.execute(
        "create table if not exists core.fct_person_merges (previous_person_id varchar, "
        "person_id varchar, change_type varchar, identifiers_moved integer, changed_at timestamp)"
    )
    con.execute(
        "insert into core.fct_person_merges values "
        "(?, ?, 'merge', 2, timestamp '2026-11-01' + to_seconds(?))",
        [previous, survivor, n],
    )
    con.execute("delete from dim_customers where person_id = ?", [previous])
    con.close()


def _effects(emu) -> dict[str, int]:
    return emu.state.snapshot()["effects"]


def test_hubspot_mirror_merges_instead_of_archiving(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config("hubspot", mode="mirror", guard=GUARD)
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    contacts = emulator.state.vendors["hubspot"].contacts
    survivor_id = emulator.state.vendors["hubspot"].by_email["person1@shop.test"]
    contacts[emulator.state.vendors["hubspot"].by_email["person2@shop.test"]]["notes"] = "kept"
    _merge(db, "P000002", "P000001")
    r = engine.run()
    assert r.status == "success" and r.plan.removals == 0
    eff = _effects(emulator)
    assert eff.get("hubspot.contacts_merged") == 1 and eff.get("hubspot.contacts_archived", 0) == 0
    snap = emulator.state.snapshot()["hubspot"]["contacts"]
    assert "person2@shop.test" not in snap  # merged into the survivor's record
    survivor = snap["person1@shop.test"]
    assert survivor["id"] == survivor_id and survivor["firstname"] == "First1"
    assert survivor["notes"] == "kept"  # what only the merged contact had, kept by HubSpot
    assert "P000002" not in state_rows(db, sync.name)
    assert engine.plan().total == 0
    records, _ = view(emulator.state.snapshot(), "hubspot", sync.name)
    assert records == desired(desired_people(db), "hubspot")


def test_a_merge_already_applied_before_a_crash_counts_as_done(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 6)
    sync = sync_config("hubspot", mode="mirror", guard=GUARD)
    engine = engine_for(sync, db, emulator.url, tmp_path)
    engine.run()
    vendor = emulator.state.vendors["hubspot"]
    keep, gone = vendor.by_email["person1@shop.test"], vendor.by_email["person2@shop.test"]
    # the merge reached HubSpot, the run that sent it died before recording it
    resp = httpx.post(
        f"{emulator.url}/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": keep, "objectIdToMerge": gone},
        headers={"Authorization": f"Bearer {SECRET_ENV['HUBSPOT_ACCESS_TOKEN']}"},
    )
    assert resp.status_code == 200
    _merge(db, "P000002", "P000001")
    r = engine.run()
    assert r.status == "success"
    assert _effects(emulator).get("hubspot.contacts_merged") == 1  # not merged twice
    assert _effects(emulator).get("hubspot.contacts_archived", 0) == 0
    assert "P000002" not in state_rows(db, sync.name) and engine.plan().total == 0


def test_braze_mirror_merges_users_instead_of_deleting(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config("braze", mode="mirror", guard=GUARD)
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    emulator.state.vendors["braze"].users["P000003"]["favourite_colour"] = "green"
    _merge(db, "P000003", "P000001")
    r = engine.run()
    assert r.status == "success" and r.plan.removals == 0
    eff = _effects(emulator)
    assert eff.get("braze.users_merged") == 1 and eff.get("braze.users_deleted", 0) == 0
    users = emulator.state.snapshot()["braze"]["users"]
    assert "P000003" not in users and users["P000001"]["first_name"] == "First1"
    assert users["P000001"]["favourite_colour"] == "green"  # only the merged user had it
    assert engine.plan().total == 0
    # a merged-away person who comes back later (a split) is a new person, never re-merged
    con = duckdb.connect(str(db))
    con.execute(
        "insert into dim_customers values ('P000003', 'back3@shop.test', 'Back', 'new', 1, "
        "true, false)"
    )
    con.close()
    assert engine.run().status == "success"
    assert "P000003" in emulator.state.snapshot()["braze"]["users"]
    assert _effects(emulator).get("braze.users_merged") == 1


def test_klaviyo_profiles_are_merged_through_profile_merge(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 8)
    sync = sync_config("klaviyo")  # upsert: before merges, the merged profile stayed behind
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    vendor = emulator.state.vendors["klaviyo"]
    vendor.profiles[vendor.by_email["person2@shop.test"]]["properties"]["vip"] = True
    _merge(db, "P000002", "P000001")
    r = engine.run()
    assert r.status == "success"
    snap = emulator.state.snapshot()
    assert snap["effects"].get("klaviyo.profiles_merged") == 1
    profiles = snap["klaviyo"]["profiles"]
    assert "person2@shop.test" not in profiles
    assert profiles["person1@shop.test"]["first_name"] == "First1"
    assert profiles["person1@shop.test"]["properties"]["vip"] is True
    assert not snap["spec_errors"]  # the merge request is valid against Klaviyo's spec
    assert engine.plan().total == 0 and "P000002" not in state_rows(db, sync.name)


# -- property: random histories of merges and identity changes, real classes, real HTTP ---
steps = st.lists(
    st.tuples(
        st.sampled_from(["merge", "email", "update", "leave"]),
        st.integers(0, 9),
        st.integers(0, 9),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(dest=st.sampled_from(["hubspot", "braze"]), history=steps)
def test_mirror_follows_merges_and_identity_changes(dest, history, tmp_path_factory, monkeypatch):
    for k, v in SECRET_ENV.items():
        monkeypatch.setenv(k, v)
    tmp = tmp_path_factory.mktemp("merges")
    db = tmp / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config(dest, mode="mirror", guard=GUARD)
    merges = leaves = 0
    old_addresses: set[str] = set()
    with RunningEmulator(EmulatorConfig(job_polls=0)) as emu:
        engine = engine_for(sync, db, emu.url, tmp)
        assert engine.run().status == "success"
        for n, (kind, a, b) in enumerate(history):
            pa, pb = f"P{a:06d}", f"P{b:06d}"
            present = set(desired_people(db))
            if kind == "merge" and a != b and {pa, pb} <= present:
                _merge(db, pb, pa, n)
                merges += 1
            elif kind == "email" and pa in present:
                old_addresses.add(desired_people(db)[pa]["email"])
                con = duckdb.connect(str(db))
                con.execute(
                    "update dim_customers set email = ? where person_id = ?",
                    [f"changed{n}.{a}@shop.test", pa],
                )
                con.close()
            elif kind == "update" and pa in present:
                con = duckdb.connect(str(db))
                con.execute(
                    "update dim_customers set segment = ? where person_id = ?", [f"s{n}", pa]
                )
                con.close()
            elif kind == "leave" and pa in present:
                con = duckdb.connect(str(db))
                con.execute("delete from dim_customers where person_id = ?", [pa])
                con.close()
                leaves += 1
            r = engine.run()
            assert r.status == "success", r.error
            records, _ = view(emu.state.snapshot(), dest, sync.name)
            want = desired(desired_people(db), dest)
            assert {k: records.get(k) for k in want} == want, (kind, a, b)
            # Braze keys users by person: exactly the desired users. HubSpot keys contacts by
            # email: an address changed in the warehouse leaves its old contact behind (known
            # limit of email-keyed upserts), nothing else may remain
            extra = set(records) - set(want)
            assert not extra if dest == "braze" else extra <= old_addresses, extra
        eff = emu.state.snapshot()["effects"]
        merged = eff.get(f"{dest}.{'contacts' if dest == 'hubspot' else 'users'}_merged", 0)
        removed = eff.get(
            "hubspot.contacts_archived" if dest == "hubspot" else "braze.users_deleted", 0
        )
        assert merged == merges  # every merge went through the vendor's merge endpoint
        assert removed <= leaves  # nobody but the people who left was ever deleted
        assert engine.plan().total == 0
