"""The lift statistics over many independent experiments, not one chosen draw.

One shop of 20,000 generated customers is built once; its persons are split into 30
disjoint replicates by a hash independent of the holdout draw, so each replicate is its
own randomised experiment on its own customers (own entries, own 50 % holdout draw, own
planted orders). The simulated marketing platform treats every launched entry that is
not held out; planted effects are recovered per replicate by the warehouse's own lift
macro (`workflow_lift`, grouped by replicate), computed from raw data alone.

Why replicates and not 30 salts on one small shop: a new salt changes who is treated, so
the platform must plant new orders and the warehouse rebuild from raw for every salt
(about 15 s each); the replicates give 30 experiments for two builds. Why planted effects
of 40-50 %: the mean over replicates is as precise as one estimate on the whole shop
(about 1.2 points for nurture at this size), and the check "within 10 % of the truth"
is only meaningful when 10 % of the effect is several standard errors; the demo's
smaller effects are measured the same way.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest._generator_campaigns import CampaignConfig, plant_campaign_effects
from ingest.generator import GenerationConfig, generate
from warehouse.dbt import run_dbt

CUSTOMERS = 20_000
REPLICATES = 30
EXPERIMENT = {"holdout_salt": "lift-replicates", "audience_holdout_percent": 50}
EFFECTS = {
    "second_purchase_nurture": 0.5,
    "replenishment_due": 0.4,
    "cart_abandonment": 0.5,
    "winback": 0.0,  # the null flow: mailed, no effect
}

REPLICATE_LIFT_SQL = f"""
with outcomes as (
    select
        outcomes.*,
        {{{{ hash_bucket("'replicate|' || outcomes.person_id", {REPLICATES}) }}}} as replicate
    from {{{{ ref('int_workflow_entry_outcomes') }}}} as outcomes
),
{{{{ workflow_lift('outcomes', ['replicate', 'workflow']) }}}}
"""


@dataclass(frozen=True)
class Replicate:
    workflow: str
    replicate: int
    estimate: float
    low: float
    high: float
    truth: float


def _build(raw_dir: Path, duckdb_path: Path) -> None:
    run_dbt(
        ["build", "--exclude-resource-type", "test", "unit_test"],
        raw_dir=raw_dir,
        duckdb_path=duckdb_path,
        dbt_vars=EXPERIMENT,
    )


@pytest.fixture(scope="module")
def replicates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Replicate]]:
    root = tmp_path_factory.mktemp("lift-replicates")
    raw_dir, truth_dir, db = root / "raw", root / "truth", root / "warehouse.duckdb"
    generate(
        GenerationConfig(customers=CUSTOMERS, seed=23, end_date=date(2026, 11, 15)),
        raw_dir=raw_dir,
        truth_dir=truth_dir,
    )
    _build(raw_dir, db)
    plant_campaign_effects(raw_dir, truth_dir, db, CampaignConfig(effects=dict(EFFECTS)))
    _build(raw_dir, db)
    compiled = run_dbt(
        ["compile", "--quiet", "--inline", REPLICATE_LIFT_SQL],
        raw_dir=raw_dir,
        duckdb_path=db,
        dbt_vars=EXPERIMENT,
    ).stdout
    planted = truth_dir / "campaign_orders.parquet"
    with duckdb.connect(str(db), read_only=True) as con:
        lift = con.execute(
            f"""
            with lift as ({compiled}),
            planted as (
                select
                    cast(('0x' || substr(md5('replicate|' || person_id), 1, 8)) as bigint)
                        % {REPLICATES} as replicate,
                    workflow,
                    -- planted orders that were the only order in their entry's window
                    sum(case when changes_conversion then 1 else 0 end) as planted_orders
                from read_parquet('{planted}')
                group by all
            )
            select
                lift.workflow, lift.replicate, lift.conversion_lift,
                lift.conversion_lift_ci_low, lift.conversion_lift_ci_high,
                coalesce(planted.planted_orders, 0) / lift.treatment_entries as truth
            from lift
            left join planted using (replicate, workflow)
            where lift.treatment_entries > 0 and lift.holdout_entries > 0
            """
        ).fetchall()
    truth = json.loads((truth_dir / "campaign_effects.json").read_text())["workflows"]
    assert all(truth[w]["planted_conversion_uplift"] == e for w, e in EFFECTS.items())
    by_workflow: dict[str, list[Replicate]] = {}
    for workflow, replicate, estimate, low, high, true_effect in lift:
        by_workflow.setdefault(workflow, []).append(
            Replicate(workflow, replicate, estimate, low, high, true_effect)
        )
    return by_workflow


def test_every_flow_is_measured_in_every_replicate(replicates: dict) -> None:
    for workflow in EFFECTS:
        assert len(replicates[workflow]) == REPLICATES, workflow


def test_the_null_flows_interval_covers_zero_at_about_the_nominal_rate(replicates: dict) -> None:
    """95 % intervals: about 28.5 of 30 cover zero; fewer than 25 has probability < 1 %."""
    runs = replicates["winback"]
    assert all(r.truth == 0 for r in runs)
    covered = sum(r.low <= 0 <= r.high for r in runs)
    assert covered >= 25, [(r.replicate, r.estimate, r.low, r.high) for r in runs]


@pytest.mark.parametrize(
    "workflow", ["second_purchase_nurture", "replenishment_due", "cart_abandonment"]
)
def test_planted_effects_are_recovered_without_bias(replicates: dict, workflow: str) -> None:
    runs = replicates[workflow]
    # each replicate's interval holds its own true per-entry effect about 95 % of the time
    covered = sum(r.low <= r.truth <= r.high for r in runs)
    assert covered >= 25, [(r.replicate, r.estimate, r.low, r.high, r.truth) for r in runs]
    # no bias: the mean estimate is within 10 % of the mean true effect
    mean_estimate = statistics.fmean(r.estimate for r in runs)
    mean_truth = statistics.fmean(r.truth for r in runs)
    assert mean_truth > 0.2
    assert abs(mean_estimate - mean_truth) <= 0.10 * mean_truth, (mean_estimate, mean_truth)
