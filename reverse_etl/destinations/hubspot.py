"""HubSpot CRM v3 contacts.

- upsert: ``POST /crm/v3/objects/contacts/batch/upsert`` with ``idProperty: email`` (100 per
  call). HubSpot answers 200, or 207 Multi-Status with ``errors[]`` whose ``context.ids`` name
  the failed inputs; a 400 refuses the whole batch.
- update: ``POST /crm/v3/objects/contacts/batch/update`` (missing contacts fail per row).
- list_add / list_remove: contacts are upserted (list_add) or read by email (list_remove) to
  learn their record ids, then ``PUT /crm/v3/lists/{listId}/memberships/add-and-remove``.
- delete (mirror): ``POST /crm/v3/objects/contacts/batch/archive``;
  gdpr_delete: ``POST /crm/v3/objects/contacts/gdpr-delete`` per contact.
- unsubscribe (consent withdrawn): ``POST /communication-preferences/v3/unsubscribe``
  from ``subscription_id`` per contact (after the list removal for a list sync).
- merge (a person merged into another, ``merges.py``): ``POST
  /crm/v3/objects/contacts/merge`` with ``primaryObjectId`` (the survivor) and
  ``objectIdToMerge``; HubSpot keeps the primary record and answers a merged-away id with
  it, which is how a merge repeated after a crash is recognised as done.
- Nulls: HubSpot clears a property set to an empty string, so ``clear`` sends "".
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    LIST_ADD,
    LIST_REMOVE,
    MERGE,
    UNSUBSCRIBE,
    UPDATE,
    UPSERT,
    DestinationConfig,
    HttpDestination,
    Row,
    RowResult,
    batch_error,
    register,
    secret_from_env,
)


class HubSpotConfig(DestinationConfig):
    membership_objects: ClassVar[frozenset[str]] = frozenset({"list"})

    type: Literal["hubspot"]
    object: Literal["contacts", "list"] = "contacts"
    list_id: str | None = None
    token_env: str = "HUBSPOT_ACCESS_TOKEN"
    # the email subscription type people unsubscribe from when they withdraw consent
    subscription_id: str | None = None

    def check(self, sync: Any) -> None:
        super().check(sync)
        if self.object == "list" and not self.list_id:
            raise ValueError("destination.list_id is required for object 'list'")
        if sync.consent is not None and not self.subscription_id:
            raise ValueError(
                "destination.subscription_id (the HubSpot email subscription type to "
                "unsubscribe from when consent is withdrawn) is required with 'consent'"
            )


@register
class HubSpot(HttpDestination):
    config = HubSpotConfig
    keyed_by_email = True
    max_batch = 100
    default_rps = 10.0
    # One rolling window per account for every endpoint: 100 requests per 10 s for a private
    # app on Free/Starter (190 on Professional/Enterprise, which a sync's requests_per_second
    # may use): developers.hubspot.com/docs/api/usage-details and the changelog "Increasing
    # our API limits". A 429 names the window in X-HubSpot-RateLimit-Interval-Milliseconds.
    endpoint_limits = (("*", r"^/", ((100, 10),)),)
    default_base_url = "https://api.hubapi.com"
    ops = frozenset(
        {UPSERT, UPDATE, DELETE, LIST_ADD, LIST_REMOVE, GDPR_DELETE, UNSUBSCRIBE, MERGE}
    )

    def __init__(self, sync: Any, ctx: Any) -> None:
        self._token = secret_from_env(sync.destination.token_env)
        super().__init__(
            sync,
            ctx,
            headers={"Authorization": f"Bearer {self._token.get_secret_value()}"},
            secrets=[self._token.get_secret_value()],
        )

    def op_batch_size(self, op: str) -> int:
        return 1 if op == GDPR_DELETE else self.batch_size

    def quota_note(self) -> str:
        return "100 requests per 10 s (private app); 100 inputs per batch call"

    def calls_for(self, op: str, n_rows: int) -> int:
        base = super().calls_for(op, n_rows)
        return base * 2 if op in (LIST_ADD, LIST_REMOVE, DELETE) else base

    @staticmethod
    def _email(row: Row) -> str:
        return str(row.payload.get("email") or "").strip().lower()

    def _properties(self, row: Row) -> dict[str, Any]:
        props = {}
        for key, value in row.payload.items():
            if value is None:
                if self.sync.null_policy == "skip":
                    continue
                value = ""
            props[key] = value if isinstance(value, str) else _stringify(value)
        return props

    def deliver(self, op: str, rows: list[Row]) -> list[RowResult]:
        if op in (UPSERT, UPDATE):
            results, _ = self._write(op, rows)
            return results
        if op == LIST_ADD:
            results, ids = self._write(UPSERT, rows)
            ok = [r for r in results if r.ok]
            missing = self._membership(add=[ids[r.pk] for r in ok if r.pk in ids], remove=[])
            # HubSpot answers 200 and lists the record ids it could not add
            return [
                RowResult(r.pk, False, reason=f"recordsIdsMissing: {ids[r.pk]}")
                if r.ok and ids.get(r.pk) in missing
                else r
                for r in results
            ]
        if op in (LIST_REMOVE, DELETE):
            ids = self._ids(rows)
            record_ids = [ids[r.pk] for r in rows if r.pk in ids]
            if record_ids:
                if op == LIST_REMOVE:
                    self._membership(add=[], remove=record_ids)
                else:
                    resp = self.http.request(
                        "POST",
                        "/crm/v3/objects/contacts/batch/archive",
                        json_body={"inputs": [{"id": i} for i in record_ids]},
                    )
                    if resp.status_code != 204:
                        raise batch_error(
                            resp.status_code,
                            f"archive HTTP {resp.status_code}: {self.error_text(resp)}",
                        )
            return [RowResult(r.pk, True, dest_id=ids.get(r.pk)) for r in rows]
        if op == UNSUBSCRIBE:
            if self.cfg.object == "list":
                ids = self._ids(rows)
                self._membership(add=[], remove=[ids[r.pk] for r in rows if r.pk in ids])
            return [self._unsubscribe(r) for r in rows]
        if op == GDPR_DELETE:
            out = []
            for r in rows:
                resp = self.http.request(
                    "POST",
                    "/crm/v3/objects/contacts/gdpr-delete",
                    json_body={"objectId": self._email(r), "idProperty": "email"},
                )
                ok = resp.status_code in (204, 404)  # 404: nothing to delete
                out.append(RowResult(r.pk, ok, reason=None if ok else self.error_text(resp)))
            return out
        raise ValueError(f"hubspot does not support op {op}")

    def merge(self, pairs: list[Any]) -> list[RowResult]:
        out = []
        for p in pairs:
            if not p.previous_id or not p.survivor_id:
                out.append(RowResult(p.previous_pk, False, reason="no HubSpot record id"))
                continue
            resp = self.http.request(
                "POST",
                "/crm/v3/objects/contacts/merge",
                json_body={"primaryObjectId": p.survivor_id, "objectIdToMerge": p.previous_id},
            )
            if resp.status_code == 200 or self._merged_into(p.previous_id, p.survivor_id):
                out.append(RowResult(p.previous_pk, True, dest_id=p.survivor_id))
            elif resp.status_code in (401, 403):
                raise batch_error(resp.status_code, f"merge HTTP {resp.status_code}")
            else:
                reason = f"merge HTTP {resp.status_code}: {self.error_text(resp)}"
                out.append(RowResult(p.previous_pk, False, reason=reason))
        return out

    def _merged_into(self, previous_id: str, survivor_id: str) -> bool:
        """HubSpot answers a merged-away record id with the surviving record."""
        resp = self.http.request("GET", f"/crm/v3/objects/contacts/{previous_id}")
        return resp.status_code == 200 and str(resp.json().get("id")) == str(survivor_id)

    def _unsubscribe(self, row: Row) -> RowResult:
        email = self._email(row)
        if not email:
            return RowResult(row.pk, False, reason="no email to unsubscribe")
        resp = self.http.request(
            "POST",
            "/communication-preferences/v3/unsubscribe",
            json_body={"emailAddress": email, "subscriptionId": self.cfg.subscription_id},
        )
        text = self.error_text(resp)
        if resp.status_code == 200 or (resp.status_code == 400 and "already" in text.lower()):
            return RowResult(row.pk, True)
        if resp.status_code in (401, 403, 404):
            raise batch_error(resp.status_code, f"unsubscribe HTTP {resp.status_code}: {text}")
        return RowResult(row.pk, False, reason=f"unsubscribe HTTP {resp.status_code}: {text}")

    def _write(self, op: str, rows: list[Row]) -> tuple[list[RowResult], dict[str, str]]:
        inputs = [
            {"idProperty": "email", "id": self._email(r), "properties": self._properties(r)}
            for r in rows
        ]
        path = f"/crm/v3/objects/contacts/batch/{'upsert' if op == UPSERT else 'update'}"
        resp = self.http.request("POST", path, json_body={"inputs": inputs})
        if resp.status_code not in (200, 201, 207):
            raise batch_error(resp.status_code, f"HTTP {resp.status_code}: {self.error_text(resp)}")
        body = resp.json()
        failed: dict[str, str] = {}
        for err in body.get("errors", []):
            for email in (err.get("context") or {}).get("ids", []):
                failed[str(email).lower()] = f"{err.get('category')}: {err.get('message')}"[:500]
        by_email = {}
        for res in body.get("results", []):
            email = str((res.get("properties") or {}).get("email") or "").lower()
            by_email[email] = str(res["id"])
        results, ids = [], {}
        for r in rows:
            email = self._email(r)
            if email in failed:
                results.append(RowResult(r.pk, False, reason=failed[email]))
            elif email in by_email:
                ids[r.pk] = by_email[email]
                results.append(RowResult(r.pk, True, dest_id=by_email[email]))
            else:
                results.append(RowResult(r.pk, False, reason="no result returned for input"))
        return results, ids

    def _ids(self, rows: list[Row]) -> dict[str, str]:
        ids = {r.pk: r.dest_id for r in rows if r.dest_id}
        need = [r for r in rows if not r.dest_id and self._email(r)]
        if need:
            resp = self.http.request(
                "POST",
                "/crm/v3/objects/contacts/batch/read",
                json_body={
                    "idProperty": "email",
                    "properties": ["email"],
                    "inputs": [{"id": self._email(r)} for r in need],
                },
            )
            if resp.status_code not in (200, 207):
                raise batch_error(
                    resp.status_code, f"batch read HTTP {resp.status_code}: {self.error_text(resp)}"
                )
            found = {
                str((res.get("properties") or {}).get("email") or "").lower(): str(res["id"])
                for res in resp.json().get("results", [])
            }
            for r in need:
                if self._email(r) in found:
                    ids[r.pk] = found[self._email(r)]
        return ids

    # -- read back (reconcile) -------------------------------------------------------------
    def read_back(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """List sync: the member record ids (``GET /crm/v3/lists/{listId}/memberships``,
        250 per page), then their properties (``batch/read`` by id, 100 per call); contacts
        sync: ``batch/read`` by email of ``keys``."""
        if self.cfg.object == "list":
            ids: list[str] = []
            after: str | None = None
            while True:
                params = {"limit": "250", **({"after": after} if after else {})}
                resp = self.http.request(
                    "GET", f"/crm/v3/lists/{self.cfg.list_id}/memberships", params=params
                )
                if resp.status_code != 200:
                    raise batch_error(
                        resp.status_code,
                        f"memberships read HTTP {resp.status_code}: {self.error_text(resp)}",
                    )
                body = resp.json()
                ids += [str(x["recordId"]) for x in body.get("results", [])]
                after = ((body.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
            inputs = [{"id": i} for i in ids]
            id_property = None
        else:
            inputs = [{"id": e} for e in keys]
            id_property = "email"
        found: dict[str, dict[str, Any]] = {}
        fields = self.payload_keys()
        for i in range(0, len(inputs), 100):
            body_in: dict[str, Any] = {
                "properties": sorted({"email", *fields}),
                "inputs": inputs[i : i + 100],
            }
            if id_property:
                body_in["idProperty"] = id_property
            resp = self.http.request(
                "POST", "/crm/v3/objects/contacts/batch/read", json_body=body_in
            )
            if resp.status_code not in (200, 207):
                raise batch_error(
                    resp.status_code, f"batch read HTTP {resp.status_code}: {self.error_text(resp)}"
                )
            for res in resp.json().get("results", []):
                props = res.get("properties") or {}
                email = str(props.get("email") or "").lower()
                if email:
                    found[email] = {"__id": str(res["id"]), **{k: props.get(k) for k in fields}}
        return found

    def _membership(self, add: list[str], remove: list[str]) -> set[str]:
        """Add/remove record ids; returns the ids HubSpot reports as missing."""
        if not add and not remove:
            return set()
        resp = self.http.request(
            "PUT",
            f"/crm/v3/lists/{self.cfg.list_id}/memberships/add-and-remove",
            json_body={"recordIdsToAdd": add, "recordIdsToRemove": remove},
        )
        if resp.status_code != 200:
            raise batch_error(
                resp.status_code, f"memberships HTTP {resp.status_code}: {self.error_text(resp)}"
            )
        return {str(x) for x in (resp.json() or {}).get("recordsIdsMissing", [])}


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
