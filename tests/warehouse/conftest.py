"""The warehouse layer's tests run against DuckDB files and a throwaway PostgreSQL."""

from tests.engines import postgres_server  # noqa: F401  (pytest fixture)
