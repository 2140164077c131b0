"""CPU per request of the HTTP clients a sender could use, against the neutral receiver.

The webhook sync's senders spent most of their CPU in the HTTP client (reverse_etl/README.md,
"Versus drt-core"). This measures that part alone: the same JSON batches (``--records`` per
request, shaped like the webhook sync's) posted ``--requests`` times from ``--threads``
threads over keep-alive connections through ``httpx.Client`` (what the sync used before),
httpcore's connection pool (httpx's own transport, without the client layer), the
standard library's ``http.client`` and ``reverse_etl.http_pool.ConnectionPool`` (what the
sync uses: ``http.client`` with a connection per thread). Reports wall and process CPU
seconds per client, the median of ``--reps`` rounds run in turn.

    python -m bench.http_client_bench            # 600 requests of 500 records, 4 threads
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpcore
import httpx

from reverse_etl.http_pool import ConnectionPool

REPO = Path(__file__).resolve().parents[1]


def _body(records: int) -> bytes:
    rows = [
        {
            "event_id": f"{i:032x}",
            "key": f"person-{i}",
            "attributes": {"email": f"user{i}@example.com", "orders_count": i, "net_revenue": 12.5},
        }
        for i in range(records)
    ]
    return json.dumps({"type": "sync.upsert", "data": {"records": rows}}).encode()


def _senders(base: str, host: str, port: int, threads: int) -> dict[str, Callable]:
    """Per client: (open, post, close) over one pool or one connection per thread."""

    def with_httpx():
        client = httpx.Client(base_url=base, timeout=30)
        return (lambda body: client.post("/records", content=body, headers=HEADERS).status_code,
                client.close)  # fmt: skip

    def with_httpcore():
        pool = httpcore.ConnectionPool(max_connections=threads)
        url = f"{base}/records"
        return (lambda body: pool.request("POST", url, content=body, headers=HEADERS).status,
                pool.close)  # fmt: skip

    def with_http_client():
        local = threading.local()
        opened: list[http.client.HTTPConnection] = []

        def post(body: bytes) -> int:
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection(host, port, timeout=30)
                opened.append(local.conn)
            local.conn.request("POST", "/records", body=body, headers=HEADERS)
            response = local.conn.getresponse()
            response.read()
            return response.status

        return post, lambda: [c.close() for c in opened]

    def with_ours():
        pool = ConnectionPool(base, {}, timeout_s=30)
        return (lambda body: pool.request("POST", "/records", content=body, headers=HEADERS)
                .status_code, pool.close)  # fmt: skip

    return {"httpx.Client": with_httpx, "httpcore pool": with_httpcore,
            "http.client": with_http_client, "http_pool": with_ours}  # fmt: skip


HEADERS = {"Content-Type": "application/json"}


def run(requests: int, records: int, threads: int, reps: int) -> dict:
    receiver = subprocess.Popen(
        [sys.executable, "-m", "bench.receiver", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(receiver.stdout.readline().split()[-1])
        body = _body(records)
        senders = _senders(f"http://127.0.0.1:{port}", "127.0.0.1", port, threads)
        walls: dict[str, list[float]] = {name: [] for name in senders}
        cpus: dict[str, list[float]] = {name: [] for name in senders}
        for _ in range(reps):
            for name, make in senders.items():
                post, close = make()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                with ThreadPoolExecutor(threads) as pool:
                    statuses = list(pool.map(post, [body] * requests))
                walls[name].append(time.perf_counter() - wall0)
                cpus[name].append(time.process_time() - cpu0)
                close()
                if set(statuses) != {200}:
                    raise RuntimeError(f"{name}: answers {sorted(set(statuses))}")
        return {
            "requests": requests,
            "records_per_request": records,
            "body_bytes": len(body),
            "threads": threads,
            "reps": reps,
            "clients": {
                name: {
                    "wall_s_median": round(statistics.median(walls[name]), 3),
                    "cpu_s_median": round(statistics.median(cpus[name]), 3),
                    "cpu_s_all": [round(c, 3) for c in cpus[name]],
                }
                for name in senders
            },
        }
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(run(args.requests, args.records, args.threads, args.reps), indent=2))


if __name__ == "__main__":
    main()
