"""Shared fixtures for the ml tests: a small generated shop built into a DuckDB warehouse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DBT_DIR = ROOT / "dbt_project"
PERSONS = 3000
AS_OF = "2026-11-16"  # the generator's default end date + 1 day: pins the cutoff schedule


def dbt_executable() -> str | None:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else shutil.which("dbt")


def run_dbt(args: list[str], raw_dir: Path, duckdb_path: Path, work: Path) -> None:
    """Run dbt against a private warehouse, with its own target and log folders."""
    exe = dbt_executable()
    if exe is None or not (DBT_DIR / "dbt_project.yml").exists():
        pytest.skip("dbt project or executable not available")
    env = dict(os.environ, RW_RAW_DIR=str(raw_dir), RW_DUCKDB_PATH=str(duckdb_path))
    cmd = [
        exe,
        *args,
        "--profiles-dir",
        ".",
        "--project-dir",
        ".",
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    proc = subprocess.run(cmd, cwd=DBT_DIR, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}")


def generate_shop(raw_dir: Path, truth_dir: Path, persons: int = PERSONS, seed: int = 42):
    generator = pytest.importorskip("ingest.generator")
    return generator.generate(
        generator.GenerationConfig(customers=persons, seed=seed),
        raw_dir=raw_dir,
        truth_dir=truth_dir,
    )


# Everything the ml marts need (models and seeds), plus the data tests of the ml folder
# only: other folders' tests belong to their own suites.
ML_SELECTION = [
    "--indirect-selection",
    "empty",
    "--select",
    "+ml_training_set,resource_type:model",
    "+ml_training_set,resource_type:seed",
    "marts.ml,resource_type:test",
    "marts.ml,resource_type:unit_test",
]


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> dict[str, Path]:
    """A generated shop (3,000 persons) built by dbt up to the ml marts."""
    base = tmp_path_factory.mktemp("ml_shop")
    paths = {
        "base": base,
        "raw": base / "raw",
        "truth": base / "truth",
        "duckdb": base / "warehouse.duckdb",
        "artifacts": base / "artifacts",
    }
    generate_shop(paths["raw"], paths["truth"])
    run_dbt(
        ["build", *ML_SELECTION, "--vars", f"{{ml_as_of: '{AS_OF}'}}"],
        paths["raw"],
        paths["duckdb"],
        base,
    )
    return paths


@pytest.fixture()
def ml_env(shop, monkeypatch):
    monkeypatch.setenv("RW_DUCKDB_PATH", str(shop["duckdb"]))
    monkeypatch.setenv("RW_ARTIFACTS_DIR", str(shop["artifacts"]))
    return shop


from tests.engines import postgres_server  # noqa: E402, F401  (pytest fixture)
