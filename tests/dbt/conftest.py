"""A small generated shop built once per test session with the real dbt project."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from ingest.generator import GenerationConfig, generate
from warehouse.dbt import run_dbt

CUSTOMERS = 3000


@dataclass(frozen=True)
class Warehouse:
    raw_dir: Path
    truth_dir: Path
    duckdb_path: Path

    def copy(self, directory: Path) -> Warehouse:
        """The same raw data and built warehouse in another directory (for variations)."""
        raw_dir = directory / "raw"
        shutil.copytree(self.raw_dir, raw_dir)
        duckdb_path = directory / "warehouse.duckdb"
        shutil.copyfile(self.duckdb_path, duckdb_path)
        return Warehouse(raw_dir, self.truth_dir, duckdb_path)

    def dbt(self, *command: str, **dbt_vars: object) -> str:
        return run_dbt(
            command, raw_dir=self.raw_dir, duckdb_path=self.duckdb_path, dbt_vars=dbt_vars
        ).stdout


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    root = tmp_path_factory.mktemp("warehouse")
    built = Warehouse(root / "raw", root / "truth", root / "warehouse.duckdb")
    generate(
        GenerationConfig(customers=CUSTOMERS, seed=7, end_date=date(2026, 11, 15)),
        raw_dir=built.raw_dir,
        truth_dir=built.truth_dir,
    )
    built.dbt("build")  # seeds, models, snapshot, data tests and unit tests
    return built
