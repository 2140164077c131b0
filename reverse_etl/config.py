"""Sync declarations (YAML) and runtime settings.

A sync is one YAML document (one file per sync, or a file with a top-level ``syncs:`` list).
Everything is validated on load; errors name the file and the field, never the value (values
may be secrets pasted by mistake).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from warehouse.settings import get_settings

Mode = Literal["upsert", "update", "mirror", "list", "gdpr_delete"]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RELATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class SyncConfigError(ValueError):
    """A sync file failed validation. The message names the file and the field."""


def secret_from_env(env_name: str) -> SecretStr:
    """Read a secret from the environment. The error names the variable, never a value."""
    value = os.environ.get(env_name)
    if not value:
        raise SyncConfigError(f"environment variable {env_name} is not set (secret)")
    return SecretStr(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _DestinationBase(_Strict):
    base_url: str | None = None
    batch_size: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=50)
    requests_per_second: float | None = Field(default=None, gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://", v):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v


class _SecretEnvMixin(BaseModel):
    @field_validator("*", mode="after")
    @classmethod
    def _env_names(cls, v: Any, info: Any) -> Any:
        if info.field_name.endswith("_env") and isinstance(v, str) and not _ENV.match(v):
            raise ValueError("must be the NAME of an environment variable (A-Z, 0-9, _)")
        return v


class FileDestination(_DestinationBase):
    type: Literal["file"]
    directory: str | None = None  # default: settings.outbox_dir
    object: str = "records"


class WebhookDestination(_DestinationBase, _SecretEnvMixin):
    type: Literal["webhook"]
    url: str
    secret_env: str = "WEBHOOK_SECRET"
    object: str = "records"


class KlaviyoDestination(_DestinationBase, _SecretEnvMixin):
    type: Literal["klaviyo"]
    object: Literal["profiles", "list"] = "profiles"
    list_id: str | None = None
    api_key_env: str = "KLAVIYO_API_KEY"
    revision: str = "2026-07-15"
    poll_interval_s: float = Field(default=1.0, ge=0)
    poll_timeout_s: float = Field(default=600.0, gt=0)


class HubSpotDestination(_DestinationBase, _SecretEnvMixin):
    type: Literal["hubspot"]
    object: Literal["contacts", "list"] = "contacts"
    list_id: str | None = None
    token_env: str = "HUBSPOT_ACCESS_TOKEN"


class SalesManagoDestination(_DestinationBase, _SecretEnvMixin):
    type: Literal["salesmanago"]
    object: Literal["contacts", "tag"] = "contacts"
    tag: str | None = None
    client_id: str
    owner: str
    api_key_env: str = "SALESMANAGO_API_KEY"
    api_secret_env: str = "SALESMANAGO_API_SECRET"


class BrazeDestination(_DestinationBase, _SecretEnvMixin):
    type: Literal["braze"]
    object: Literal["users"] = "users"
    api_key_env: str = "BRAZE_API_KEY"


Destination = Annotated[
    FileDestination
    | WebhookDestination
    | KlaviyoDestination
    | HubSpotDestination
    | SalesManagoDestination
    | BrazeDestination,
    Field(discriminator="type"),
]


class ConsentRule(_Strict):
    """Rows whose ``column`` is not true are never sent to this destination."""

    column: str
    channel: Literal["email", "sms", "push", "any"] = "email"


class HoldoutRule(_Strict):
    """Holdout members are excluded, or sent with a boolean attribute."""

    column: str
    policy: Literal["exclude", "attribute"] = "exclude"
    attribute: str = "is_holdout"


class SyncConfig(_Strict):
    name: str
    description: str = ""
    source: str
    primary_key: str
    destination: Destination
    mode: Mode = "upsert"
    fields: dict[str, str] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)
    null_policy: Literal["clear", "skip"] = "clear"
    consent: ConsentRule | None = None
    holdout: HoldoutRule | None = None
    schedule: str | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _IDENT.match(v):
            raise ValueError("must be an identifier (letters, digits, underscore)")
        return v

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if not _RELATION.match(v):
            raise ValueError("must be a relation name like dim_customers or schema.table")
        return v

    @field_validator("primary_key")
    @classmethod
    def _pk(cls, v: str) -> str:
        if not _IDENT.match(v):
            raise ValueError("must be a column name")
        return v

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: dict[str, str]) -> dict[str, str]:
        for target, column in v.items():
            if not re.match(r"^[A-Za-z_$][A-Za-z0-9_.$ -]*$", target):
                raise ValueError(f"bad destination field name {target!r}")
            if not _IDENT.match(column):
                raise ValueError(f"source of {target!r} must be a column name")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> SyncConfig:
        d = self.destination
        obj = getattr(d, "object", None)
        listish = obj in ("list", "tag")
        if self.mode == "list" and not listish and d.type not in ("file", "webhook"):
            raise ValueError(f"mode 'list' needs destination.object list/tag (got {obj!r})")
        if listish and self.mode not in ("list", "gdpr_delete"):
            raise ValueError("a list/tag destination object needs mode 'list'")
        if d.type in ("klaviyo", "hubspot") and obj == "list" and not d.list_id:
            raise ValueError("destination.list_id is required for object 'list'")
        if d.type == "salesmanago" and obj == "tag" and not d.tag:
            raise ValueError("destination.tag is required for object 'tag'")
        if self.mode == "list" and self.consent is None:
            raise ValueError(
                "mode 'list' sends people to a marketing list: 'consent' (column) is required"
            )
        unsupported = {
            ("klaviyo", "update"),
            ("klaviyo", "mirror"),
        }
        if (d.type, self.mode) in unsupported:
            raise ValueError(f"destination {d.type} does not support mode {self.mode!r}")
        for col in self.required:
            if col not in self.fields.values() and col != self.primary_key:
                raise ValueError(f"required column {col!r} is not mapped in fields")
        return self

    def fingerprint(self) -> str:
        """Hash of everything that shapes the payload: a change forces a resend."""
        relevant = {
            "fields": sorted(self.fields.items()),
            "null_policy": self.null_policy,
            "holdout": self.holdout.model_dump() if self.holdout else None,
            "destination": {
                "type": self.destination.type,
                "object": getattr(self.destination, "object", None),
                "list_id": getattr(self.destination, "list_id", None),
                "tag": getattr(self.destination, "tag", None),
            },
            "mode": self.mode,
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def _format_errors(path: Path, prefix: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        lines.append(f"{path}: {loc}: {err['msg']}")
    return "\n".join(lines)


def load_sync_file(path: Path) -> list[SyncConfig]:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SyncConfigError(f"{path}: invalid YAML: {exc}") from None
    if doc is None:
        return []
    if isinstance(doc, dict) and "syncs" in doc:
        items = doc["syncs"]
        if not isinstance(items, list):
            raise SyncConfigError(f"{path}: syncs: must be a list")
        prefixes = [f"syncs[{i}]" for i in range(len(items))]
    else:
        items, prefixes = [doc], [""]
    out = []
    for item, prefix in zip(items, prefixes, strict=True):
        if not isinstance(item, dict):
            raise SyncConfigError(f"{path}: {prefix or 'document'}: must be a mapping")
        try:
            out.append(SyncConfig.model_validate(item))
        except ValidationError as exc:
            raise SyncConfigError(_format_errors(path, prefix, exc)) from None
    return out


def load_syncs(directory: Path | None = None) -> dict[str, SyncConfig]:
    directory = Path(directory or get_settings().syncs_dir)
    syncs: dict[str, SyncConfig] = {}
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    for path in files:
        for sync in load_sync_file(path):
            if sync.name in syncs:
                raise SyncConfigError(f"{path}: name: duplicate sync name {sync.name!r}")
            syncs[sync.name] = sync
    return syncs
