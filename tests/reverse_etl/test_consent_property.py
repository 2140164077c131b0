"""Property: no person without consent, and no excluded holdout member, ever reaches a
treatment list — across arbitrary sequences of warehouse states — and the list always ends
equal to exactly the eligible people."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverse_etl.config import SyncConfig
from reverse_etl.engine import SyncEngine
from warehouse.settings import Settings

person = st.tuples(st.booleans(), st.booleans(), st.booleans())  # present, consented, holdout
population = st.lists(person, min_size=1, max_size=25)
histories = st.lists(population, min_size=1, max_size=3)


def _load(db: Path, people: list[tuple[bool, bool, bool]]) -> None:
    con = duckdb.connect(str(db))
    con.execute(
        "create or replace table audience (person_id varchar, email varchar, "
        "is_email_consented boolean, is_holdout boolean)"
    )
    rows = [
        (f"p{i}", f"p{i}@shop.test", c, h) for i, (present, c, h) in enumerate(people) if present
    ]
    if rows:
        con.executemany("insert into audience values (?, ?, ?, ?)", rows)
    con.close()


def _sync(policy: str) -> SyncConfig:
    return SyncConfig.model_validate(
        {
            "name": "treatment",
            "source": "audience",
            "primary_key": "person_id",
            "mode": "list",
            "destination": {"type": "file", "object": "list"},
            "fields": {"email": "email"},
            "consent": {"column": "is_email_consented"},
            "holdout": {"column": "is_holdout", "policy": policy, "attribute": "is_holdout"},
        }
    )


def _replay(outbox: Path, run_id: str, members: dict[str, dict]) -> list[dict]:
    path = outbox / "treatment" / f"{run_id}.jsonl"
    events = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    for e in events:
        if e["op"] == "list_add":
            members[e["key"]] = e["data"]
        elif e["op"] == "list_remove":
            members.pop(e["key"], None)
    return events


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(history=histories, policy=st.sampled_from(["exclude", "attribute"]))
def test_no_unconsented_or_excluded_holdout_person_on_treatment_list(history, policy):
    with tempfile.TemporaryDirectory() as tmp:
        db, outbox = Path(tmp) / "w.duckdb", Path(tmp) / "outbox"
        engine = SyncEngine(_sync(policy), settings=Settings(duckdb_path=db, outbox_dir=outbox))
        members: dict[str, dict] = {}
        for people in history:
            _load(db, people)
            result = engine.run()
            assert result.status == "success"
            state = {f"p{i}": (c, h) for i, (present, c, h) in enumerate(people) if present}
            for e in _replay(outbox, result.run_id, members):
                if e["op"] == "list_add":
                    consented, holdout = state[e["key"]]
                    assert consented, f"{e['key']} sent to a list without consent"
                    if policy == "exclude":
                        assert not holdout, f"holdout member {e['key']} sent to treatment"
                    else:
                        assert e["data"]["is_holdout"] is holdout
            eligible = {k for k, (c, h) in state.items() if c and (policy == "attribute" or not h)}
            assert set(members) == eligible
            for key, data in members.items():
                if policy == "attribute":
                    assert data["is_holdout"] is state[key][1]
