"""``reconcile`` finds drift made on the platform behind the sync's back (a member added by
hand, a member removed by hand, an attribute edited by hand), repairs it, and leaves the next
plan empty. Drift is injected straight into the emulator's records."""

from __future__ import annotations

import pytest

from reverse_etl.reconcile import reconcile

from .conftest import engine_for, make_customers, sync_config

CONSENT = {"column": "is_email_consented"}
HOLDOUT = {"column": "is_holdout", "policy": "exclude"}
LISTS = {
    "klaviyo": {"object": "list", "list_id": "L1"},
    "hubspot": {"object": "list", "list_id": "88", "subscription_id": "9001"},
}
FIRST_NAME = {"klaviyo": "first_name", "hubspot": "firstname", "braze": "first_name"}
PEOPLE = {"klaviyo": "profiles", "hubspot": "contacts", "braze": "users"}
# 30 people: every 5th without consent, every 10th in the holdout -> 21 on the list
ELIGIBLE = {f"person{i}@shop.test" for i in range(30) if i % 5 != 4 and i % 10 != 7}


def _list_sync(dest: str):
    return sync_config(dest, mode="list", destination=LISTS[dest], consent=CONSENT, holdout=HOLDOUT)


def _records(vendor, dest: str) -> tuple[dict[str, dict], dict[str, str]]:
    if dest == "klaviyo":
        return vendor.profiles, vendor.by_email
    if dest == "braze":  # keyed by external_id (our primary key)
        by_id = {f"person{int(k[1:])}@shop.test": k for k in vendor.users}
        return vendor.users, by_id
    return vendor.contacts, vendor.by_email


def _inject_drift(emulator, dest: str, list_id: str | None) -> None:
    st = emulator.state
    vendor = st.vendors[dest]
    records, by_email = _records(vendor, dest)
    with st.lock:
        # an attribute edited by hand
        records[by_email["person2@shop.test"]][FIRST_NAME[dest]] = "Edited by hand"
        if list_id is None:  # a profile deleted by hand
            del records[by_email.pop("person1@shop.test")]
            return
        # a member removed by hand
        vendor.lists[list_id].discard(by_email["person1@shop.test"])
        # a member added by hand: a stranger, and a person without consent
        for email in ("stranger@elsewhere.test", "person4@shop.test"):
            if email not in by_email:
                pid = "900000" if dest == "hubspot" else "01KHAND0001"
                pid = pid[:-1] + str(len(records) % 10)
                records[pid] = {"email": email}
                by_email[email] = pid
            vendor.lists[list_id].add(by_email[email])


@pytest.mark.parametrize("dest", ["klaviyo", "hubspot"])
def test_reconcile_repairs_list_drift(dest, emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = _list_sync(dest)
    list_id = LISTS[dest]["list_id"]
    assert engine_for(sync, db, emulator.url, tmp_path).run().status == "success"
    assert set(emulator.state.snapshot()[dest]["lists"][list_id]) == ELIGIBLE
    _inject_drift(emulator, dest, list_id)
    # the state still believes everything is delivered: a plan sees nothing to do
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0

    found = reconcile(engine_for(sync, db, emulator.url, tmp_path), dry_run=True)
    assert (found.missing, found.changed, found.extra_removed) == (1, 1, 2)
    assert set(emulator.state.snapshot()[dest]["lists"][list_id]) != ELIGIBLE  # untouched

    r = reconcile(engine_for(sync, db, emulator.url, tmp_path))
    assert r.supported and r.checked == 21 and r.platform_records == 22
    assert (r.missing, r.changed, r.extra_removed) == (1, 1, 2)
    assert r.sample["missing"] == ["P000001"] and r.sample["changed"] == ["P000002"]
    assert r.run is not None and r.run.status == "success" and r.run.confirmed == 2
    snap = emulator.state.snapshot()[dest]
    assert set(snap["lists"][list_id]) == ELIGIBLE
    people = snap[PEOPLE[dest]]
    assert people["person2@shop.test"][FIRST_NAME[dest]] == "First2"
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0
    again = reconcile(engine_for(sync, db, emulator.url, tmp_path), dry_run=True)
    assert again.drift == 0
    assert not emulator.state.snapshot()["spec_errors"]  # reads match Klaviyo's OpenAPI


@pytest.mark.parametrize("dest", ["klaviyo", "hubspot", "braze"])
def test_reconcile_repairs_profile_drift(dest, emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 12)
    sync = sync_config(dest)  # upsert of profiles / contacts
    assert engine_for(sync, db, emulator.url, tmp_path).run().status == "success"
    _inject_drift(emulator, dest, None)
    r = reconcile(engine_for(sync, db, emulator.url, tmp_path))
    assert r.supported and r.checked == 12 and (r.missing, r.changed) == (1, 1)
    assert r.extra_removed == 0  # an upsert sync never removes what it did not create
    assert r.run is not None and r.run.status == "success" and r.run.confirmed == 2
    people = emulator.state.snapshot()[dest][PEOPLE[dest]]
    if dest == "braze":  # users by external id
        people = {u["email"]: u for u in people.values()}
    assert "person1@shop.test" in people
    assert people["person2@shop.test"][FIRST_NAME[dest]] == "First2"
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0


def test_reconcile_says_when_it_cannot_read_back(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 5)
    sync = sync_config("webhook")  # a receiver of events: nothing to read back
    r = reconcile(engine_for(sync, db, emulator.url, tmp_path))
    assert not r.supported and r.run is None and "cannot read webhook back" in r.note


def _tagged(emulator, tag: str) -> set[str]:
    contacts = emulator.state.snapshot()["salesmanago"]["contacts"]
    return {e for e, c in contacts.items() if tag in c["tags"]}


def test_reconcile_reads_salesmanago_back_through_its_asynchronous_export(
    emulator, secrets_env, tmp_path
):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = sync_config(
        "salesmanago",
        mode="list",
        destination={"object": "tag", "tag": "WINBACK"},
        consent=CONSENT,
        holdout=HOLDOUT,
    )
    assert engine_for(sync, db, emulator.url, tmp_path).run().status == "success"
    assert _tagged(emulator, "WINBACK") == ELIGIBLE
    st = emulator.state
    contacts = st.vendors["salesmanago"].contacts
    with st.lock:
        contacts["person2@shop.test"]["name"] = "Edited by hand"  # an attribute edited
        contacts["person1@shop.test"]["tags"].discard("WINBACK")  # a tag removed by hand
        for email in ("stranger@elsewhere.test", "person4@shop.test"):  # tags added by hand
            contacts[email] = {"contactId": email, "tags": {"WINBACK"}, "properties": {}}
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0

    found = reconcile(engine_for(sync, db, emulator.url, tmp_path), dry_run=True)
    assert (found.missing, found.changed, found.extra_removed) == (1, 1, 2)
    r = reconcile(engine_for(sync, db, emulator.url, tmp_path))
    assert r.supported and r.checked == 21 and r.platform_records == 22
    assert (r.missing, r.changed, r.extra_removed) == (1, 1, 2)
    assert r.run is not None and r.run.status == "success" and r.run.confirmed == 2
    assert _tagged(emulator, "WINBACK") == ELIGIBLE
    assert st.snapshot()["salesmanago"]["contacts"]["person2@shop.test"]["name"] == "First2"
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0
    assert reconcile(engine_for(sync, db, emulator.url, tmp_path), dry_run=True).drift == 0
    # read through the export job: requested, polled while not ready, then the file fetched
    paths = [q["path"] for q in st.requests]
    assert "/api/contact/paginatedContactList/export" in paths
    assert paths.count("/api/job/status") >= 2 * paths.count(
        "/api/contact/paginatedContactList/export"
    )
    assert any(p.startswith("/files/salesmanago/") for p in paths)


def test_reconcile_repairs_salesmanago_contact_drift(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 12)
    sync = sync_config("salesmanago")  # upsert of contacts
    assert engine_for(sync, db, emulator.url, tmp_path).run().status == "success"
    st = emulator.state
    contacts = st.vendors["salesmanago"].contacts
    with st.lock:
        del contacts["person1@shop.test"]  # deleted by hand
        contacts["person2@shop.test"]["properties"]["segment"] = "edited"  # edited by hand
    r = reconcile(engine_for(sync, db, emulator.url, tmp_path))
    assert r.supported and r.checked == 12 and (r.missing, r.changed) == (1, 1)
    assert r.extra_removed == 0 and r.run is not None and r.run.confirmed == 2
    snap = st.snapshot()["salesmanago"]["contacts"]
    assert (
        "person1@shop.test" in snap and snap["person2@shop.test"]["properties"]["segment"] == "new"
    )
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0
