"""Relation names: quoting, and which schema each project relation lives in.

dbt puts each mart folder in its own schema (dbt_project.yml), so a relation is found by
its name alone, never by searching the catalogue at run time:

- `ml_*` models (models/marts/ml: features, labels, cutoffs) are in `ml`, beside the tables
  the ml package writes (`customer_scores`, created empty by dbt's on-run-start hook,
  `model_registry`, `score_runs`, `drift_reports`);
- `sync_*` models (models/marts/sync: what the syncs send) are in `sync`.

Any other name must be qualified (`core.dim_customers`, `segmentation.audience_x`); an
unqualified name that matches no rule is left unqualified, i.e. the connection's default
schema (DuckDB `main`, PostgreSQL's search path).
"""

from __future__ import annotations

import re

ML_SCHEMA = "ml"
SYNC_SCHEMA = "sync"
ML_OUTPUT_TABLES = frozenset({"customer_scores", "model_registry", "score_runs", "drift_reports"})
SCHEMA_BY_PREFIX = {"ml_": ML_SCHEMA, "sync_": SYNC_SCHEMA}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")


class RelationNotFoundError(LookupError):
    """The relation does not exist in the warehouse (usually: dbt has not built it yet)."""


def quote(identifier: str) -> str:
    """A double-quoted SQL identifier (DuckDB, PostgreSQL; Spark connections use backticks)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def schema_of(name: str) -> str | None:
    """The known schema of an unqualified project relation, or None (default schema)."""
    if name in ML_OUTPUT_TABLES:
        return ML_SCHEMA
    for prefix, schema in SCHEMA_BY_PREFIX.items():
        if name.startswith(prefix):
            return schema
    return None


def parts(name: str) -> tuple[str, ...]:
    """`name` or `schema.name` (or `catalog.schema.name`) split, with the known schema added."""
    if not _NAME.match(name):
        raise ValueError(f"not a relation name: {name!r}")
    split = tuple(name.split("."))
    if len(split) == 1:
        schema = schema_of(name)
        return (schema, name) if schema else split
    return split


def resolve(name: str, quote_char: str = '"') -> str:
    """The quoted, schema-qualified relation for `name`."""
    q = quote if quote_char == '"' else (lambda s: "`" + s.replace("`", "``") + "`")
    return ".".join(q(p) for p in parts(name))
