"""SALESmanago (API v2): contacts with tags.

``POST /api/contact/batchupsertv2`` with the account's authentication in the body
(``clientId``, ``apiKey``, ``requestTime`` in ms, ``sha`` = SHA-1 of apiKey + clientId +
apiSecret, ``owner``) and ``upsertDetails[]`` of ``contact``, ``properties``, ``tags`` and
``removeTags``. SALESmanago answers **HTTP 200 with ``success: false``** when it refuses a
request, so the body, not the status code, decides. A refused batch is bisected by the engine.
unsubscribe (consent withdrawn): ``forceOptOut: true`` (and the tag removed).
gdpr_delete / delete: ``POST /api/contact/delete`` with ``permanently: true``, per contact.
read back (``rw-sync reconcile``): SALESmanago's asynchronous export. ``POST
/api/contact/paginatedContactList/export`` (page, size) answers a ``requestId``;
``POST /api/job/status`` answers ``fileUrl`` once the export file is ready; the file holds
that page's contacts with their properties and tags.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Literal

from pydantic import Field

from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    LIST_ADD,
    LIST_REMOVE,
    UNSUBSCRIBE,
    UPDATE,
    UPSERT,
    DestinationConfig,
    FatalError,
    HttpDestination,
    Row,
    RowResult,
    TransientError,
    batch_error,
    register,
    secret_from_env,
)

EXPORT_PAGE = 1000  # contacts per export page
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
    # reconcile: how often to ask whether an export file is ready, and for how long
    export_poll_interval_s: float = Field(default=2.0, ge=0)
    export_timeout_s: float = Field(default=900.0, gt=0)

    def check(self, sync: Any) -> None:
        super().check(sync)
        if self.object == "tag" and not self.tag:
            raise ValueError("destination.tag is required for object 'tag'")


@register
class SalesManago(HttpDestination):
    config = SalesManagoConfig
    keyed_by_email = True
    max_batch = 100
    default_rps = 2.0  # 10,000 requests / hour on enterprise plans: be gentle
    default_base_url = "https://www.salesmanago.com"
    ops = frozenset({UPSERT, UPDATE, LIST_ADD, LIST_REMOVE, DELETE, GDPR_DELETE, UNSUBSCRIBE})

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

    @classmethod
    def target(cls, sync: Any, base_url: str | None, outbox_dir: Any) -> str:
        return f"{super().target(sync, base_url, outbox_dir)}#{sync.destination.client_id}"

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
        if op in (LIST_REMOVE, UNSUBSCRIBE):
            detail["contact"] = {"email": contact.get("email")}
            detail.pop("properties", None)
            if self.cfg.tag:
                detail["removeTags"] = [self.cfg.tag]
        if op == UNSUBSCRIBE:
            detail["forceOptOut"] = True  # SALESmanago's own opt-out of email marketing
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
            if resp.status_code == 200 and "not authenticated" in _message(data, resp).lower():
                raise FatalError(_message(data, resp))  # SALESmanago's 401 arrives as a 200
            raise batch_error(resp.status_code, _message(data, resp))
        ids = {str(k).lower(): str(v) for k, v in (data.get("contactIds") or {}).items()}
        return [
            RowResult(r.pk, True, dest_id=ids.get(str(r.payload.get("email") or "").lower()))
            for r in rows
        ]

    # -- read back (reconcile) -------------------------------------------------------------
    def read_back(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The account's contacts, page by page through the asynchronous export (a tag sync
        keeps the tag's members, a contacts sync the records among ``keys``), by lower-case
        email -> the synced fields as SALESmanago shows them and ``__id`` (contactId)."""
        wanted = {k.lower() for k in keys}
        tag = (self.cfg.tag or "").upper() if self.cfg.object == "tag" else None
        fields = self.payload_keys()
        found: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            contacts = self._export_page(page)
            for c in contacts:
                email = str(c.get("email") or "").lower()
                tags = {str(t.get("tag") or "").upper() for t in c.get("contactTags") or []}
                if not email or (tag is not None and tag not in tags):
                    continue
                if tag is None and email not in wanted:
                    continue
                props = {str(p.get("name")): p.get("value") for p in c.get("properties") or []}
                found[email] = {
                    "__id": str(c.get("contactId") or c.get("id") or email),
                    **{
                        k: c.get(k)
                        if k in CONTACT_FIELDS
                        else props.get(k.removeprefix("properties."))
                        for k in fields
                    },
                }
            if len(contacts) < EXPORT_PAGE:
                return found
            page += 1

    def _export_page(self, page: int) -> list[dict[str, Any]]:
        body = {**self._auth(), "page": page, "size": EXPORT_PAGE}
        resp = self.http.request("POST", "/api/contact/paginatedContactList/export", json_body=body)
        data = _json(resp)
        if resp.status_code != 200 or data.get("success") is not True or not data.get("requestId"):
            raise batch_error(
                resp.status_code if resp.status_code != 200 else 400, _message(data, resp)
            )
        request_id = data["requestId"]
        clock = self.ctx.clock
        deadline = clock.monotonic() + self.cfg.export_timeout_s
        while True:
            resp = self.http.request(
                "POST", "/api/job/status", json_body={**self._auth(), "requestId": request_id}
            )
            data = _json(resp)
            if resp.status_code != 200 or data.get("success") is not True:
                raise batch_error(
                    resp.status_code if resp.status_code != 200 else 400, _message(data, resp)
                )
            if data.get("fileUrl"):
                break
            if clock.monotonic() > deadline:
                raise TransientError(f"export {request_id}: no file after the export timeout")
            clock.sleep(self.cfg.export_poll_interval_s)
        resp = self.http.request("GET", data["fileUrl"])
        if resp.status_code != 200:
            raise batch_error(resp.status_code, f"export file HTTP {resp.status_code}")
        contacts = resp.json()
        return contacts if isinstance(contacts, list) else []


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
