"""Run a Python program (module or entry point) in this process, then report its cost as JSON.

    PYTHON bench/proc_stats.py OUT.json -m MODULE [ARGS...]
    PYTHON bench/proc_stats.py OUT.json -e MODULE:CALLABLE [ARGS...]   # an entry point

Written for comparing programs that live in different virtual environments (ours and
drt-core's): any interpreter runs this file (standard library only), so each program is
measured the same way, in its own process: wall seconds from before its import, CPU seconds
of every thread (user + system), and the peak resident memory of this process alone
(``VmHWM``: ``ru_maxrss`` would also count the memory of whatever forked us).
"""

from __future__ import annotations

import importlib
import json
import resource
import runpy
import sys
import time


def peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    out, flag, target, *args = sys.argv[1:]
    if flag not in ("-m", "-e"):
        raise SystemExit("usage: proc_stats.py OUT.json (-m MODULE | -e MODULE:CALLABLE) ...")
    sys.argv = [target, *args]
    t0 = time.perf_counter()
    code: int | str | None = 0
    try:
        if flag == "-m":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            module, _, attr = target.partition(":")
            getattr(importlib.import_module(module), attr)()
    except SystemExit as exc:
        code = exc.code
    ru = resource.getrusage(resource.RUSAGE_SELF)
    stats = {
        "wall_s": round(time.perf_counter() - t0, 3),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "exit_code": code if isinstance(code, int) or code is None else 1,
    }
    with open(out, "w") as fh:
        json.dump(stats, fh)
    sys.exit(code)


if __name__ == "__main__":
    main()
