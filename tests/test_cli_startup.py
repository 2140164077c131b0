"""Every command line answers `--help` without loading the heavy libraries.

An operator's `rw-ml --help` must not wait seconds for pandas, scikit-learn, DuckDB or
Dagster: the CLI modules declare their commands and import what a command runs only when
it runs. This checks `sys.modules` in a fresh interpreter after importing each console
script's module and after asking every command and sub-command for `--help` (the group
callbacks run then too). The wall time itself is measured by `bench/cli_help.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.cli_help import PROJECT_ROOT, command_paths, console_scripts

# Top-level packages that cost a noticeable share of a second (or many) to import. (pydantic
# itself is not here: typer loads it to convert option values.)
HEAVY = (
    "dagster",
    "dbt",
    "dlt",
    "duckdb",
    "httpx",
    "matplotlib",
    "numpy",
    "pandas",
    "psycopg",
    "pyarrow",
    "pydantic_settings",
    "pyspark",
    "scipy",
    "sklearn",
)

SCRIPTS = console_scripts()

# Runs in a fresh interpreter: import the app, then `--help` on each command path given.
PROBE = """
import importlib, json, sys

module, attr = sys.argv[1].split(":")
app = getattr(importlib.import_module(module), attr)
loaded = {"import": sorted({name.split(".")[0] for name in sys.modules})}
for path in json.loads(sys.argv[2]):
    try:
        app([*path, "--help"], prog_name="cli")
    except SystemExit as exit:
        assert exit.code in (0, None), (path, exit.code)
    loaded[" ".join([*path, "--help"])] = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(loaded))
"""


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_loads_no_heavy_package(script: str) -> None:
    paths = command_paths(SCRIPTS[script])
    assert len(paths) > 1, "expected the app and its sub-commands"
    out = subprocess.run(
        [sys.executable, "-c", PROBE, SCRIPTS[script], json.dumps(paths)],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    )
    loaded = json.loads(out.stdout.splitlines()[-1])
    assert len(loaded) == len(paths) + 1
    heavy = {step: sorted(set(HEAVY) & set(mods)) for step, mods in loaded.items()}
    assert not any(heavy.values()), {step: mods for step, mods in heavy.items() if mods}
