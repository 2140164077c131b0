"""The one Dagster code location of retention-warehouse.

    dagster dev                      # uses [tool.dagster] in pyproject.toml
    python -m orchestration.ui       # the same, on 127.0.0.1 with DAGSTER_HOME=dagster_home/

Nothing happens at import: Dagster calls `defs()` when it loads the code location (under
`dagster dev` the dbt manifest is regenerated first). Each area of the platform contributes
its own `Definitions` from `orchestration/defs/<area>/definitions.py`.
"""

from __future__ import annotations

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    from orchestration.defs.automation import definitions as automation
    from orchestration.defs.dbt import definitions as dbt
    from orchestration.defs.ingest import definitions as ingest
    from orchestration.defs.ml import definitions as ml
    from orchestration.defs.reports import definitions as reports
    from orchestration.defs.reverse_etl import definitions as reverse_etl
    from orchestration.resources import build_resources

    dbt_defs = dbt.defs()
    (dbt_models,) = dbt_defs.assets
    return dg.Definitions.merge(
        ingest.defs(),
        dbt_defs,
        ml.defs(dbt_models),
        reverse_etl.defs(dbt_models),
        reports.defs(dbt_models),
        automation.defs(dbt_models),
        dg.Definitions(resources=build_resources(), executor=dg.in_process_executor),
    )
