"""Adding an audience the documented way (docs/segmentation.md, "Adding an audience"): one
rule macro file, its YAML entry and one row of seeds/audience_settings.csv - no other file
of the dbt project touched - makes it contactable (audience_memberships), measurable
(workflow entries, holdouts, lift outcomes) and syncable (the sync models)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb

from tests.dbt.conftest import Warehouse
from warehouse.dbt import DBT_PROJECT_DIR, dbt_args, dbt_env

RULE = """{% macro audience_rule__review_request(as_of_at) %}
{#- Review request: from 2 until 14 days after any paid order. -#}
select
    {{ audience_select('review_request', {
        'person_id': 'orders.person_id',
        'entered_at': dbt.dateadd('day', 2, 'orders.ordered_at'),
        'exited_at': dbt.dateadd('day', 15, 'orders.ordered_at'),
        'entry_reason': "'recent_order'",
        'reference_at': 'orders.ordered_at',
        'product_id': 'orders.order_id',
    }) }}
from {{ ref('fct_orders') }} as orders
where orders.is_paid
    and orders.ordered_at < {{ as_of_at }}
{% endmacro %}
"""

YAML_ENTRY = """  - name: audience_rule__review_request
    description: Asks for a review 2 to 14 days after a paid order.
    arguments: *as_of
"""

SEED_ROW = (
    "review_request,8,true,email,,14,promotional,,1,Asks for a review 2-14 days after an order\n"
)


def test_a_new_audience_is_contactable_measurable_and_syncable(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    before = {p.relative_to(project): p.read_bytes() for p in project.rglob("*") if p.is_file()}

    (project / "macros/audiences/review_request.sql").write_text(RULE)
    with (project / "macros/audiences/_audiences__macros.yml").open("a") as f:
        f.write(YAML_ENTRY)
    with (project / "seeds/audience_settings.csv").open("a") as f:
        f.write(SEED_ROW)

    after = {p.relative_to(project): p.read_bytes() for p in project.rglob("*") if p.is_file()}
    touched = {p for p in after if before.get(p) != after[p]}
    assert touched == {
        Path("macros/audiences/review_request.sql"),
        Path("macros/audiences/_audiences__macros.yml"),
        Path("seeds/audience_settings.csv"),
    }

    copy = warehouse.copy(tmp_path / "warehouse")
    # the seed gained a row: a full refresh of the seeds reloads it (dbt's rule for seeds)
    for command in (["seed", "--full-refresh"], ["build"]):
        result = subprocess.run(
            dbt_args(command),
            cwd=project,
            env=dbt_env(copy.raw_dir, copy.duckdb_path),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout[-4000:]

    with duckdb.connect(str(copy.duckdb_path), read_only=True) as con:

        def one(sql: str) -> tuple:
            return con.execute(sql).fetchone()

        # contactable: today's members, with the contact policy and holdouts applied
        (members, treated) = one(
            "select count(*), count(*) filter (where not is_holdout)"
            " from segmentation.audience_memberships where audience = 'review_request'"
        )
        assert members > 0 and treated > 0
        # measurable: replayed entries, holdout assignments and lift outcomes
        (entries,) = one(
            "select count(*) from segmentation.fct_workflow_entries"
            " where workflow = 'review_request' and is_reachable"
        )
        (assigned,) = one(
            "select count(*) from segmentation.current_holdout_assignments"
            " where experiment = 'review_request'"
        )
        (outcomes, groups) = one(
            "select count(*), count(distinct experiment_group)"
            " from intermediate.int_workflow_entry_outcomes where workflow = 'review_request'"
        )
        assert entries > 100 and assigned > 0 and outcomes > 100 and groups >= 2
        (summarised,) = one(
            "select count(*) from segmentation.workflow_lift_summary"
            " where workflow = 'review_request'"
        )
        assert summarised == 1
        # syncable: the destinations' models carry it as the person's current audience
        (synced,) = one(
            "select count(*) from sync.sync_braze__users where current_audience = 'review_request'"
        )
        assert synced > 0
