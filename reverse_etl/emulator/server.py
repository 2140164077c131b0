"""Local marketing-platform emulator: Klaviyo, HubSpot, SALESmanago, Braze and a Standard
Webhooks receiver on one loopback HTTP server, with deterministic fault injection.

Control endpoints
- ``GET  /__emu/state``     what each platform now holds, plus side-effect counters
- ``GET  /__emu/requests``  request log (method, path, status, fault, items)
- ``POST /__emu/reset``     forget everything (keeps config unless ``{"config": true}``)
- ``POST /__emu/config``    faults / rate limits / job polls / validation, see ``EmulatorConfig``

Faults are drawn from ``random.Random(seed)`` in request-arrival order, so a single-threaded
client sees the same faults on every run with the same seed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import logging
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reverse_etl.destinations.webhook import verify
from reverse_etl.emulator.openapi import OpenApiValidator, find_klaviyo_spec_dir

log = logging.getLogger(__name__)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
FAULT_KINDS = (
    "429_retry_after",  # 429 with Retry-After: <seconds>
    "429_http_date",  # 429 with Retry-After: <HTTP date>
    "429_bare",  # 429 without Retry-After
    "500",
    "503",
    "timeout_before",  # hang past the client's timeout, write NOT applied
    "timeout_after",  # apply the write, then hang past the client's timeout
    "drop_before",  # close the connection without a response, write NOT applied
    "drop_after",  # apply the write, then close the connection
    "slow",  # answer correctly after slow_s
    "reject_rows",  # vendor-shaped per-row rejection of some rows (not applied)
    "reject_batch",  # vendor-shaped whole-batch rejection (nothing applied)
)

DEFAULT_CREDENTIALS = {
    "klaviyo": "pk_emulator_key",
    "hubspot": "pat-emulator-token",
    "braze": "braze-emulator-key",
    "salesmanago_client_id": "emu-client",
    "salesmanago_api_key": "sm-emulator-key",
    "salesmanago_api_secret": "sm-emulator-secret",
    "webhook_secret": "whsec_" + base64.b64encode(b"emulator-webhook-secret-0123456").decode(),
}


@dataclass
class EmulatorConfig:
    seed: int = 0
    fault_rate: float = 0.0
    fault_kinds: list[str] = field(default_factory=lambda: list(FAULT_KINDS))
    timeout_s: float = 1.0  # how long a "timeout" fault hangs (> client timeout)
    slow_s: float = 0.05
    retry_after_s: int = 1
    # rate-limit windows: vendor -> [max requests, window seconds]; 0 disables
    rate_limits: dict[str, list[float]] = field(default_factory=dict)
    job_polls: int = 1  # polls before a Klaviyo bulk job reports 'complete'
    validation: str = "full"  # full | sample (first 50 array items) | off
    log_bodies: bool = False
    credentials: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CREDENTIALS))


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.validator = None
        spec = find_klaviyo_spec_dir()
        try:
            import jsonschema  # noqa: F401
        except ImportError:  # runtime install without the dev extras: no spec validation
            spec = None
        if spec is not None:
            self.validator = OpenApiValidator(spec)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.rng = random.Random(self.config.seed)
            self.ids = itertools.count(1)
            self.requests: list[dict[str, Any]] = []
            self.effects: dict[str, int] = {}
            self.windows: dict[str, list[float]] = {}
            self.k_profiles: dict[str, dict[str, Any]] = {}  # id -> attributes
            self.k_by_email: dict[str, str] = {}
            self.k_lists: dict[str, set[str]] = {}
            self.k_jobs: dict[str, dict[str, Any]] = {}
            self.k_deleted: list[str] = []
            self.h_contacts: dict[str, dict[str, Any]] = {}
            self.h_by_email: dict[str, str] = {}
            self.h_lists: dict[str, set[str]] = {}
            self.h_gdpr_deleted: list[str] = []
            self.s_contacts: dict[str, dict[str, Any]] = {}
            self.b_users: dict[str, dict[str, Any]] = {}
            self.b_deleted: list[str] = []
            self.w_messages: dict[str, int] = {}  # webhook-id -> deliveries
            self.w_events: dict[str, int] = {}  # event_id -> times applied
            self.w_records: dict[str, dict[str, Any]] = {}  # sync/object/key -> record
            self.spec_errors: list[dict[str, Any]] = []

    def effect(self, name: str, n: int = 1) -> None:
        self.effects[name] = self.effects.get(name, 0) + n

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids):08d}"

    def draw_fault(self) -> str | None:
        cfg = self.config
        with self.lock:
            if cfg.fault_rate <= 0 or not cfg.fault_kinds:
                return None
            if self.rng.random() >= cfg.fault_rate:
                return None
            return self.rng.choice(cfg.fault_kinds)

    def rate_limited(self, vendor: str) -> float | None:
        """Sliding window; returns seconds until a slot frees when over the limit."""
        limit = self.config.rate_limits.get(vendor)
        if not limit or not limit[0]:
            return None
        max_n, window = int(limit[0]), float(limit[1])
        now = time.monotonic()
        with self.lock:
            hits = [t for t in self.windows.get(vendor, []) if now - t < window]
            if len(hits) >= max_n:
                self.windows[vendor] = hits
                return window - (now - hits[0])
            hits.append(now)
            self.windows[vendor] = hits
            return None

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "klaviyo": {
                    "profiles": {
                        (a.get("email") or pid): {"id": pid, **a}
                        for pid, a in self.k_profiles.items()
                    },
                    "lists": {
                        lid: sorted(
                            self.k_profiles[p].get("email") or p
                            for p in members
                            if p in self.k_profiles
                        )
                        for lid, members in self.k_lists.items()
                    },
                    "jobs": len(self.k_jobs),
                    "deleted": list(self.k_deleted),
                },
                "hubspot": {
                    "contacts": {
                        (p.get("email") or cid): {"id": cid, **p}
                        for cid, p in self.h_contacts.items()
                    },
                    "lists": {
                        lid: sorted(
                            self.h_contacts[c].get("email") or c
                            for c in members
                            if c in self.h_contacts
                        )
                        for lid, members in self.h_lists.items()
                    },
                    "gdpr_deleted": list(self.h_gdpr_deleted),
                },
                "salesmanago": {
                    "contacts": {
                        e: {**c, "tags": sorted(c.get("tags", []))}
                        for e, c in self.s_contacts.items()
                    }
                },
                "braze": {"users": dict(self.b_users), "deleted": list(self.b_deleted)},
                "webhook": {
                    "records": dict(self.w_records),
                    "messages": dict(self.w_messages),
                    "events": dict(self.w_events),
                },
                "effects": dict(self.effects),
                "spec_errors": list(self.spec_errors),
                "request_count": len(self.requests),
            }


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet
        log.debug("emulator: " + fmt, *args)

    # -- plumbing --------------------------------------------------------------------------
    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        ctype: str = "application/json",
    ) -> None:
        data = (
            b""
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        self.send_response(status)
        if data or status not in (204,):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)
        self._status = status

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self._status = 0

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        st = self.server.state
        url = urlsplit(self.path)
        path = url.path
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self._body()
        self._status = 0
        entry: dict[str, Any] = {"t": time.time(), "method": method, "path": path, "fault": None}
        if path.startswith("/__emu/"):
            self._control(method, path, body)
            return
        vendor = _vendor(path)
        entry["vendor"] = vendor
        if st.config.log_bodies:
            entry["query"] = query
            entry["body"] = body.decode("utf-8", "replace")
            entry["headers"] = {
                k: v for k, v in self.headers.items() if k.lower() not in ("authorization",)
            }
        fault = st.draw_fault()
        entry["fault"] = fault
        with st.lock:
            st.requests.append(entry)
        try:
            wait = st.rate_limited(vendor)
            if wait is not None:
                entry["fault"] = "rate_limit_window"
                self._throttle(vendor, wait)
                return
            if fault in ("429_retry_after", "429_http_date", "429_bare"):
                self._throttle(vendor, st.config.retry_after_s, kind=fault)
                return
            if fault in ("500", "503"):
                self._send(
                    int(fault),
                    {
                        "errors": [
                            {
                                "id": str(uuid.uuid4()),
                                "status": int(fault),
                                "code": "error",
                                "title": "Server error",
                                "detail": "injected",
                            }
                        ]
                    },
                )
                return
            if fault == "timeout_before":
                time.sleep(st.config.timeout_s)
                self._drop()
                return
            if fault == "drop_before":
                self._drop()
                return
            if fault == "slow":
                time.sleep(st.config.slow_s)
            status, resp, headers = self._route(method, path, query, body, fault)
            entry["items"] = getattr(self, "_items", None)
            if fault == "timeout_after":
                time.sleep(st.config.timeout_s)
                self._drop()
                return
            if fault == "drop_after":
                self._drop()
                return
            ctype = "application/vnd.api+json" if vendor == "klaviyo" else "application/json"
            self._send(status, resp, headers, ctype=ctype)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            entry["status"] = self._status

    def _throttle(self, vendor: str, wait: float, kind: str = "429_retry_after") -> None:
        headers = {}
        secs = max(1, int(-(-wait // 1)))
        if kind == "429_retry_after":
            headers["Retry-After"] = str(secs)
        elif kind == "429_http_date":
            headers["Retry-After"] = format_datetime(
                datetime.fromtimestamp(time.time() + secs, UTC), usegmt=True
            )
        if vendor == "braze":
            headers["X-RateLimit-Reset"] = str(int(time.time()) + secs)
        self._send(
            429,
            {
                "errors": [
                    {
                        "id": str(uuid.uuid4()),
                        "status": 429,
                        "code": "throttled",
                        "title": "Request was throttled.",
                        "detail": "Request was throttled.",
                    }
                ]
            },
            headers,
        )

    def _control(self, method: str, path: str, body: bytes) -> None:
        st = self.server.state
        if path == "/__emu/state":
            self._send(200, st.snapshot())
        elif path == "/__emu/requests":
            with st.lock:
                self._send(200, st.requests)
        elif path == "/__emu/reset" and method == "POST":
            opts = json.loads(body or b"{}")
            if opts.get("config"):
                st.config = EmulatorConfig()
            st.reset()
            self._send(200, {"ok": True})
        elif path == "/__emu/config":
            if method == "POST":
                new = {**asdict(st.config), **json.loads(body or b"{}")}
                st.config = EmulatorConfig(**new)
                with st.lock:
                    st.rng = random.Random(st.config.seed)
            cfg = asdict(st.config)
            cfg["credentials"] = {k: "***" for k in cfg["credentials"]}
            self._send(200, cfg)
        else:
            self._send(404, {"error": "unknown control endpoint"})

    # -- routing ---------------------------------------------------------------------------
    def _route(self, method, path, query, body, fault):
        vendor = _vendor(path)
        if vendor == "klaviyo":
            return self._klaviyo(method, path, query, body, fault)
        if vendor == "hubspot":
            return self._hubspot(method, path, body, fault)
        if vendor == "salesmanago":
            return self._salesmanago(path, body, fault)
        if vendor == "braze":
            return self._braze(path, body, fault)
        if vendor == "webhook":
            return self._webhook(path, body, fault)
        return 404, {"error": "not found"}, None

    # -- Klaviyo ---------------------------------------------------------------------------
    def _k_error(self, status: int, detail: str, pointer: str = "/data", code: str = "invalid"):
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

    def _klaviyo(self, method, path, query, body, fault):
        st = self.server.state
        cfg = st.config
        auth = self.headers.get("Authorization", "")
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
            return self._k_error(400, "request body is not valid JSON")
        if st.validator is not None and cfg.validation != "off":
            errs = st.validator.validate(
                method,
                path,
                query,
                dict(self.headers.items()),
                body or None,
                max_array_items=50 if cfg.validation == "sample" else None,
                parsed=doc,
            )
            if errs:
                with st.lock:
                    st.spec_errors.append({"method": method, "path": path, "errors": errs})
                return self._k_error(400, "; ".join(errs)[:1000])
        if method == "POST" and path == "/api/profile-bulk-import-jobs":
            if len(body) > 5 * 1024 * 1024:
                return self._k_error(413, "payload exceeds 5MB")
            data = doc["data"]
            profiles = data["attributes"]["profiles"]["data"]
            self._items = len(profiles)
            if len(profiles) > 10_000:
                return self._k_error(
                    400, "at most 10000 profiles per job", "/data/attributes/profiles/data"
                )
            if fault == "reject_batch":
                return self._k_error(400, "injected whole-request rejection")
            list_ids = [
                x["id"] for x in (data.get("relationships") or {}).get("lists", {}).get("data", [])
            ]
            errors = []
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
                    pid = self._k_upsert(attrs)
                    for lid in list_ids:
                        members = st.k_lists.setdefault(lid, set())
                        if pid not in members:
                            members.add(pid)
                            st.effect("klaviyo.list_added")
                job_id = st.next_id("job")
                now = datetime.now(UTC).isoformat()
                st.k_jobs[job_id] = {
                    "status": "queued" if cfg.job_polls > 0 else "complete",
                    "polls": 0,
                    "created_at": now,
                    "total_count": len(profiles),
                    "completed_count": len(profiles) - len(errors),
                    "failed_count": len(errors),
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
                }
                st.effect("klaviyo.jobs_created")
            return 202, {"data": self._k_job(job_id)}, None
        m = re.match(r"^/api/profile-bulk-import-jobs/([^/]+)(/import-errors)?$", path)
        if method == "GET" and m:
            job = st.k_jobs.get(m.group(1))
            if job is None:
                return self._k_error(404, "job not found", code="not_found")
            if m.group(2):
                size = int(query.get("page[size]", 100))
                start = int(query.get("page[cursor]", 0) or 0)
                page = job["errors"][start : start + size]
                links = {"self": path}
                if start + size < len(job["errors"]):
                    links["next"] = f"{path}?page[cursor]={start + size}"
                return 200, {"data": page, "links": links}, None
            with st.lock:
                job["polls"] += 1
                if job["status"] != "complete":
                    job["status"] = "processing" if job["polls"] < cfg.job_polls else "complete"
            return 200, {"data": self._k_job(m.group(1))}, None
        if method == "GET" and path == "/api/profiles":
            flt = query.get("filter", "")
            fm = re.match(r"^(any|equals)\((email|phone_number|external_id),\s*(.*)\)$", flt)
            if not fm:
                return self._k_error(400, "unsupported filter", code="invalid")
            values = json.loads(fm.group(3)) if fm.group(1) == "any" else [json.loads(fm.group(3))]
            field_name = fm.group(2)
            with st.lock:
                found = [
                    {"type": "profile", "id": pid, "attributes": {"email": a.get("email")}}
                    for pid, a in st.k_profiles.items()
                    if a.get(field_name) in values
                ]
            size = int(query.get("page[size]", 20))
            return 200, {"data": found[:size], "links": {"self": path}}, None
        m = re.match(r"^/api/lists/([^/]+)/relationships/profiles$", path)
        if m and method in ("POST", "DELETE"):
            members_in = [x["id"] for x in doc["data"]]
            self._items = len(members_in)
            if len(members_in) > 1000:
                return self._k_error(400, "at most 1000 profiles per call")
            if fault == "reject_batch":
                return self._k_error(400, "injected whole-request rejection")
            with st.lock:
                members = st.k_lists.setdefault(m.group(1), set())
                for pid in members_in:
                    if method == "POST" and pid not in members:
                        members.add(pid)
                        st.effect("klaviyo.list_added")
                    elif method == "DELETE" and pid in members:
                        members.discard(pid)
                        st.effect("klaviyo.list_removed")
            return 204, None, None
        if method == "POST" and path == "/api/data-privacy-deletion-jobs":
            attrs = doc["data"]["attributes"]["profile"]["data"].get("attributes", {})
            if len([v for v in attrs.values() if v]) != 1:
                return self._k_error(400, "exactly one identifier is required")
            with st.lock:
                key, value = next((k, v) for k, v in attrs.items() if v)
                for pid, a in list(st.k_profiles.items()):
                    if a.get(key) == value:
                        del st.k_profiles[pid]
                        st.k_by_email.pop(str(a.get("email") or "").lower(), None)
                        for members in st.k_lists.values():
                            members.discard(pid)
                        st.k_deleted.append(str(value))
                        st.effect("klaviyo.profiles_deleted")
            return 202, None, None
        return self._k_error(404, f"{method} {path} is not emulated", code="not_found")

    def _k_upsert(self, attrs: dict[str, Any]) -> str:
        st = self.server.state
        email = str(attrs.get("email") or "").lower()
        pid = st.k_by_email.get(email) if email else None
        if pid is None:
            pid = st.next_id("01KPROF")
            st.k_profiles[pid] = {}
            if email:
                st.k_by_email[email] = pid
            st.effect("klaviyo.profiles_created")
        else:
            st.effect("klaviyo.profiles_updated")
        prof = st.k_profiles[pid]
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

    def _k_job(self, job_id: str) -> dict[str, Any]:
        j = self.server.state.k_jobs[job_id]
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

    # -- HubSpot ---------------------------------------------------------------------------
    def _h_error(self, status: int, message: str, category: str = "VALIDATION_ERROR"):
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

    def _hubspot(self, method, path, body, fault):
        st = self.server.state
        if self.headers.get("Authorization") != f"Bearer {st.config.credentials['hubspot']}":
            return self._h_error(
                401, "Authentication credentials not found.", "INVALID_AUTHENTICATION"
            )
        doc = json.loads(body) if body else {}
        m = re.match(r"^/crm/v3/objects/contacts/batch/(upsert|update|read|archive)$", path)
        if method == "POST" and m:
            action = m.group(1)
            inputs = doc.get("inputs", [])
            self._items = len(inputs)
            if len(inputs) > 100:
                return self._h_error(400, "Batch size must be at most 100")
            if fault == "reject_batch":
                return self._h_error(400, "injected whole-batch rejection")
            if action == "archive":
                with st.lock:
                    for inp in inputs:
                        props = st.h_contacts.pop(str(inp["id"]), None)
                        if props is not None:
                            st.h_by_email.pop(props.get("email", ""), None)
                            for members in st.h_lists.values():
                                members.discard(str(inp["id"]))
                            st.effect("hubspot.contacts_archived")
                return 204, None, None
            if action in ("upsert", "update"):
                for inp in inputs:
                    if inp.get("idProperty") != "email":
                        return self._h_error(400, "idProperty must be a unique property (email)")
                    email = str(inp.get("id", ""))
                    if not EMAIL.match(email):
                        return self._h_error(
                            400, f"Property values were not valid: email {email!r} is invalid"
                        )
            results, errors = [], []
            reject = {st.rng.randrange(len(inputs))} if fault == "reject_rows" and inputs else set()
            now = datetime.now(UTC).isoformat()
            with st.lock:
                for i, inp in enumerate(inputs):
                    email = str(inp.get("id", "")).lower()
                    cid = st.h_by_email.get(email)
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
                    if action == "read":
                        if cid:
                            results.append(
                                {
                                    "id": cid,
                                    "properties": dict(st.h_contacts[cid]),
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
                        st.h_contacts[cid] = {"email": email}
                        st.h_by_email[email] = cid
                        st.effect("hubspot.contacts_created")
                    else:
                        st.effect("hubspot.contacts_updated")
                    props = st.h_contacts[cid]
                    for k, v in (inp.get("properties") or {}).items():
                        if v == "" or v is None:
                            props.pop(k, None)  # empty string clears a property
                        else:
                            props[k] = str(v)
                    props["email"] = email
                    results.append(
                        {
                            "id": cid,
                            "properties": dict(props),
                            "createdAt": now,
                            "updatedAt": now,
                            "archived": False,
                            "new": is_new,
                        }
                    )
            out: dict[str, Any] = {
                "status": "COMPLETE",
                "results": results,
                "startedAt": now,
                "completedAt": now,
            }
            if errors:
                out["errors"] = errors
                out["numErrors"] = len(errors)
                return 207, out, None
            return 200, out, None
        m = re.match(r"^/crm/v3/lists/([^/]+)/memberships/add-and-remove$", path)
        if method == "PUT" and m:
            add = [str(x) for x in doc.get("recordIdsToAdd", [])]
            remove = [str(x) for x in doc.get("recordIdsToRemove", [])]
            self._items = len(add) + len(remove)
            if fault == "reject_batch":
                return self._h_error(400, "injected whole-batch rejection")
            added, removed, missing = [], [], []
            with st.lock:
                members = st.h_lists.setdefault(m.group(1), set())
                for rid in add:
                    if rid not in st.h_contacts:
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
        if method == "POST" and path == "/crm/v3/objects/contacts/gdpr-delete":
            email = str(doc.get("objectId", "")).lower()
            with st.lock:
                cid = st.h_by_email.pop(email, None)
                if cid is None:
                    return self._h_error(404, "Object not found", "OBJECT_NOT_FOUND")
                st.h_contacts.pop(cid, None)
                for members in st.h_lists.values():
                    members.discard(cid)
                st.h_gdpr_deleted.append(email)
                st.effect("hubspot.gdpr_deleted")
            return 204, None, None
        return self._h_error(404, f"{method} {path} is not emulated", "OBJECT_NOT_FOUND")

    # -- SALESmanago -----------------------------------------------------------------------
    def _salesmanago(self, path, body, fault):
        st = self.server.state
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
            self._items = len(details)
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
                    rec = st.s_contacts.get(email)
                    if rec is None:
                        rec = st.s_contacts[email] = {
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
                if st.s_contacts.pop(email, None) is None:
                    return 200, {"success": False, "message": [f"Contact not found: {email}"]}, None
                st.effect("salesmanago.contacts_deleted")
            return 200, {"success": True, "message": []}, None
        return 404, {"success": False, "message": ["Unknown method"]}, None

    # -- Braze -----------------------------------------------------------------------------
    def _braze(self, path, body, fault):
        st = self.server.state
        if self.headers.get("Authorization") != f"Bearer {st.config.credentials['braze']}":
            return 401, {"message": "Invalid API key"}, None
        doc = json.loads(body) if body else {}
        if path == "/users/track":
            attrs = doc.get("attributes", [])
            self._items = len(attrs)
            if len(attrs) > 75:
                return 400, {"message": "Too many attributes objects (max 75)"}, None
            if fault == "reject_batch":
                return 400, {"message": "injected bad request"}, None
            errors = []
            reject = {st.rng.randrange(len(attrs))} if fault == "reject_rows" and attrs else set()
            with st.lock:
                for i, obj in enumerate(attrs):
                    ext = obj.get("external_id")
                    if not ext:
                        errors.append(
                            {"type": "Missing external_id", "input_array": "attributes", "index": i}
                        )
                        continue
                    email = obj.get("email")
                    if email is not None and not EMAIL.match(str(email)):
                        errors.append(
                            {
                                "type": "'email' is not a valid email address",
                                "input_array": "attributes",
                                "index": i,
                            }
                        )
                        continue
                    if i in reject:
                        errors.append(
                            {"type": "injected failure", "input_array": "attributes", "index": i}
                        )
                        continue
                    if obj.get("_update_existing_only") and ext not in st.b_users:
                        continue
                    user = st.b_users.get(ext)
                    if user is None:
                        user = st.b_users[ext] = {}
                        st.effect("braze.users_created")
                    else:
                        st.effect("braze.users_updated")
                    for k, v in obj.items():
                        if k in ("external_id", "_update_existing_only"):
                            continue
                        if v is None:
                            user.pop(k, None)
                        else:
                            user[k] = v
            out: dict[str, Any] = {
                "message": "success",
                "attributes_processed": len(attrs) - len(errors),
            }
            if errors:
                out["errors"] = errors
            return 201, out, None
        if path == "/users/delete":
            ids = doc.get("external_ids", [])
            self._items = len(ids)
            if len(ids) > 50:
                return 400, {"message": "at most 50 external_ids"}, None
            deleted = 0
            with st.lock:
                for ext in ids:
                    if st.b_users.pop(ext, None) is not None:
                        deleted += 1
                        st.b_deleted.append(ext)
                        st.effect("braze.users_deleted")
            return 201, {"deleted": deleted, "message": "success"}, None
        return 404, {"message": "not found"}, None

    # -- Standard Webhooks receiver ---------------------------------------------------------
    def _webhook(self, path, body, fault):
        st = self.server.state
        headers = {k.lower(): v for k, v in self.headers.items()}
        if not verify(st.config.credentials["webhook_secret"], headers, body):
            return 401, {"error": "invalid signature"}, None
        msg_id = headers["webhook-id"]
        doc = json.loads(body)
        records = doc["data"]["records"]
        self._items = len(records)
        if fault in ("reject_batch", "reject_rows"):
            return 422, {"error": "injected rejection"}, None
        op = doc["type"].removeprefix("sync.")
        sync = doc["data"]["sync"]
        with st.lock:
            st.w_messages[msg_id] = st.w_messages.get(msg_id, 0) + 1
            if st.w_messages[msg_id] > 1:
                st.effect("webhook.duplicate_messages")
                return 200, {"duplicate": True}, None
            for rec in records:
                eid = rec["event_id"]
                st.w_events[eid] = st.w_events.get(eid, 0) + 1
                if st.w_events[eid] > 1:
                    st.effect("webhook.duplicate_events")
                    continue
                key = f"{sync}/{rec['key']}"
                if op in ("upsert", "update", "list_add"):
                    st.w_records[key] = rec.get("attributes") or {}
                else:
                    st.w_records.pop(key, None)
                st.effect("webhook.events_applied")
        return 200, {"ok": True}, None


def _vendor(path: str) -> str:
    if path.startswith("/api/contact/"):
        return "salesmanago"
    if path.startswith("/api/"):
        return "klaviyo"
    if path.startswith("/crm/"):
        return "hubspot"
    if path.startswith("/users/"):
        return "braze"
    if path.startswith("/webhooks/"):
        return "webhook"
    return "unknown"


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None
    ) -> None:
        super().__init__((host, port), Handler)
        self.state = EmulatorState(config or EmulatorConfig())

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # clients that time out or get killed mid-request are expected here
        super().handle_error(request, client_address)


class RunningEmulator:
    """Context manager: start the emulator on a free loopback port in a background thread."""

    def __init__(self, config: EmulatorConfig | None = None, port: int = 0) -> None:
        self.server = EmulatorServer(port=port, config=config)
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def state(self) -> EmulatorState:
        return self.server.state

    def __enter__(self) -> RunningEmulator:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
