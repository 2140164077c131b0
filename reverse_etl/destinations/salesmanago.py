"""SALESmanago (API v2): contacts with tags.

``POST /api/contact/batchupsertv2`` with the account's authentication in the body
(``clientId``, ``apiKey``, ``requestTime`` in ms, ``sha`` = SHA-1 of apiKey + clientId +
apiSecret, ``owner``) and ``upsertDetails[]`` of ``contact``, ``properties``, ``tags`` and
``removeTags``. SALESmanago answers **HTTP 200 with ``success: false``** when it refuses a
request, so the body, not the status code, decides. A refused batch is bisected by the engine.
gdpr_delete / delete: ``POST /api/contact/delete`` with ``permanently: true``, per contact.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Literal

from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    LIST_ADD,
    LIST_REMOVE,
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

CONTACT_FIELDS = {"email", "name", "phone", "company", "city", "country", "birthday", "state"}


class SalesManagoConfig(DestinationConfig):
    membership_objects: ClassVar[frozenset[str]] = frozenset({"tag"})

    type: Literal["salesmanago"]
    object: Literal["contacts", "tag"] = "contacts"
    tag: str | None = None
    client_id: str
    owner: str
    api_key_env: str = "SALESMANAGO_API_KEY"
    api_secret_env: str = "SALESMANAGO_API_SECRET"

    def check_mode(self, mode: str) -> None:
        super().check_mode(mode)
        if self.object == "tag" and not self.tag:
            raise ValueError("destination.tag is required for object 'tag'")


@register
class SalesManago(HttpDestination):
    config = SalesManagoConfig
    max_batch = 100
    default_rps = 2.0  # 10,000 requests / hour on enterprise plans: be gentle
    default_base_url = "https://www.salesmanago.com"
    ops = frozenset({UPSERT, UPDATE, LIST_ADD, LIST_REMOVE, DELETE, GDPR_DELETE})

    def __init__(self, sync: Any, ctx: Any) -> None:
        cfg = sync.destination
        self._api_key = secret_from_env(cfg.api_key_env)
        self._api_secret = secret_from_env(cfg.api_secret_env)
        super().__init__(
            sync,
            ctx,
            headers={"Accept": "application/json"},
            secrets=[self._api_key.get_secret_value(), self._api_secret.get_secret_value()],
        )

    def op_batch_size(self, op: str) -> int:
        return 1 if op in (DELETE, GDPR_DELETE) else self.batch_size

    def quota_note(self) -> str:
        return "plan-dependent, about 1,000-10,000 requests per hour"

    def _auth(self) -> dict[str, Any]:
        key = self._api_key.get_secret_value()
        client = self.cfg.client_id
        sha = hashlib.sha1(
            (key + client + self._api_secret.get_secret_value()).encode()
        ).hexdigest()
        return {
            "clientId": client,
            "apiKey": key,
            "requestTime": int(self.ctx.clock.now() * 1000),
            "sha": sha,
            "owner": self.cfg.owner,
        }

    def _detail(self, op: str, row: Row) -> dict[str, Any]:
        contact, props = {}, {}
        for key, value in row.payload.items():
            if value is None:
                if self.sync.null_policy == "skip":
                    continue
                value = ""
            if key in CONTACT_FIELDS:
                contact[key] = value
            else:
                props[key.removeprefix("properties.")] = "" if value is None else str(value)
        detail: dict[str, Any] = {"contact": contact}
        if props and op != LIST_REMOVE:
            detail["properties"] = props
        if op == LIST_ADD:
            detail["tags"] = [self.cfg.tag]
        if op == LIST_REMOVE:
            detail["removeTags"] = [self.cfg.tag]
            detail["contact"] = {"email": contact.get("email")}
        return detail

    def deliver(self, op: str, rows: list[Row]) -> list[RowResult]:
        if op in (DELETE, GDPR_DELETE):
            out = []
            for r in rows:
                body = {**self._auth(), "email": r.payload.get("email"), "permanently": True}
                resp = self.http.request("POST", "/api/contact/delete", json_body=body)
                data = _json(resp)
                ok = resp.status_code == 200 and (
                    data.get("success") is True or "not found" in _message(data, resp).lower()
                )  # already gone counts as deleted
                out.append(RowResult(r.pk, ok, reason=None if ok else _message(data, resp)))
            return out
        body = {**self._auth(), "upsertDetails": [self._detail(op, r) for r in rows]}
        resp = self.http.request("POST", "/api/contact/batchupsertv2", json_body=body)
        data = _json(resp)
        if resp.status_code != 200 or data.get("success") is not True:
            raise BatchRejectedError(_message(data, resp))
        ids = {str(k).lower(): str(v) for k, v in (data.get("contactIds") or {}).items()}
        return [
            RowResult(r.pk, True, dest_id=ids.get(str(r.payload.get("email") or "").lower()))
            for r in rows
        ]


def _json(resp) -> dict[str, Any]:
    try:
        data = resp.json()
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {}


def _message(data: dict[str, Any], resp) -> str:
    msg = data.get("message")
    if isinstance(msg, list):
        msg = "; ".join(str(m) for m in msg)
    return f"HTTP {resp.status_code} success={data.get('success')}: {msg}"[:500]
