"""Credentials and endpoints of the pulls (environment or `.env`; secrets as SecretStr)."""

from __future__ import annotations

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PullSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    shopify_shop_url: str | None = None  # https://<shop>.myshopify.com
    shopify_access_token: SecretStr | None = None  # Admin API access token (read_orders,
    # read_customers)
    klaviyo_api_key: SecretStr | None = None  # private key with events:read, metrics:read
    klaviyo_base_url: str = "https://a.klaviyo.com"

    @field_validator("shopify_shop_url", "shopify_access_token", "klaviyo_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `.env.example` lists them empty: an empty value means "not configured"
        return None if isinstance(value, str) and not value.strip() else value
