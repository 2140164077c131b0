"""A neutral local receiver of JSON batches, for comparing senders on equal terms.

Accepts ``POST`` of a JSON object whose records are a list at ``data.records`` or
``records`` (our signed webhook and drt-core's REST destination with a batch template are
both shaped that way), answers ``200 {"ok": true}`` and counts requests, records, bytes and
distinct record keys (``key`` or ``person_id``), so a run is checked to have delivered
every row once. It verifies nothing else (no signature): the same work for every sender.

    GET  /__stats   counters as JSON        POST /__reset   zero them

Standard library only: it runs in its own process, started by the benchmark.

    python -m bench.receiver --port 0    # prints "listening on <port>"
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.records = 0
        self.bytes = 0
        self.max_records_per_request = 0
        self.keys: set[str] = set()

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "records": self.records,
            "bytes": self.bytes,
            "distinct_keys": len(self.keys),
            "max_records_per_request": self.max_records_per_request,
        }


COUNTERS = Counters()


def records_of(body: object) -> list:
    if isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, dict) and isinstance(data.get("records"), list):
            return data["records"]
        if isinstance(body.get("records"), list):
            return body["records"]
    raise ValueError("no records list at data.records or records")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as both senders' httpx clients expect
    # Answers leave at once: with Nagle's algorithm a small write waits for the client's
    # delayed ACK (about 40 ms per request on loopback), which would bound any sender.
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/__stats":
            with COUNTERS.lock:
                self._answer(200, COUNTERS.as_dict())
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/__reset":
            with COUNTERS.lock:
                COUNTERS.reset()
            self._answer(200, {"ok": True})
            return
        try:
            records = records_of(json.loads(raw))
        except ValueError as exc:  # includes JSONDecodeError
            self._answer(400, {"error": str(exc)})
            return
        keys = [str(r.get("key", r.get("person_id"))) for r in records if isinstance(r, dict)]
        with COUNTERS.lock:
            COUNTERS.requests += 1
            COUNTERS.records += len(records)
            COUNTERS.bytes += len(raw)
            COUNTERS.max_records_per_request = max(COUNTERS.max_records_per_request, len(records))
            COUNTERS.keys.update(keys)
        self._answer(200, {"ok": True})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
