"""The project's one settings object: paths, the warehouse engine and each package's knobs.

Every value can be set by an environment variable with the `RW_` prefix (or in `.env`).
Top-level values keep their plain names (`RW_DUCKDB_PATH`, `RW_RAW_DIR`, `RW_DBT_TARGET`,
...); a section's values are `RW_<SECTION>_<FIELD>` (`RW_ML_MAX_TRAIN_ROWS`,
`RW_SYNC_MAX_ERROR_RATE`, `RW_PG_HOST`, `RW_ORCHESTRATION_DAILY_BUILD_CRON`, ...).
Relative paths resolve against the project root; unset paths default to folders of
`data_dir`, so `RW_DATA_DIR` alone moves everything. Secrets are `SecretStr` and never
printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SYNCS_DIR = PROJECT_ROOT / "reverse_etl" / "syncs"

Target = Literal["duckdb", "postgres", "spark"]


class PostgresSettings(BaseModel):
    """The PostgreSQL warehouse (dbt target `postgres`): the same variables as profiles.yml."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: SecretStr = SecretStr("")
    database: str = "postgres"
    sslmode: str = "prefer"

    def conninfo(self) -> dict[str, object]:
        """Keyword arguments for `psycopg.connect` (the password stays out of any string)."""
        info: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.database,
            "sslmode": self.sslmode,
        }
        if self.password.get_secret_value():
            info["password"] = self.password.get_secret_value()
        return info


class SparkSettings(BaseModel):
    """The Spark warehouse (dbt target `spark`, `session` method): a local or remote master.

    dbt's session and Python's must share the table directory and the metastore (an embedded
    Derby database: one process at a time), so profiles.yml passes the same two values."""

    master: str = "local[2]"
    # Directory of managed tables (spark.sql.warehouse.dir); default data_dir/spark-warehouse.
    warehouse_dir: Path | None = None
    # Embedded metastore (javax.jdo.option.ConnectionURL); default data_dir/spark-metastore.
    metastore_dir: Path | None = None


class MLSettings(BaseModel):
    """Training, backtest, scoring and drift (package `ml`)."""

    # dbt-built inputs (models/marts/ml, schema `ml`).
    features_table: str = "ml_customer_features"
    training_table: str = "ml_training_set"
    seed: int = 42
    # Rows per model fitted (deterministic hash sample beyond this); keeps 1M-customer
    # training inside the time budget with no measurable loss in accuracy.
    max_train_rows: int = Field(default=250_000, ge=1_000)
    # The same cap for each backtest fold's training rows (15 fits per run) and test rows.
    backtest_max_train_rows: int = Field(default=100_000, ge=1_000)
    backtest_max_test_rows: int = Field(default=300_000, ge=1_000)
    # Rows of the stacked training set loaded into memory: beyond this, a deterministic
    # sample of persons (all their cutoffs) is read, keeping memory flat at any shop size.
    max_load_rows: int = Field(default=3_000_000, ge=10_000)
    # Backtest: how many of the latest usable cutoffs each model is tested on.
    backtest_folds: int = Field(default=3, ge=1)
    # Churn is modelled for customers with a paid order within this many days before the cutoff.
    churn_active_days: int = 365
    # Promotion gate: a candidate may be at most this much worse than the champion on the
    # main metric (0 = must not be worse at all).
    promotion_tolerance: float = 0.0
    # Drift: PSI above this is flagged (0.1 = watch, 0.25 = significant shift by convention).
    psi_alert: float = 0.25
    max_iter: int = 200
    learning_rate: float = 0.08
    # A champion classifier whose backtest ROC AUC is below this fails its quality check.
    min_auc: float = Field(default=0.6, ge=0.5, le=1.0)


class SyncSettings(BaseModel):
    """Reverse ETL (package `reverse_etl`)."""

    # Share of sent rows the destination may reject before the sync's check fails.
    max_error_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    # Persons with an erasure request (dbt core.erased_persons): suppressed in every sync.
    erasure_relation: str = "core.erased_persons"
    # DuckDB of one sync run (the diff, the plan, the journal): a memory cap, beyond which
    # it spills to a temporary directory next to the warehouse, and its threads. (The plan
    # needs no sort: above this cap DuckDB only caches more; see bench/RESULTS.md,
    # retlfast2, for 128 to 256 MB at 300k and 1M rows.)
    memory_limit: str = "144MB"
    threads: int = Field(default=2, ge=1)
    # Batches sent and not yet answered at once, one keep-alive connection each: the
    # network wait overlaps reading and journaling the next batches. Receivers see
    # batches concurrently (answers are confirmed in order); 1 sends strictly one by one.
    max_in_flight: int = Field(default=2, ge=1, le=8)


class IngestSettings(BaseModel):
    """Importers and the raw contract (package `ingest`)."""

    # DuckDB memory for one import; it spills to a temporary directory beyond this.
    memory_limit: str = "4GB"
    # Raw data whose newest order/event is older than this is stale (check warns).
    max_age_hours: float = Field(default=48.0, gt=0)


class PullSettings(BaseSettings):
    """The API pulls (package `ingest.pull`): credentials and endpoints under the vendors'
    usual variable names (SHOPIFY_SHOP_URL, SHOPIFY_ACCESS_TOKEN, KLAVIYO_API_KEY,
    KLAVIYO_BASE_URL), or `RW_PULL_<FIELD>`. A pull is configured when its credentials are
    set; the Dagster pull assets exist only then."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    shopify_shop_url: str | None = None  # https://<shop>.myshopify.com
    # Admin API access token (scopes read_orders, read_customers)
    shopify_access_token: SecretStr | None = None
    klaviyo_api_key: SecretStr | None = None  # private key with events:read, metrics:read
    klaviyo_base_url: str = "https://a.klaviyo.com"

    @field_validator("shopify_shop_url", "shopify_access_token", "klaviyo_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `.env.example` lists them empty: an empty value means "not configured"
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def shopify_configured(self) -> bool:
        return bool(self.shopify_shop_url) and self.shopify_access_token is not None

    @property
    def klaviyo_configured(self) -> bool:
        return self.klaviyo_api_key is not None


class OrchestrationSettings(BaseModel):
    """The Dagster deployment: cron strings (in the shop's time zone) and alerts."""

    # Daily warehouse build (dbt) and scoring, early morning before the shop's day starts.
    daily_build_cron: str = "0 5 * * *"
    # Weekly retraining of every model with promotion (Monday night).
    weekly_retrain_cron: str = "0 2 * * 1"
    # Run failures are logged; when this is set they are also POSTed here as JSON (the URL
    # may carry a token, so it is a secret).
    alert_webhook_url: SecretStr | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RW_",
        env_file=".env",
        extra="ignore",
        # RW_ML_MAX_TRAIN_ROWS -> ml.max_train_rows: split once, after the section name.
        env_nested_delimiter="_",
        env_nested_max_split=1,
    )

    # -- Paths -------------------------------------------------------------------------------
    data_dir: Path = Path("data")
    raw_dir: Path | None = None  # data_dir/raw
    truth_dir: Path | None = None  # data_dir/truth
    duckdb_path: Path | None = None  # data_dir/warehouse.duckdb
    artifacts_dir: Path | None = None  # data_dir/ml: model registry and artifacts
    outbox_dir: Path | None = None  # data_dir/outbox: the file destination
    reports_dir: Path | None = None  # data_dir/reports
    syncs_dir: Path = SYNCS_DIR

    # -- Warehouse ---------------------------------------------------------------------------
    # The dbt target (profiles.yml) and the engine Python reads and writes through.
    dbt_target: Target = "duckdb"
    shop_timezone: str = "Europe/Warsaw"
    pg: PostgresSettings = Field(default_factory=PostgresSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)

    # -- Sections ----------------------------------------------------------------------------
    ml: MLSettings = Field(default_factory=MLSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    orchestration: OrchestrationSettings = Field(default_factory=OrchestrationSettings)
    # its own variable names (see PullSettings): read when the section is built
    pull: PullSettings = Field(default_factory=PullSettings)

    @field_validator("shop_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        def absolute(p: Path) -> Path:
            return p if p.is_absolute() else PROJECT_ROOT / p

        self.data_dir = absolute(self.data_dir)
        defaults = {
            "raw_dir": "raw",
            "truth_dir": "truth",
            "duckdb_path": "warehouse.duckdb",
            "artifacts_dir": "ml",
            "outbox_dir": "outbox",
            "reports_dir": "reports",
        }
        for name, leaf in defaults.items():
            value = getattr(self, name)
            setattr(self, name, self.data_dir / leaf if value is None else absolute(value))
        self.syncs_dir = absolute(self.syncs_dir)
        if self.spark.warehouse_dir is None:
            self.spark.warehouse_dir = self.data_dir / "spark-warehouse"
        if self.spark.metastore_dir is None:
            self.spark.metastore_dir = self.data_dir / "spark-metastore"
        return self


def get_settings(**overrides: object) -> Settings:
    """The settings from the environment; keyword arguments win (tests, CLI options)."""
    return Settings(**overrides)
