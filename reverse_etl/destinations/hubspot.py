"""HubSpot CRM v3 contacts.

- upsert: ``POST /crm/v3/objects/contacts/batch/upsert`` with ``idProperty: email`` (100 per
  call). HubSpot answers 200, or 207 Multi-Status with ``errors[]`` whose ``context.ids`` name
  the failed inputs; a 400 refuses the whole batch.
- update: ``POST /crm/v3/objects/contacts/batch/update`` (missing contacts fail per row).
- A contact this sync already holds (``dest_id``) is written by ``batch/update`` by record id,
  email included, whatever the mode: after an address change the person keeps their contact.
  Email is unique at HubSpot: when the new address is another contact's, HubSpot refuses the
  request with 409 CONFLICT ("Contact already exists. Existing ID: N"); that row is rejected
  with the reason and the rest re-sent. ``merges.py`` first merges a contact no key of the
  sync holds into the person's (a contact left behind), so only another person's contact
  conflicts (their own change, or a swap of two addresses, is still to be applied).
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

import re
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
    records_follow_identity = True
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
        """Rows whose contact this sync already holds (``dest_id``) are updated by record id,
        their ``email`` included, so the contact follows the person when the address
        changes (no orphan under the old address). The others are upserted (``update``: updated)
        by email, as is a row whose contact no longer exists at HubSpot."""
        results: dict[str, RowResult] = {}
        known = [r for r in rows if r.dest_id]
        gone = []  # their record was archived or deleted at HubSpot: found by email again
        for r, res in zip(known, self._batch("update", known, by_id=True), strict=True):
            if res is None:
                gone.append(r)
            else:
                results[r.pk] = res
        by_email = [r for r in rows if not r.dest_id] + gone
        action = "upsert" if op == UPSERT else "update"
        for r, res in zip(by_email, self._batch(action, by_email, by_id=False), strict=True):
            results[r.pk] = res or RowResult(r.pk, False, reason="OBJECT_NOT_FOUND")
        ids = {pk: res.dest_id for pk, res in results.items() if res.ok and res.dest_id}
        return [results[r.pk] for r in rows], ids

    def _batch(self, action: str, rows: list[Row], by_id: bool) -> list[RowResult | None]:
        """``batch/{action}`` of ``rows`` by record id or by email: a RowResult per row, None
        for a record id HubSpot no longer has. A 409 CONFLICT (HubSpot refuses the whole
        request when an address is already another contact's, naming that contact: "Contact
        already exists. Existing ID: N") rejects the rows that asked for that address and
        sends the others again; another contact's record is never touched."""
        out: dict[str, RowResult | None] = {}
        todo = list(rows)
        while todo:
            inputs = [
                {
                    **(
                        {"id": str(r.dest_id)}
                        if by_id
                        else {"idProperty": "email", "id": self._email(r)}
                    ),
                    "properties": self._properties(r),
                }
                for r in todo
            ]
            path = f"/crm/v3/objects/contacts/batch/{action}"
            resp = self.http.request("POST", path, json_body={"inputs": inputs})
            if resp.status_code == 409:
                clash = self._conflicts(resp, todo)
                if not clash:  # not attributable to a row: bisect
                    raise batch_error(409, f"HTTP 409: {self.error_text(resp)}")
                out.update(clash)
                todo = [r for r in todo if r.pk not in clash]
                continue
            if resp.status_code not in (200, 201, 207):
                raise batch_error(
                    resp.status_code, f"HTTP {resp.status_code}: {self.error_text(resp)}"
                )
            body = resp.json()
            failed: dict[str, tuple[str, str]] = {}
            for err in body.get("errors", []):
                for key in (err.get("context") or {}).get("ids", []):
                    failed[str(key).lower()] = (str(err.get("category")), str(err.get("message")))
            found = {
                str((res.get("properties") or {}).get("email") or "").lower(): str(res["id"])
                for res in body.get("results", [])
            }
            for r in todo:
                key = str(r.dest_id) if by_id else self._email(r)
                if key in failed:
                    category, message = failed[key]
                    out[r.pk] = (
                        None
                        if by_id and category == "OBJECT_NOT_FOUND"
                        else RowResult(r.pk, False, reason=f"{category}: {message}"[:500])
                    )
                elif self._email(r) in found:
                    out[r.pk] = RowResult(r.pk, True, dest_id=found[self._email(r)])
                else:
                    out[r.pk] = RowResult(r.pk, False, reason="no result returned for input")
            break
        return [out[r.pk] for r in rows]

    def _conflicts(self, resp: Any, rows: list[Row]) -> dict[str, RowResult]:
        """The rows a 409 CONFLICT names: those asking for the address of the contact in
        "Existing ID: N" (that contact's address is read by id), each rejected with why."""
        holder = re.search(r"Existing ID: (\d+)", resp.text)
        if not holder:
            return {}
        holder_id = holder.group(1)
        found = self._read({"inputs": [{"id": holder_id}]})  # by record id
        address = next(iter(found), None)
        reason = (
            f"409 CONFLICT: the new email address already belongs to HubSpot contact "
            f"{holder_id}; this person's contact keeps its old address until the two "
            "contacts are merged in HubSpot or the address is corrected in the warehouse"
        )
        return {
            r.pk: RowResult(r.pk, False, reason=reason)
            for r in rows
            if address and self._email(r) == address and str(r.dest_id) != holder_id
        }

    def address_holders(self, emails: list[str]) -> dict[str, str]:
        """email -> record id of the contacts that hold these addresses (``batch/read`` by
        email, 100 per call); an address no contact holds is absent."""
        found: dict[str, str] = {}
        for i in range(0, len(emails), 100):
            chunk = emails[i : i + 100]
            found.update(self._read({"idProperty": "email", "inputs": [{"id": e} for e in chunk]}))
        return found

    def _read(self, body: dict[str, Any]) -> dict[str, str]:
        """email -> record id of the contacts ``batch/read`` finds (by id or ``idProperty``)."""
        resp = self.http.request(
            "POST",
            "/crm/v3/objects/contacts/batch/read",
            json_body={"properties": ["email"], **body},
        )
        if resp.status_code not in (200, 207):
            raise batch_error(
                resp.status_code, f"batch read HTTP {resp.status_code}: {self.error_text(resp)}"
            )
        return {
            str((res.get("properties") or {}).get("email") or "").lower(): str(res["id"])
            for res in resp.json().get("results", [])
        }

    def _ids(self, rows: list[Row]) -> dict[str, str]:
        ids = {r.pk: r.dest_id for r in rows if r.dest_id}
        need = [r for r in rows if not r.dest_id and self._email(r)]
        found = self.address_holders([self._email(r) for r in need]) if need else {}
        ids.update({r.pk: found[self._email(r)] for r in need if self._email(r) in found})
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
