"""Klaviyo (JSON:API, ``revision`` header).

- upsert / list_add: ``POST /api/profile-bulk-import-jobs`` (up to 10,000 profiles, 5 MB), then
  poll ``GET /api/profile-bulk-import-jobs/{job_id}`` until ``complete`` and read per-profile
  failures from ``GET /api/profile-bulk-import-jobs/{job_id}/import-errors``. For a list sync
  the job carries ``relationships.lists`` so the imported profiles join the list.
- list_remove: ids via ``GET /api/profiles?filter=any(email,[...])``, then
  ``DELETE /api/lists/{id}/relationships/profiles`` (up to 1,000 per call).
- unsubscribe (consent withdrawn): ``POST /api/profile-suppression-bulk-create-jobs``
  (100 emails each), after the list removal for a list sync.
- gdpr_delete: ``POST /api/data-privacy-deletion-jobs``, one profile per request.
- merge (a person merged into another, ``merges.py``): both profile ids by email, then
  ``POST /api/profile-merge`` (the survivor's profile as ``data.id``, the merged one under
  ``relationships.profiles``); Klaviyo deletes the source profile. A source profile no longer
  found by its address was merged already (a run that died after sending it).
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
    MERGE,
    UNSUBSCRIBE,
    UPSERT,
    DestinationConfig,
    HttpDestination,
    Row,
    RowBatch,
    RowResult,
    TransientError,
    batch_error,
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
MAX_BODY_BYTES = 5 * 1024 * 1024  # bulk import request cap


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

    def check(self, sync: Any) -> None:
        super().check(sync)
        if self.object == "list" and not self.list_id:
            raise ValueError("destination.list_id is required for object 'list'")


@register
class Klaviyo(HttpDestination):
    config = KlaviyoConfig
    keyed_by_email = True
    max_batch = 10_000
    default_rps = 10.0
    # x-klaviyo-ratelimit of each operation in Klaviyo's OpenAPI document (revision
    # 2026-07-15): burst per second and steady per minute; test_vendor_fidelity checks this
    # table against the spec
    endpoint_limits = tuple(
        (method, pattern, ((burst, 1), (steady, 60)))
        for method, pattern, burst, steady in (
            ("POST", r"^/api/profile-bulk-import-jobs$", 10, 150),
            ("GET", r"^/api/profile-bulk-import-jobs/[^/]+$", 10, 150),
            ("GET", r"^/api/profile-bulk-import-jobs/[^/]+/import-errors$", 10, 150),
            ("GET", r"^/api/profiles$", 75, 750),
            ("GET", r"^/api/lists/[^/]+/profiles$", 75, 750),
            ("POST", r"^/api/lists/[^/]+/relationships/profiles$", 10, 150),
            ("DELETE", r"^/api/lists/[^/]+/relationships/profiles$", 10, 150),
            ("POST", r"^/api/profile-suppression-bulk-create-jobs$", 75, 750),
            ("POST", r"^/api/data-privacy-deletion-jobs$", 3, 60),
            ("POST", r"^/api/profile-merge$", 10, 150),
        )
    )
    default_base_url = "https://a.klaviyo.com"
    # a bulk import reads the rendered profile and the key of each row, nothing else
    record_is_complete = True
    ops = frozenset({UPSERT, LIST_ADD, LIST_REMOVE, GDPR_DELETE, UNSUBSCRIBE, MERGE})

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
        if op == UNSUBSCRIBE:
            return min(self.batch_size, 100)  # suppression jobs: 100 emails per request
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
        if op == UNSUBSCRIBE:
            return self._suppress(rows)
        raise ValueError(f"klaviyo does not support op {op}")

    # -- bulk import -------------------------------------------------------------------
    def _bulk_import(self, rows: list[Row], list_id: str | None) -> list[RowResult]:
        data: dict[str, Any] = {
            "type": "profile-bulk-import-job",
            "attributes": {"profiles": {"data": "__PROFILES__"}},
        }
        if list_id:
            data["relationships"] = {"lists": {"data": [{"type": "list", "id": list_id}]}}
        if isinstance(rows, RowBatch):  # rendered by DuckDB: no Row per row
            pks = rows.column("__pk")
            profiles_json = "[" + ",".join(rows.column("__record")) + "]"
        elif all(r.record_json is not None for r in rows):
            pks = [r.pk for r in rows]
            profiles_json = "[" + ",".join(r.record_json for r in rows) + "]"  # from DuckDB
        else:
            pks = [r.pk for r in rows]
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
        if len(body) > MAX_BODY_BYTES and len(rows) > 1:
            # Klaviyo refuses a request over 5 MB (413): two jobs of half the rows each
            mid = len(rows) // 2
            return self._bulk_import(rows[:mid], list_id) + self._bulk_import(rows[mid:], list_id)
        resp = self.http.request(
            "POST",
            "/api/profile-bulk-import-jobs",
            content=body,
            headers={"Content-Type": JSONAPI},
        )
        if resp.status_code != 202:
            raise batch_error(resp.status_code, f"HTTP {resp.status_code}: {self._errors(resp)}")
        job_id = resp.json()["data"]["id"]
        if self.ctx.on_job is not None:
            self.ctx.on_job(job_id, pks)
        return self._outcome(job_id, self._wait(job_id), rows, pks)

    def _outcome(
        self, job_id: str, job: dict[str, Any], rows: list[Row], pks: list[str] | None = None
    ) -> list[RowResult]:
        failed: dict[int, str] = {}
        if job["attributes"].get("status") == "cancelled":
            raise TransientError(f"bulk import job {job_id} was cancelled")
        if pks is None:
            pks = [r.pk for r in rows]
        failed_count = int(job["attributes"].get("failed_count") or 0)
        if failed_count:
            failed = self._import_errors(job_id, rows)
        if failed_count > len(failed):
            # Klaviyo counted failures it did not attribute: no row of this job can be called
            # delivered for sure, so none is confirmed (the next run re-sends; an upsert)
            reason = f"job {job_id}: failed_count {failed_count} > {len(failed)} errors matched"
            return [RowResult(pk, False, reason=failed.get(i, reason)) for i, pk in enumerate(pks)]
        return [
            RowResult(pk, False, reason=failed[i]) if i in failed else RowResult(pk, True)
            for i, pk in enumerate(pks)
        ]

    def resume(self, op: str, job_id: str, rows: list[Row]) -> list[RowResult] | None:
        if op not in (UPSERT, LIST_ADD):
            return None
        probe = self.http.request("GET", f"/api/profile-bulk-import-jobs/{job_id}")
        if probe.status_code == 404:
            return None  # expired or never created: send the rows again
        job = self._wait(job_id)
        if job["attributes"].get("status") == "cancelled":
            return None
        return self._outcome(job_id, job, rows)

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
        params: dict[str, str] | None = {"page[size]": "100"}  # the spec's maximum
        while path:
            resp = self.http.request("GET", path, params=params)
            params = None  # the next link carries the cursor and the size
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

    # -- read back (reconcile) -------------------------------------------------------------
    def read_back(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """List sync: every member (``GET /api/lists/{id}/profiles``, 100 per page);
        profiles sync: the profiles of ``keys``, emails (``GET /api/profiles`` filtered by email,
        100 per call)."""
        found: dict[str, dict[str, Any]] = {}
        if self.cfg.object == "list":
            self._read_pages(f"/api/lists/{self.cfg.list_id}/profiles", {}, found)
            return found
        for i in range(0, len(keys), 100):
            chunk = ",".join(json.dumps(e) for e in keys[i : i + 100])
            self._read_pages("/api/profiles", {"filter": f"any(email,[{chunk}])"}, found)
        return found

    def _read_pages(self, path: str, params: dict[str, str], found: dict) -> None:
        fields = self.payload_keys()
        nxt: str | None = path
        query: dict[str, str] | None = {**params, "page[size]": "100"}
        while nxt:
            resp = self.http.request("GET", nxt, params=query)
            query = None  # the next link carries the cursor
            if resp.status_code != 200:
                raise batch_error(
                    resp.status_code, f"read {path} HTTP {resp.status_code}: {self._errors(resp)}"
                )
            body = resp.json()
            for prof in body.get("data", []):
                attrs = prof.get("attributes") or {}
                email = str(attrs.get("email") or "").lower()
                if not email:
                    continue
                view: dict[str, Any] = {"__id": prof["id"]}
                for key in fields:
                    node: Any = attrs
                    for part in _klaviyo_target(key).split("."):
                        node = node.get(part) if isinstance(node, dict) else None
                    view[key] = node
                found[email] = view
            nxt = self._next_path((body.get("links") or {}).get("next"))

    def merge(self, pairs: list[Any]) -> list[RowResult]:
        people = {
            e: Row(e, "", {"email": e})
            for p in pairs
            for e in (p.previous_email, p.survivor_email)
            if e
        }
        ids = self._lookup_ids(list(people.values()))
        out = []
        for p in pairs:
            src, dst = ids.get(p.previous_email or ""), ids.get(p.survivor_email or "")
            if dst is None:
                out.append(RowResult(p.previous_pk, False, reason="survivor profile not found"))
                continue
            if src is None or src == dst:  # merged already, or one profile all along
                out.append(RowResult(p.previous_pk, True, dest_id=dst))
                continue
            resp = self.http.request(
                "POST",
                "/api/profile-merge",
                content=json.dumps(
                    {
                        "data": {
                            "type": "profile-merge",
                            "id": dst,
                            "relationships": {
                                "profiles": {"data": [{"type": "profile", "id": src}]}
                            },
                        }
                    }
                ).encode(),
                headers={"Content-Type": JSONAPI},
            )
            if resp.status_code in (200, 201, 202):
                out.append(RowResult(p.previous_pk, True, dest_id=dst))
            elif resp.status_code in (401, 403):
                raise batch_error(resp.status_code, f"merge HTTP {resp.status_code}")
            else:
                reason = f"merge HTTP {resp.status_code}: {self._errors(resp)}"
                out.append(RowResult(p.previous_pk, False, reason=reason))
        return out

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
                raise batch_error(
                    resp.status_code,
                    f"profile look-up HTTP {resp.status_code}: {self._errors(resp)}",
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
                raise batch_error(
                    resp.status_code, f"HTTP {resp.status_code}: {self._errors(resp)}"
                )
        # A profile Klaviyo does not know is not on the list: removal is confirmed.
        return [RowResult(r.pk, True) for r in rows]

    def _suppress(self, rows: list[Row]) -> list[RowResult]:
        """Consent withdrawn: off the list (list syncs) and suppressed from email marketing,
        Klaviyo's own state, which holds whatever list the profile is on later."""
        if self.cfg.object == "list":
            self._list_remove(rows)
        emails = [r for r in rows if r.payload.get("email")]
        if emails:
            body = {
                "data": {
                    "type": "profile-suppression-bulk-create-job",
                    "attributes": {
                        "profiles": {
                            "data": [
                                {"type": "profile", "attributes": {"email": r.payload["email"]}}
                                for r in emails
                            ]
                        }
                    },
                }
            }
            resp = self._post("/api/profile-suppression-bulk-create-jobs", body)
            if resp.status_code != 202:
                raise batch_error(
                    resp.status_code, f"HTTP {resp.status_code}: {self._errors(resp)}"
                )
        return [
            RowResult(r.pk, True)
            if r.payload.get("email")
            else RowResult(r.pk, False, reason="no email to suppress")
            for r in rows
        ]

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
