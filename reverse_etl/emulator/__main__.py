"""``python -m reverse_etl.emulator --port 8765 [--seed 1 --fault-rate 0.2]``"""

from __future__ import annotations

import argparse
import logging

from reverse_etl.emulator.server import EmulatorServer
from reverse_etl.emulator.state import EmulatorConfig


def main() -> None:
    parser = argparse.ArgumentParser(description="Local marketing-platform emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--job-polls", type=int, default=1)
    parser.add_argument("--validation", choices=["full", "sample", "off"], default="full")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    cfg = EmulatorConfig(
        seed=args.seed,
        fault_rate=args.fault_rate,
        job_polls=args.job_polls,
        validation=args.validation,
    )
    server = EmulatorServer(args.host, args.port, cfg)
    print(f"emulator listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
