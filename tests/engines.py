"""Real database engines for tests: a throwaway PostgreSQL cluster on a free loopback port.

Debian's PostgreSQL server binaries (package `postgresql`) are used as they are: `initdb`
into a temporary directory, `pg_ctl start` on 127.0.0.1 with a private socket directory,
stopped and deleted at the end of the test session. `.ci/run` installs the package when it
is missing; without it the fixture fails with the install command (it never skips, so a CI
machine without PostgreSQL cannot pass by skipping the engine tests).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    database: str

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def env(self) -> dict[str, str]:
        """Environment variables read by dbt_project/profiles.yml's `postgres` output."""
        return {
            "RW_PG_HOST": self.host,
            "RW_PG_PORT": str(self.port),
            "RW_PG_USER": self.user,
            "RW_PG_PASSWORD": "",
            "RW_PG_DATABASE": self.database,
        }


def postgres_bin_dir() -> Path:
    """Directory of Debian's PostgreSQL server binaries (newest major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found: apt-get install -y postgresql "
            "(.ci/run does this on a fresh machine)"
        )
    return Path(found[-1]).parent


def _major(path: str) -> int:
    return int(Path(path).parent.parent.name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as_postgres_user() -> list[str]:
    """initdb refuses to run as root: run the server as the `postgres` system user then."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    # Not under pytest's basetemp: pytest keeps /tmp/pytest-of-<user> private (0700, reset
    # by every session that starts, xdist workers included), and the server user must reach
    # its data directory.
    root = Path(tempfile.mkdtemp(prefix="rw-postgres-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    prefix = _run_as_postgres_user()
    if prefix:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    user, port = "rw", _free_port()
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
         "--encoding=UTF8", "--locale=C.UTF-8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {sockets} -h 127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
         "-l", str(root / "server.log"), "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, "rw"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield PostgresServer(host="127.0.0.1", port=port, user=user, database="rw")
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
