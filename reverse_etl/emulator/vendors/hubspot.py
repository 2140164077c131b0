"""HubSpot CRM v3: contacts batch upsert/update/read/archive (207 multi-status per-record
errors; email is unique: an update by record id that gives a contact another contact's
address is a 409 CONFLICT naming that contact), contact merge (the primary survives, keeps
its values and takes the values only the merged contact had, its list memberships and its
address as an additional email; the merged id then answers with the primary), list
memberships add-and-remove and GDPR delete."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from reverse_etl.emulator.vendors.base import EMAIL, Request, Response, Vendor, register


@register
class HubSpot(Vendor):
    name = "hubspot"
    prefixes = ("/crm/", "/communication-preferences/")
    # one rolling window per account for every endpoint: 100 requests per 10 s (private app,
    # Free/Starter; developers.hubspot.com/docs/api/usage-details)
    limits = (("*", r"^/", ((100, 10),)),)

    def throttled(self, wait_s: float, limit: float, window_s: float) -> Response:
        """HubSpot's 429: the policy in the body and X-HubSpot-RateLimit-* headers that name
        the rolling window; no Retry-After."""
        body = {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": "TEN_SECONDLY_ROLLING",
        }
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window_s * 1000)),
            "X-HubSpot-RateLimit-Max": str(int(limit)),
            "X-HubSpot-RateLimit-Remaining": "0",
        }
        return 429, body, headers

    def reset(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.by_email: dict[str, str] = {}
        self.lists: dict[str, set[str]] = {}
        self.gdpr_deleted: list[str] = []
        self.unsubscribed: set[tuple[str, str]] = set()  # (email, subscription id)
        # fault knob: contacts (by email) that add-and-remove reports in recordsIdsMissing
        # instead of adding, as HubSpot does for a record it cannot find at that moment
        self.missing_on_add: set[str] = set()
        self.merged: dict[str, str] = {}  # merged-away record id -> the record it went into
        self.additional_emails: dict[str, list[str]] = {}  # record id -> merged addresses

    def snapshot(self) -> dict[str, Any]:
        return {
            "contacts": {
                (p.get("email") or cid): {"id": cid, **p} for cid, p in self.contacts.items()
            },
            "lists": {
                lid: sorted(
                    self.contacts[c].get("email") or c for c in members if c in self.contacts
                )
                for lid, members in self.lists.items()
            },
            "gdpr_deleted": list(self.gdpr_deleted),
            "unsubscribed": sorted(f"{e}/{s}" for e, s in self.unsubscribed),
        }

    def error(self, status: int, message: str, category: str = "VALIDATION_ERROR"):
        return (
            status,
            {
                "status": "error",
                "message": message,
                "category": category,
                "correlationId": str(uuid.uuid4()),
            },
            None,
        )

    def _merge(self, primary: str, secondary: str) -> Response:
        st = self.state
        with st.lock:
            if secondary in self.merged:
                return self.error(400, f"Contact {secondary} was already merged.")
            if primary == secondary or primary not in self.contacts:
                return self.error(400, "primaryObjectId must be another existing contact")
            if secondary not in self.contacts:
                return self.error(404, "Object not found.", "OBJECT_NOT_FOUND")
            keep, gone = self.contacts[primary], self.contacts.pop(secondary)
            self.by_email.pop(gone.get("email", ""), None)
            for k, v in gone.items():
                keep.setdefault(k, v)  # the primary's values win; its blanks are filled
            self.additional_emails.setdefault(primary, []).append(gone.get("email", ""))
            for members in self.lists.values():
                if secondary in members:
                    members.discard(secondary)
                    members.add(primary)
            self.merged[secondary] = primary
            st.effect("hubspot.contacts_merged")
            return (
                200,
                {"id": primary, "properties": dict(keep), "mergedObjectIds": [secondary]},
                None,
            )

    def _update_by_id(self, inputs: list[dict[str, Any]], fault: str | None) -> Response:
        """``batch/update`` by record id (no ``idProperty``). Email is unique: an input that
        gives a contact an address another contact holds refuses the whole request with 409
        CONFLICT naming that contact, nothing applied (HubSpot: "Contact already exists.
        Existing ID: N"). A merged-away id updates the contact it went into; an unknown id is
        a per-record OBJECT_NOT_FOUND (207)."""
        st = self.state
        now = datetime.now(UTC).isoformat()
        results, errors = [], []
        with st.lock:
            wanted: dict[str, str] = {}  # new address -> the contact asking for it
            for inp in inputs:
                cid = self._resolve(str(inp.get("id", "")))
                email = str((inp.get("properties") or {}).get("email") or "").lower()
                if cid not in self.contacts or not email:
                    continue
                if not EMAIL.match(email):
                    return self.error(400, f"Property values were not valid: email {email!r}")
                holder = self.by_email.get(email, wanted.get(email))
                if holder is not None and holder != cid:
                    return self.error(
                        409, f"Contact already exists. Existing ID: {holder}", "CONFLICT"
                    )
                wanted[email] = cid
            reject = {st.rng.randrange(len(inputs))} if fault == "reject_rows" and inputs else set()
            for i, inp in enumerate(inputs):
                rid = str(inp.get("id", ""))
                cid = self._resolve(rid)
                if i in reject or cid not in self.contacts:
                    injected = i in reject
                    errors.append(
                        {
                            "status": "error",
                            "category": "RATE_LIMITS" if injected else "OBJECT_NOT_FOUND",
                            "message": "injected per-record failure"
                            if injected
                            else "Object not found.",
                            "context": {"ids": [rid]},
                        }
                    )
                    continue
                self._write(cid, inp.get("properties") or {})
                st.effect("hubspot.contacts_updated")
                results.append(self._record(cid, now))
        return self._answer(results, errors, now)

    def _write(self, cid: str, properties: dict[str, Any]) -> None:
        """Set a contact's properties: an empty string clears one; a new email re-keys it."""
        props = self.contacts[cid]
        for k, v in properties.items():
            if k == "email":
                self.by_email.pop(props.get("email", ""), None)
                self.by_email[str(v).lower()] = cid
                props["email"] = str(v).lower()
            elif v == "" or v is None:
                props.pop(k, None)
            else:
                props[k] = str(v)

    def _record(self, cid: str, now: str, **extra: Any) -> dict[str, Any]:
        props = self.contacts[cid]
        return {
            "id": cid,
            "properties": dict(props),
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
            **extra,
        }

    @staticmethod
    def _answer(results: list[Any], errors: list[Any], now: str) -> Response:
        """A batch answer: 200, or 207 Multi-Status with the per-record ``errors``."""
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if errors:
            return 207, {**out, "errors": errors, "numErrors": len(errors)}, None
        return 200, out, None

    def _resolve(self, cid: str) -> str:
        """A merged-away record id answers with the contact it was merged into."""
        while cid in self.merged:
            cid = self.merged[cid]
        return cid

    def handle(self, req: Request) -> Response:
        method, path, body, fault = req.method, req.path, req.body, req.fault
        st = self.state
        if req.header("Authorization") != f"Bearer {st.config.credentials['hubspot']}":
            return self.error(
                401, "Authentication credentials not found.", "INVALID_AUTHENTICATION"
            )
        doc = json.loads(body) if body else {}
        if method == "POST" and path == "/crm/v3/objects/contacts/merge":
            return self._merge(
                str(doc.get("primaryObjectId") or ""), str(doc.get("objectIdToMerge") or "")
            )
        m = re.match(r"^/crm/v3/objects/contacts/(\d+)$", path)
        if method == "GET" and m:
            with st.lock:
                cid = self._resolve(m.group(1))
                props = self.contacts.get(cid)
                if props is None:
                    return self.error(404, "Object not found.", "OBJECT_NOT_FOUND")
                return 200, {"id": cid, "properties": dict(props), "archived": False}, None
        m = re.match(r"^/crm/v3/objects/contacts/batch/(upsert|update|read|archive)$", path)
        if method == "POST" and m:
            action = m.group(1)
            inputs = doc.get("inputs", [])
            req.items = len(inputs)
            if len(inputs) > 100:
                return self.error(400, "Batch size must be at most 100")
            if fault == "reject_batch":
                return self.error(400, "injected whole-batch rejection")
            if action == "archive":
                with st.lock:
                    for inp in inputs:
                        props = self.contacts.pop(str(inp["id"]), None)
                        if props is not None:
                            self.by_email.pop(props.get("email", ""), None)
                            for members in self.lists.values():
                                members.discard(str(inp["id"]))
                            st.effect("hubspot.contacts_archived")
                return 204, None, None
            if action == "update" and all("idProperty" not in inp for inp in inputs):
                return self._update_by_id(inputs, fault)
            if action in ("upsert", "update"):
                for inp in inputs:
                    if inp.get("idProperty") != "email":
                        return self.error(400, "idProperty must be a unique property (email)")
                    email = str(inp.get("id", ""))
                    if not EMAIL.match(email):
                        return self.error(
                            400, f"Property values were not valid: email {email!r} is invalid"
                        )
            results, errors = [], []
            reject = {st.rng.randrange(len(inputs))} if fault == "reject_rows" and inputs else set()
            now = datetime.now(UTC).isoformat()
            with st.lock:
                for i, inp in enumerate(inputs):
                    email = str(inp.get("id", "")).lower()
                    cid = self.by_email.get(email)
                    if action == "read" and doc.get("idProperty") is None:
                        cid = email if email in self.contacts else None  # by record id
                    if i in reject:
                        errors.append(
                            {
                                "status": "error",
                                "category": "RATE_LIMITS",
                                "message": "injected per-record failure",
                                "context": {"ids": [email]},
                            }
                        )
                        continue
                    if action in ("upsert", "update") and email in self.gdpr_deleted:
                        # HubSpot blocklists a GDPR-deleted address: it cannot come back
                        errors.append(
                            {
                                "status": "error",
                                "category": "VALIDATION_ERROR",
                                "message": "Contact was GDPR-deleted; the email is blocklisted.",
                                "context": {"ids": [email]},
                            }
                        )
                        continue
                    if action == "read":
                        if cid:
                            props = self.contacts[cid]
                            wanted = doc.get("properties") or list(props)
                            results.append(
                                {
                                    "id": cid,
                                    "properties": {k: props[k] for k in wanted if k in props},
                                    "createdAt": now,
                                    "updatedAt": now,
                                    "archived": False,
                                }
                            )
                        continue
                    if cid is None and action == "update":
                        errors.append(
                            {
                                "status": "error",
                                "category": "OBJECT_NOT_FOUND",
                                "message": "Object not found.",
                                "context": {"ids": [email]},
                            }
                        )
                        continue
                    is_new = cid is None
                    if is_new:
                        cid = str(next(st.ids) + 100000)
                        self.contacts[cid] = {"email": email}
                        self.by_email[email] = cid
                        st.effect("hubspot.contacts_created")
                    else:
                        st.effect("hubspot.contacts_updated")
                    # keyed by the address in ``id``: a different ``email`` property is ignored
                    self._write(cid, {**(inp.get("properties") or {}), "email": email})
                    results.append(self._record(cid, now, new=is_new))
            return self._answer(results, errors, now)
        m = re.match(r"^/crm/v3/lists/([^/]+)/memberships/add-and-remove$", path)
        if method == "PUT" and m:
            add = [str(x) for x in doc.get("recordIdsToAdd", [])]
            remove = [str(x) for x in doc.get("recordIdsToRemove", [])]
            req.items = len(add) + len(remove)
            if fault == "reject_batch":
                return self.error(400, "injected whole-batch rejection")
            added, removed, missing = [], [], []
            with st.lock:
                members = self.lists.setdefault(m.group(1), set())
                for rid in add:
                    email = (self.contacts.get(rid) or {}).get("email")
                    if rid not in self.contacts or email in self.missing_on_add:
                        missing.append(rid)
                    elif rid not in members:
                        members.add(rid)
                        added.append(rid)
                        st.effect("hubspot.list_added")
                for rid in remove:
                    if rid in members:
                        members.discard(rid)
                        removed.append(rid)
                        st.effect("hubspot.list_removed")
            return (
                200,
                {
                    "recordIdsAdded": added,
                    "recordIdsRemoved": removed,
                    "recordsIdsMissing": missing,
                },
                None,
            )
        m = re.match(r"^/crm/v3/lists/([^/]+)/memberships$", path)
        if method == "GET" and m:
            # ordered by record id, paged with an ``after`` cursor (here: the last id seen)
            limit = min(int(req.query.get("limit", 100)), 250)
            after = int(req.query.get("after", 0) or 0)
            with st.lock:
                ids = sorted(int(x) for x in self.lists.get(m.group(1), set()) if int(x) > after)
            page = ids[:limit]
            out = {"results": [{"recordId": str(x)} for x in page]}
            if len(ids) > limit:
                out["paging"] = {"next": {"after": str(page[-1])}}
            return 200, out, None
        if method == "POST" and path == "/communication-preferences/v3/unsubscribe":
            email = str(doc.get("emailAddress", "")).lower()
            sub = str(doc.get("subscriptionId", ""))
            if not EMAIL.match(email) or not sub:
                return self.error(400, "emailAddress and subscriptionId are required")
            with st.lock:
                if (email, sub) in self.unsubscribed:
                    return self.error(400, f"{email} is already unsubscribed from {sub}")
                self.unsubscribed.add((email, sub))
                st.effect("hubspot.unsubscribed")
            return (
                200,
                {"recipient": email, "subscriptionId": sub, "status": "NOT_SUBSCRIBED"},
                None,
            )
        if method == "POST" and path == "/crm/v3/objects/contacts/gdpr-delete":
            email = str(doc.get("objectId", "")).lower()
            with st.lock:
                cid = self.by_email.pop(email, None)
                if cid is None:
                    return self.error(404, "Object not found", "OBJECT_NOT_FOUND")
                self.contacts.pop(cid, None)
                for members in self.lists.values():
                    members.discard(cid)
                self.gdpr_deleted.append(email)
                st.effect("hubspot.gdpr_deleted")
            return 204, None, None
        return self.error(404, f"{method} {path} is not emulated", "OBJECT_NOT_FOUND")
