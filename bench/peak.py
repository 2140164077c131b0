"""Run a command and print its wall time, CPU time and peak memory (the child's max RSS) as
JSON.

Usage: python -m bench.peak -- CMD [ARGS...]
A fresh process per measurement, so RUSAGE_CHILDREN holds exactly that command's peak.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    start = time.perf_counter()
    completed = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kib = usage.ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_bytes": peak_kib * 1024,
                # CPU time (user + system): what the command costs on a loaded machine
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "returncode": completed.returncode,
                "stdout_tail": completed.stdout[-4000:],
                "stderr_tail": completed.stderr[-4000:],
            }
        )
    )


if __name__ == "__main__":
    main()
