"""One `@dbt_assets` for the whole dbt project; groups come from `orchestration.translator`."""

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from pydantic import Field

from orchestration.defs.dbt.project import build_args, resolve_as_of
from orchestration.translator import RetentionDbtTranslator

WAREHOUSE_POOL = "warehouse"  # one writer at a time on the DuckDB file


class DbtBuildConfig(dg.Config):
    """Options of a dbt build (set them in the launchpad)."""

    as_of_date: str | None = Field(
        default=None,
        description="Build as of this date (YYYY-MM-DD): RFM, lifecycle, audiences and ML "
        "cutoffs treat it as today. Default: the run tag rw/as_of_date, else the latest data.",
    )
    full_refresh: bool = Field(default=False, description="Rebuild incremental models.")
    rebuild_ml_feature_cutoffs: bool = Field(
        default=False,
        description="Recompute the ML features of every cutoff of the schedule (the "
        "retraining job); daily builds compute only the new scoring cutoff.",
    )
    fail_fast: bool = Field(default=False, description="Stop at the first failure.")


@contextmanager
def _default_env(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the duration of the block unless the user set it."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


def invocation_target_path(project: DbtProject, context: dg.AssetExecutionContext) -> Path:
    """A fresh dbt target directory for one invocation, under the Dagster target path and
    seeded with its `partial_parse.msgpack` (same vars as the Dagster parse), so dbt skips
    most of its parsing."""
    base = project.project_dir / project.target_path
    run = context.run.run_id[:8]
    target = base / "runs" / f"{context.op_execution_context.op.name}-{run}-{uuid.uuid4().hex[:6]}"
    target.mkdir(parents=True, exist_ok=True)
    partial_parse = base / "partial_parse.msgpack"
    if partial_parse.exists():
        shutil.copy(partial_parse, target / partial_parse.name)
    return target


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
            as_of_date=resolve_as_of(config.as_of_date, context.run.tags),
            full_refresh=config.full_refresh,
            fail_fast=config.fail_fast,
            extra_vars={"ml_rebuild_feature_cutoffs": True}
            if config.rebuild_ml_feature_cutoffs
            else None,
        )
        # The graph runs dbt in several steps (Python assets sit between dbt models), so a
        # test must run in the step that builds all of its parents, not in the first step
        # that touches one of them (dbt's default "eager" indirect selection).
        with _default_env("DBT_INDIRECT_SELECTION", "buildable"):
            invocation = dbt.cli(
                args, context=context, target_path=invocation_target_path(project, context)
            )
        yield from invocation.stream()

    return dbt_models
