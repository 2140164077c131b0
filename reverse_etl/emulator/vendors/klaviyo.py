"""Klaviyo: profile bulk import jobs, list relationships, profile look-up by filter and
data-privacy deletion jobs, each request validated against Klaviyo's OpenAPI document."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from reverse_etl.emulator.vendors.base import EMAIL, Request, Response, Vendor, register


@register
class Klaviyo(Vendor):
    name = "klaviyo"
    prefixes = ("/api/",)
    # x-klaviyo-ratelimit of the operations served here (OpenAPI document, 2026-07-15);
    # Klaviyo answers a throttled request with 429 and Retry-After
    limits = tuple(
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
    content_type = "application/vnd.api+json"

    def reset(self) -> None:
        self.profiles: dict[str, dict[str, Any]] = {}  # id -> attributes
        self.by_email: dict[str, str] = {}
        self.lists: dict[str, set[str]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.suppressed: set[str] = set()  # emails suppressed from email marketing
        # fault knob: the next N jobs count one failure more than their import-error records
        # (Klaviyo's failed_count is not always matched by an error naming the profile)
        self.unattributed_failures = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "profiles": {
                (a.get("email") or pid): {"id": pid, **a} for pid, a in self.profiles.items()
            },
            "lists": {
                lid: sorted(
                    self.profiles[p].get("email") or p for p in members if p in self.profiles
                )
                for lid, members in self.lists.items()
            },
            "jobs": len(self.jobs),
            "deleted": list(self.deleted),
            "suppressed": sorted(self.suppressed),
        }

    def error(self, status: int, detail: str, pointer: str = "/data", code: str = "invalid"):
        return (
            status,
            {
                "errors": [
                    {
                        "id": str(uuid.uuid4()),
                        "status": status,
                        "code": code,
                        "title": "Invalid input.",
                        "detail": detail,
                        "source": {"pointer": pointer},
                    }
                ]
            },
            None,
        )

    def handle(self, req: Request) -> Response:
        method, path, query, body, fault = req.method, req.path, req.query, req.body, req.fault
        st = self.state
        cfg = st.config
        auth = req.header("Authorization", "")
        if auth != f"Klaviyo-API-Key {cfg.credentials['klaviyo']}":
            return (
                401,
                {
                    "errors": [
                        {
                            "id": "auth",
                            "status": 401,
                            "code": "not_authenticated",
                            "title": "Authentication credentials were not provided.",
                            "detail": "Missing or invalid private key.",
                        }
                    ]
                },
                None,
            )
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            return self.error(400, "request body is not valid JSON")
        if st.validator is not None and cfg.validation != "off":
            errs = st.validator.validate(
                method,
                path,
                query,
                dict(req.headers.items()),
                body or None,
                max_array_items=50 if cfg.validation == "sample" else None,
                parsed=doc,
            )
            if errs:
                with st.lock:
                    st.spec_errors.append({"method": method, "path": path, "errors": errs})
                return self.error(400, "; ".join(errs)[:1000])
        if method == "POST" and path == "/api/profile-merge":
            return self._merge(doc["data"])
        if method == "POST" and path == "/api/profile-bulk-import-jobs":
            if len(body) > 5 * 1024 * 1024:
                return self.error(413, "payload exceeds 5MB")
            data = doc["data"]
            profiles = data["attributes"]["profiles"]["data"]
            req.items = len(profiles)
            if len(profiles) > 10_000:
                return self.error(
                    400, "at most 10000 profiles per job", "/data/attributes/profiles/data"
                )
            if fault == "reject_batch":
                return self.error(400, "injected whole-request rejection")
            list_ids = [
                x["id"] for x in (data.get("relationships") or {}).get("lists", {}).get("data", [])
            ]
            errors = []
            accepted: list[dict[str, Any]] = []
            reject = set()
            if fault == "reject_rows" and profiles:
                reject = {st.rng.randrange(len(profiles))}
            with st.lock:
                for i, prof in enumerate(profiles):
                    attrs = prof.get("attributes") or {}
                    email = attrs.get("email")
                    ptr = f"/data/attributes/profiles/data/{i}"
                    if email is not None and not EMAIL.match(str(email)):
                        errors.append(
                            ("invalid", "Invalid email address", ptr + "/attributes/email", attrs)
                        )
                        continue
                    if not (email or attrs.get("phone_number") or attrs.get("external_id")):
                        errors.append(
                            (
                                "invalid",
                                "One of email, phone_number or external_id is required",
                                ptr + "/attributes",
                                attrs,
                            )
                        )
                        continue
                    if i in reject:
                        errors.append(
                            ("temporarily_unavailable", "injected per-profile failure", ptr, attrs)
                        )
                        continue
                    accepted.append(attrs)
                job_id = st.next_id("job")
                now = datetime.now(UTC).isoformat()
                unattributed = 1 if self.unattributed_failures > 0 else 0
                self.unattributed_failures -= unattributed
                self.jobs[job_id] = {
                    "status": "queued" if cfg.job_polls > 0 else "complete",
                    "polls": 0,
                    "created_at": now,
                    "total_count": len(profiles),
                    "completed_count": len(profiles) - len(errors),
                    "failed_count": len(errors) + unattributed,
                    "errors": [
                        {
                            "type": "import-error",
                            "id": str(uuid.uuid4()),
                            "attributes": {
                                "code": c,
                                "title": "Import error",
                                "detail": d,
                                "source": {"pointer": p},
                                "original_payload": a,
                            },
                        }
                        for c, d, p, a in errors
                    ],
                    "lists": list_ids,
                    "accepted": accepted,  # applied when the job completes, as in Klaviyo
                }
                st.effect("klaviyo.jobs_created")
                if cfg.job_polls <= 0:
                    self._complete(self.jobs[job_id])
            return 202, {"data": self._job(job_id)}, None
        m = re.match(r"^/api/profile-bulk-import-jobs/([^/]+)(/import-errors)?$", path)
        if method == "GET" and m:
            job = self.jobs.get(m.group(1))
            if job is None:
                return self.error(404, "job not found", code="not_found")
            if m.group(2):
                size = int(query.get("page[size]", 20))  # the spec's default
                start = int(query.get("page[cursor]", 0) or 0)
                page = job["errors"][start : start + size]
                links = {"self": path}
                if start + size < len(job["errors"]):
                    links["next"] = f"{path}?page[cursor]={start + size}&page[size]={size}"
                return 200, {"data": page, "links": links}, None
            with st.lock:
                job["polls"] += 1
                if job["status"] != "complete" and job["polls"] >= cfg.job_polls:
                    self._complete(job)
                elif job["status"] != "complete":
                    job["status"] = "processing"
            return 200, {"data": self._job(m.group(1))}, None
        if method == "GET" and path == "/api/profiles":
            flt = query.get("filter", "")
            fm = re.match(r"^(any|equals)\((email|phone_number|external_id),\s*(.*)\)$", flt)
            if not fm:
                return self.error(400, "unsupported filter", code="invalid")
            values = json.loads(fm.group(3)) if fm.group(1) == "any" else [json.loads(fm.group(3))]
            field_name = fm.group(2)
            with st.lock:
                found = [
                    (pid, a) for pid, a in self.profiles.items() if a.get(field_name) in values
                ]
            return self._profile_page(path, query, found)
        m = re.match(r"^/api/lists/([^/]+)/profiles$", path)
        if method == "GET" and m:
            with st.lock:
                members = sorted(self.lists.get(m.group(1), set()))
                found = [(pid, self.profiles[pid]) for pid in members if pid in self.profiles]
            return self._profile_page(path, query, found)
        m = re.match(r"^/api/lists/([^/]+)/relationships/profiles$", path)
        if m and method in ("POST", "DELETE"):
            members_in = [x["id"] for x in doc["data"]]
            req.items = len(members_in)
            if len(members_in) > 1000:
                return self.error(400, "at most 1000 profiles per call")
            if fault == "reject_batch":
                return self.error(400, "injected whole-request rejection")
            with st.lock:
                members = self.lists.setdefault(m.group(1), set())
                for pid in members_in:
                    if method == "POST" and pid not in members:
                        members.add(pid)
                        st.effect("klaviyo.list_added")
                    elif method == "DELETE" and pid in members:
                        members.discard(pid)
                        st.effect("klaviyo.list_removed")
            return 204, None, None
        if method == "POST" and path == "/api/profile-suppression-bulk-create-jobs":
            profiles = doc["data"]["attributes"]["profiles"]["data"]
            req.items = len(profiles)
            if len(profiles) > 100:
                return self.error(400, "at most 100 emails per request")
            with st.lock:
                for prof in profiles:
                    email = str(prof["attributes"]["email"]).lower()
                    if email not in self.by_email:  # Klaviyo creates it, then suppresses it
                        self._upsert({"email": email})
                    if email not in self.suppressed:
                        self.suppressed.add(email)
                        st.effect("klaviyo.suppressed")
                job_id = st.next_id("sup")
            return (
                202,
                {
                    "data": {
                        "type": "profile-suppression-bulk-create-job",
                        "id": job_id,
                        "attributes": {"status": "queued", "total_count": len(profiles)},
                    }
                },
                None,
            )
        if method == "POST" and path == "/api/data-privacy-deletion-jobs":
            attrs = doc["data"]["attributes"]["profile"]["data"].get("attributes", {})
            if len([v for v in attrs.values() if v]) != 1:
                return self.error(400, "exactly one identifier is required")
            with st.lock:
                key, value = next((k, v) for k, v in attrs.items() if v)
                for pid, a in list(self.profiles.items()):
                    if a.get(key) == value:
                        del self.profiles[pid]
                        self.by_email.pop(str(a.get("email") or "").lower(), None)
                        for members in self.lists.values():
                            members.discard(pid)
                        self.deleted.append(str(value))
                        st.effect("klaviyo.profiles_deleted")
            return 202, None, None
        return self.error(404, f"{method} {path} is not emulated", code="not_found")

    def _profile_page(self, path: str, query: dict[str, str], found: list) -> Response:
        """One page of profiles (cursor = offset), with only the sparse fields asked for."""
        size = int(query.get("page[size]", 20))
        start = int(query.get("page[cursor]", 0) or 0)
        wanted = [f for f in query.get("fields[profile]", "").split(",") if f]
        data = [
            {
                "type": "profile",
                "id": pid,
                "attributes": {k: a.get(k) for k in wanted} if wanted else dict(a),
            }
            for pid, a in found[start : start + size]
        ]
        links = {"self": path}
        if start + size < len(found):
            links["next"] = f"{path}?page[cursor]={start + size}&page[size]={size}"
        return 200, {"data": data, "links": links}, None

    def _complete(self, job: dict[str, Any]) -> None:
        """The asynchronous part of a bulk import: the profiles are written now."""
        st = self.state
        for attrs in job.pop("accepted", []):
            pid = self._upsert(attrs)
            for lid in job["lists"]:
                members = self.lists.setdefault(lid, set())
                if pid not in members:
                    members.add(pid)
                    st.effect("klaviyo.list_added")
        job["status"] = "complete"

    def _merge(self, data: dict[str, Any]) -> Response:
        """Merge the one source profile into the destination profile: the destination keeps
        its values and takes what only the source had (properties one by one) and its list
        memberships; the source profile is deleted. (Klaviyo queues this as a task; here it
        is applied at once.)"""
        st = self.state
        dst = data["id"]
        sources = [x["id"] for x in data["relationships"]["profiles"].get("data") or []]
        if len(sources) != 1:
            return self.error(400, "exactly one source profile can be merged", code="invalid")
        src = sources[0]
        with st.lock:
            if dst not in self.profiles or src == dst:
                return self.error(400, "destination profile must be another existing profile")
            if src not in self.profiles:
                return self.error(404, f"profile {src} not found", code="not_found")
            gone, keep = self.profiles.pop(src), self.profiles[dst]
            self.by_email.pop(str(gone.get("email") or "").lower(), None)
            for key, value in gone.items():
                if key in ("properties", "location"):
                    sub = keep.setdefault(key, {})
                    for k, v in value.items():
                        sub.setdefault(k, v)
                elif key != "email":
                    keep.setdefault(key, value)
            for members in self.lists.values():
                if src in members:
                    members.discard(src)
                    members.add(dst)
            st.effect("klaviyo.profiles_merged")
        link = {"self": f"https://a.klaviyo.com/api/profiles/{dst}/"}
        return 201, {"data": {"type": "profile", "id": dst, "links": link}, "links": link}, None

    def _upsert(self, attrs: dict[str, Any]) -> str:
        st = self.state
        email = str(attrs.get("email") or "").lower()
        pid = self.by_email.get(email) if email else None
        if pid is None:
            pid = st.next_id("01KPROF")
            self.profiles[pid] = {}
            if email:
                self.by_email[email] = pid
            st.effect("klaviyo.profiles_created")
        else:
            st.effect("klaviyo.profiles_updated")
        prof = self.profiles[pid]
        for key, value in attrs.items():
            if key in ("properties", "location"):
                sub = prof.setdefault(key, {})
                for k, v in (value or {}).items():
                    if v is None:
                        sub.pop(k, None)  # null clears
                    else:
                        sub[k] = v
            elif value is None:
                prof.pop(key, None)  # null clears; omitted keys stay as they are
            else:
                prof[key] = value
        return pid

    def _job(self, job_id: str) -> dict[str, Any]:
        j = self.jobs[job_id]
        done = j["status"] == "complete"
        return {
            "type": "profile-bulk-import-job",
            "id": job_id,
            "attributes": {
                "status": j["status"],
                "created_at": j["created_at"],
                "total_count": j["total_count"],
                "completed_count": j["completed_count"] if done else 0,
                "failed_count": j["failed_count"] if done else 0,
                "completed_at": datetime.now(UTC).isoformat() if done else None,
                "expires_at": None,
                "started_at": j["created_at"],
            },
            "relationships": {"lists": {"data": [{"type": "list", "id": x} for x in j["lists"]]}},
        }
