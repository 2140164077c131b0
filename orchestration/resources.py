"""Dagster resources. Locations, the dbt target and MAP credentials come from the environment.

A field is bound to `dg.EnvVar(NAME)` when NAME is set, so the UI shows where the value comes
from and a run picks up the variable at launch; when it is unset the project default applies
(the defaults of `warehouse.settings`), so a fresh clone runs with no setup.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from warehouse.connections import connect_duckdb
from warehouse.settings import PROJECT_ROOT, get_settings


def env_or_default(name: str, default: str | None) -> str | dg.EnvVar | None:
    """`EnvVar(name)` when the variable is set, else `default`."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def _absolute(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse and the raw Parquet directory it is built from."""

    duckdb_path: str = Field(description="DuckDB file (RW_DUCKDB_PATH).")
    raw_dir: str = Field(description="Raw contract Parquet directory (RW_RAW_DIR).")
    truth_dir: str = Field(description="Generator ground truth, never read by models.")

    @property
    def database(self) -> Path:
        return _absolute(self.duckdb_path)

    @property
    def raw(self) -> Path:
        return _absolute(self.raw_dir)

    @property
    def truth(self) -> Path:
        return _absolute(self.truth_dir)

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """Open the warehouse; waits while another process holds the write lock."""
        self.database.parent.mkdir(parents=True, exist_ok=True)
        return connect_duckdb(self.database, read_only=read_only)


class MLResource(dg.ConfigurableResource):
    """Where model artifacts and the registry live (RW_ARTIFACTS_DIR); other knobs come from
    the settings' `ml` section (RW_ML_* variables)."""

    artifacts_dir: str = Field(description="Model registry and artifacts (RW_ARTIFACTS_DIR).")

    def settings(self, duckdb_path: Path):
        return get_settings(duckdb_path=duckdb_path, artifacts_dir=_absolute(self.artifacts_dir))


class ReverseEtlResource(dg.ConfigurableResource):
    """Sync declarations, the file outbox and, optionally, one base URL for every API
    destination (the local MAP emulator in demos). MAP credentials are read from the
    environment variables each sync names (`api_key_env`, `token_env`, ...), never from
    config files."""

    syncs_dir: str = Field(description="Directory of sync YAML files (RW_SYNCS_DIR).")
    outbox_dir: str = Field(description="File destination outbox (RW_OUTBOX_DIR).")
    map_base_url: str | None = Field(
        default=None, description="Send every API destination here (RW_MAP_BASE_URL)."
    )

    def engine_settings(self, duckdb_path: Path):
        return get_settings(
            duckdb_path=duckdb_path,
            syncs_dir=_absolute(self.syncs_dir),
            outbox_dir=_absolute(self.outbox_dir),
        )


class ReportsResource(dg.ConfigurableResource):
    """Where rendered reports are written (RW_REPORTS_DIR)."""

    output_dir: str = Field(description="Report output directory (RW_REPORTS_DIR).")

    @property
    def directory(self) -> Path:
        return _absolute(self.output_dir)


def build_resources() -> dict[str, object]:
    """Every resource the definitions use, bound to environment variables where set."""
    from dagster_dbt import DbtCliResource

    from orchestration.defs.dbt.project import dbt_project
    from warehouse.dbt import dbt_executable

    defaults = get_settings()
    return {
        "warehouse": WarehouseResource(
            duckdb_path=env_or_default("RW_DUCKDB_PATH", str(defaults.duckdb_path)),
            raw_dir=env_or_default("RW_RAW_DIR", str(defaults.raw_dir)),
            truth_dir=env_or_default("RW_TRUTH_DIR", str(defaults.truth_dir)),
        ),
        "dbt": DbtCliResource(
            project_dir=dbt_project(),
            dbt_executable=dbt_executable(),
            target=env_or_default("RW_DBT_TARGET", None),
        ),
        "ml": MLResource(
            artifacts_dir=env_or_default("RW_ARTIFACTS_DIR", str(defaults.artifacts_dir)),
        ),
        "reverse_etl": ReverseEtlResource(
            syncs_dir=env_or_default("RW_SYNCS_DIR", str(defaults.syncs_dir)),
            outbox_dir=env_or_default("RW_OUTBOX_DIR", str(defaults.outbox_dir)),
            map_base_url=env_or_default("RW_MAP_BASE_URL", None),
        ),
        "reports": ReportsResource(
            output_dir=env_or_default("RW_REPORTS_DIR", str(defaults.reports_dir)),
        ),
    }
