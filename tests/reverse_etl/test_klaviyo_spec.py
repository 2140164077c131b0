"""Every Klaviyo request we send validates against Klaviyo's own OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from reverse_etl.destinations import DeliveryContext, build_destination
from reverse_etl.destinations.base import GDPR_DELETE, LIST_ADD, LIST_REMOVE, UPSERT, Row
from reverse_etl.emulator.openapi import OpenApiValidator, find_klaviyo_spec_dir
from reverse_etl.ratelimit import ScaledClock

from .conftest import engine_for, make_customers, sync_config

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def validator():
    spec = find_klaviyo_spec_dir()
    assert spec is not None, "Klaviyo spec not found (../shared/vendor-specs or tests copy)"
    return OpenApiValidator(spec)


def test_vendored_copy_keeps_licence():
    assert (HERE / "specs" / "klaviyo" / "LICENSE").read_text().startswith("MIT")
    assert OpenApiValidator(HERE / "specs" / "klaviyo").find(
        "POST", "/api/profile-bulk-import-jobs"
    )


def _fake_klaviyo(captured):
    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        path = request.url.path
        if request.method == "POST" and path == "/api/profile-bulk-import-jobs":
            return httpx.Response(
                202,
                json={
                    "data": {
                        "type": "profile-bulk-import-job",
                        "id": "J1",
                        "attributes": {"status": "queued"},
                    }
                },
            )
        if path == "/api/profile-bulk-import-jobs/J1":
            return httpx.Response(
                200,
                json={
                    "data": {
                        "type": "profile-bulk-import-job",
                        "id": "J1",
                        "attributes": {"status": "complete", "failed_count": 1},
                    }
                },
            )
        if path.endswith("/import-errors"):
            return httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "type": "import-error",
                            "id": "e1",
                            "attributes": {
                                "code": "invalid",
                                "title": "t",
                                "detail": "bad phone",
                                "source": {"pointer": "/data/attributes/profiles/data/1"},
                            },
                        }
                    ],
                    "links": {},
                },
            )
        if path == "/api/profiles":
            return httpx.Response(
                200,
                json={
                    "data": [
                        {"type": "profile", "id": "01P", "attributes": {"email": "a@shop.test"}}
                    ]
                },
            )
        if "relationships/profiles" in path:
            return httpx.Response(204)
        if path == "/api/data-privacy-deletion-jobs":
            return httpx.Response(202)
        return httpx.Response(404)

    return handler


def test_every_klaviyo_request_validates(validator, secrets_env, tmp_path):
    captured: list[httpx.Request] = []
    sync = sync_config(
        "klaviyo",
        mode="list",
        destination={"object": "list", "list_id": "L1"},
        consent={"column": "is_email_consented"},
        holdout={"column": "is_holdout", "policy": "exclude"},
        fields={
            "email": "email",
            "phone_number": "phone",
            "first_name": "fn",
            "location.country": "country",
            "properties.segment": "segment",
            "rfm_score": "rfm",
        },
    )
    ctx = DeliveryContext(
        run_id="r",
        outbox_dir=tmp_path,
        clock=ScaledClock(0.001),
        transport=httpx.MockTransport(_fake_klaviyo(captured)),
    )
    dest = build_destination(sync, ctx)
    rows = [
        Row(
            "1",
            "h1",
            {
                "email": "a@shop.test",
                "phone_number": None,
                "first_name": "A",
                "location.country": "PL",
                "properties.segment": "vip",
                "rfm_score": 5,
            },
        ),
        Row(
            "2",
            "h2",
            {
                "email": "b@shop.test",
                "phone_number": "+48500100200",
                "first_name": None,
                "location.country": None,
                "properties.segment": None,
                "rfm_score": 1.5,
            },
        ),
    ]
    up = dest.deliver(UPSERT, rows)
    assert [r.ok for r in up] == [True, False] and "bad phone" in up[1].reason
    dest.deliver(LIST_ADD, rows)
    dest.deliver(LIST_REMOVE, [Row("1", "x", {"email": "a@shop.test"})])
    dest.deliver(
        GDPR_DELETE, [Row("2", "x", {"email": "b@shop.test", "phone_number": "+48500100200"})]
    )
    assert len(captured) >= 9
    for req in captured:
        query = dict(req.url.params)
        errors = validator.validate(
            req.method, req.url.path, query, dict(req.headers), req.content or None
        )
        assert errors == [], (req.method, req.url.path, errors)
    body = json.loads(captured[0].content)
    attrs = body["data"]["attributes"]["profiles"]["data"][1]["attributes"]
    # null clears in Klaviyo: sent explicitly, unknown keys go under properties
    assert attrs["first_name"] is None and attrs["properties"]["segment"] is None
    assert (
        body["data"]["attributes"]["profiles"]["data"][0]["attributes"]["properties"]["rfm_score"]
        == 5
    )


def test_emulator_accepts_only_what_the_spec_accepts(emulator, secrets_env):
    key = secrets_env["KLAVIYO_API_KEY"]
    headers = {
        "Authorization": f"Klaviyo-API-Key {key}",
        "revision": "2026-07-15",
        "Content-Type": "application/vnd.api+json",
    }
    bad = {
        "data": {
            "type": "profile-bulk-import-job",
            "attributes": {
                "profiles": {"data": [{"type": "profile", "attributes": {"email": 42}}]}
            },
        }
    }
    r = httpx.post(emulator.url + "/api/profile-bulk-import-jobs", json=bad, headers=headers)
    assert r.status_code == 400 and "email" in r.json()["errors"][0]["detail"]
    no_rev = {k: v for k, v in headers.items() if k != "revision"}
    bad["data"]["attributes"]["profiles"]["data"][0]["attributes"]["email"] = "a@shop.test"
    r = httpx.post(emulator.url + "/api/profile-bulk-import-jobs", json=bad, headers=no_rev)
    assert r.status_code == 400 and "revision" in r.json()["errors"][0]["detail"]
    r = httpx.post(
        emulator.url + "/api/profile-bulk-import-jobs",
        json=bad,
        headers={**headers, "Authorization": "Bearer nope"},
    )
    assert r.status_code == 401


def test_engine_run_against_emulator_has_no_spec_errors(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 60, bad_emails=2)
    sync = sync_config(
        "klaviyo",
        mode="list",
        destination={"object": "list", "list_id": "L9"},
        consent={"column": "is_email_consented"},
        holdout={"column": "is_holdout", "policy": "exclude"},
        guard={"max_removal_share": 0.5},  # this test withdraws consent for 10 of 60
    )
    eng = engine_for(sync, db, emulator.url, tmp_path)
    eng.run()
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("update dim_customers set is_email_consented = false where person_id < 'P000010'")
    con.close()
    r = eng.run()
    assert r.plan.revocations > 0
    snap = emulator.state.snapshot()
    assert snap["spec_errors"] == []
    paths = {(q["method"], q["path"].split("/")[2]) for q in emulator.state.requests}
    assert ("DELETE", "lists") in paths and ("POST", "profile-bulk-import-jobs") in paths
    assert ("POST", "profile-suppression-bulk-create-jobs") in paths  # validated by the spec


def test_duckdb_rendered_profiles_equal_the_python_rendering(emulator, secrets_env, tmp_path):
    """Large Klaviyo batches are rendered to JSON inside DuckDB; it must be the same object
    the Python path builds (nulls kept as null = clear, unknown keys under properties)."""
    import duckdb

    from reverse_etl.destinations.klaviyo import profile_attributes

    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        """create table people as select * from (values
        ('1', 'a@shop.test', 'Zoë "Q" O''Neil', 'PL', 12.5::decimal(10,2), 3,
         timestamptz '2026-01-02 03:04:05+00', true),
        ('2', 'b@shop.test', null, null, null, null, null, false),
        ('3', 'c@shop.test', 'Ünï\\code ✓', 'DE', 0.1::decimal(10,2), 0,
         timestamptz '2025-12-31 23:59:59+00', true)
        ) t(person_id, email, first_name, country, revenue, orders, last_at, vip)"""
    )
    con.close()
    fields = {
        "email": "email",
        "first_name": "first_name",
        "location.country": "country",
        "properties.revenue": "revenue",
        "orders": "orders",
        "last_at": "last_at",
        "vip": "vip",
    }
    sync = sync_config("klaviyo", source="people", fields=fields)
    emulator.state.config.log_bodies = True
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.confirmed == 3
    body = next(q["body"] for q in emulator.state.requests if q["method"] == "POST")
    sent = {
        p["attributes"]["email"]: p
        for p in json.loads(body)["data"]["attributes"]["profiles"]["data"]
    }
    expected_payloads = {
        "a@shop.test": {
            "email": "a@shop.test",
            "first_name": 'Zoë "Q" O\'Neil',
            "location.country": "PL",
            "properties.revenue": 12.5,
            "orders": 3,
            "last_at": "2026-01-02T03:04:05Z",
            "vip": True,
        },
        "b@shop.test": {
            "email": "b@shop.test",
            "first_name": None,
            "location.country": None,
            "properties.revenue": None,
            "orders": None,
            "last_at": None,
            "vip": False,
        },
    }
    for email, payload in expected_payloads.items():
        want = {"type": "profile", "attributes": profile_attributes(payload, "clear")}
        assert sent[email] == want
    assert sent["c@shop.test"]["attributes"]["first_name"] == "Ünï\\code ✓"
    assert emulator.state.snapshot()["spec_errors"] == []
