"""Local emulators of the APIs the pulls read (Shopify Admin REST orders/customers and
Klaviyo's Events API), on 127.0.0.1 and a free port, behaving as their docs describe:
auth headers, cursor paging (Shopify's Link header with page_info, which tolerates no other
filter; Klaviyo's JSON:API links.next with page[cursor]), filters on updated_at / datetime,
rate limits answered with 429 + Retry-After, and injectable faults (a malformed page,
slow pages). Every request is recorded for the tests' assertions."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Faults:
    rate_limit_every: int = 0  # every n-th request gets 429 (0: never)
    retry_after: str = "2.0"
    malformed_once_at_page: int = 0  # the n-th successful page once returns broken JSON
    page_delay_seconds: float = 0.0
    _served_pages: int = 0
    _malformed_done: bool = False


@dataclass
class Recorded:
    path: str
    query: dict
    status: int
    at: float


class _Emulator:
    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, headers, body = emulator.handle(url.path, query, self.headers)
                with emulator.lock:
                    emulator.requests.append(Recorded(url.path, query, status, time.monotonic()))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _throttle(self) -> bool:
        every = self.faults.rate_limit_every
        return every > 0 and (len(self.requests) + 1) % every == 0

    def _page(self, body: bytes) -> bytes:
        """Counts a served page, applies the delay and the one-off malformed page."""
        f = self.faults
        f._served_pages += 1
        if f.page_delay_seconds:
            time.sleep(f.page_delay_seconds)
        due = f.malformed_once_at_page and f._served_pages >= f.malformed_once_at_page
        if due and not f._malformed_done:
            f._malformed_done = True
            return body[: len(body) // 2]
        return body

    def handle(self, path: str, query: dict, headers) -> tuple[int, dict, bytes]:
        raise NotImplementedError


class ShopifyEmulator(_Emulator):
    """Admin REST `orders.json` and `customers.json` of one shop."""

    TOKEN = "shpat_emulator_token"
    API = "/admin/api/2025-07"

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[int, dict] = {}
        self.customers: dict[int, dict] = {}

    def put_order(self, order: dict) -> None:
        self.orders[order["id"]] = order

    def put_customer(self, customer: dict) -> None:
        self.customers[customer["id"]] = customer

    def handle(self, path: str, query: dict, headers) -> tuple[int, dict, bytes]:
        js = {"Content-Type": "application/json; charset=utf-8"}
        if headers.get("X-Shopify-Access-Token") != self.TOKEN:
            body = {
                "errors": "[API] Invalid API key or access token (unrecognized login or "
                "wrong password)"
            }
            return 401, js, json.dumps(body).encode()
        if self._throttle():
            body = {
                "errors": "Exceeded 2 calls per second for api client. Reduce request "
                "rates to resume uninterrupted service."
            }
            return 429, {**js, "Retry-After": self.faults.retry_after}, json.dumps(body).encode()
        match = re.fullmatch(rf"{self.API}/(orders|customers)\.json", path)
        if not match:
            return 404, js, b'{"errors":"Not Found"}'
        kind = match.group(1)
        limit = int(query.get("limit", 50))
        if limit > 250:
            return 400, js, b'{"errors":{"limit":"must be less than or equal to 250"}}'
        if "page_info" in query:
            extra = set(query) - {"page_info", "limit", "fields"}
            if extra:  # Shopify: page_info requests take no other filter
                return (
                    400,
                    js,
                    json.dumps(
                        {"errors": {"page_info": f"cannot be combined with {sorted(extra)}"}}
                    ).encode(),
                )
            cursor = json.loads(base64.urlsafe_b64decode(query["page_info"]))
        else:
            cursor = {
                "updated_at_min": query.get("updated_at_min"),
                "status": query.get("status", "open"),
                "last_id": None,
            }
        records = list((self.orders if kind == "orders" else self.customers).values())
        if kind == "orders" and cursor["status"] != "any":
            records = [
                r for r in records if r.get("closed_at") is None and r.get("cancelled_at") is None
            ]
        if cursor["updated_at_min"]:
            start = _ts(cursor["updated_at_min"])
            records = [r for r in records if _ts(r["updated_at"]) >= start]
        records.sort(key=lambda r: r["id"], reverse=True)  # Shopify lists newest id first
        if cursor["last_id"] is not None:
            records = [r for r in records if r["id"] < cursor["last_id"]]
        page = records[:limit]
        out = dict(js)
        if len(records) > limit:
            token = base64.urlsafe_b64encode(
                json.dumps({**cursor, "last_id": page[-1]["id"]}).encode()
            ).decode()
            next_url = f"{self.base_url}{self.API}/{kind}.json?" + urlencode(
                {"limit": limit, "page_info": token}
            )
            out["Link"] = f'<{next_url}>; rel="next"'
        return 200, out, self._page(json.dumps({kind: page}).encode())


class KlaviyoEmulator(_Emulator):
    """`GET /api/metrics` and `GET /api/events` (JSON:API) of one Klaviyo account."""

    API_KEY = "pk_emulator_key"

    def __init__(self, page_size: int = 200) -> None:
        super().__init__()
        self.page_size = page_size
        self.metrics: dict[str, str] = {}  # id -> name
        self.profiles: dict[str, str] = {}  # id -> email
        self.events: dict[str, dict] = {}

    def add_event(
        self,
        event_id: str,
        metric: str,
        profile_id: str,
        email: str,
        at: str,
        properties: dict | None = None,
    ) -> None:
        metric_id = next((k for k, v in self.metrics.items() if v == metric), None)
        if metric_id is None:
            metric_id = f"M{len(self.metrics) + 1:05d}"
            self.metrics[metric_id] = metric
        self.profiles[profile_id] = email
        self.events[event_id] = {
            "type": "event",
            "id": event_id,
            "attributes": {
                "timestamp": int(_ts(at).timestamp()),
                "datetime": at,
                "uuid": f"uuid-{event_id}",
                "event_properties": properties or {},
            },
            "relationships": {
                "metric": {"data": {"type": "metric", "id": metric_id}},
                "profile": {"data": {"type": "profile", "id": profile_id}},
            },
        }

    def handle(self, path: str, query: dict, headers) -> tuple[int, dict, bytes]:
        js = {"Content-Type": "application/vnd.api+json"}

        def error(status: int, code: str, detail: str) -> tuple[int, dict, bytes]:
            body = {"errors": [{"status": status, "code": code, "title": detail, "detail": detail}]}
            return status, js, json.dumps(body).encode()

        if headers.get("Authorization") != f"Klaviyo-API-Key {self.API_KEY}":
            return error(401, "not_authenticated", "Missing or invalid private key.")
        if not headers.get("revision"):
            return error(400, "invalid", "Missing revision header.")
        if self._throttle():
            status, _, body = error(429, "throttled", "Request was throttled.")
            return status, {**js, "Retry-After": self.faults.retry_after}, body
        if path.rstrip("/") == "/api/metrics":
            data = [
                {"type": "metric", "id": k, "attributes": {"name": v}}
                for k, v in sorted(self.metrics.items())
            ]
            return 200, js, json.dumps({"data": data, "links": {"next": None}}).encode()
        if path.rstrip("/") != "/api/events":
            return error(404, "not_found", "Not found.")
        flt = query.get("filter", "")
        events = list(self.events.values())
        for metric_id in re.findall(r'equals\(metric_id,"([^"]+)"\)', flt):
            events = [e for e in events if e["relationships"]["metric"]["data"]["id"] == metric_id]
        for op, value in re.findall(r"(greater-than|greater-or-equal)\(datetime,([^)]+)\)", flt):
            start = _ts(value)
            events = [
                e
                for e in events
                if (
                    _ts(e["attributes"]["datetime"]) > start
                    if op == "greater-than"
                    else _ts(e["attributes"]["datetime"]) >= start
                )
            ]
        events.sort(key=lambda e: (e["attributes"]["datetime"], e["id"]))
        cursor = query.get("page[cursor]")
        offset = int(base64.urlsafe_b64decode(cursor)) if cursor else 0
        page = events[offset : offset + self.page_size]
        included = []
        if "profile" in query.get("include", ""):
            ids = sorted({e["relationships"]["profile"]["data"]["id"] for e in page})
            included = [
                {"type": "profile", "id": i, "attributes": {"email": self.profiles[i]}} for i in ids
            ]
        next_url = None
        if offset + self.page_size < len(events):
            cursor = base64.urlsafe_b64encode(str(offset + self.page_size).encode()).decode()
            params = {k: v for k, v in query.items() if k != "page[cursor]"}
            query_string = urlencode({**params, "page[cursor]": cursor})
            next_url = f"{self.base_url}/api/events?{query_string}"
        body = {
            "data": page,
            "included": included,
            "links": {"self": f"{self.base_url}/api/events", "next": next_url},
        }
        return 200, js, self._page(json.dumps(body).encode())


@dataclass
class ShopifyOrders:
    """Builds Shopify REST order objects for the emulator (fields as the docs list them)."""

    counter: int = 0
    line_counter: int = field(default=0)

    def order(
        self,
        order_id: int,
        *,
        email: str,
        customer_id: int | None,
        updated_at: str,
        created_at: str,
        lines: list[tuple[str | None, str, int, str]],
        financial_status: str = "paid",
        refunds: list[dict] | None = None,
        outstanding: str = "0.00",
    ) -> dict:
        items = []
        for sku, name, qty, price in lines:
            self.line_counter += 1
            items.append(
                {
                    "id": order_id * 100 + self.line_counter % 100,
                    "sku": sku,
                    "name": name,
                    "title": name,
                    "vendor": "Kawa & Co",
                    "quantity": qty,
                    "price": price,
                    "total_discount": "0.00",
                    "product_id": 9000 + len(name),
                }
            )
        total = sum(float(p) * q for _, _, q, p in lines)
        return {
            "id": order_id,
            "name": f"#{order_id}",
            "email": email,
            "customer": None if customer_id is None else {"id": customer_id, "email": email},
            "financial_status": financial_status,
            "currency": "PLN",
            "taxes_included": True,
            "subtotal_price": f"{total:.2f}",
            "total_discounts": "0.00",
            "total_tax": f"{total * 0.187:.2f}",
            "total_price": f"{total:.2f}",
            "total_outstanding": outstanding,
            "buyer_accepts_marketing": True,
            "created_at": created_at,
            "updated_at": updated_at,
            "cancelled_at": None,
            "closed_at": None,
            "billing_address": {
                "first_name": "Ola",
                "last_name": "Nowak",
                "country_code": "PL",
                "phone": None,
            },
            "line_items": items,
            "shipping_lines": [],
            "discount_codes": [],
            "refunds": refunds or [],
        }
