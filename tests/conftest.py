"""Shared fixtures: real SQLite files, a real PostgreSQL server started for this run, a real
uvicorn server, and example workspaces."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace


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

    def __init__(self, base: Path):
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
        )
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    # not under pytest's tmp dir: that is private to root, and the server runs as `postgres`
    base = Path(tempfile.mkdtemp(prefix="marketops-pg-"))
    server = PostgresServer(base).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of the session's PostgreSQL server (database `postgres`)."""
    return postgres_server.url()


@pytest.fixture
def pg_database(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres_server.create_database()


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    """The example workspace from `marketops init`, in a temp folder (SQLite store inside)."""
    root = tmp_path / "ws"
    init_workspace(root)
    return root


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test on a real SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def ctx(workspace_dir: Path, backend_url: str, monkeypatch: pytest.MonkeyPatch):
    from marketops.services.context import AppContext

    monkeypatch.setenv("MARKETOPS_DATABASE_URL", backend_url)
    context = AppContext.open(Workspace.load(workspace_dir))
    yield context
    context.close()


class LiveServer:
    def __init__(self, base_url: str, proc: subprocess.Popen, workspace: Path, env: dict):
        self.base_url = base_url
        self.proc = proc
        self.workspace = workspace
        self.env = env

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def start_server(workspace: Path, env_extra: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    env = {**os.environ, **(env_extra or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "marketops.cli", "serve", "-w", str(workspace), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return LiveServer(base, proc, workspace, env)
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
