"""SALESmanago API v2: batch upsert of contacts with tags/removeTags, contact delete and the
asynchronous contact export (``paginatedContactList/export`` -> ``requestId``;
``job/status`` -> ``fileUrl`` once the file is ready; the file is served under
``/files/salesmanago/``). Authentication travels in the body; refusals are HTTP 200 with
``success: false``."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from reverse_etl.emulator.vendors.base import EMAIL, Request, Response, Vendor, register


@register
class SalesManago(Vendor):
    name = "salesmanago"
    prefixes = ("/api/contact/", "/api/job/", "/files/salesmanago/")

    def reset(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}  # email -> contact
        # export jobs: request id -> {page, size, polls left, file id once written}
        self.exports: dict[str, dict[str, Any]] = {}
        self.files: dict[str, list[dict[str, Any]]] = {}

    def _export_file(self, page: int, size: int) -> list[dict[str, Any]]:
        """One page of the account's contacts as the export file lists them (written when the
        job completes, so it shows the account at that moment)."""
        out = []
        for email in sorted(self.contacts)[(page - 1) * size : page * size]:
            c = self.contacts[email]
            fixed = {k: v for k, v in c.items() if k not in ("tags", "properties")}
            out.append(
                {
                    **fixed,
                    "email": email,
                    "id": c["contactId"],
                    "optedOut": bool(c.get("optedOut")),
                    "properties": [{"name": k, "value": v} for k, v in c["properties"].items()],
                    "contactTags": [{"tag": t} for t in sorted(c["tags"])],
                }
            )
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "contacts": {
                e: {**c, "tags": sorted(c.get("tags", []))} for e, c in self.contacts.items()
            }
        }

    def handle(self, req: Request) -> Response:
        path, body, fault = req.path, req.body, req.fault
        st = self.state
        if path.startswith("/files/salesmanago/") and req.method == "GET":
            file_id = path.rsplit("/", 1)[-1].removesuffix(".json")
            with st.lock:
                data = self.files.get(file_id)
            return (404, {"error": "no such file"}, None) if data is None else (200, data, None)
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
                    if d.get("forceOptOut") and not rec.get("optedOut"):
                        rec["optedOut"] = True
                        st.effect("salesmanago.opted_out")
                    for t in d.get("removeTags") or []:
                        if t.upper() in rec["tags"]:
                            rec["tags"].discard(t.upper())
                            st.effect("salesmanago.tags_removed")
                    ids[email] = rec["contactId"]
            return 200, {"success": True, "message": [], "contactIds": ids}, None
        if path == "/api/contact/paginatedContactList/export":
            page, size = doc.get("page"), doc.get("size")
            if not isinstance(page, int) or not isinstance(size, int) or page < 1 or size < 1:
                return 200, {"success": False, "message": ["page and size are required"]}, None
            request_id = str(uuid.uuid4())
            with st.lock:
                self.exports[request_id] = {
                    "page": page,
                    "size": size,
                    "polls": st.config.job_polls,
                }
            return 200, {"success": True, "message": [], "requestId": request_id}, None
        if path == "/api/job/status":
            with st.lock:
                job = self.exports.get(str(doc.get("requestId")))
                if job is None:
                    return 200, {"success": False, "message": ["Unknown requestId"]}, None
                if job["polls"] > 0:  # still exporting
                    job["polls"] -= 1
                    return 200, {"success": True, "message": [], "fileUrl": None}, None
                if "file" not in job:
                    job["file"] = uuid.uuid4().hex
                    self.files[job["file"]] = self._export_file(job["page"], job["size"])
            url = f"http://{req.header('Host')}/files/salesmanago/{job['file']}.json"
            return 200, {"success": True, "message": [], "fileUrl": url}, None
        if path == "/api/contact/delete":
            email = str(doc.get("email") or "").lower()
            with st.lock:
                if self.contacts.pop(email, None) is None:
                    return 200, {"success": False, "message": [f"Contact not found: {email}"]}, None
                st.effect("salesmanago.contacts_deleted")
            return 200, {"success": True, "message": []}, None
        return 404, {"success": False, "message": ["Unknown method"]}, None
