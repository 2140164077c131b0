"""SALESmanago API v2: batch upsert of contacts with tags/removeTags and contact delete.
Authentication travels in the body; refusals are HTTP 200 with ``success: false``."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from reverse_etl.emulator.vendors.base import EMAIL, Request, Response, Vendor, register


@register
class SalesManago(Vendor):
    name = "salesmanago"
    prefixes = ("/api/contact/",)

    def reset(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}  # email -> contact

    def snapshot(self) -> dict[str, Any]:
        return {
            "contacts": {
                e: {**c, "tags": sorted(c.get("tags", []))} for e, c in self.contacts.items()
            }
        }

    def handle(self, req: Request) -> Response:
        path, body, fault = req.path, req.body, req.fault
        st = self.state
        c = st.config.credentials
        doc = json.loads(body) if body else {}
        sha = hashlib.sha1(
            (
                c["salesmanago_api_key"] + c["salesmanago_client_id"] + c["salesmanago_api_secret"]
            ).encode()
        ).hexdigest()
        if (
            doc.get("clientId") != c["salesmanago_client_id"]
            or doc.get("apiKey") != c["salesmanago_api_key"]
            or doc.get("sha") != sha
            or not isinstance(doc.get("requestTime"), int)
            or not doc.get("owner")
        ):
            return 200, {"success": False, "message": ["Not authenticated"]}, None
        if path == "/api/contact/batchupsertv2":
            details = doc.get("upsertDetails", [])
            req.items = len(details)
            if len(details) > 100:
                return 200, {"success": False, "message": ["Too many contacts (max 100)"]}, None
            if fault in ("reject_batch", "reject_rows"):
                return 200, {"success": False, "message": ["injected failure"]}, None
            for d in details:
                email = str((d.get("contact") or {}).get("email") or "")
                if not EMAIL.match(email):
                    return (
                        200,
                        {"success": False, "message": [f"Not valid email address: {email}"]},
                        None,
                    )
            ids = {}
            with st.lock:
                for d in details:
                    contact = d["contact"]
                    email = contact["email"].lower()
                    rec = self.contacts.get(email)
                    if rec is None:
                        rec = self.contacts[email] = {
                            "contactId": str(uuid.uuid4()),
                            "tags": set(),
                            "properties": {},
                        }
                        st.effect("salesmanago.contacts_created")
                    else:
                        st.effect("salesmanago.contacts_updated")
                    for k, v in contact.items():
                        if v == "":
                            rec.pop(k, None)
                        else:
                            rec[k] = v
                    for k, v in (d.get("properties") or {}).items():
                        if v == "":
                            rec["properties"].pop(k, None)
                        else:
                            rec["properties"][k] = v
                    for t in d.get("tags") or []:
                        if t.upper() not in rec["tags"]:
                            rec["tags"].add(t.upper())
                            st.effect("salesmanago.tags_added")
                    for t in d.get("removeTags") or []:
                        if t.upper() in rec["tags"]:
                            rec["tags"].discard(t.upper())
                            st.effect("salesmanago.tags_removed")
                    ids[email] = rec["contactId"]
            return 200, {"success": True, "message": [], "contactIds": ids}, None
        if path == "/api/contact/delete":
            email = str(doc.get("email") or "").lower()
            with st.lock:
                if self.contacts.pop(email, None) is None:
                    return 200, {"success": False, "message": [f"Contact not found: {email}"]}, None
                st.effect("salesmanago.contacts_deleted")
            return 200, {"success": True, "message": []}, None
        return 404, {"success": False, "message": ["Unknown method"]}, None
