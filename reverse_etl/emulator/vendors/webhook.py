"""A Standard Webhooks receiver that verifies signatures and de-duplicates by message id
and by each record's event id (as the README tells receivers to)."""

from __future__ import annotations

import json
from typing import Any

from reverse_etl.destinations.webhook import verify
from reverse_etl.emulator.vendors.base import Request, Response, Vendor, register


@register
class Webhook(Vendor):
    name = "webhook"
    prefixes = ("/webhooks/",)

    def reset(self) -> None:
        self.messages: dict[str, int] = {}  # webhook-id -> deliveries
        self.events: dict[str, int] = {}  # event_id -> times applied
        self.records: dict[str, dict[str, Any]] = {}  # sync/key -> record

    def snapshot(self) -> dict[str, Any]:
        return {
            "records": dict(self.records),
            "messages": dict(self.messages),
            "events": dict(self.events),
        }

    def handle(self, req: Request) -> Response:
        body, fault = req.body, req.fault
        st = self.state
        headers = {k.lower(): v for k, v in req.headers.items()}
        if not verify(st.config.credentials["webhook_secret"], headers, body):
            return 401, {"error": "invalid signature"}, None
        msg_id = headers["webhook-id"]
        doc = json.loads(body)
        records = doc["data"]["records"]
        req.items = len(records)
        if fault in ("reject_batch", "reject_rows"):
            return 422, {"error": "injected rejection"}, None
        op = doc["type"].removeprefix("sync.")
        sync = doc["data"]["sync"]
        with st.lock:
            self.messages[msg_id] = self.messages.get(msg_id, 0) + 1
            if self.messages[msg_id] > 1:
                st.effect("webhook.duplicate_messages")
                return 200, {"duplicate": True}, None
            for rec in records:
                eid = rec["event_id"]
                self.events[eid] = self.events.get(eid, 0) + 1
                if self.events[eid] > 1:
                    st.effect("webhook.duplicate_events")
                    continue
                key = f"{sync}/{rec['key']}"
                if op in ("upsert", "update", "list_add"):
                    self.records[key] = rec.get("attributes") or {}
                else:
                    self.records.pop(key, None)
                st.effect("webhook.events_applied")
        return 200, {"ok": True}, None
