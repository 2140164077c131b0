"""How dbt resources become Dagster assets: asset groups follow the dbt folders.

    models/staging/**                 -> staging
    models/intermediate/identity/**   -> identity
    models/intermediate/<other>/**    -> marts     (business logic feeding the marts)
    models/marts/core/**              -> marts
    models/marts/segmentation/**      -> segmentation
    models/marts/ml/**                -> ml
    models/marts/sync/**              -> activation
    sources                           -> raw (shop), ml (tables the ml package writes)

Seeds and snapshots outside such folders take the group of the models they feed (seeds) or
read (snapshots), so `identity_blocklist` sits with the identity graph. A model can still pick
its group in dbt with `meta: {dagster: {group: ...}}`.

Source keys: `source('shop', 'orders')` is the asset `raw/orders` (written by the ingest
assets); `source('ml', 'customer_scores')` is `ml/customer_scores` (written by the scoring
asset), so Python and dbt assets form one graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

GROUPS = ("raw", "staging", "identity", "marts", "segmentation", "ml", "activation")

# dbt source name -> asset key prefix
SOURCE_KEY_PREFIX = {"shop": "raw", "ml": "ml"}
SOURCE_GROUP = {"shop": "raw", "ml": "ml"}

_FOLDER_GROUPS: dict[tuple[str, ...], str] = {
    ("staging",): "staging",
    ("intermediate", "identity"): "identity",
    ("intermediate",): "marts",
    ("marts", "segmentation"): "segmentation",
    ("marts", "ml"): "ml",
    ("marts", "sync"): "activation",
    ("marts",): "marts",
    # seeds/snapshots kept in folders named after a group
    ("identity",): "identity",
    ("segmentation",): "segmentation",
    ("ml",): "ml",
    ("sync",): "activation",
    ("activation",): "activation",
}


def group_for_path(folders: Sequence[str]) -> str | None:
    """The group for a resource under `folders` (its fqn without project and name), using the
    longest matching folder prefix; None when no rule matches."""
    folders = tuple(folders)
    for length in range(len(folders), 0, -1):
        group = _FOLDER_GROUPS.get(folders[:length])
        if group:
            return group
    return None


def _explicit_group(props: Mapping[str, Any]) -> str | None:
    meta = props.get("meta") or props.get("config", {}).get("meta") or {}
    return (meta.get("dagster") or {}).get("group")


class RetentionDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True,  # dbt data tests -> asset checks
                enable_code_references=True,  # "open source" links in the UI
            )
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source = dbt_resource_props["source_name"]
            prefix = SOURCE_KEY_PREFIX.get(source, source)
            return dg.AssetKey([prefix, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        explicit = _explicit_group(dbt_resource_props)
        if explicit:
            return explicit
        if dbt_resource_props["resource_type"] == "source":
            return SOURCE_GROUP.get(dbt_resource_props["source_name"], "raw")
        fqn = dbt_resource_props.get("fqn") or []
        return group_for_path(fqn[1:-1])

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.group_name is None or spec.group_name == "default":
            group = self._inherited_group(manifest, unique_id, project)
            spec = spec.replace_attributes(group_name=group)
        return spec

    def _inherited_group(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> str:
        """Seeds take the earliest group among the models they feed, snapshots the group of
        what they read; anything else unmatched lands in marts."""
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "seed":
            neighbours = manifest.get("child_map", {}).get(unique_id, [])
        else:
            neighbours = manifest.get("parent_map", {}).get(unique_id, [])
        groups = []
        for neighbour in neighbours:
            if neighbour.split(".")[0] not in ("model", "snapshot", "seed"):
                continue
            neighbour_props = self.get_resource_props(manifest, neighbour)
            group = _explicit_group(neighbour_props) or group_for_path(neighbour_props["fqn"][1:-1])
            if group:
                groups.append(group)
        if not groups:
            return "marts"
        return min(groups, key=GROUPS.index)
