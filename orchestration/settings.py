"""Operational settings of the Dagster deployment: shop time zone, cron strings, check limits.

Every value can be overridden by an environment variable with the `RW_` prefix (or `.env`),
e.g. `RW_SHOP_TIMEZONE=America/New_York`. Locations and secrets are not here: they are
Dagster resources read with `EnvVar` (see `orchestration/resources.py`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrchestrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RW_", env_file=".env", extra="ignore")

    # -- Schedules (cron strings are evaluated in the shop's time zone) --------------------
    shop_timezone: str = "Europe/Warsaw"
    # Daily warehouse build (dbt) and scoring, early morning before the shop's day starts.
    daily_build_cron: str = "0 5 * * *"
    # Weekly retraining of every model with promotion (Monday night).
    weekly_retrain_cron: str = "0 2 * * 1"

    # -- Asset checks ----------------------------------------------------------------------
    # A champion classifier whose backtest ROC AUC is below this fails its quality check.
    ml_min_auc: float = Field(default=0.6, ge=0.5, le=1.0)
    # Share of sent rows the destination may reject before the sync's check fails.
    sync_max_error_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    # Raw data whose newest order/event is older than this is stale (check warns).
    raw_max_age_hours: float = Field(default=48.0, gt=0)

    # -- Alerts ----------------------------------------------------------------------------
    # Run failures are logged; when this is set they are also POSTed here as JSON.
    alert_webhook_url: str | None = None

    @field_validator("shop_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value


def settings() -> OrchestrationSettings:
    return OrchestrationSettings()
