"""Settings for the ml package: where the warehouse and the model artifacts live, seeds, sizes.

Every value can be overridden by an environment variable with the `RW_` prefix (or `.env`):
`RW_DUCKDB_PATH`, `RW_ARTIFACTS_DIR`, `RW_ML_MAX_TRAIN_ROWS`, ... Relative paths resolve
against the project root. Artifacts (pickled pipelines, metrics, model cards, plots) are
kept out of git under `data/ml/` by default.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class MLSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RW_", env_file=".env", extra="ignore")

    duckdb_path: Path = Path("data/warehouse.duckdb")
    artifacts_dir: Path = Path("data/ml")

    # Warehouse relations. dbt builds the feature/label tables (models/marts/ml/); the ml
    # package writes its own tables to `scores_schema`.
    features_table: str = "ml_customer_features"
    training_table: str = "ml_training_set"
    scores_schema: str = "ml"

    seed: int = 42
    # Rows per model fitted (deterministic hash sample beyond this); keeps 1M-customer
    # training inside the time budget with no measurable loss in accuracy.
    ml_max_train_rows: int = Field(default=250_000, ge=1_000)
    # The same cap for each backtest fold's training rows (15 fits per run) and test rows.
    ml_backtest_max_train_rows: int = Field(default=100_000, ge=1_000)
    ml_backtest_max_test_rows: int = Field(default=300_000, ge=1_000)
    # Rows of the stacked training set loaded into memory: beyond this, a deterministic
    # sample of persons (all their cutoffs) is read, keeping memory flat at any shop size.
    ml_max_load_rows: int = Field(default=3_000_000, ge=10_000)
    # Backtest: how many of the latest usable cutoffs each model is tested on.
    ml_backtest_folds: int = Field(default=3, ge=1)
    # Churn is modelled for customers with a paid order within this many days before the cutoff.
    ml_churn_active_days: int = 365
    # Promotion gate: a candidate may be at most this much worse than the champion on the
    # main metric (0 = must not be worse at all).
    ml_promotion_tolerance: float = 0.0
    # Drift: PSI above this is flagged (0.1 = watch, 0.25 = significant shift by convention).
    ml_psi_alert: float = 0.25
    ml_max_iter: int = 200
    ml_learning_rate: float = 0.08

    def resolved(self) -> MLSettings:
        def fix(p: Path) -> Path:
            return p if p.is_absolute() else PROJECT_ROOT / p

        return self.model_copy(
            update={"duckdb_path": fix(self.duckdb_path), "artifacts_dir": fix(self.artifacts_dir)}
        )


def settings(**overrides) -> MLSettings:
    return MLSettings(**overrides).resolved()
