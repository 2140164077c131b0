"""HubSpot contacts follow their person: a contact the sync holds is updated by record id, so
an address change moves it instead of leaving it behind under the old address.

The wire shapes come from HubSpot's public documentation, not from our emulator:
- ``POST /crm/v3/objects/contacts/batch/update``: "Update a batch of contacts by ID
  (``contactId``) or unique property value (``idProperty``)", inputs ``{"id", "properties"}``,
  answer ``{"status", "results": [{"id", "properties", "createdAt", "updatedAt",
  "archived"}], "startedAt", "completedAt"}`` (developers.hubspot.com, API reference,
  contacts > batch > update-contacts);
- the conflict when an address is already another contact's: "Return a 409 Conflict error
  response if you are trying to update the email address of a record, and there is an
  existing record with the new email address" (HubSpot's contacts API docs), with the body
  HubSpot's v3 API sends (``"message": "Contact already exists. Existing ID: N",
  "category": "CONFLICT"``, as quoted in HubSpot/hubspot-api-python issue #51).
"""

from __future__ import annotations

import json

import duckdb
import httpx

from reverse_etl.config import load_syncs
from reverse_etl.destinations import DeliveryContext
from reverse_etl.destinations.base import Row
from reverse_etl.destinations.hubspot import HubSpot
from reverse_etl.emulator import DEFAULT_CREDENTIALS
from warehouse.settings import SYNCS_DIR

from .conftest import engine_for, make_customers, sync_config

DOC_CONFLICT = {
    "status": "error",
    "message": "Contact already exists. Existing ID: 2926551",
    "correlationId": "b6881283-187e-4088-a778-5c933a14547c",
    "category": "CONFLICT",
}
DOC_UPDATED = {
    "status": "COMPLETE",
    "results": [
        {
            "id": "512",
            "properties": {"email": "new512@shop.test", "firstname": "Ada"},
            "createdAt": "2019-10-30T03:30:17.883Z",
            "updatedAt": "2019-12-07T16:50:06.678Z",
            "archived": False,
        }
    ],
    "startedAt": "2023-11-07T05:31:56Z",
    "completedAt": "2023-11-07T05:31:56Z",
}
DOC_READ = {
    "status": "COMPLETE",
    "results": [
        {
            "id": "2926551",
            "properties": {"email": "taken@shop.test"},
            "createdAt": "2019-10-30T03:30:17.883Z",
            "updatedAt": "2019-12-07T16:50:06.678Z",
            "archived": False,
        }
    ],
    "startedAt": "2023-11-07T05:31:56Z",
    "completedAt": "2023-11-07T05:31:56Z",
}


def _sql(db, sql: str, params=None) -> None:
    con = duckdb.connect(str(db))
    con.execute(sql, params or [])
    con.close()


def _contacts(emulator) -> dict:
    return emulator.state.snapshot()["hubspot"]["contacts"]


def test_documented_conflict_rejects_only_that_row(secrets_env, tmp_path):
    """Against HubSpot's documented answers: known contacts are updated by record id (no
    idProperty); the 409 CONFLICT rejects the row whose new address another contact holds,
    naming that contact, and the rest of the batch is sent again."""
    sent: list[tuple[str, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append((request.url.path, body))
        if request.url.path.endswith("/batch/read"):
            return httpx.Response(200, json=DOC_READ)
        if len(body["inputs"]) == 2:
            return httpx.Response(409, json=DOC_CONFLICT)
        return httpx.Response(200, json=DOC_UPDATED)

    ctx = DeliveryContext(
        run_id="r1",
        outbox_dir=tmp_path,
        base_url="https://api.hubapi.test",
        transport=httpx.MockTransport(handler),
    )
    dest = HubSpot(sync_config("hubspot"), ctx)
    rows = [
        Row("P1", "h1", {"email": "new512@shop.test", "firstname": "Ada"}, dest_id="512"),
        Row("P2", "h2", {"email": "taken@shop.test", "firstname": "Bo"}, dest_id="513"),
    ]
    results = {r.pk: r for r in dest.deliver("upsert", rows)}
    assert results["P1"].ok and results["P1"].dest_id == "512"
    assert not results["P2"].ok
    assert "409 CONFLICT" in results["P2"].reason and "2926551" in results["P2"].reason
    assert "taken@shop.test" not in results["P2"].reason  # no address in rejection reasons
    first = sent[0]
    assert first[0] == "/crm/v3/objects/contacts/batch/update"
    assert first[1]["inputs"][0] == {
        "id": "512",
        "properties": {"email": "new512@shop.test", "firstname": "Ada"},
    }
    assert sent[1][1] == {"properties": ["email"], "inputs": [{"id": "2926551"}]}
    assert [i["id"] for i in sent[2][1]["inputs"]] == ["512"]  # the other row, sent again


def test_emulator_answers_update_by_id_as_documented(emulator):
    """The emulator: email is unique; an update by id to another contact's address is a 409
    CONFLICT naming it and applies nothing; an unknown id is a per-record OBJECT_NOT_FOUND."""
    auth = {"Authorization": f"Bearer {DEFAULT_CREDENTIALS['hubspot']}"}
    with httpx.Client(base_url=emulator.url, headers=auth) as c:
        made = c.post(
            "/crm/v3/objects/contacts/batch/upsert",
            json={
                "inputs": [
                    {"idProperty": "email", "id": e, "properties": {"firstname": n}}
                    for e, n in (("a@shop.test", "A"), ("b@shop.test", "B"))
                ]
            },
        ).json()["results"]
        ids = {r["properties"]["email"]: r["id"] for r in made}
        clash = c.post(
            "/crm/v3/objects/contacts/batch/update",
            json={
                "inputs": [
                    {"id": ids["a@shop.test"], "properties": {"firstname": "A2"}},
                    {"id": ids["b@shop.test"], "properties": {"email": "a@shop.test"}},
                ]
            },
        )
        assert clash.status_code == 409
        assert clash.json()["category"] == "CONFLICT"
        assert (
            clash.json()["message"] == f"Contact already exists. Existing ID: {ids['a@shop.test']}"
        )
        assert _contacts(emulator)["a@shop.test"]["firstname"] == "A"  # nothing applied
        moved = c.post(
            "/crm/v3/objects/contacts/batch/update",
            json={
                "inputs": [
                    {"id": ids["b@shop.test"], "properties": {"email": "c@shop.test"}},
                    {"id": "999999", "properties": {"firstname": "X"}},
                ]
            },
        )
        assert moved.status_code == 207
        assert moved.json()["results"][0]["id"] == ids["b@shop.test"]
        assert moved.json()["errors"][0]["category"] == "OBJECT_NOT_FOUND"
        assert moved.json()["errors"][0]["context"] == {"ids": ["999999"]}
    contacts = _contacts(emulator)
    assert set(contacts) == {"a@shop.test", "c@shop.test"}
    assert contacts["c@shop.test"]["id"] == ids["b@shop.test"]


def _shipped_contacts_model(db) -> None:
    """The columns the shipped ``hubspot_contacts`` sync reads (``sync_hubspot__contacts``)."""
    con = duckdb.connect(str(db))
    con.execute("create schema if not exists sync")
    con.execute(
        """
        create or replace table sync.sync_hubspot__contacts as
        select 'P' || lpad(cast(i as varchar), 6, '0') as person_id,
            'person' || i || '@shop.test' as email, 'First' || i as first_name,
            'Last' || i as last_name, 'PL' as country, i as orders_count,
            cast(i * 10.5 as decimal(12, 2)) as net_revenue,
            timestamp '2026-11-01 10:00:00' + to_hours(i) as last_order_at,
            case when i % 2 = 0 then 'winback' end as current_audience,
            true as is_email_consented, false as is_holdout
        from range(8) as t(i)
        """
    )
    con.close()


def test_email_change_then_revocation_leaves_one_unsubscribed_contact(
    emulator, secrets_env, tmp_path
):
    """The shipped ``hubspot_contacts`` sync while the world changes between runs: the
    address changes, then consent is withdrawn. The person ends with exactly one contact
    (the one first created), under the new address, unsubscribed from the sync's
    subscription type; nothing was archived and no second contact was ever created."""
    db = tmp_path / "w.duckdb"
    _shipped_contacts_model(db)
    sync = load_syncs(SYNCS_DIR)["hubspot_contacts"]
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    first_id = _contacts(emulator)["person1@shop.test"]["id"]
    created = emulator.state.snapshot()["effects"]["hubspot.contacts_created"]
    assert created == 8

    model = "sync.sync_hubspot__contacts"
    _sql(db, f"update {model} set email = 'renamed1@shop.test' where person_id = 'P000001'")
    assert engine.run().status == "success"
    contacts = _contacts(emulator)
    assert "person1@shop.test" not in contacts and len(contacts) == 8
    assert contacts["renamed1@shop.test"]["id"] == first_id
    assert contacts["renamed1@shop.test"]["firstname"] == "First1"

    _sql(db, f"update {model} set is_email_consented = false where person_id = 'P000001'")
    r = engine.run()
    assert r.status == "success" and r.plan.revocations == 1
    snap = emulator.state.snapshot()
    mine = [c for c in snap["hubspot"]["contacts"].values() if c.get("firstname") == "First1"]
    assert mine == [snap["hubspot"]["contacts"]["renamed1@shop.test"]]
    assert mine[0]["id"] == first_id
    subscription = sync.destination.subscription_id
    assert snap["hubspot"]["unsubscribed"] == [f"renamed1@shop.test/{subscription}"]
    assert snap["effects"]["hubspot.contacts_created"] == created
    assert snap["effects"].get("hubspot.contacts_archived", 0) == 0
    assert engine.plan().total == 0


def test_contact_left_holding_the_new_address_is_merged_into_the_persons(
    emulator, secrets_env, tmp_path
):
    """A contact no person of the sync holds (made by a form) already has the address a
    person moves to: it is merged into the person's contact (HubSpot's merge endpoint), so
    one contact remains, the person's own."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 6)
    engine = engine_for(sync_config("hubspot"), db, emulator.url, tmp_path)
    engine.run()
    first_id = _contacts(emulator)["person2@shop.test"]["id"]
    auth = {"Authorization": f"Bearer {DEFAULT_CREDENTIALS['hubspot']}"}
    httpx.post(
        f"{emulator.url}/crm/v3/objects/contacts/batch/upsert",
        headers=auth,
        json={"inputs": [{"idProperty": "email", "id": "walkin@shop.test", "properties": {}}]},
    ).raise_for_status()
    _sql(db, "update dim_customers set email = 'walkin@shop.test' where person_id = 'P000002'")
    assert engine.run().status == "success"
    snap = emulator.state.snapshot()
    contacts = snap["hubspot"]["contacts"]
    assert contacts["walkin@shop.test"]["id"] == first_id
    assert contacts["walkin@shop.test"]["firstname"] == "First2"
    assert "person2@shop.test" not in contacts and len(contacts) == 6
    assert snap["effects"]["hubspot.contacts_merged"] == 1
    assert snap["effects"].get("hubspot.contacts_archived", 0) == 0
    assert engine.plan().total == 0


def test_address_held_by_another_persons_contact_is_rejected_then_converges(
    emulator, secrets_env, tmp_path
):
    """Two persons swap addresses: each new address is the other person's contact, which is
    never merged, archived or taken over. Both rows are rejected with HubSpot's conflict;
    once one of them moves elsewhere, the next runs converge with each person on their own
    contact."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 6)
    engine = engine_for(sync_config("hubspot"), db, emulator.url, tmp_path)
    engine.run()
    ids = {e: c["id"] for e, c in _contacts(emulator).items()}
    _sql(
        db,
        "update dim_customers set email = case person_id when 'P000001' then "
        "'person2@shop.test' else 'person1@shop.test' end "
        "where person_id in ('P000001', 'P000002')",
    )
    r = engine.run()
    assert r.status == "partial" and r.rejected == 2
    con = duckdb.connect(str(db))
    reasons = [x[0] for x in con.execute("select reason from reverse_etl.rejections").fetchall()]
    con.close()
    assert sum("409 CONFLICT" in x for x in reasons) == 2
    contacts = _contacts(emulator)
    assert contacts["person1@shop.test"]["firstname"] == "First1"  # nobody's contact hijacked
    assert contacts["person2@shop.test"]["firstname"] == "First2"

    _sql(db, "update dim_customers set email = 'third@shop.test' where person_id = 'P000002'")
    for _ in range(3):
        if engine.run().status == "success" and engine.plan().total == 0:
            break
    assert engine.plan().total == 0
    snap = emulator.state.snapshot()
    contacts = snap["hubspot"]["contacts"]
    assert contacts["person2@shop.test"]["id"] == ids["person1@shop.test"]
    assert contacts["person2@shop.test"]["firstname"] == "First1"
    assert contacts["third@shop.test"]["id"] == ids["person2@shop.test"]
    assert len(contacts) == 6
    assert snap["effects"].get("hubspot.contacts_merged", 0) == 0
    assert snap["effects"].get("hubspot.contacts_archived", 0) == 0
