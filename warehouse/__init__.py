"""The warehouse layer: one settings object, connections to DuckDB / PostgreSQL / Spark,
quoting and relation look-up from known schemas. Light to import (drivers load on use)."""

from warehouse.connections import Connection, connect, connect_duckdb, stage_in_duckdb
from warehouse.relations import RelationNotFoundError, quote, resolve
from warehouse.settings import PROJECT_ROOT, Settings, get_settings

__all__ = [
    "PROJECT_ROOT",
    "Connection",
    "RelationNotFoundError",
    "Settings",
    "connect",
    "connect_duckdb",
    "get_settings",
    "quote",
    "resolve",
    "stage_in_duckdb",
]
