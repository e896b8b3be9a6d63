"""Sign-in, cookies, CSRF and every page over real HTTP, on a server using PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from web_helpers import PASSWORD

from marketops.services.context import AppContext
from marketops.services.leads import capture_one
from marketops.store.schema import quarantine
from marketops.testing.server import LiveServer, start_server, stop_server
from marketops.web.auth import UserService
from marketops.workspace import Workspace

PAGES = [
    "",
    "/attribution",
    "/health",
    "/slas",
    "/routing",
    "/backlog",
    "/quarantine",
    "/stack",
    "/scorecard",
]


@pytest.fixture
def pg_live(
    workspace_dir: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", pg_database)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    now = datetime.now(UTC)
    UserService(ctx.engine, scrypt_n=2**12).create("ada", PASSWORD, now)
    capture_one(
        ctx,
        {"email": "vp@initech.example", "title": "VP Marketing", "activity": "demo_request"},
        now,
    )
    capture_one(ctx, {"email": "broken", "activity": "form_fill"}, now)
    ctx.close()
    server = start_server(
        workspace_dir, {"MARKETOPS_DATABASE_URL": pg_database, "MARKETOPS_SECRET_KEY": "k"}
    )
    yield server
    stop_server(server)


def _token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html
    return m.group(1)


def _sign_in(
    c: httpx.Client, password: str = PASSWORD, next_: str = "/dashboard"
) -> httpx.Response:
    page = c.get("/login", params={"next": next_})
    return c.post(
        "/login",
        data={
            "username": "ada",
            "password": password,
            "csrf_token": _token(page.text),
            "next": next_,
        },
    )


def test_sign_in_cookies_csrf_and_pages_on_postgres(pg_live: LiveServer) -> None:
    with httpx.Client(base_url=pg_live.base_url, timeout=30) as c:
        r = c.get("/dashboard/quarantine")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/dashboard/quarantine"
        login = c.get("/login")
        assert "httponly" in login.headers["set-cookie"].lower()
        forged = c.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": "x"})
        assert forged.status_code == 403
        wrong = _sign_in(c, password="not the password")
        assert wrong.status_code == 303 and "error=" in wrong.headers["location"]
        assert "mo_session" not in c.cookies
        assert "Unknown user name" in c.get(wrong.headers["location"]).text
        assert "pwned" not in c.get("/login", params={"error": "pwned"}).text

        ok = _sign_in(c, next_="//evil.example/x")
        assert ok.status_code == 303 and ok.headers["location"] == "/dashboard"  # no open redirect
        cookie = ok.headers["set-cookie"].lower()
        assert "mo_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie

        for path in PAGES:
            r = c.get("/dashboard" + path)
            assert r.status_code == 200, (path, r.text[:500])
            assert "default-src 'self'" in r.headers["content-security-policy"]
            assert "<script" not in r.text.lower()
        assert "http://" not in c.get("/dashboard").text.replace("http://www.w3.org/2000/svg", "")
        assert c.get("/dashboard/static/app.css").headers["content-type"].startswith("text/css")
        assert c.get("/dashboard/static/..%2F..%2Fservices%2Fkeys.py").status_code == 404

        page = c.get("/dashboard/quarantine").text
        rid = int(re.search(r'data-replay="(\d+)"', page).group(1))
        assert c.post(f"/dashboard/quarantine/{rid}/discard", data={}).status_code == 403
        assert (
            c.post(f"/dashboard/quarantine/{rid}/replay", data={"csrf_token": "forged"}).status_code
            == 403
        )
        r = c.post(f"/dashboard/quarantine/{rid}/replay", data={"csrf_token": _token(page)})
        assert r.status_code == 303 and r.headers["location"].endswith(f"failed={rid}")  # still bad
        r = c.post(f"/dashboard/quarantine/{rid}/discard", data={"csrf_token": _token(page)})
        assert r.status_code == 303 and r.headers["location"].endswith(f"discarded={rid}")

        assert c.post("/logout", data={"csrf_token": _token(page)}).status_code == 303
        assert c.get("/dashboard").status_code == 303  # the session ended in the store
    ctx = AppContext.open(Workspace.load(pg_live.workspace))
    try:
        with ctx.engine.connect() as conn:
            assert (
                conn.execute(select(quarantine.c.status).where(quarantine.c.id == rid)).scalar()
                == "discarded"
            )
    finally:
        ctx.close()
