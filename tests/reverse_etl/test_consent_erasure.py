"""Consent and erasure are first-class: a withdrawn consent becomes each platform's own
unsubscribe / suppression / opt-out, syncs carrying an assignment must declare consent and
holdout rules, and an erased person is deleted once and never re-created by any sync."""

from __future__ import annotations

import duckdb
import pytest

from reverse_etl.config import SyncConfig, load_syncs
from warehouse.settings import SYNCS_DIR as DEFAULT_SYNCS_DIR

from .conftest import engine_for, make_customers, state_rows, sync_config


def _sql(db, sql: str) -> None:
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()


CONSENT = {"column": "is_email_consented"}
HOLDOUT = {"column": "is_holdout", "policy": "exclude"}


def _platform_says_unsubscribed(snap, dest: str) -> set[str]:
    if dest == "klaviyo":
        return set(snap["klaviyo"]["suppressed"])
    if dest == "hubspot":
        return {x.split("/")[0] for x in snap["hubspot"]["unsubscribed"]}
    if dest == "salesmanago":
        return {e for e, c in snap["salesmanago"]["contacts"].items() if c.get("optedOut")}
    if dest == "braze":
        users = snap["braze"]["users"]
        return {u["email"] for u in users.values() if u.get("email_subscribe") == "unsubscribed"}
    raise ValueError(dest)


@pytest.mark.parametrize(
    ("dest", "extra"),
    [
        ("klaviyo", {}),
        ("hubspot", {"destination": {"subscription_id": "9001"}}),
        ("salesmanago", {}),
        ("braze", {"holdout": {"column": "is_holdout", "policy": "attribute"}}),
    ],
)
def test_withdrawn_consent_is_the_platforms_own_unsubscribe(
    dest, extra, emulator, secrets_env, tmp_path
):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = sync_config(dest, consent=CONSENT, **{"holdout": HOLDOUT, **extra})
    engine = engine_for(sync, db, emulator.url, tmp_path)
    first = engine.run()
    assert first.status == "success" and first.plan.excluded_no_consent == 6
    if dest == "braze":  # non-consented users are never created (Braze would subscribe them)
        assert "P000004" not in emulator.state.snapshot()["braze"]["users"]
    _sql(db, "update dim_customers set is_email_consented = false where person_id = 'P000001'")
    r = engine.run()
    assert r.status == "success" and r.plan.revocations == 1
    assert _platform_says_unsubscribed(emulator.state.snapshot(), dest) == {"person1@shop.test"}
    # the record stays at the platform, unsubscribed: the state keeps it marked revoked (not
    # as delivered content), so that a return finds it and a later leave still reaches it
    assert state_rows(db, sync.name)["P000001"] == "revoked"
    assert engine.plan().total == 0


def test_a_revoked_record_is_still_deleted_when_its_person_leaves(emulator, secrets_env, tmp_path):
    """Mirror mode: an unsubscribed Braze user is kept while the person stays in the model
    without consent; when the person leaves the model, the user is deleted like any other;
    a person who consents again is written to the same user."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = sync_config(
        "braze",
        mode="mirror",
        consent=CONSENT,
        holdout={"column": "is_holdout", "policy": "attribute"},
        guard={"max_removal_share": 1.0},
    )
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    _sql(
        db,
        "update dim_customers set is_email_consented = false "
        "where person_id in ('P000001', 'P000002')",
    )
    r = engine.run()
    assert r.status == "success" and r.plan.revocations == 2 and r.plan.removals == 0
    users = emulator.state.snapshot()["braze"]["users"]
    assert users["P000001"]["email_subscribe"] == "unsubscribed"
    assert engine.plan().total == 0  # revoked once, not again on every run

    _sql(db, "delete from dim_customers where person_id = 'P000001'")
    _sql(db, "update dim_customers set is_email_consented = true where person_id = 'P000002'")
    r = engine.run()
    assert r.status == "success" and r.plan.removals == 1 and r.plan.updates == 1
    snap = emulator.state.snapshot()
    assert "P000001" not in snap["braze"]["users"] and "P000001" in snap["braze"]["deleted"]
    assert snap["braze"]["users"]["P000002"]["email"] == "person2@shop.test"
    assert engine.plan().total == 0


def test_assignment_without_consent_and_holdout_is_refused():
    spec = {
        "name": "braze_users",
        "source": "sync_braze__users",
        "primary_key": "person_id",
        "destination": {"type": "braze"},
        "fields": {"email": "email", "current_audience": "current_audience"},
    }
    with pytest.raises(ValueError, match="'consent' and 'holdout' rules are required"):
        SyncConfig.model_validate(spec)
    with pytest.raises(ValueError, match="'consent' and 'holdout'"):
        SyncConfig.model_validate({**spec, "consent": CONSENT})
    SyncConfig.model_validate({**spec, "consent": CONSENT, "holdout": HOLDOUT})


def test_shipped_syncs_declare_consent_and_holdout_where_they_assign():
    syncs = load_syncs(DEFAULT_SYNCS_DIR)
    for name in ("hubspot_contacts", "braze_users", "klaviyo_winback_list"):
        assert syncs[name].consent is not None and syncs[name].holdout is not None, name
    modes = {s.destination.type for s in syncs.values() if s.mode == "gdpr_delete"}
    assert modes == {"klaviyo", "hubspot", "braze", "salesmanago"}


def test_hubspot_consent_needs_a_subscription_type():
    with pytest.raises(ValueError, match="subscription_id"):
        sync_config("hubspot", consent=CONSENT)


def test_an_erased_person_is_deleted_once_and_never_recreated(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    _sql(db, "create schema core")
    _sql(db, "create table core.erased_persons (person_id varchar, email varchar)")
    profiles = sync_config("klaviyo", name="klaviyo_profiles")
    erase = SyncConfig.model_validate(
        {
            "name": "klaviyo_erasures",
            "source": "core.erased_persons",
            "primary_key": "person_id",
            "mode": "gdpr_delete",
            "destination": {"type": "klaviyo"},
            "fields": {"email": "email"},
            "required": ["email"],
        }
    )
    engine = engine_for(profiles, db, emulator.url, tmp_path)
    assert engine.run().confirmed == 30
    _sql(db, "insert into core.erased_persons values ('P000003', 'person3@shop.test')")
    assert engine_for(erase, db, emulator.url, tmp_path).run().confirmed == 1
    snap = emulator.state.snapshot()["klaviyo"]
    assert "person3@shop.test" not in snap["profiles"] and snap["deleted"] == ["person3@shop.test"]

    # The shop still holds the person and their attributes change: nothing comes back.
    _sql(db, "update dim_customers set first_name = 'Changed', net_revenue = 999")
    r = engine.run()
    assert r.plan.excluded_erased == 1 and r.plan.updates == 29
    assert "person3@shop.test" not in emulator.state.snapshot()["klaviyo"]["profiles"]
    assert "P000003" not in state_rows(db, profiles.name)  # no PII of theirs kept
    assert engine.run(full_resync=True).plan.updates == 29
    effects = emulator.state.snapshot()["effects"]
    assert effects["klaviyo.profiles_created"] == 30 and effects["klaviyo.profiles_deleted"] == 1
    assert engine_for(erase, db, emulator.url, tmp_path).plan().total == 0  # deleted once


def test_hubspot_refuses_a_gdpr_deleted_address(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 5)
    up = sync_config("hubspot")
    engine_for(up, db, emulator.url, tmp_path).run()
    gdpr = sync_config("hubspot", name="hubspot_gdpr", mode="gdpr_delete")
    _sql(db, "create table gone as select * from dim_customers where person_id = 'P000002'")
    engine_for(gdpr.model_copy(update={"source": "gone"}), db, emulator.url, tmp_path).run()
    # a sync without the suppression list (another warehouse) tries to re-create the contact
    _sql(db, "update dim_customers set first_name = 'Again'")
    r = engine_for(up, db, emulator.url, tmp_path).run()
    assert r.status == "partial" and r.rejected == 1
    assert "person2@shop.test" not in emulator.state.snapshot()["hubspot"]["contacts"]
