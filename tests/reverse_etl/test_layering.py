"""Imports in reverse_etl run one way: the sync config builds its union of destination
configs from the destinations' registry, so no destination module imports the config, or
anything that imports it, not even for type hints. A new destination is one file that
declares its config model and registers itself."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import reverse_etl

PACKAGE = Path(reverse_etl.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


@cache
def _imports(module: str) -> frozenset[str]:
    """reverse_etl modules an import statement anywhere in the file names (TYPE_CHECKING
    blocks and function bodies too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return frozenset(found & MODULES.keys())


def _reaches_config(module: str, seen: frozenset[str] = frozenset()) -> bool:
    if module == "reverse_etl.config":
        return True
    return any(_reaches_config(m, seen | {module}) for m in _imports(module) - seen - {module})


def test_destinations_never_import_the_sync_config():
    destinations = [m for m in MODULES if m.startswith("reverse_etl.destinations")]
    assert len(destinations) > 3, destinations
    assert _reaches_config("reverse_etl.engine")  # the walk sees a real chain
    offending = {m: sorted(_imports(m)) for m in destinations if _reaches_config(m)}
    assert not offending, offending
