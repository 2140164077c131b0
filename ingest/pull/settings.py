"""Credentials and endpoints of the pulls (environment or `.env`; secrets as SecretStr)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PullSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    shopify_shop_url: str | None = None  # https://<shop>.myshopify.com
    shopify_access_token: SecretStr | None = None  # Admin API access token (read_orders,
    # read_customers)
    klaviyo_api_key: SecretStr | None = None  # private key with events:read, metrics:read
    klaviyo_base_url: str = "https://a.klaviyo.com"
