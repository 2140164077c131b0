"""Diff, invalid rows, modes, rejections, state, run log, locks — against the emulator."""

from __future__ import annotations

import json
import os

import duckdb
import pytest

from reverse_etl.emulator import EmulatorConfig, RunningEmulator
from reverse_etl.state import SyncLockedError

from .conftest import engine_for, make_customers, state_rows, sync_config


def _outbox_lines(tmp_path, sync_name, run_id):
    path = tmp_path / "outbox" / sync_name / f"{run_id}.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _file_sync(**kw):
    base = {
        "name": "file_customers",
        "source": "dim_customers",
        "primary_key": "person_id",
        "destination": {"type": "file", "batch_size": 50},
        "fields": {"email": "email", "first_name": "first_name", "segment": "segment"},
    }
    base.update(kw)
    from reverse_etl.config import SyncConfig

    return SyncConfig.model_validate(base)


def test_only_changed_rows_are_sent(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 1000)
    sync = sync_config("hubspot")
    eng = engine_for(sync, db, emulator.url, tmp_path)
    first = eng.run()
    assert first.status == "success" and first.confirmed == 1000
    con = duckdb.connect(str(db))
    changed = [
        r[0]
        for r in con.execute(
            "select person_id from dim_customers using sample 1% (reservoir, 42)"
        ).fetchall()
    ]
    assert len(changed) == 10
    con.execute(
        "update dim_customers set first_name = first_name || '!' where person_id in "
        f"({','.join(repr(c) for c in changed)})"
    )
    emails = {
        r[0]
        for r in con.execute(
            "select email from dim_customers where first_name like '%!'"
        ).fetchall()
    }
    con.close()
    emulator.state.reset()
    plan = eng.plan()
    assert (plan.creates, plan.updates, plan.removals) == (0, 10, 0)
    second = eng.run()
    assert second.sent == 10 and second.confirmed == 10
    sent_ids = []
    emulator.state.config.log_bodies = True
    reqs = emulator.state.requests
    items: dict[str, int] = {}
    for r in reqs:
        items[r["path"]] = items.get(r["path"], 0) + r["items"]
    # known contacts are updated by record id; the reset emulator no longer has them, so the
    # same 10 rows are then upserted by email (and nothing else is sent)
    assert items == {
        "/crm/v3/objects/contacts/batch/update": 10,
        "/crm/v3/objects/contacts/batch/upsert": 10,
    }
    snap = emulator.state.snapshot()
    sent_ids = set(snap["hubspot"]["contacts"])
    assert sent_ids == emails
    # third run: nothing to do, no request at all
    emulator.state.reset()
    third = eng.run()
    assert third.plan.total == 0 and third.api_calls == 0 and not emulator.state.requests


def test_plan_is_a_dry_run(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 200, bad_emails=0)
    con = duckdb.connect(str(db))
    con.execute("insert into dim_customers select * from dim_customers limit 2")  # duplicates
    con.execute(
        "insert into dim_customers values (null, 'x@shop.test', 'X', 'new', 1, true, false)"
    )
    con.close()
    sync = sync_config("klaviyo", required=["email"])
    plan = engine_for(sync, db, emulator.url, tmp_path).plan()
    assert plan.invalid == 5  # 2 x 2 duplicated keys + 1 null key
    assert plan.creates == 198
    assert {r["reason"] for r in plan.invalid_sample} == {
        "null primary key",
        "duplicate primary key",
    }
    assert plan.api_calls["upsert"] >= 1 and plan.batch_sizes["upsert"] == 10_000
    assert len(plan.sample["create"]) == 5 and "email" in plan.sample["create"][0]
    assert not emulator.state.requests
    assert state_rows(db, sync.name) == {}


def test_invalid_rows_recorded_and_never_sent(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 50)
    con = duckdb.connect(str(db))
    con.execute("update dim_customers set email = null where person_id = 'P000003'")
    con.close()
    sync = sync_config("braze", required=["email"])
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.plan.invalid == 1 and r.confirmed == 49
    assert "P000003" not in emulator.state.snapshot()["braze"]["users"]
    con = duckdb.connect(str(db))
    rej = con.execute("select pk, stage, reason from reverse_etl.rejections").fetchall()
    con.close()
    assert rej == [("P000003", "invalid", "null required field email")]


def test_rejections_stored_with_reason_and_retried_next_run(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 40, bad_emails=3)
    sync = sync_config("klaviyo")
    eng = engine_for(sync, db, emulator.url, tmp_path)
    r = eng.run()
    assert r.status == "partial" and r.rejected == 3 and r.confirmed == 37
    con = duckdb.connect(str(db))
    reasons = con.execute(
        "select pk, reason from reverse_etl.rejections where stage='rejected' order by pk"
    ).fetchall()
    assert [p for p, _ in reasons] == ["P000000", "P000001", "P000002"]
    assert all("Invalid email" in why for _, why in reasons)
    runs = con.execute("select status, sent, confirmed, rejected from reverse_etl.runs").fetchall()
    assert runs == [("partial", 40, 37, 3)]
    con.execute(
        "update dim_customers set email = 'fixed' || person_id || '@shop.test' "
        "where email like 'broken%'"
    )
    con.close()
    plan = eng.plan()
    assert plan.retrying == 3 and plan.creates == 3
    r2 = eng.run()
    assert r2.status == "success" and r2.sent == 3


def test_whole_batch_rejection_is_bisected(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 64, bad_emails=1)  # HubSpot and SALESmanago refuse the whole batch
    for dest in ("hubspot", "salesmanago"):
        emulator.state.reset()
        sync = sync_config(dest)
        r = engine_for(sync, db, emulator.url, tmp_path).run()
        assert (r.confirmed, r.rejected) == (63, 1), dest
        # log2(64) levels of halving isolates one bad row in ~2*6 extra calls, not 64
        assert r.api_calls <= 16, (dest, r.api_calls)
    con = duckdb.connect(str(db))
    reasons = dict(con.execute("select sync_name, reason from reverse_etl.rejections").fetchall())
    con.close()
    assert "invalid" in reasons["hubspot_customers"].lower()
    assert "success=False" in reasons["salesmanago_customers"]


def test_mirror_removes_what_left_the_model(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = sync_config("braze", mode="mirror")
    eng = engine_for(sync, db, emulator.url, tmp_path)
    eng.run()
    con = duckdb.connect(str(db))
    con.execute("delete from dim_customers where person_id in ('P000001', 'P000002')")
    con.close()
    r = eng.run()
    assert r.plan.removals == 2 and r.confirmed == 2
    users = emulator.state.snapshot()["braze"]["users"]
    assert "P000001" not in users and len(users) == 28
    assert len(state_rows(db, sync.name)) == 28


def test_list_sync_consent_holdout_and_unsubscribe(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 50)
    sync = sync_config(
        "klaviyo",
        mode="list",
        destination={"object": "list", "list_id": "Vip"},
        consent={"column": "is_email_consented"},
        holdout={"column": "is_holdout", "policy": "exclude"},
    )
    eng = engine_for(sync, db, emulator.url, tmp_path)
    r = eng.run()
    # i % 5 == 4 -> no consent (10 people); i % 10 == 7 -> holdout (5, all consented)
    assert (r.plan.excluded_no_consent, r.plan.excluded_holdout) == (10, 5)
    members = set(emulator.state.snapshot()["klaviyo"]["lists"]["Vip"])
    assert len(members) == 35 and "person4@shop.test" not in members
    con = duckdb.connect(str(db))
    con.execute("update dim_customers set is_email_consented = false where person_id = 'P000000'")
    con.close()
    r = eng.run()
    # a withdrawn consent is Klaviyo's own suppression too, not only a list removal
    assert r.plan.revocations == 1 and r.plan.removals == 0
    snap = emulator.state.snapshot()["klaviyo"]
    members = set(snap["lists"]["Vip"])
    assert "person0@shop.test" not in members and len(members) == 34
    assert snap["suppressed"] == ["person0@shop.test"]


def test_holdout_sent_as_attribute(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 20)
    sync = sync_config(
        "braze", holdout={"column": "is_holdout", "policy": "attribute", "attribute": "is_holdout"}
    )
    engine_for(sync, db, emulator.url, tmp_path).run()
    users = emulator.state.snapshot()["braze"]["users"]
    assert users["P000007"]["is_holdout"] is True and users["P000001"]["is_holdout"] is False


def test_gdpr_delete_is_sent_once(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    up = sync_config("hubspot")
    engine_for(up, db, emulator.url, tmp_path).run()
    con = duckdb.connect(str(db))
    con.execute(
        "create table gdpr_requests as select person_id, email from dim_customers "
        "where person_id in ('P000001', 'P000002')"
    )
    con.close()
    gdpr = sync_config(
        "hubspot",
        name="hubspot_gdpr",
        source="gdpr_requests",
        mode="gdpr_delete",
        fields={"email": "email"},
    )
    eng = engine_for(gdpr, db, emulator.url, tmp_path)
    r = eng.run()
    assert r.confirmed == 2
    snap = emulator.state.snapshot()["hubspot"]
    assert sorted(snap["gdpr_deleted"]) == ["person1@shop.test", "person2@shop.test"]
    assert eng.run().plan.total == 0
    con = duckdb.connect(str(db))
    ident = con.execute(
        "select identity from reverse_etl.sync_state where sync_name = 'hubspot_gdpr'"
    ).fetchall()
    con.close()
    assert ident == [(None,), (None,)]  # no PII kept for deleted people


def test_full_resync_resends_everything(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = sync_config("webhook")
    eng = engine_for(sync, db, emulator.url, tmp_path)
    eng.run()
    assert eng.run().plan.total == 0
    r = eng.run(full_resync=True)
    assert r.plan.updates == 30 and r.confirmed == 30
    # A full resync is a new emission: new event ids, so a receiver that de-duplicates by id
    # applies the resent rows (that is what a resync is for) and still sees no duplicate.
    effects = emulator.state.snapshot()["effects"]
    assert effects["webhook.events_applied"] == 60
    assert effects.get("webhook.duplicate_events", 0) == 0


def test_mapping_change_triggers_resend(tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    from reverse_etl.engine import SyncEngine
    from warehouse.settings import Settings

    st = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
    SyncEngine(_file_sync(), settings=st).run()
    assert SyncEngine(_file_sync(), settings=st).plan().total == 0
    changed = _file_sync(fields={"email": "email", "first_name": "first_name"})
    assert SyncEngine(changed, settings=st).plan().updates == 10


def test_file_outbox_jsonl(tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 120)
    from reverse_etl.engine import SyncEngine
    from warehouse.settings import Settings

    st = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
    r = SyncEngine(_file_sync(), settings=st).run()
    lines = _outbox_lines(tmp_path, "file_customers", r.run_id)
    assert len(lines) == 120 and r.api_calls == 0
    assert lines[0]["op"] == "upsert" and lines[0]["data"]["email"].endswith("@shop.test")
    assert len({x["event_id"] for x in lines}) == 120


def test_a_run_records_where_its_time_went(tmp_path):
    """Seconds per step (plan, read, journal, wait) in the result, the log and `runs`;
    together never more than the run's duration. A run with nothing to send reads nothing."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 300)
    from reverse_etl.engine import SyncEngine
    from warehouse.settings import Settings

    st = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
    first = SyncEngine(_file_sync(), settings=st).run()
    again = SyncEngine(_file_sync(), settings=st).run()
    assert set(first.steps_s) == {"plan", "read", "journal", "wait"}
    assert all(sec >= 0 for sec in first.steps_s.values())
    assert first.steps_s["plan"] > 0 and first.steps_s["journal"] > 0
    assert sum(first.steps_s.values()) <= first.duration_s
    assert set(again.steps_s) == {"plan"}  # an empty plan: nothing read, journaled or sent
    with duckdb.connect(str(db), read_only=True) as con:
        stored = dict(con.execute("select run_id, steps from reverse_etl.runs").fetchall())
    assert json.loads(stored[first.run_id]) == first.steps_s
    assert json.loads(stored[again.run_id]) == again.steps_s


def test_lock_blocks_second_run_and_stale_lock_is_taken_over(tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 5)
    from reverse_etl.engine import SyncEngine
    from reverse_etl.state import boot_id, ensure_schema, now_utc
    from warehouse.settings import Settings

    st = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
    con = duckdb.connect(str(db))
    ensure_schema(con)
    import socket

    con.execute(
        "insert into reverse_etl.locks values ('file_customers', 'other-run', ?, ?, ?, ?, ?)",
        [os.getppid(), socket.gethostname(), now_utc(), now_utc(), boot_id()],
    )
    con.close()
    with pytest.raises(SyncLockedError):
        SyncEngine(_file_sync(), settings=st).run()
    # owner process is gone -> stale -> taken over, the old run is marked abandoned
    con = duckdb.connect(str(db))
    con.execute("update reverse_etl.locks set owner_pid = 2147483")
    con.execute(
        "insert into reverse_etl.runs (run_id, sync_name, status) values "
        "('other-run', 'file_customers', 'running')"
    )
    con.close()
    r = SyncEngine(_file_sync(), settings=st).run()
    assert r.status == "success"
    con = duckdb.connect(str(db))
    assert con.execute(
        "select status from reverse_etl.runs where run_id = 'other-run'"
    ).fetchone() == ("abandoned",)
    assert con.execute("select count(*) from reverse_etl.locks").fetchone() == (0,)
    con.close()


def test_transient_exhaustion_fails_run_but_keeps_confirmed_rows(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 100)
    sync = sync_config("braze", destination={"batch_size": 10})
    eng = engine_for(sync, db, emulator.url, tmp_path, max_attempts=2)
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = ["503"]
    r = eng.run()
    assert r.status == "failed" and "gave up" in r.error and r.confirmed == 0
    emulator.state.config.fault_rate = 0.0
    r = eng.run()
    assert r.status == "success" and r.confirmed == 100


def test_update_mode_rejects_unknown_contacts_per_row(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 20)
    engine_for(sync_config("hubspot"), db, emulator.url, tmp_path).run()  # creates 20
    con = duckdb.connect(str(db))
    con.execute(
        "insert into dim_customers values "
        "('P999999', 'new.person@shop.test', 'New', 'new', 1, true, false)"
    )
    con.execute("update dim_customers set segment = 'vip' where person_id = 'P000001'")
    con.close()
    upd = sync_config("hubspot", name="hubspot_update", mode="update")
    r = engine_for(upd, db, emulator.url, tmp_path).run()
    # update-only: 20 existing contacts updated, the unknown one rejected with HubSpot's reason
    assert (r.confirmed, r.rejected) == (20, 1)
    contacts = emulator.state.snapshot()["hubspot"]["contacts"]
    assert "new.person@shop.test" not in contacts
    assert contacts["person1@shop.test"]["segment"] == "vip"
    con = duckdb.connect(str(db))
    reason = con.execute(
        "select reason from reverse_etl.rejections where sync_name = 'hubspot_update'"
    ).fetchone()[0]
    con.close()
    assert reason.startswith("OBJECT_NOT_FOUND")


def test_plan_names_a_missing_source(tmp_path):
    from reverse_etl.config import SyncConfigError
    from reverse_etl.engine import SyncEngine
    from warehouse.settings import Settings

    st = Settings(duckdb_path=tmp_path / "empty.duckdb", outbox_dir=tmp_path)
    with pytest.raises(SyncConfigError, match="dim_customers"):
        SyncEngine(_file_sync(), settings=st).plan()


def test_two_threads_cannot_run_the_same_sync(tmp_path):
    import threading

    from reverse_etl.engine import SyncEngine
    from warehouse.settings import Settings

    db = tmp_path / "w.duckdb"
    make_customers(db, 600)
    st = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
    outcomes: list[str] = []

    def go():
        sync = _file_sync(destination={"type": "file", "batch_size": 10})
        try:
            outcomes.append(SyncEngine(sync, settings=st).run().status)
        except SyncLockedError:
            outcomes.append("locked")

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Either one ran and the other was refused, or they ran one after the other; never both
    # at once (which would double the outbox lines).
    lines = sum(len(p.read_text().splitlines()) for p in (tmp_path / "outbox").rglob("*.jsonl"))
    assert lines == 600
    assert sorted(outcomes) in (["locked", "success"], ["success", "success"])


def test_runs_connecting_at_once_share_the_scratch_database(tmp_path):
    """Syncs started together in one process (threads of a Dagster run) all connect: the
    in-memory scratch database they share is attached once, not raced for. (The race is on
    a database's first attachment: each round starts a new warehouse file.)"""
    import threading

    from reverse_etl.engine import SyncEngine
    from warehouse.settings import Settings

    errors: list[BaseException] = []
    for round_ in range(30):
        db = tmp_path / f"w{round_}.duckdb"
        make_customers(db, 2)
        st = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
        engines = [SyncEngine(_file_sync(), settings=st) for _ in range(6)]
        start = threading.Barrier(len(engines))
        cons = []

        def connect(engine, start=start, cons=cons):
            start.wait()
            try:
                cons.append(engine._connect())
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=connect, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for con in cons:
            con.close()
    assert errors == []


def test_dead_lock_owners_are_flagged_and_taken_over(tmp_path):
    """Another host's owner that stopped beating, or one from before this host rebooted,
    is dead: status says so and the next run takes the lock over at once."""
    import datetime as dt

    from reverse_etl.engine import SyncEngine, status
    from reverse_etl.state import STALE_AFTER_S, ensure_schema, now_utc
    from warehouse.settings import Settings

    db = tmp_path / "w.duckdb"
    make_customers(db, 5)
    st = Settings(duckdb_path=db, outbox_dir=tmp_path / "outbox")
    con = duckdb.connect(str(db))
    ensure_schema(con)
    old = now_utc() - dt.timedelta(seconds=STALE_AFTER_S + 5)
    import socket

    con.execute(
        "insert into reverse_etl.locks values ('file_customers', 'r1', 1, 'other-host', ?, ?, 'x')",
        [old, old],
    )
    con.execute(
        "insert into reverse_etl.locks values ('other_sync', 'r2', ?, ?, ?, ?, 'an-old-boot')",
        [os.getpid(), socket.gethostname(), now_utc(), now_utc()],
    )
    con.close()
    dead = {lock[0]: lock[5] for lock in status(db)["locks"]}
    assert dead["file_customers"].startswith("no heartbeat")
    assert dead["other_sync"] == "host rebooted since"
    assert SyncEngine(_file_sync(), settings=st).run().status == "success"


def test_state_belongs_to_the_destination_target(emulator, secrets_env, tmp_path):
    """A run against the emulator is not 'delivered' for the real account: the same sync
    pointed elsewhere starts from nothing, and status shows where each run went."""
    from reverse_etl.engine import status

    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config("braze")
    assert engine_for(sync, db, emulator.url, tmp_path).run().confirmed == 10
    with RunningEmulator(EmulatorConfig()) as other:
        elsewhere = engine_for(sync, db, other.url, tmp_path)
        assert elsewhere.plan().creates == 10
        assert elsewhere.run().confirmed == 10
    assert engine_for(sync, db, emulator.url, tmp_path).plan().total == 0
    info = status(db)
    targets = {x["target"] for x in info["state_by_target"]}
    assert targets == {f"braze:{emulator.url}", f"braze:{other.url}"}
    assert {r["target"] for r in info["runs"]} == targets
