"""Fixtures for the Dagster definitions: a prepared dbt manifest and isolated data dirs.

The definitions read the dbt manifest when they load, so the session starts with the same
`dbt parse` that `dagster dev` runs. Every location the definitions use is pointed at a
temporary directory through the environment variables the resources read.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml

from orchestration.defs.dbt.project import prepare_manifest

# Small and quick: the whole graph (ingest -> dbt -> ml -> audiences -> syncs) in ~1-2 min.
CUSTOMERS = 1200
SEED = 7
FAST_ML = {
    "RW_ML_MAX_ITER": "15",
    "RW_ML_BACKTEST_FOLDS": "1",
    "RW_ML_MAX_TRAIN_ROWS": "1000",
}

# A sync to the file destination that reads a core mart, so the graph always ends in a
# delivered file whatever sync models exist; the repo's own file syncs are added to it.
TEST_FILE_SYNC = {
    "name": "test_file_profiles",
    "description": "Test: profiles to the file outbox.",
    "source": "core.dim_customers",  # not a sync_ model: qualified (warehouse/relations.py)
    "primary_key": "person_id",
    "mode": "mirror",
    "destination": {"type": "file"},
    "fields": {"email": "email", "first_name": "first_name", "orders_count": "orders_count"},
    "required": ["email"],
}


def _env_for(root: Path) -> dict[str, str]:
    return {
        "RW_RAW_DIR": str(root / "raw"),
        "RW_TRUTH_DIR": str(root / "truth"),
        "RW_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "RW_ARTIFACTS_DIR": str(root / "ml"),
        "RW_OUTBOX_DIR": str(root / "outbox"),
        "RW_SYNCS_DIR": str(root / "syncs"),
        "RW_REPORTS_DIR": str(root / "reports"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **FAST_ML,
    }


def write_test_syncs(directory: Path, manifest: Path) -> None:
    """The repo's enabled file-destination syncs whose model exists, plus TEST_FILE_SYNC."""
    from reverse_etl.config import load_syncs
    from warehouse.settings import SYNCS_DIR as DEFAULT_SYNCS_DIR

    models = {
        node["name"]
        for node in json.loads(manifest.read_text())["nodes"].values()
        if node["resource_type"] == "model"
    }
    directory.mkdir(parents=True, exist_ok=True)
    for sync in load_syncs(DEFAULT_SYNCS_DIR).values():
        if sync.enabled and sync.destination.type == "file" and sync.source in models:
            doc = sync.model_dump(mode="json", exclude_defaults=True)
            (directory / f"{sync.name}.yml").write_text(yaml.safe_dump(doc))
    (directory / "test_file_profiles.yml").write_text(yaml.safe_dump(TEST_FILE_SYNC))


@pytest.fixture(scope="package", autouse=True)
def platform_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An isolated platform for the orchestration tests: every location in a temporary
    directory. Set in the environment while this package's tests run (the definitions and
    dbt read it), restored afterwards."""
    root = tmp_path_factory.mktemp("platform")
    env = _env_for(root)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # Parsed with the same environment as the runs, so dbt reuses the parse (partial parsing
    # is discarded when the profile's env-derived values differ).
    manifest = prepare_manifest()
    write_test_syncs(Path(env["RW_SYNCS_DIR"]), manifest)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def today() -> str:
    return date.today().isoformat()
