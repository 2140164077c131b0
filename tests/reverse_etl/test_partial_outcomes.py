"""Partial outcomes a vendor reports inside a success answer are not counted as delivered:
a Klaviyo import job whose failed_count exceeds the errors it attributes confirms none of
its rows; HubSpot's recordsIdsMissing rejects exactly the rows it names."""

from __future__ import annotations

import duckdb

from .conftest import engine_for, make_customers, state_rows, sync_config


def _rejections(db) -> dict[str, str]:
    con = duckdb.connect(str(db))
    try:
        return dict(con.execute("select pk, reason from reverse_etl.rejections").fetchall())
    finally:
        con.close()


def test_klaviyo_unattributed_failures_confirm_no_row_of_the_job(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = sync_config("klaviyo")
    emulator.state.vendors["klaviyo"].unattributed_failures = 1  # the job counts 1 failure
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.status == "partial" and r.confirmed == 0 and r.rejected == 30
    assert state_rows(db, sync.name) == {}
    reasons = _rejections(db)
    assert len(reasons) == 30 and all("failed_count 1 > 0" in x for x in reasons.values())
    # the job did apply its profiles (only the count is unexplained): the re-run re-sends
    # them as upserts, and then every row is confirmed
    r2 = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r2.status == "success" and r2.confirmed == 30
    assert len(state_rows(db, sync.name)) == 30
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0


def test_hubspot_records_ids_missing_rejects_exactly_those_rows(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = sync_config(
        "hubspot",
        mode="list",
        destination={"object": "list", "list_id": "88", "subscription_id": "9001"},
        consent={"column": "is_email_consented"},
        holdout={"column": "is_holdout", "policy": "exclude"},
    )  # 21 of the 30 people are consented and not in the holdout
    missing = {"person3@shop.test", "person11@shop.test"}
    emulator.state.vendors["hubspot"].missing_on_add = set(missing)
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.status == "partial" and r.rejected == 2 and r.confirmed == 19
    reasons = _rejections(db)
    assert set(reasons) == {"P000003", "P000011"}
    assert all(x.startswith("recordsIdsMissing") for x in reasons.values())
    state = state_rows(db, sync.name)
    assert len(state) == 19 and not set(state) & set(reasons)
    members = set(emulator.state.snapshot()["hubspot"]["lists"]["88"])
    assert len(members) == 19 and not members & missing
    emulator.state.vendors["hubspot"].missing_on_add = set()
    r2 = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r2.status == "success" and r2.confirmed == 2
    assert len(set(emulator.state.snapshot()["hubspot"]["lists"]["88"])) == 21
