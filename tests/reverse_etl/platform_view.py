"""Read what the emulator holds in one comparable shape per destination."""

from __future__ import annotations

from typing import Any


def _num(v: Any) -> str | None:
    return None if v is None else str(float(v))


def view(
    snapshot: dict[str, Any], dest: str, sync_name: str, list_ref: str | None = None
) -> tuple[dict[str, dict[str, Any]], set[str] | None]:
    """(records keyed by email — or person_id for braze/webhook —, list members or None)."""
    if dest == "klaviyo":
        recs = {
            e: {
                "first_name": p.get("first_name"),
                "segment": (p.get("properties") or {}).get("segment"),
                "net_revenue": _num((p.get("properties") or {}).get("net_revenue")),
            }
            for e, p in snapshot["klaviyo"]["profiles"].items()
        }
        members = set(snapshot["klaviyo"]["lists"].get(list_ref, [])) if list_ref else None
        return recs, members
    if dest == "hubspot":
        recs = {
            e: {
                "first_name": c.get("firstname"),
                "segment": c.get("segment"),
                "net_revenue": _num(c.get("net_revenue")),
            }
            for e, c in snapshot["hubspot"]["contacts"].items()
        }
        members = set(snapshot["hubspot"]["lists"].get(list_ref, [])) if list_ref else None
        return recs, members
    if dest == "salesmanago":
        contacts = snapshot["salesmanago"]["contacts"]
        recs = {
            e: {
                "first_name": c.get("name"),
                "segment": c["properties"].get("segment"),
                "net_revenue": _num(c["properties"].get("net_revenue")),
            }
            for e, c in contacts.items()
        }
        members = {e for e, c in contacts.items() if list_ref and list_ref.upper() in c["tags"]}
        return recs, members if list_ref else None
    if dest == "braze":
        recs = {
            pk: {
                "first_name": u.get("first_name"),
                "segment": u.get("segment"),
                "net_revenue": _num(u.get("net_revenue")),
            }
            for pk, u in snapshot["braze"]["users"].items()
        }
        return recs, None
    if dest == "webhook":
        prefix = f"{sync_name}/"
        recs = {
            key[len(prefix) :]: {
                "first_name": r.get("first_name"),
                "segment": r.get("segment"),
                "net_revenue": _num(r.get("net_revenue")),
            }
            for key, r in snapshot["webhook"]["records"].items()
            if key.startswith(prefix)
        }
        return recs, None
    raise ValueError(dest)


def desired(rows: dict[str, dict[str, Any]], dest: str) -> dict[str, dict[str, Any]]:
    by_pk = dest in ("braze", "webhook")
    return {
        (pk if by_pk else r["email"]): {
            "first_name": r["first_name"],
            "segment": r["segment"],
            "net_revenue": _num(r["net_revenue"]),
        }
        for pk, r in rows.items()
    }
