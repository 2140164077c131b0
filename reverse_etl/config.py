"""Sync declarations (YAML) and runtime settings.

A sync is one YAML document (one file per sync, or a file with a top-level ``syncs:`` list).
Everything is validated on load; errors name the file and the field, never the value (values
may be secrets pasted by mistake).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from reverse_etl.destinations import destination_class, destination_configs
from reverse_etl.destinations.base import MODE_OPS, SyncConfigError
from warehouse.settings import get_settings

Mode = Literal["upsert", "update", "mirror", "list", "gdpr_delete"]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RELATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# One discriminated union over every registered destination's config model (each
# destination module declares its own; see reverse_etl/destinations/__init__.py).
Destination = Annotated[Union[destination_configs()], Field(discriminator="type")]  # noqa: UP007


class ConsentRule(_Strict):
    """Rows whose ``column`` is not true are never sent to this destination."""

    column: str
    channel: Literal["email", "sms", "push", "any"] = "email"


class HoldoutRule(_Strict):
    """Holdout members are excluded, or sent with a boolean attribute."""

    column: str
    policy: Literal["exclude", "attribute"] = "exclude"
    attribute: str = "is_holdout"


class Owner(_Strict):
    """Who answers for a sync (the dbt exposure's owner)."""

    name: str = "Data team"
    email: str = "data@example.com"


class SyncConfig(_Strict):
    name: str
    label: str = ""  # short title (dbt exposure label); defaults to the name
    description: str = ""
    owner: Owner = Field(default_factory=Owner)
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
        d.check_mode(self.mode)
        missing = MODE_OPS[self.mode] - destination_class(d.type).ops
        if missing:
            raise ValueError(f"destination {d.type} does not support mode {self.mode!r}")
        if self.mode == "list" and self.consent is None:
            raise ValueError(
                "mode 'list' sends people to a marketing list: 'consent' (column) is required"
            )
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
