"""Braze REST: /users/track attributes (errors[].index per object), /users/delete, /users/merge
(the kept user takes what only the merged user had; the merged user is removed),
/users/export/ids, and the external id migration: /users/external_ids/rename (the user gets
a new primary id; the old one stays a deprecated alias that every endpoint resolves, so
/users/delete with it deletes the whole profile) and /users/external_ids/remove (deprecated
ids only)."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from reverse_etl.destinations.braze import STANDARD as BRAZE_STANDARD
from reverse_etl.emulator.vendors.base import EMAIL, Request, Response, Vendor, register


@register
class Braze(Vendor):
    name = "braze"
    prefixes = ("/users/",)
    # braze.com/docs/api/api_limits (workspace defaults)
    limits = (
        ("POST", r"^/users/track$", ((3000, 3),)),
        ("POST", r"^/users/export/ids$", ((250, 60),)),
        ("POST", r"^/users/(delete|merge|identify|alias/new|alias/update)$", ((20000, 60),)),
        ("POST", r"^/users/external_ids/(rename|remove)$", ((1000, 60),)),
    )

    def throttled(self, wait_s: float, limit: float, window_s: float) -> Response:
        """Braze's 429: X-RateLimit-Limit / -Remaining / -Reset (epoch seconds of the
        window's reset), no Retry-After."""
        reset = int(time.time()) + max(1, math.ceil(wait_s))
        headers = {
            "X-RateLimit-Limit": str(int(limit)),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
        return 429, {"message": "Rate limit exceeded", "errors": []}, headers

    def reset(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.deprecated: dict[str, str] = {}  # deprecated external id -> the user's primary

    def snapshot(self) -> dict[str, Any]:
        return {
            "users": dict(self.users),
            "deleted": list(self.deleted),
            "deprecated": dict(self.deprecated),
        }

    def _primary(self, ext: Any) -> Any:
        """The user's primary external id (a deprecated id identifies its user too)."""
        return self.deprecated.get(ext, ext)

    def _migrate(self, path: str, doc: dict[str, Any], req: Request) -> Response:
        """/users/external_ids/rename and /remove: at most 50 objects; per-object refusals in
        ``rename_errors`` / ``removal_errors`` as [index, message] (by the request index)."""
        st = self.state
        rename = path.endswith("/rename")
        items = doc.get("external_id_renames" if rename else "external_ids") or []
        req.items = len(items)
        if not items or len(items) > 50:
            return 400, {"message": "between 1 and 50 objects per request"}, None
        done, errors = [], []
        with st.lock:
            for i, item in enumerate(items):
                if rename:
                    old, new = item.get("current_external_id"), item.get("new_external_id")
                    if old not in self.users:
                        errors.append([i, "current_external_id must be a user's primary id"])
                    elif not new or new == old or new in self.users or new in self.deprecated:
                        errors.append([i, "new_external_id is already in use"])
                    else:
                        self.users[new] = self.users.pop(old)
                        self.deprecated = {
                            k: (new if v == old else v) for k, v in self.deprecated.items()
                        }
                        self.deprecated[old] = new
                        done.append(old)
                        st.effect("braze.users_renamed")
                elif item in self.deprecated:
                    del self.deprecated[item]
                    done.append(item)
                else:
                    errors.append([i, "only deprecated external ids can be removed"])
        if rename:
            return 201, {"message": "success", "external_ids": done, "rename_errors": errors}, None
        return 201, {"message": "success", "removed_ids": done, "removal_errors": errors}, None

    def handle(self, req: Request) -> Response:
        path, body, fault = req.path, req.body, req.fault
        st = self.state
        if req.header("Authorization") != f"Bearer {st.config.credentials['braze']}":
            return 401, {"message": "Invalid API key"}, None
        doc = json.loads(body) if body else {}
        if path == "/users/track":
            attrs = doc.get("attributes", [])
            req.items = len(attrs)
            if len(attrs) > 75:
                return 400, {"message": "Too many attributes objects (max 75)"}, None
            if fault == "reject_batch":
                return 400, {"message": "injected bad request"}, None
            errors = []
            reject = {st.rng.randrange(len(attrs))} if fault == "reject_rows" and attrs else set()
            with st.lock:
                for i, obj in enumerate(attrs):
                    ext = self._primary(obj.get("external_id"))
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
                    if obj.get("_update_existing_only") and ext not in self.users:
                        continue
                    user = self.users.get(ext)
                    if user is None:
                        # Braze subscribes a new user to email by default
                        user = self.users[ext] = {"email_subscribe": "subscribed"}
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
        if path == "/users/export/ids":
            ids = doc.get("external_ids", [])
            if len(ids) > 50:
                return 400, {"message": "at most 50 external_ids"}, None
            wanted = doc.get("fields_to_export") or []
            users, invalid = [], []
            with st.lock:
                for ext in ids:
                    user = self.users.get(self._primary(ext))
                    if user is None:
                        invalid.append(ext)
                        continue
                    standard = {k: v for k, v in user.items() if k in BRAZE_STANDARD}
                    custom = {k: v for k, v in user.items() if k not in BRAZE_STANDARD}
                    primary = self._primary(ext)
                    full = {"external_id": primary, "braze_id": f"b-{primary}", **standard}
                    if custom:
                        full["custom_attributes"] = custom
                    users.append({k: v for k, v in full.items() if not wanted or k in wanted})
            out = {"users": users, "message": "success"}
            if invalid:
                out["invalid_user_ids"] = invalid
            return 201, out, None
        if path == "/users/merge":
            updates = doc.get("merge_updates", [])
            req.items = len(updates)
            if len(updates) > 50:
                return 400, {"message": "at most 50 merge_updates"}, None
            with st.lock:
                for u in updates:
                    old = self._primary((u.get("identifier_to_merge") or {}).get("external_id"))
                    kept = self._primary((u.get("identifier_to_keep") or {}).get("external_id"))
                    if old == kept or old not in self.users or kept not in self.users:
                        continue  # nothing (left) to merge
                    gone = self.users.pop(old)
                    for k, v in gone.items():
                        self.users[kept].setdefault(k, v)  # only what the kept user lacks
                    st.effect("braze.users_merged")
            return 202, {"message": "success"}, None
        if path.startswith("/users/external_ids/"):
            return self._migrate(path, doc, req)
        if path == "/users/delete":
            ids = doc.get("external_ids", [])
            req.items = len(ids)
            if len(ids) > 50:
                return 400, {"message": "at most 50 external_ids"}, None
            deleted = 0
            with st.lock:
                for ext in ids:
                    primary = self._primary(ext)  # a deprecated id deletes its user too
                    if self.users.pop(primary, None) is not None:
                        self.deprecated = {k: v for k, v in self.deprecated.items() if v != primary}
                        deleted += 1
                        self.deleted.append(ext)
                        st.effect("braze.users_deleted")
            return 201, {"deleted": deleted, "message": "success"}, None
        return 404, {"message": "not found"}, None
