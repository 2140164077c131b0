"""Where the project's data lives; every path can be overridden by environment variable."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Paths(BaseSettings):
    """Data locations. Relative values are resolved against the project root."""

    model_config = SettingsConfigDict(env_prefix="RW_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    raw_dir: Path = Path("data/raw")
    truth_dir: Path = Path("data/truth")
    duckdb_path: Path = Path("data/warehouse.duckdb")

    def resolved(self) -> Paths:
        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (PROJECT_ROOT / p)

        return Paths(
            data_dir=fix(self.data_dir),
            raw_dir=fix(self.raw_dir),
            truth_dir=fix(self.truth_dir),
            duckdb_path=fix(self.duckdb_path),
        )


def paths() -> Paths:
    return Paths().resolved()
