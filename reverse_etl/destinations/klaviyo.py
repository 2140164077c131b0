"""Klaviyo (JSON:API, ``revision`` header).

- upsert / list_add: ``POST /api/profile-bulk-import-jobs`` (up to 10,000 profiles, 5 MB), then
  poll ``GET /api/profile-bulk-import-jobs/{job_id}`` until ``complete`` and read per-profile
  failures from ``GET /api/profile-bulk-import-jobs/{job_id}/import-errors``. For a list sync
  the job carries ``relationships.lists`` so the imported profiles join the list.
- list_remove: ids via ``GET /api/profiles?filter=any(email,[...])``, then
  ``DELETE /api/lists/{id}/relationships/profiles`` (up to 1,000 per call).
- gdpr_delete: ``POST /api/data-privacy-deletion-jobs``, one profile per request.
- Nulls: Klaviyo clears a field sent as ``null`` and leaves an omitted field unchanged, so
  ``null_policy: clear`` sends ``null`` and ``skip`` omits the key.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from reverse_etl.destinations.base import (
    GDPR_DELETE,
    LIST_ADD,
    LIST_REMOVE,
    UPSERT,
    BatchRejectedError,
    DestinationConfig,
    HttpDestination,
    Row,
    RowResult,
    TransientError,
    nest,
    register,
    secret_from_env,
    struct_sql,
)

STANDARD = {
    "email",
    "phone_number",
    "external_id",
    "first_name",
    "last_name",
    "organization",
    "locale",
    "title",
    "image",
    "location",
    "properties",
}
_POINTER = re.compile(r"^/data/attributes/profiles/data/(\d+)")
JSONAPI = "application/vnd.api+json"


_KEYS: dict[str, str] = {}


def profile_attributes(payload: dict[str, Any], null_policy: str) -> dict[str, Any]:
    """Dotted payload -> Klaviyo profile attributes (unknown top-level keys -> properties)."""
    fixed: dict[str, Any] = {}
    for key, value in payload.items():
        target = _KEYS.get(key)
        if target is None:
            target = _KEYS[key] = key if key.split(".", 1)[0] in STANDARD else f"properties.{key}"
        fixed[target] = value
    return nest(fixed, null_policy)


def _klaviyo_target(key: str) -> str:
    return key if key.split(".", 1)[0] in STANDARD else f"properties.{key}"


class KlaviyoConfig(DestinationConfig):
    membership_objects: ClassVar[frozenset[str]] = frozenset({"list"})

    type: Literal["klaviyo"]
    object: Literal["profiles", "list"] = "profiles"
    list_id: str | None = None
    api_key_env: str = "KLAVIYO_API_KEY"
    revision: str = "2026-07-15"
    poll_interval_s: float = Field(default=1.0, ge=0)
    poll_timeout_s: float = Field(default=600.0, gt=0)

    def check_mode(self, mode: str) -> None:
        super().check_mode(mode)
        if self.object == "list" and not self.list_id:
            raise ValueError("destination.list_id is required for object 'list'")


@register
class Klaviyo(HttpDestination):
    config = KlaviyoConfig
    max_batch = 10_000
    default_rps = 10.0  # bulk import burst 10/s, steady 150/m
    default_base_url = "https://a.klaviyo.com"
    ops = frozenset({UPSERT, LIST_ADD, LIST_REMOVE, GDPR_DELETE})

    def __init__(self, sync: Any, ctx: Any) -> None:
        cfg = sync.destination
        self._key = secret_from_env(cfg.api_key_env)
        super().__init__(
            sync,
            ctx,
            headers={
                "Authorization": f"Klaviyo-API-Key {self._key.get_secret_value()}",
                "revision": cfg.revision,
                "Accept": JSONAPI,
            },
            secrets=[self._key.get_secret_value()],
        )

    @classmethod
    def record_sql(cls, op: str, targets: list[str], null_policy: str) -> str | None:
        """The bulk-import profile object rendered by DuckDB (to_json keeps nulls, which is
        Klaviyo's 'clear this field'; with null_policy skip Python builds it instead)."""
        if op not in (UPSERT, LIST_ADD) or null_policy != "clear" or not targets:
            return None
        tree: dict[str, Any] = {}
        for i, key in enumerate(targets):
            node = tree
            path = _klaviyo_target(key).split(".")
            for part in path[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    return None  # a key is both a value and a parent: let Python decide
            node[path[-1]] = f"f{i}"
        return (
            'to_json(struct_pack("type" := \'profile\', "attributes" := ' + struct_sql(tree) + "))"
        )

    def op_batch_size(self, op: str) -> int:
        if op == GDPR_DELETE:
            return 1
        if op == LIST_REMOVE:
            return min(self.batch_size, 1000)
        return self.batch_size

    def calls_for(self, op: str, n_rows: int) -> int:
        batches = super().calls_for(op, n_rows)
        if op in (UPSERT, LIST_ADD):
            return batches * 3  # create job + >=1 poll + import-errors (when failures)
        if op == LIST_REMOVE:
            return batches + -(-n_rows // 100)  # id look-ups (100 per page) + delete
        return batches

    def quota_note(self) -> str:
        return "bulk import: burst 10/s, steady 150/m; list relationships: 10/s; deletion: 3/s"

    def _post(self, path: str, body: dict[str, Any]):
        return self.http.request(
            "POST",
            path,
            content=json.dumps(body, separators=(",", ":"), default=str).encode(),
            headers={"Content-Type": JSONAPI},
        )

    def deliver(self, op: str, rows: list[Row]) -> list[RowResult]:
        if op in (UPSERT, LIST_ADD):
            return self._bulk_import(rows, list_id=self.cfg.list_id if op == LIST_ADD else None)
        if op == LIST_REMOVE:
            return self._list_remove(rows)
        if op == GDPR_DELETE:
            return [self._gdpr_delete(r) for r in rows]
        raise ValueError(f"klaviyo does not support op {op}")

    # -- bulk import -------------------------------------------------------------------
    def _bulk_import(self, rows: list[Row], list_id: str | None) -> list[RowResult]:
        data: dict[str, Any] = {
            "type": "profile-bulk-import-job",
            "attributes": {"profiles": {"data": "__PROFILES__"}},
        }
        if list_id:
            data["relationships"] = {"lists": {"data": [{"type": "list", "id": list_id}]}}
        if all(r.record_json is not None for r in rows):
            profiles_json = "[" + ",".join(r.record_json for r in rows) + "]"  # from DuckDB
        else:
            profiles_json = json.dumps(
                [
                    {
                        "type": "profile",
                        "attributes": profile_attributes(r.payload, self.sync.null_policy),
                    }
                    for r in rows
                ],
                separators=(",", ":"),
                default=str,
            )
        envelope = json.dumps({"data": data}, separators=(",", ":"))
        body = envelope.replace('"__PROFILES__"', profiles_json, 1).encode()
        resp = self.http.request(
            "POST",
            "/api/profile-bulk-import-jobs",
            content=body,
            headers={"Content-Type": JSONAPI},
        )
        if resp.status_code != 202:
            raise BatchRejectedError(f"HTTP {resp.status_code}: {self._errors(resp)}")
        job_id = resp.json()["data"]["id"]
        job = self._wait(job_id)
        failed: dict[int, str] = {}
        if job["attributes"].get("status") == "cancelled":
            raise TransientError(f"bulk import job {job_id} was cancelled")
        if job["attributes"].get("failed_count"):
            failed = self._import_errors(job_id, rows)
        return [
            RowResult(r.pk, False, reason=failed[i]) if i in failed else RowResult(r.pk, True)
            for i, r in enumerate(rows)
        ]

    def _wait(self, job_id: str) -> dict[str, Any]:
        clock = self.ctx.clock
        waited, interval = 0.0, max(self.cfg.poll_interval_s / 10, 0.0)
        while True:
            resp = self.http.request("GET", f"/api/profile-bulk-import-jobs/{job_id}")
            if resp.status_code != 200:
                raise TransientError(f"job {job_id}: HTTP {resp.status_code}")
            job = resp.json()["data"]
            if job["attributes"]["status"] in ("complete", "cancelled"):
                return job
            if waited > self.cfg.poll_timeout_s:
                raise TransientError(f"job {job_id} still {job['attributes']['status']}")
            clock.sleep(interval)
            waited += interval
            interval = min(max(interval * 2, 0.05), self.cfg.poll_interval_s or 0.05)

    def _import_errors(self, job_id: str, rows: list[Row]) -> dict[int, str]:
        by_email = {str(r.payload.get("email") or "").lower(): i for i, r in enumerate(rows)}
        failed: dict[int, str] = {}
        path: str | None = f"/api/profile-bulk-import-jobs/{job_id}/import-errors"
        while path:
            resp = self.http.request("GET", path)
            if resp.status_code != 200:
                raise TransientError(f"import-errors {job_id}: HTTP {resp.status_code}")
            body = resp.json()
            for err in body.get("data", []):
                attrs = err["attributes"]
                idx = None
                m = _POINTER.match((attrs.get("source") or {}).get("pointer") or "")
                if m:
                    idx = int(m.group(1))
                else:
                    original = attrs.get("original_payload") or {}
                    email = str(original.get("email") or "").lower()
                    idx = by_email.get(email)
                if idx is not None and idx < len(rows):
                    failed[idx] = f"{attrs.get('code')}: {attrs.get('detail')}"[:500]
            nxt = (body.get("links") or {}).get("next")
            path = nxt.split("://", 1)[-1].split("/", 1)[-1] if nxt else None
            path = "/" + path if path and not path.startswith("/") else path
        return failed

    # -- list removal ------------------------------------------------------------------
    def _lookup_ids(self, rows: list[Row]) -> dict[str, str]:
        ids: dict[str, str] = {}
        need = [r for r in rows if not r.dest_id and r.payload.get("email")]
        for i in range(0, len(need), 100):
            chunk = need[i : i + 100]
            emails = ",".join(json.dumps(str(r.payload["email"])) for r in chunk)
            resp = self.http.request(
                "GET",
                "/api/profiles",
                params={
                    "filter": f"any(email,[{emails}])",
                    "page[size]": "100",
                    "fields[profile]": "email",
                },
            )
            if resp.status_code != 200:
                raise BatchRejectedError(
                    f"profile look-up HTTP {resp.status_code}: {self._errors(resp)}"
                )
            for prof in resp.json().get("data", []):
                ids[str(prof["attributes"].get("email", "")).lower()] = prof["id"]
        return ids

    def _list_remove(self, rows: list[Row]) -> list[RowResult]:
        ids = self._lookup_ids(rows)
        members = []
        for r in rows:
            pid = r.dest_id or ids.get(str(r.payload.get("email") or "").lower())
            if pid:
                members.append({"type": "profile", "id": pid})
        if members:
            resp = self.http.request(
                "DELETE",
                f"/api/lists/{self.cfg.list_id}/relationships/profiles",
                content=json.dumps({"data": members}).encode(),
                headers={"Content-Type": JSONAPI},
            )
            if resp.status_code != 204:
                raise BatchRejectedError(f"HTTP {resp.status_code}: {self._errors(resp)}")
        # A profile Klaviyo does not know is not on the list: removal is confirmed.
        return [RowResult(r.pk, True) for r in rows]

    def _gdpr_delete(self, row: Row) -> RowResult:
        attrs = {k: row.payload[k] for k in ("email", "phone_number") if row.payload.get(k)}
        if not attrs:
            return RowResult(row.pk, False, reason="no email or phone_number to delete by")
        if len(attrs) > 1:  # Klaviyo refuses more than one identifier
            attrs = {"email": attrs["email"]}
        body = {
            "data": {
                "type": "data-privacy-deletion-job",
                "attributes": {"profile": {"data": {"type": "profile", "attributes": attrs}}},
            }
        }
        resp = self._post("/api/data-privacy-deletion-jobs", body)
        if resp.status_code == 202:
            return RowResult(row.pk, True)
        return RowResult(row.pk, False, reason=f"HTTP {resp.status_code}: {self._errors(resp)}")

    def _errors(self, resp) -> str:
        try:
            errs = resp.json().get("errors", [])
            return "; ".join(f"{e.get('code')}: {e.get('detail')}" for e in errs)[:500]
        except ValueError:
            return self.error_text(resp)
