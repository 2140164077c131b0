"""One `@dbt_assets` for the whole dbt project; groups come from `orchestration.translator`."""

import os

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from pydantic import Field

from orchestration.defs.dbt.project import build_args
from orchestration.translator import RetentionDbtTranslator

WAREHOUSE_POOL = "warehouse"  # one writer at a time on the DuckDB file


class DbtBuildConfig(dg.Config):
    """Options of a dbt build (set them in the launchpad)."""

    as_of_date: str | None = Field(
        default=None,
        description="Build as of this date (YYYY-MM-DD): RFM, lifecycle, audiences and ML "
        "cutoffs treat it as today. Default: the latest data.",
    )
    full_refresh: bool = Field(default=False, description="Rebuild incremental models.")
    fail_fast: bool = Field(default=False, description="Stop at the first failure.")


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=RetentionDbtTranslator(),
        name="dbt_models",
        pool=WAREHOUSE_POOL,
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
        args = build_args(
            as_of_date=config.as_of_date,
            full_refresh=config.full_refresh,
            fail_fast=config.fail_fast,
        )
        # The graph runs dbt in several steps (Python assets sit between dbt models), so a
        # test must run in the step that builds all of its parents, not in the first step
        # that touches one of them (dbt's default "eager" indirect selection).
        os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")
        yield from dbt.cli(args, context=context).stream()

    return dbt_models
