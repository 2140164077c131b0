"""Braze REST API.

- upsert: ``POST /users/track`` with ``attributes[]`` (at most 75 attribute objects per
  request), keyed by ``external_id``. Braze answers 201 with ``errors[]`` entries that carry the
  ``index`` of the failing object; a 400 refuses the request as a whole.
- update: the same with ``_update_existing_only: true`` on each attribute object.
- delete / gdpr_delete: ``POST /users/delete`` with ``external_ids`` (at most 50 per request).
- unsubscribe (consent withdrawn): ``email_subscribe: "unsubscribed"`` on the user.
- merge (a person merged into another, ``merges.py``): ``POST /users/merge`` with
  ``merge_updates`` of ``identifier_to_merge`` / ``identifier_to_keep`` external ids (at most
  50 per request). Braze keeps the kept user, copies onto it what only the merged user had,
  and removes the merged user; merging a user that no longer exists changes nothing.
- rename (a merged person's user handed to a survivor Braze has no user for yet,
  ``merges.py``): ``POST /users/external_ids/rename`` with ``external_id_renames`` of
  ``current_external_id`` / ``new_external_id`` (at most 50 per request). The user keeps its
  history under the survivor's id; the old id stays a deprecated alias (``/users/delete``
  with it would delete the whole profile), so it is then removed with ``POST
  /users/external_ids/remove`` and a person who later returns under it is a new user. A
  rename Braze refuses (``rename_errors``: the new id is already a user's, made outside the
  sync or by a rename a crashed run did) falls back to ``/users/merge``.
- Nulls: Braze removes a custom attribute sent as ``null``; ``skip`` omits it.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    MERGE,
    UNSUBSCRIBE,
    UPDATE,
    UPSERT,
    DestinationConfig,
    FatalError,
    HttpDestination,
    Row,
    RowResult,
    batch_error,
    register,
    secret_from_env,
)

log = logging.getLogger(__name__)

# Braze's standard user profile fields (exported at the top level; everything else that a
# sync writes is a custom attribute)
STANDARD = frozenset(
    {
        "email", "first_name", "last_name", "phone", "country", "home_city", "gender", "dob",
        "language", "time_zone", "email_subscribe", "push_subscribe",
    }
)  # fmt: skip


class BrazeConfig(DestinationConfig):
    type: Literal["braze"]
    object: Literal["users"] = "users"
    api_key_env: str = "BRAZE_API_KEY"


@register
class Braze(HttpDestination):
    config = BrazeConfig
    max_batch = 75
    default_rps = 50.0
    # braze.com/docs/api/api_limits (defaults per workspace): /users/track 3,000 requests per
    # 3 s; /users/export/ids 250 per minute (workspaces onboarded after 22 August 2024; 2,500
    # before); /users/delete, /users/merge, /users/identify and /users/alias/* share 20,000
    # per minute. A 429 carries X-RateLimit-Reset (epoch seconds), no Retry-After.
    endpoint_limits = (
        ("POST", r"^/users/track$", ((3000, 3),)),
        ("POST", r"^/users/export/ids$", ((250, 60),)),
        ("POST", r"^/users/(delete|merge|identify|alias/new|alias/update)$", ((20000, 60),)),
        # the external id migration endpoints' own page: 1,000 requests per minute
        ("POST", r"^/users/external_ids/(rename|remove)$", ((1000, 60),)),
    )
    default_base_url = "https://rest.iad-01.braze.com"
    ops = frozenset({UPSERT, UPDATE, DELETE, GDPR_DELETE, UNSUBSCRIBE, MERGE})

    def __init__(self, sync: Any, ctx: Any) -> None:
        self._key = secret_from_env(sync.destination.api_key_env)
        super().__init__(
            sync,
            ctx,
            headers={"Authorization": f"Bearer {self._key.get_secret_value()}"},
            secrets=[self._key.get_secret_value()],
        )

    def op_batch_size(self, op: str) -> int:
        return min(self.batch_size, 50) if op in (DELETE, GDPR_DELETE) else self.batch_size

    def quota_note(self) -> str:
        return (
            "/users/track 3,000 requests per 3 s, 75 attribute objects each; /users/delete 50 ids"
        )

    def merge(self, pairs: list[Any]) -> list[RowResult]:
        out = []
        for i in range(0, len(pairs), 50):
            chunk = pairs[i : i + 50]
            updates = [
                {
                    "identifier_to_merge": {"external_id": p.previous_pk},
                    "identifier_to_keep": {"external_id": p.survivor_pk},
                }
                for p in chunk
            ]
            resp = self.http.request("POST", "/users/merge", json_body={"merge_updates": updates})
            if resp.status_code not in (200, 201, 202):
                raise batch_error(
                    resp.status_code, f"merge HTTP {resp.status_code}: {self.error_text(resp)}"
                )
            out += [RowResult(p.previous_pk, True, dest_id=p.survivor_pk) for p in chunk]
        return out

    def rename(self, pairs: list[Any]) -> list[RowResult]:
        out = []
        for i in range(0, len(pairs), 50):
            chunk = pairs[i : i + 50]
            renames = [
                {"current_external_id": p.previous_pk, "new_external_id": p.survivor_pk}
                for p in chunk
            ]
            resp = self.http.request(
                "POST", "/users/external_ids/rename", json_body={"external_id_renames": renames}
            )
            if resp.status_code not in (200, 201, 202):
                raise batch_error(
                    resp.status_code, f"rename HTTP {resp.status_code}: {self.error_text(resp)}"
                )
            # "array of arrays": each names the index of the refused rename object
            errors = resp.json().get("rename_errors") or []
            refused = {
                x
                for err in errors
                for x in (err if isinstance(err, list) else [err])
                if isinstance(x, int)
            }
            if errors and not refused:
                refused = set(range(len(chunk)))  # not attributable: merge them all
            if refused:  # the survivor is a user already: merge into it instead
                self.merge([p for j, p in enumerate(chunk) if j in refused])
            self._remove_deprecated([p.previous_pk for p in chunk])
            out += [RowResult(p.previous_pk, True, dest_id=p.survivor_pk) for p in chunk]
        return out

    def _remove_deprecated(self, external_ids: list[str]) -> None:
        """Drop the renamed users' old ids (``/users/external_ids/remove``). Braze refuses
        an id that is not deprecated (a user merged instead), which is fine; an API key
        without this permission keeps the aliases, said in the log."""
        try:
            resp = self.http.request(
                "POST", "/users/external_ids/remove", json_body={"external_ids": external_ids}
            )
        except FatalError as exc:
            log.warning("deprecated Braze external ids kept (%s): %d ids", exc, len(external_ids))
            return
        if resp.status_code not in (200, 201, 202):
            log.warning("deprecated Braze external ids kept: HTTP %s", resp.status_code)

    def read_back(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The users of ``keys`` (external ids): ``POST /users/export/ids``, 50 per request,
        with ``fields_to_export`` (standard fields at the top, the rest under
        ``custom_attributes``)."""
        fields = self.payload_keys()
        export = sorted(
            {"external_id", *(f if f in STANDARD else "custom_attributes" for f in fields)}
        )
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 50):
            resp = self.http.request(
                "POST",
                "/users/export/ids",
                json_body={"external_ids": keys[i : i + 50], "fields_to_export": export},
            )
            if resp.status_code != 201 and resp.status_code != 200:
                raise batch_error(
                    resp.status_code, f"export HTTP {resp.status_code}: {self.error_text(resp)}"
                )
            for user in resp.json().get("users", []):
                custom = user.get("custom_attributes") or {}
                found[str(user["external_id"])] = {
                    "__id": str(user.get("braze_id") or user["external_id"]),
                    **{f: user.get(f) if f in STANDARD else custom.get(f) for f in fields},
                }
        return found

    def deliver(self, op: str, rows: list[Row]) -> list[RowResult]:
        if op in (DELETE, GDPR_DELETE):
            resp = self.http.request(
                "POST", "/users/delete", json_body={"external_ids": [r.pk for r in rows]}
            )
            if resp.status_code not in (200, 201, 202):
                raise batch_error(
                    resp.status_code, f"HTTP {resp.status_code}: {self.error_text(resp)}"
                )
            return [RowResult(r.pk, True) for r in rows]
        attributes = []
        if op == UNSUBSCRIBE:  # Braze's own email subscription state, on existing users only
            attributes = [
                {
                    "external_id": r.pk,
                    "email_subscribe": "unsubscribed",
                    "_update_existing_only": True,
                }
                for r in rows
            ]
        for r in rows if op != UNSUBSCRIBE else []:
            obj: dict[str, Any] = {"external_id": r.pk}
            for key, value in r.payload.items():
                if value is None and self.sync.null_policy == "skip":
                    continue
                obj[key] = value
            if op == UPDATE:
                obj["_update_existing_only"] = True
            attributes.append(obj)
        resp = self.http.request("POST", "/users/track", json_body={"attributes": attributes})
        if resp.status_code not in (200, 201):
            raise batch_error(resp.status_code, f"HTTP {resp.status_code}: {self.error_text(resp)}")
        failed = {}
        for err in resp.json().get("errors", []) or []:
            if err.get("input_array") == "attributes" and isinstance(err.get("index"), int):
                failed[err["index"]] = str(err.get("type"))[:500]
        return [
            RowResult(r.pk, False, reason=failed[i]) if i in failed else RowResult(r.pk, True)
            for i, r in enumerate(rows)
        ]
