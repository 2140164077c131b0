"""Intent before send: operations of unknown outcome are re-sent or undone by the next run,
Klaviyo jobs of a dead run are resumed by id, and event ids are unique per emission."""

from __future__ import annotations

import duckdb
import pytest

from .conftest import engine_for, make_customers, state_rows, sync_config
from .platform_view import view


def _sql(db, sql: str) -> None:
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()


def _pending(db, sync_name: str) -> list[tuple]:
    con = duckdb.connect(str(db))
    try:
        return con.execute(
            "select pk, op, job_id from reverse_etl.pending where sync_name = ? order by pk",
            [sync_name],
        ).fetchall()
    finally:
        con.close()


def _list_sync(dest: str, **kw):
    lists = {
        "hubspot": {"object": "list", "list_id": "77", "subscription_id": "9001"},
        "klaviyo": {"object": "list", "list_id": "LstA"},
        "salesmanago": {"object": "tag", "tag": "VIP"},
    }
    return sync_config(
        dest,
        mode="list",
        destination={**lists[dest], "batch_size": 100},
        consent={"column": "is_email_consented"},
        holdout={"column": "is_holdout", "policy": "exclude"},
        guard={"max_removal_share": 1.0},
        **kw,
    )


def test_applied_but_unanswered_write_is_undone_when_no_longer_wanted(
    emulator, secrets_env, tmp_path
):
    db = tmp_path / "w.duckdb"
    make_customers(db, 30)
    sync = _list_sync("hubspot")
    # The first request is applied but its answer is lost; no retry: the run fails.
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = ["drop_after"]
    r = engine_for(sync, db, emulator.url, tmp_path, max_attempts=1).run()
    assert r.status == "failed" and r.confirmed == 0
    assert state_rows(db, sync.name) == {}
    assert len(_pending(db, sync.name)) == 21  # consented, non-holdout: outcome unknown
    on_list = view(emulator.state.snapshot(), "hubspot", sync.name, "77")[1]
    # (the upsert landed; the membership call never ran, or landed too: either way unknown)

    # Before the re-run, everybody withdraws consent: nothing is desired any more.
    _sql(db, "update dim_customers set is_email_consented = false")
    emulator.state.config.fault_rate = 0.0
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.status == "success" and r.plan.removals == 21
    assert view(emulator.state.snapshot(), "hubspot", sync.name, "77")[1] == set()
    assert _pending(db, sync.name) == []
    assert on_list is not None


def test_pending_removal_of_a_person_who_came_back_is_sent_again(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 20)
    sync = _list_sync("salesmanago")
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    members = view(emulator.state.snapshot(), "salesmanago", sync.name, "VIP")[1]
    assert "person0@shop.test" in members
    _sql(db, "update dim_customers set is_email_consented = false where person_id = 'P000000'")
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = ["drop_after"]  # the removal lands, the answer is lost
    assert engine_for(sync, db, emulator.url, tmp_path, max_attempts=1).run().status == "failed"
    assert (
        "person0@shop.test"
        not in view(emulator.state.snapshot(), "salesmanago", sync.name, "VIP")[1]
    )
    # consent is back, with exactly the same attributes (same row hash as in the state)
    _sql(db, "update dim_customers set is_email_consented = true where person_id = 'P000000'")
    emulator.state.config.fault_rate = 0.0
    r = engine.run()
    assert r.status == "success" and r.plan.total == 1
    assert (
        "person0@shop.test" in view(emulator.state.snapshot(), "salesmanago", sync.name, "VIP")[1]
    )
    assert engine.plan().total == 0


def _crash(sync, db, emulator, tmp_path, fault: str) -> None:
    """One run whose first request meets ``fault`` (no retry): it fails with its rows pending."""
    emulator.state.config.fault_rate = 1.0
    emulator.state.config.fault_kinds = [fault]
    assert engine_for(sync, db, emulator.url, tmp_path, max_attempts=1).run().status == "failed"
    emulator.state.config.fault_rate = 0.0


def _tagged(emulator) -> set[str]:
    return view(emulator.state.snapshot(), "salesmanago", "", "VIP")[1]


def test_an_undo_that_never_arrived_is_sent_again(emulator, secrets_env, tmp_path):
    """A crashed run's writes landed; the next run's undo of them (consent withdrawn) is
    lost on the way: the run after it still takes everybody off the tag."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 20)
    sync = _list_sync("salesmanago")
    _crash(sync, db, emulator, tmp_path, "drop_after")  # tagged, answer lost
    assert len(_tagged(emulator)) == 14
    _sql(db, "update dim_customers set is_email_consented = false")
    _crash(sync, db, emulator, tmp_path, "drop_before")  # the undo never reaches the platform
    assert len(_tagged(emulator)) == 14 and {op for _pk, op, _j in _pending(db, sync.name)} == {
        "list_remove"
    }
    engine = engine_for(sync, db, emulator.url, tmp_path)
    r = engine.run()
    assert r.status == "success" and r.plan.removals == r.plan.undos == 14
    assert _tagged(emulator) == set()
    assert _pending(db, sync.name) == [] and engine.plan().total == 0


def test_a_retirement_that_never_arrived_is_sent_again(emulator, secrets_env, tmp_path):
    """A person tagged by a crashed run changes address; the retirement of the old address
    is lost on the way: the next run still takes the old address off the tag."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 20)
    sync = _list_sync("salesmanago")
    _crash(sync, db, emulator, tmp_path, "drop_after")  # tagged, answer lost
    assert "person0@shop.test" in _tagged(emulator)
    _sql(db, "update dim_customers set email = 'new0@shop.test' where person_id = 'P000000'")
    _crash(sync, db, emulator, tmp_path, "drop_before")  # the retirement goes first and is lost
    assert "person0@shop.test" in _tagged(emulator)
    engine = engine_for(sync, db, emulator.url, tmp_path)
    assert engine.run().status == "success"
    tagged = _tagged(emulator)
    assert "person0@shop.test" not in tagged and "new0@shop.test" in tagged
    assert len(tagged) == 14
    assert _pending(db, sync.name) == [] and engine.plan().total == 0


def test_klaviyo_job_of_a_dead_run_is_resumed_by_id(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 40)
    sync = sync_config("klaviyo", destination={"poll_timeout_s": 0.001, "poll_interval_s": 0.01})
    emulator.state.config.job_polls = 1000  # the job outlives the run's patience
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.status == "failed" and r.confirmed == 0
    pending = _pending(db, sync.name)
    assert len(pending) == 40 and {p[2] for p in pending} == {pending[0][2]} != {None}
    # Klaviyo imports asynchronously: nothing is written before the job completes
    assert emulator.state.snapshot()["klaviyo"]["profiles"] == {}

    emulator.state.config.job_polls = 0  # the job has finished meanwhile
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.status == "success" and r.resumed == 40 and r.plan.total == 0
    assert len(state_rows(db, sync.name)) == 40
    effects = emulator.state.snapshot()["effects"]
    assert effects["klaviyo.jobs_created"] == 1  # resumed, not submitted again
    assert _pending(db, sync.name) == []


def test_event_ids_are_new_for_every_lifecycle_event(emulator, secrets_env, tmp_path):
    """A receiver de-duplicating by event id keeps a legitimate re-add (same attributes)."""
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config(
        "webhook",
        mode="list",
        consent={"column": "is_email_consented"},
        holdout={"column": "is_holdout", "policy": "exclude"},
        guard={"max_removal_share": 1.0},
    )
    engine = engine_for(sync, db, emulator.url, tmp_path)
    engine.run()
    key = f"{sync.name}/P000000"
    assert key in emulator.state.snapshot()["webhook"]["records"]
    for consented in ("false", "true", "false", "true"):
        _sql(
            db,
            f"update dim_customers set is_email_consented = {consented} "
            "where person_id = 'P000000'",
        )
        assert engine.run().plan.total == 1
        present = key in emulator.state.snapshot()["webhook"]["records"]
        assert present is (consented == "true")
    snap = emulator.state.snapshot()
    assert snap["effects"].get("webhook.duplicate_events", 0) == 0
    # 7 first adds (2 without consent, 1 holdout member) + 2 unsubscribes + 2 re-adds
    assert snap["effects"]["webhook.events_applied"] == 7 + 4


def test_every_row_is_in_flight_before_it_leaves_and_settled_once_answered(
    emulator, secrets_env, tmp_path, monkeypatch
):
    """The journal records a window of batches as sent before it leaves and the answers as
    they come: whatever the window, a row handed to the destination is already among the
    run's ``in_flight`` operations, which hold only the rows not yet answered (a bounded
    window, not the whole run); once the run ends its journal is settled into the state."""
    from reverse_etl.destinations.webhook import SignedWebhook

    db = tmp_path / "w.duckdb"
    make_customers(db, 95)
    sync = sync_config("webhook", destination={"batch_size": 10})
    seen: list[tuple[int, bool]] = []
    deliver = SignedWebhook.deliver

    def checked(self, op, rows):
        with duckdb.connect(str(db)) as con:  # the same file, another connection
            in_flight = {
                r[0]
                for r in con.execute(
                    "select pk from reverse_etl.in_flight where sync_name = ?", [sync.name]
                ).fetchall()
            }
        seen.append((len(in_flight), {r.pk for r in rows} <= in_flight))
        return deliver(self, op, rows)

    monkeypatch.setattr(SignedWebhook, "deliver", checked)
    r = engine_for(sync, db, emulator.url, tmp_path).run()
    assert r.status == "success" and r.confirmed == 95
    assert len(seen) == 10 and all(ok for _n, ok in seen)  # intent before every send
    assert max(n for n, _ok in seen) < 95  # windows, not the whole run at once
    assert _pending(db, sync.name) == []
    con = duckdb.connect(str(db))
    try:
        for table in ("journal", "journal_windows", "in_flight"):
            assert con.execute(f"select count(*) from reverse_etl.{table}").fetchone() == (0,)
    finally:
        con.close()
    assert len(state_rows(db, sync.name)) == 95


@pytest.mark.parametrize("dies", [False, True])
def test_a_stopped_runs_journal_is_settled_without_resending_answered_rows(
    dies, emulator, secrets_env, tmp_path, monkeypatch
):
    """A run stops after 5 of its batches were answered; its window was recorded as sent
    further. Whether it ends (failed, settling its own journal) or dies on the spot (the
    next run, or a dry plan, settles it first), the answered rows reach the state and are
    never sent again, and the rest is sent exactly once: the platform applies every event
    once. ``status`` shows a dead run's operations in flight."""
    from reverse_etl.destinations.base import TransientError
    from reverse_etl.destinations.webhook import SignedWebhook
    from reverse_etl.engine import SyncEngine

    db = tmp_path / "w.duckdb"
    make_customers(db, 95)
    sync = sync_config("webhook", destination={"batch_size": 10})
    deliver, settle, calls = SignedWebhook.deliver, SyncEngine._settle, []

    def fails_after_five(self, op, rows):
        calls.append(len(rows))
        if len(calls) > 5:
            raise TransientError("injected: the network is gone")
        return deliver(self, op, rows)

    monkeypatch.setattr(SignedWebhook, "deliver", fails_after_five)
    if dies:  # killed before the run could settle its journal
        monkeypatch.setattr(SyncEngine, "_settle", lambda self, con, run_id: None)
    first = engine_for(sync, db, emulator.url, tmp_path, max_in_flight=1).run()
    assert first.status == "failed" and first.confirmed == 50
    con = duckdb.connect(str(db))
    try:
        left = con.execute("select count(*) from reverse_etl.in_flight").fetchone()[0]
    finally:
        con.close()
    if dies:
        assert state_rows(db, sync.name) == {} and left > 0  # the journal is all there is
        from reverse_etl.engine import status

        assert [(x["sync_name"], x["rows"]) for x in status(db)["in_flight"]] == [(sync.name, left)]
    else:
        assert len(state_rows(db, sync.name)) == 50 and left == 0
        assert len(_pending(db, sync.name)) > 0  # sent, never answered: outcome unknown
    monkeypatch.setattr(SignedWebhook, "deliver", deliver)
    monkeypatch.setattr(SyncEngine, "_settle", settle)

    engine = engine_for(sync, db, emulator.url, tmp_path)
    # a dry plan settles a dead run's journal first: it shows what the run will do
    assert engine.plan().creates == 45 and len(state_rows(db, sync.name)) == 50
    second = engine.run()
    assert second.status == "success" and second.plan.creates == 45 == second.confirmed
    effects = emulator.state.snapshot()["effects"]
    assert effects["webhook.events_applied"] == 95
    assert effects.get("webhook.duplicate_events", 0) == 0
    assert effects.get("webhook.duplicate_messages", 0) == 0
    assert len(state_rows(db, sync.name)) == 95 and _pending(db, sync.name) == []
    assert engine.plan().total == 0
