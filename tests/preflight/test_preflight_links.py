"""Link reachability against a real local HTTP server: 200, 404, 5xx, redirects, timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from preflight_helpers import LinkServer, serve_links

from marketops.ops.preflight import (
    HttpLinkChecker,
    PreflightConfig,
    parse_document,
    run_preflight,
)

GOOD = (Path(__file__).parent / "fixtures" / "good.html").read_text()


@pytest.fixture(scope="module")
def link_server() -> Iterator[LinkServer]:
    """A real HTTP server on 127.0.0.1 for this module (see preflight_helpers)."""
    with serve_links() as server:
        yield server


@pytest.fixture(scope="module")
def checker() -> HttpLinkChecker:
    with HttpLinkChecker(timeout_s=0.3, max_redirects=5) as c:
        yield c


def test_ok_page(link_server: LinkServer, checker: HttpLinkChecker) -> None:
    status = checker.check_one(link_server.url("/ok"))
    assert status.ok and status.status == 200 and status.method == "HEAD"
    assert status.redirects == 0


@pytest.mark.parametrize(("path", "code"), [("/missing", 404), ("/error", 500)])
def test_error_pages_fail_after_head_then_get(
    link_server: LinkServer, checker: HttpLinkChecker, path: str, code: int
) -> None:
    before = link_server.hits.copy()
    status = checker.check_one(link_server.url(path))
    assert not status.ok and status.status == code and status.method == "GET"
    assert link_server.hits[("HEAD", path)] - before[("HEAD", path)] == 1
    assert link_server.hits[("GET", path)] - before[("GET", path)] == 1


def test_head_refused_falls_back_to_get(link_server: LinkServer, checker: HttpLinkChecker) -> None:
    status = checker.check_one(link_server.url("/no-head"))
    assert status.ok and status.status == 200 and status.method == "GET"


def test_redirects_are_followed(link_server: LinkServer, checker: HttpLinkChecker) -> None:
    status = checker.check_one(link_server.url("/moved"))
    assert status.ok and status.redirects == 2 and status.final_url == link_server.url("/ok")
    broken = checker.check_one(link_server.url("/moved-to-missing"))
    assert not broken.ok and broken.status == 404 and broken.redirects == 1


def test_redirect_loop_is_broken(link_server: LinkServer, checker: HttpLinkChecker) -> None:
    status = checker.check_one(link_server.url("/loop"))
    assert not status.ok and status.error == "too many redirects"


def test_timeout(link_server: LinkServer, checker: HttpLinkChecker) -> None:
    status = checker.check_one(link_server.url("/slow"))
    assert status.timed_out and not status.ok
    assert link_server.hits[("GET", "/slow")] == 0  # a hanging server is not asked twice


def test_connection_refused_is_broken(checker: HttpLinkChecker) -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = checker.check_one(f"http://127.0.0.1:{port}/")
    assert not status.ok and not status.timed_out and status.error


def test_run_preflight_reports_each_link_outcome(
    link_server: LinkServer, checker: HttpLinkChecker
) -> None:
    links = "\n".join(
        f'<p><a href="{link_server.url(p)}?utm_source=a&amp;utm_medium=b&amp;utm_campaign=c">'
        f"{p}</a></p>"
        for p in ("/ok", "/missing", "/moved", "/slow", "/ok")
    )
    html = GOOD.replace("<p>Our November", links + "\n<p>Our November")
    config = PreflightConfig.model_validate(
        {"links": {"allow_domains": ["127.0.0.1"], "check_images": False}}
    )
    report = run_preflight(parse_document(html, "t.html"), config, checker)
    by_check = {
        f.check: f
        for f in report.findings
        if f.check.startswith("link_") and f.check != "link_insecure"
    }
    assert set(by_check) == {"link_broken", "link_redirect", "link_timeout", "link_domain"}
    assert by_check["link_broken"].where == "t.html:17:4"
    assert "HTTP 404" in by_check["link_broken"].message
    assert by_check["link_broken"].element.startswith('<a href="http://127.0.0.1:')
    assert by_check["link_redirect"].message.endswith(f"to {link_server.url('/ok')}")
    assert by_check["link_timeout"].where == "t.html:19:4"
    # www.acme.example is not on the allowlist: reported, never fetched
    assert "www.acme.example is not on links.allow_domains" in by_check["link_domain"].message
    assert report.stats["link_mode"] == "online"
    assert report.stats["urls_fetched"] == 4  # /ok appears twice, fetched once
    assert not report.can_ship


def test_offline_checks_fetch_nothing(link_server: LinkServer) -> None:
    html = GOOD.replace(
        "<p>Our November", f'<p><a href="{link_server.url("/offline-probe")}">x</a></p><p>Our'
    )
    before = sum(n for (_, p), n in link_server.hits.items() if p == "/offline-probe")
    report = run_preflight(parse_document(html, "t.html"), PreflightConfig(), None)
    assert report.stats["link_mode"] == "offline"
    assert sum(n for (_, p), n in link_server.hits.items() if p == "/offline-probe") == before
    assert "link_broken" not in report.checks_failed()
