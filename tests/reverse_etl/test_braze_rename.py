"""A merge whose survivor has no Braze user yet: the merged person's user is handed to the
survivor with ``POST /users/external_ids/rename`` (history kept) instead of being deleted,
and the old id, left as a deprecated alias, is removed with ``/users/external_ids/remove``.

Request and response shapes from Braze's documentation (braze.com/docs/api/endpoints/
user_data/external_id_migration/: post_external_ids_rename, post_external_ids_remove):
``{"external_id_renames": [{"current_external_id", "new_external_id"}]}`` answered by
``{"message": "success", "external_ids": [...], "rename_errors": [...]}``, where
``current_external_id`` must be a primary id and ``new_external_id`` must not be in use as a
primary or deprecated id; ``{"external_ids": [...]}`` answered by ``{"message", "removed_ids",
"removal_errors"}``, deprecated ids only; "/users/delete with the deprecated external ID
deletes the user profile entirely".
"""

from __future__ import annotations

import duckdb
import httpx

from reverse_etl.emulator import DEFAULT_CREDENTIALS

from .conftest import engine_for, make_customers, state_rows, sync_config
from .test_merges import GUARD, _merge

AUTH = {"Authorization": f"Bearer {DEFAULT_CREDENTIALS['braze']}"}
CONSENT = {"consent": {"column": "is_email_consented"}}


def _sql(db, sql: str, params=None) -> None:
    con = duckdb.connect(str(db))
    con.execute(sql, params or [])
    con.close()


def _braze(emulator) -> dict:
    return emulator.state.snapshot()["braze"]


def test_emulator_follows_the_documented_migration_endpoints(emulator):
    with httpx.Client(base_url=emulator.url, headers=AUTH) as c:
        c.post(
            "/users/track",
            json={"attributes": [{"external_id": e, "first_name": e} for e in ("a", "b")]},
        ).raise_for_status()
        body = c.post(
            "/users/external_ids/rename",
            json={
                "external_id_renames": [
                    {"current_external_id": "a", "new_external_id": "a2"},
                    {"current_external_id": "b", "new_external_id": "a2"},  # in use now
                ]
            },
        ).json()
        assert body["message"] == "success" and body["external_ids"] == ["a"]
        assert [e[0] for e in body["rename_errors"]] == [1]
        # the deprecated id still identifies the user
        users = c.post("/users/export/ids", json={"external_ids": ["a"]}).json()["users"]
        assert users[0]["external_id"] == "a2"
        removed = c.post("/users/external_ids/remove", json={"external_ids": ["a", "b"]}).json()
        assert removed["removed_ids"] == ["a"]  # "b" is a primary id: refused
        assert [e[0] for e in removed["removal_errors"]] == [1]
        # deleting by a deprecated id deletes the whole profile, as Braze warns
        c.post(
            "/users/external_ids/rename",
            json={"external_id_renames": [{"current_external_id": "b", "new_external_id": "b2"}]},
        ).raise_for_status()
        c.post("/users/delete", json={"external_ids": ["b"]}).raise_for_status()
    assert set(_braze(emulator)["users"]) == {"a2"}


def test_survivor_without_a_user_takes_over_the_merged_users_history(
    emulator, secrets_env, tmp_path
):
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)  # P000004 has no consent: Braze never gets a user for them
    sync = sync_config("braze", mode="mirror", guard=GUARD, **CONSENT)
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    assert "P000004" not in _braze(emulator)["users"]
    emulator.state.vendors["braze"].users["P000002"]["favourite_colour"] = "green"
    created = emulator.state.snapshot()["effects"]["braze.users_created"]

    # P000004 consents, and the identity graph merges P000002 into P000004
    _sql(db, "update dim_customers set is_email_consented = true where person_id = 'P000004'")
    _merge(db, "P000002", "P000004")
    r = engine.run()
    assert r.status == "success" and r.plan.removals == 0
    snap = emulator.state.snapshot()
    users, eff = snap["braze"]["users"], snap["effects"]
    assert eff.get("braze.users_renamed") == 1 and eff.get("braze.users_deleted", 0) == 0
    assert eff["braze.users_created"] == created  # no fresh user for the survivor
    assert "P000002" not in users
    assert users["P000004"]["first_name"] == "First4"  # the survivor's desired attributes
    assert users["P000004"]["favourite_colour"] == "green"  # the merged user's history
    assert snap["braze"]["deprecated"] == {}  # the old id was removed
    assert "P000002" not in state_rows(db, sync.name) and engine.plan().total == 0

    # the merged-away person returns later (a split): a new user, not the survivor's
    _sql(
        db,
        "insert into dim_customers values ('P000002', 'back2@shop.test', 'Back', 'new', 1, "
        "true, false)",
    )
    assert engine.run().status == "success"
    users = _braze(emulator)["users"]
    assert users["P000002"]["first_name"] == "Back"
    assert users["P000004"]["first_name"] == "First4"


def test_survivor_the_sync_would_not_create_gets_no_user(emulator, secrets_env, tmp_path):
    """No consent, no user: the merged person's user is not renamed to a survivor who has
    not consented (Braze subscribes users by default); it leaves as before (deleted in a
    mirror)."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config("braze", mode="mirror", guard=GUARD, **CONSENT)
    engine = engine_for(sync, db, emulator.url, tmp_path)
    engine.run()
    _merge(db, "P000002", "P000004")  # P000004 still without consent
    assert engine.run().status == "success"
    snap = emulator.state.snapshot()
    assert snap["effects"].get("braze.users_renamed", 0) == 0
    assert "P000004" not in snap["braze"]["users"] and "P000002" not in snap["braze"]["users"]
    assert engine.plan().total == 0


def test_rename_repeated_after_a_crash_counts_as_done(emulator, secrets_env, tmp_path):
    """A run renamed the user and died before recording it: the next run's rename is
    refused (the old id is no longer primary), the fallback merge changes nothing, the
    deprecated id is removed and the survivor ends with the one user."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config("braze", mode="mirror", guard=GUARD, **CONSENT)
    engine = engine_for(sync, db, emulator.url, tmp_path)
    engine.run()
    _sql(db, "update dim_customers set is_email_consented = true where person_id = 'P000004'")
    _merge(db, "P000002", "P000004")
    httpx.post(  # what the crashed run had done
        f"{emulator.url}/users/external_ids/rename",
        headers=AUTH,
        json={
            "external_id_renames": [
                {"current_external_id": "P000002", "new_external_id": "P000004"}
            ]
        },
    ).raise_for_status()
    created = emulator.state.snapshot()["effects"]["braze.users_created"]
    assert engine.run().status == "success"
    snap = emulator.state.snapshot()
    assert snap["effects"]["braze.users_created"] == created
    assert snap["effects"].get("braze.users_deleted", 0) == 0
    assert snap["braze"]["deprecated"] == {}
    assert snap["braze"]["users"]["P000004"]["first_name"] == "First4"
    assert "P000002" not in snap["braze"]["users"] and engine.plan().total == 0
