"""Braze REST API.

- upsert: ``POST /users/track`` with ``attributes[]`` (at most 75 attribute objects per
  request), keyed by ``external_id``. Braze answers 201 with ``errors[]`` entries that carry the
  ``index`` of the failing object; a 400 refuses the request as a whole.
- update: the same with ``_update_existing_only: true`` on each attribute object.
- delete / gdpr_delete: ``POST /users/delete`` with ``external_ids`` (at most 50 per request).
- Nulls: Braze removes a custom attribute sent as ``null``; ``skip`` omits it.
"""

from __future__ import annotations

from typing import Any, Literal

from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    UPDATE,
    UPSERT,
    BatchRejectedError,
    DestinationConfig,
    HttpDestination,
    Row,
    RowResult,
    register,
    secret_from_env,
)


class BrazeConfig(DestinationConfig):
    type: Literal["braze"]
    object: Literal["users"] = "users"
    api_key_env: str = "BRAZE_API_KEY"


@register
class Braze(HttpDestination):
    config = BrazeConfig
    max_batch = 75
    default_rps = 50.0  # /users/track: 3,000 requests per 3 s
    default_base_url = "https://rest.iad-01.braze.com"
    ops = frozenset({UPSERT, UPDATE, DELETE, GDPR_DELETE})

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

    def deliver(self, op: str, rows: list[Row]) -> list[RowResult]:
        if op in (DELETE, GDPR_DELETE):
            resp = self.http.request(
                "POST", "/users/delete", json_body={"external_ids": [r.pk for r in rows]}
            )
            if resp.status_code not in (200, 201, 202):
                raise BatchRejectedError(f"HTTP {resp.status_code}: {self.error_text(resp)}")
            return [RowResult(r.pk, True) for r in rows]
        attributes = []
        for r in rows:
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
            raise BatchRejectedError(f"HTTP {resp.status_code}: {self.error_text(resp)}")
        failed = {}
        for err in resp.json().get("errors", []) or []:
            if err.get("input_array") == "attributes" and isinstance(err.get("index"), int):
                failed[err["index"]] = str(err.get("type"))[:500]
        return [
            RowResult(r.pk, False, reason=failed[i]) if i in failed else RowResult(r.pk, True)
            for i, r in enumerate(rows)
        ]
