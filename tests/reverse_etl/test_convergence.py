"""Convergence under random, high-rate faults: no lost rows, no duplicate side effects."""

from __future__ import annotations

import duckdb
import pytest

from reverse_etl.emulator import FAULT_KINDS

from .conftest import desired_people, engine_for, make_customers, sync_config
from .platform_view import desired, view

CASES = [
    ("klaviyo", "upsert"),
    ("klaviyo", "list"),
    ("hubspot", "upsert"),
    ("hubspot", "list"),
    ("hubspot", "mirror"),
    ("salesmanago", "list"),
    ("braze", "mirror"),
    ("webhook", "mirror"),
]
LIST_DEST = {
    "klaviyo": {"object": "list", "list_id": "LstVip"},
    "hubspot": {"object": "list", "list_id": "77", "subscription_id": "9001"},
    "salesmanago": {"object": "tag", "tag": "vip_audience"},
}
MAX_RUNS = 12


def _sync(dest: str, mode: str):
    extra = {}
    if mode == "list":
        extra = {
            "destination": {**LIST_DEST[dest], "batch_size": 10},
            "consent": {"column": "is_email_consented"},
            "holdout": {"column": "is_holdout", "policy": "exclude"},
        }
    else:
        extra = {"destination": {"batch_size": 10}}
    # the test removes and un-consents about 12 of 120 rows on purpose
    return sync_config(dest, mode=mode, guard={"max_removal_share": 0.5}, **extra)


def _converge(engine) -> list:
    results = []
    for _ in range(MAX_RUNS):
        r = engine.run()
        results.append(r)
        if r.status == "success" and r.plan.total == 0:
            return results
    raise AssertionError(
        f"no convergence after {MAX_RUNS} runs: "
        + ", ".join(f"{r.status}/{r.plan.total}/{r.error}" for r in results)
    )


def _check(emu, db, dest, mode, sync):
    snap = emu.state.snapshot()
    list_ref = None
    if mode == "list":
        list_ref = LIST_DEST[dest].get("list_id") or LIST_DEST[dest].get("tag")
    records, members = view(snap, dest, sync.name, list_ref)
    if mode == "list":
        eligible = desired_people(db, "is_email_consented and not is_holdout")
        want = desired(eligible, dest)
        assert members == set(want), "list membership differs from the warehouse"
        for key in want:
            assert records[key] == want[key]
    elif mode == "mirror":
        want = desired(desired_people(db), dest)
        assert records == want
    else:  # upsert never removes: everything desired is there and up to date
        want = desired(desired_people(db), dest)
        assert {k: records.get(k) for k in want} == want
    assert not snap["spec_errors"]
    return snap


@pytest.mark.parametrize(("dest", "mode"), CASES)
def test_converges_under_faults(dest, mode, emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 120)
    emulator.state.config.fault_rate = 0.4
    emulator.state.config.fault_kinds = list(FAULT_KINDS)
    emulator.state.config.timeout_s = 0.4
    emulator.state.config.seed = 7
    emulator.state.reset()
    sync = _sync(dest, mode)
    engine = engine_for(sync, db, emulator.url, tmp_path, seed=3, timeout_s=0.25)
    _converge(engine)
    snap = _check(emulator, db, dest, mode, sync)

    # Change the warehouse: 10 rows change, 7 rows leave, consent flips for 5 — converge again.
    con = duckdb.connect(str(db))
    con.execute(
        "update dim_customers set segment = 'winback' where person_id in "
        "(select person_id from dim_customers order by person_id limit 10)"
    )
    con.execute(
        "delete from dim_customers where person_id in "
        "(select person_id from dim_customers order by person_id desc limit 7)"
    )
    con.execute(
        "update dim_customers set is_email_consented = not is_email_consented "
        "where person_id in (select person_id from dim_customers order by person_id "
        "limit 5 offset 40)"
    )
    con.close()
    _converge(engine)
    snap = _check(emulator, db, dest, mode, sync)

    faults = {r["fault"] for r in emulator.state.requests if r["fault"]}
    assert len(faults) >= 5, f"the fault mix should exercise many kinds, got {faults}"

    # No duplicate side effects: every record was created once, every event applied once.
    eff = snap["effects"]
    created_key = {
        "klaviyo": "klaviyo.profiles_created",
        "hubspot": "hubspot.contacts_created",
        "salesmanago": "salesmanago.contacts_created",
        "braze": "braze.users_created",
    }.get(dest)
    if created_key and mode != "mirror":
        created = eff.get(created_key, 0)
        assert created == len(view(snap, dest, sync.name)[0])
    if dest == "webhook":
        applied = eff.get("webhook.events_applied", 0)
        assert applied == len(snap["webhook"]["events"])  # one effect per distinct event id
