"""How fast every command line answers `--help` (target: under 1 s; issue 12, item 8).

    python -m bench.cli_help [--runs 5] [--write]

Every console script of pyproject.toml and every one of its sub-commands is run as
`<script> [sub-command ...] --help` in a fresh process, exactly as installed (the virtual
environment's entry point, its compiled bytecode, the caller's environment, e.g.
PYTHONDONTWRITEBYTECODE), as an operator would run it. Per command: the first run (the
coldest: nothing of it in the page cache yet unless it ran just before), then the median and
worst wall time and the median CPU time (user + system, which a busy machine does not
inflate) of --runs further runs. Also recorded: the load average before and after, and how
many of the modules each script imports came from valid bytecode rather than being compiled
on the spot. `make bench` runs it through bench/run.py; `--write` replaces only this
section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_ROOT / "bench" / "RESULTS.md"
SECTION = "cli_help"
TARGET_S = 1.0


def console_scripts() -> dict[str, str]:
    """`name -> module:attribute` of every console script the project installs."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    return pyproject["project"]["scripts"]


def command_paths(target: str) -> list[tuple[str, ...]]:
    """Every command of a Typer app: () for the app itself, then each (sub-)command path."""
    import typer.main

    module, attr = target.split(":")
    app = getattr(importlib.import_module(module), attr)

    def walk(command, prefix: tuple[str, ...]):
        yield prefix
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, (*prefix, name))

    return list(walk(typer.main.get_command(app), ()))


# Runs in a fresh interpreter: which imported modules had no valid bytecode to load.
_BYTECODE_PROBE = """
import importlib, json, os, sys
from importlib.util import cache_from_source
importlib.import_module(sys.argv[1])
total, compiled_here = 0, set()
for module in list(sys.modules.values()):
    source = getattr(getattr(module, "__spec__", None), "origin", None)
    if not source or not source.endswith(".py") or not os.path.exists(source):
        continue
    total += 1
    try:
        header = open(cache_from_source(source), "rb").read(16)
        stat = os.stat(source)
        valid = int.from_bytes(header[4:8], "little") != 0 or (
            int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF
        )
    except OSError:
        valid = False
    if not valid:
        compiled_here.add(module.__name__.split(".")[0])
print(json.dumps({"modules": total, "compiled_on_import": sorted(compiled_here)}))
"""


def bytecode(target: str) -> dict:
    module = target.split(":")[0]
    out = subprocess.run(
        [sys.executable, "-c", _BYTECODE_PROBE, module],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    )
    return json.loads(out.stdout)


def _timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def measure(argv: list[str], runs: int) -> dict:
    first, _ = _timed(argv)
    wall, cpu = zip(*(_timed(argv) for _ in range(runs)), strict=True)
    return {
        "first_s": round(first, 3),
        "median_s": round(statistics.median(wall), 3),
        "worst_s": round(max(wall), 3),
        "cpu_median_s": round(statistics.median(cpu), 3),
    }


def measure_all(runs: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """Figures per command (`rw-ml train --help`) and the bytecode check per script."""
    bin_dir = Path(sys.executable).parent
    commands: dict[str, dict] = {}
    scripts: dict[str, dict] = {}
    for script, target in sorted(console_scripts().items()):
        scripts[script] = bytecode(target)
        for path in command_paths(target):
            name = " ".join([script, *path, "--help"])
            commands[name] = measure([str(bin_dir / script), *path, "--help"], runs)
            print(f"[cli_help] {name}: {commands[name]}", flush=True)
    return commands, scripts


def run_benchmarks(runs: int = 5) -> dict:
    """What RESULTS.md shows: one line per command, the slowest in full, the load."""
    load_start = os.getloadavg()
    commands, scripts = measure_all(runs)
    slowest = max(commands, key=lambda name: commands[name]["median_s"])
    return {
        "target_s": TARGET_S,
        "all_under_target": all(f["median_s"] < TARGET_S for f in commands.values()),
        "slowest": {slowest: commands[slowest]},
        "runs_per_command": f"1 first, then {runs} for the median, worst and CPU",
        "load_average_1_5_15_min_start": ", ".join(f"{x:.1f}" for x in load_start),
        "load_average_1_5_15_min_end": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
        "bytecode": {
            script: f"{b['modules']} modules imported; compiled on each import: "
            + (", ".join(b["compiled_on_import"]) or "none")
            for script, b in scripts.items()
        },
        "seconds (first / median / worst wall; median CPU)": {
            name: f"{f['first_s']:.2f} / {f['median_s']:.2f} / {f['worst_s']:.2f}; "
            f"{f['cpu_median_s']:.2f}"
            for name, f in commands.items()
        },
    }


def write_section(figures: dict, command: str, results: Path = RESULTS) -> None:
    """Replace this benchmark's section of RESULTS.md (as bench/run.py renders it)."""
    section = "\n".join(
        [
            f"## {SECTION} (`{command}`, {datetime.now(UTC):%Y-%m-%d %H:%M UTC})",
            "",
            "```json",
            json.dumps(figures, indent=2),
            "```",
            "",
        ]
    )
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {SECTION} \(.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    results.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs after the first (median)")
    parser.add_argument("--write", action="store_true", help=f"replace the section in {RESULTS}")
    args = parser.parse_args()
    figures = run_benchmarks(args.runs)
    print(json.dumps(figures, indent=2))
    if args.write:
        write_section(figures, f"python -m bench.cli_help {' '.join(sys.argv[1:])}".strip())
        print(f"wrote the {SECTION} section of {RESULTS}")
    return 0 if figures["all_under_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
