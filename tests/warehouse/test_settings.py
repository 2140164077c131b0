"""One settings object: environment names, sections, path defaults, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from warehouse.relations import parts, resolve
from warehouse.settings import PROJECT_ROOT, Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    import os

    for name in list(os.environ):
        if name.startswith("RW_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_paths_default_under_the_data_dir(monkeypatch, tmp_path):
    s = Settings()
    assert s.data_dir == PROJECT_ROOT / "data"
    assert s.duckdb_path == PROJECT_ROOT / "data" / "warehouse.duckdb"
    monkeypatch.setenv("RW_DATA_DIR", str(tmp_path / "elsewhere"))
    s = Settings()
    assert s.raw_dir == tmp_path / "elsewhere" / "raw"
    assert s.duckdb_path == tmp_path / "elsewhere" / "warehouse.duckdb"
    assert s.artifacts_dir == tmp_path / "elsewhere" / "ml"
    monkeypatch.setenv("RW_DUCKDB_PATH", "relative/w.duckdb")
    assert Settings().duckdb_path == PROJECT_ROOT / "relative" / "w.duckdb"


def test_sections_read_prefixed_variables(monkeypatch):
    monkeypatch.setenv("RW_ML_MAX_TRAIN_ROWS", "5000")
    monkeypatch.setenv("RW_ML_MIN_AUC", "0.7")
    monkeypatch.setenv("RW_SYNC_MAX_ERROR_RATE", "0.2")
    monkeypatch.setenv("RW_INGEST_MAX_AGE_HOURS", "12")
    monkeypatch.setenv("RW_ORCHESTRATION_DAILY_BUILD_CRON", "0 6 * * *")
    monkeypatch.setenv("RW_PG_HOST", "db.internal")
    monkeypatch.setenv("RW_PG_PORT", "6543")
    monkeypatch.setenv("RW_DBT_TARGET", "postgres")
    s = Settings()
    assert s.ml.max_train_rows == 5000 and s.ml.min_auc == 0.7
    assert s.sync.max_error_rate == 0.2
    assert s.ingest.max_age_hours == 12
    assert s.orchestration.daily_build_cron == "0 6 * * *"
    assert (s.pg.host, s.pg.port, s.dbt_target) == ("db.internal", 6543, "postgres")


def test_bad_values_are_rejected_by_name(monkeypatch):
    monkeypatch.setenv("RW_DBT_TARGET", "oracle")
    with pytest.raises(ValidationError, match="dbt_target"):
        Settings()
    monkeypatch.delenv("RW_DBT_TARGET")
    with pytest.raises(ValidationError, match="time zone"):
        Settings(shop_timezone="Mars/Olympus")


def test_secrets_never_print(monkeypatch):
    monkeypatch.setenv("RW_PG_PASSWORD", "hunter2-pg")
    monkeypatch.setenv("RW_ORCHESTRATION_ALERT_WEBHOOK_URL", "https://hooks.test/T0KEN")
    s = Settings()
    shown = repr(s) + str(s) + s.model_dump_json()
    assert "hunter2-pg" not in shown and "T0KEN" not in shown
    assert s.pg.conninfo()["password"] == "hunter2-pg"


def test_relations_resolve_from_known_schemas():
    assert resolve("ml_customer_features") == '"ml"."ml_customer_features"'
    assert resolve("sync_klaviyo__profiles") == '"sync"."sync_klaviyo__profiles"'
    assert resolve("customer_scores") == '"ml"."customer_scores"'
    assert resolve("core.dim_customers") == '"core"."dim_customers"'
    assert parts("dim_customers") == ("dim_customers",)  # the default schema
    assert resolve("sync_x", quote_char="`") == "`sync`.`sync_x`"
    with pytest.raises(ValueError):
        parts("x; drop table y")


def test_dbt_project_puts_the_known_schemas_where_python_looks():
    import yaml

    project = yaml.safe_load(Path(PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    marts = project["models"]["retention_warehouse"]["marts"]
    assert marts["ml"]["+schema"] == "ml"
    assert marts["sync"]["+schema"] == "sync"
