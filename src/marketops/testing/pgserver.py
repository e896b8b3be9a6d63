"""Real components for tests and benchmarks: a throwaway PostgreSQL server on loopback.

Used by the test suite and bench/; needs PostgreSQL's server binaries (`initdb`, `pg_ctl`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed (scripts/bootstrap.sh --test installs it)"
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1, owned by this test run."""

    def __init__(self, base: Path, settings: dict[str, str] | None = None):
        self.settings = dict(settings or {})  # extra `-c name=value` server settings
        self.datadir = base / "data"
        self.sockdir = base / "sock"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else os.environ.get("USER", "postgres")

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:  # initdb refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> PostgresServer:
        self.sockdir.mkdir(parents=True)
        if self.as_root:
            shutil.chown(self.datadir.parent, "postgres")
            shutil.chown(self.sockdir, "postgres")
        self._run(
            _pg_bin("initdb"),
            "-D",
            str(self.datadir),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        opts = (
            f"-h 127.0.0.1 -p {self.port} -k {self.sockdir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {k}={v}" for k, v in self.settings.items())
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.datadir),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "-l",
            str(self.datadir.parent / "pg.log"),
            "start",
        )
        return self

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run(_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop")

    @property
    def log(self) -> Path:
        return self.datadir.parent / "pg.log"

    @property
    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{db}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def temporary_server(
    prefix: str = "marketops-pg-", settings: dict[str, str] | None = None
) -> Iterator[PostgresServer]:
    """A server in a new folder of the system's temp directory (not pytest's: that is private
    to root, and the server may run as `postgres`), stopped and deleted on exit: a benchmark
    leaves gigabytes of data behind."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        server = PostgresServer(base, settings).start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
