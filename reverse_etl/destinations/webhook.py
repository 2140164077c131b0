"""Signed webhook following the Standard Webhooks specification.

Headers: ``webhook-id`` (stable per message: retries and re-runs reuse it),
``webhook-timestamp`` (unix seconds) and ``webhook-signature`` = ``v1,<base64 HMAC-SHA256>``
over ``{id}.{timestamp}.{body}``, keyed with the base64 part of a ``whsec_...`` secret.
Every record also carries an ``event_id`` (pk + row hash) so receivers can deduplicate rows
even when a re-run groups them into different messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Literal
from urllib.parse import urlsplit

from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    LIST_ADD,
    LIST_REMOVE,
    UNSUBSCRIBE,
    UPDATE,
    UPSERT,
    DestinationConfig,
    HttpDestination,
    Row,
    RowBatch,
    RowResult,
    batch_error,
    nest,
    register,
    secret_from_env,
    struct_sql,
)
from reverse_etl.ratelimit import utc_now_iso


def secret_key(secret: str) -> bytes:
    """Signing key from a Standard Webhooks secret (``whsec_`` + base64)."""
    raw = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        return raw.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    tolerance_s: int = 300,
    now: float | None = None,
) -> bool:
    import time

    msg_id = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    if not msg_id or not ts.isdigit():
        return False
    if abs((now or time.time()) - int(ts)) > tolerance_s:
        return False
    expected = sign(secret, msg_id, int(ts), body).split(",", 1)[1]
    for candidate in headers.get("webhook-signature", "").split():
        version, _, sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


class WebhookConfig(DestinationConfig):
    type: Literal["webhook"]
    url: str
    secret_env: str = "WEBHOOK_SECRET"
    object: str = "records"


@register
class SignedWebhook(HttpDestination):
    config = WebhookConfig
    max_batch = 500
    default_rps = 50.0
    record_is_complete = True  # record_sql renders event_id, key and attributes
    ops = frozenset({UPSERT, UPDATE, DELETE, LIST_ADD, LIST_REMOVE, GDPR_DELETE, UNSUBSCRIBE})

    def __init__(self, sync: Any, ctx: Any) -> None:
        cfg = sync.destination
        self._secret = secret_from_env(cfg.secret_env)
        parts = urlsplit(cfg.url)
        base = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path or "/"
        if parts.query:
            self.path += "?" + parts.query
        super().__init__(
            sync,
            ctx,
            headers={"User-Agent": "retention-warehouse-sync/1"},
            secrets=[self._secret.get_secret_value()],
        )
        if not (ctx.base_url or cfg.base_url):
            self.http.pool.base_url = base

    @classmethod
    def target(cls, sync: Any, base_url: str | None, outbox_dir: Any) -> str:
        cfg = sync.destination
        return f"webhook:{base_url or cfg.base_url or cfg.url}"

    @classmethod
    def record_sql(cls, op: str, targets: list[str], null_policy: str) -> str | None:
        """The whole record (``event_id``, ``key`` and, for writes, ``attributes``) rendered
        by DuckDB: a batch's body is its records' texts joined, with no per-row Python.
        (to_json keeps nulls, which is null_policy clear; with skip Python builds the
        attributes instead.)"""
        head = '"event_id" := __event_id, "key" := __pk'
        if op not in (UPSERT, UPDATE, LIST_ADD):
            return f"to_json(struct_pack({head}))"
        if null_policy != "clear" or not targets:
            return None
        tree: dict[str, Any] = {}
        for i, key in enumerate(targets):
            node = tree
            path = key.split(".")
            for part in path[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    return None  # a key is both a value and a parent: let Python decide
            node[path[-1]] = f"f{i}"
        return f'to_json(struct_pack({head}, "attributes" := {struct_sql(tree)}))'

    def deliver(self, op: str, rows: list[Row]) -> list[RowResult]:
        if isinstance(rows, RowBatch):  # records rendered by DuckDB: no Row per row
            records = rows.column("__record")
            event_ids = rows.column("__event_id")
            pks = rows.column("__pk")
        else:
            records = self._records(op, rows)
            event_ids = [r.event_id for r in rows]
            pks = [r.pk for r in rows]
        msg_id = "msg_" + hashlib.sha256("|".join(sorted(event_ids)).encode()).hexdigest()[:26]
        envelope = json.dumps(
            {
                "type": f"sync.{op}",
                "timestamp": utc_now_iso(),
                "data": {"sync": self.sync.name, "object": self.cfg.object, "records": []},
            },
            separators=(",", ":"),
        )
        # the records (JSON texts) go inside the envelope's empty list
        body = (envelope[:-3] + ",".join(records) + envelope[-3:]).encode()
        ts = int(self.ctx.clock.now())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(self._secret.get_secret_value(), msg_id, ts, body),
        }
        resp = self.http.request("POST", self.path, content=body, headers=headers)
        if resp.status_code >= 300:
            raise batch_error(resp.status_code, f"HTTP {resp.status_code}: {self.error_text(resp)}")
        return [RowResult(pk, True) for pk in pks]

    def _records(self, op: str, rows: list[Row]) -> list[str]:
        """Each row's record as JSON text (rendered by DuckDB, or here)."""
        with_attributes = op in (UPSERT, UPDATE, LIST_ADD)
        records = []
        for row in rows:
            if row.record_json is not None:  # rendered by DuckDB
                records.append(row.record_json)
                continue
            head = f'{{"event_id":{json.dumps(row.event_id)},"key":{json.dumps(row.pk)}'
            if not with_attributes:
                records.append(head + "}")
                continue
            attributes = json.dumps(
                nest(row.payload, self.sync.null_policy), separators=(",", ":"), default=str
            )
            records.append(f'{head},"attributes":{attributes}}}')
        return records
