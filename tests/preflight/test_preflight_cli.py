"""`marketops preflight` end to end: tables, --json, exit codes, workspace config, live links."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from preflight_helpers import LinkServer, serve_links
from typer.testing import CliRunner

from marketops.cli import app
from marketops.workspace import validate_workspace

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


@pytest.fixture(scope="module")
def link_server() -> Iterator[LinkServer]:
    """A real HTTP server on 127.0.0.1 for this module (see preflight_helpers)."""
    with serve_links() as server:
        yield server


@pytest.fixture(autouse=True)
def outside_any_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARKETOPS_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    result = runner.invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_good_email_ships_with_exit_code_0() -> None:
    result = runner.invoke(app, ["preflight", str(FIXTURES / "good.eml"), "--offline"])
    assert result.exit_code == 0, result.output
    assert "good.eml can ship" in result.output


def test_blockers_give_a_table_and_exit_code_1() -> None:
    result = runner.invoke(app, ["preflight", str(FIXTURES / "bad_list_headers.eml"), "--offline"])
    assert result.exit_code == 1
    assert "list_unsubscribe_post" in result.output
    assert "bad_list_headers.eml:6" in result.output
    assert "bad_list_headers.eml cannot ship (2 blocker(s)" in result.output


def test_json_output_for_several_files() -> None:
    result = runner.invoke(
        app,
        [
            "preflight",
            str(FIXTURES / "good.html"),
            str(FIXTURES / "bad.html"),
            "--offline",
            "--json",
        ],
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["can_ship"] is False
    assert [r["source"] for r in data["reports"]] == ["good.html", "bad.html"]
    assert data["reports"][0]["can_ship"] is True
    bad = data["reports"][1]
    assert {
        "check": "link_syntax",
        "severity": "blocker",
        "where": "bad.html:7:1",
        "element": '<a href="#">',
    }.items() <= bad["findings"][0].items()


def test_landing_page_flag_skips_email_checks(tmp_path: Path) -> None:
    page = tmp_path / "lp.html"
    page.write_text(
        '<html><body><h1>Pricing</h1><img src="https://x.example/a.png" alt="Plans"></body></html>'
    )
    assert runner.invoke(app, ["preflight", str(page), "--offline"]).exit_code == 1
    result = runner.invoke(app, ["preflight", str(page), "--offline", "--page"])
    assert result.exit_code == 0, result.output


def test_live_link_checks(tmp_path: Path, link_server: LinkServer) -> None:
    html = (
        (FIXTURES / "good.html")
        .read_text()
        .replace("https://www.acme.example/reports", link_server.url("/missing"))
    )
    page = tmp_path / "live.html"
    page.write_text(html)
    result = runner.invoke(
        app, ["preflight", str(page), "--json", "--timeout", "0.5", "--allow-domain", "127.0.0.1"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)["reports"][0]
    by_check: dict[str, list[str]] = {}
    for f in report["findings"]:
        by_check.setdefault(f["check"], []).append(f["where"])
    # only 127.0.0.1 is fetched; the acme.example links and images are listed as not fetched
    assert by_check.pop("link_broken") == ["live.html:17:8"]
    assert by_check.pop("link_domain") == ["live.html:13:11", "live.html:18:5"]
    assert set(by_check) == {"link_insecure"}  # the test server speaks http
    assert report["stats"]["link_mode"] == "online"
    assert report["stats"]["urls_fetched"] == 1


def test_workspace_preflight_yml_sets_severities(workspace: Path) -> None:
    (workspace / "preflight.yml").write_text(
        "checks:\n  preheader: blocker\nlinks:\n  allow_domains: [acme.example]\n"
    )
    html = (
        (FIXTURES / "good.html")
        .read_text()
        .replace('class="preheader" style="display:none;max-height:0;overflow:hidden;"', "")
    )
    page = workspace / "email.html"
    page.write_text(html)
    (workspace / "taxonomy.yml").unlink()  # the minimal UTM rule applies without a taxonomy
    result = runner.invoke(
        app, ["preflight", str(page), "-w", str(workspace), "--offline", "--json"]
    )
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["reports"][0]["findings"]
    assert [(f["check"], f["severity"]) for f in findings] == [("preheader", "blocker")]


def test_invalid_preflight_yml_is_reported_with_its_line(workspace: Path) -> None:
    (workspace / "preflight.yml").write_text(
        "checks:\n  img_alt: blocker\n  no_such: off\nlinks:\n  timeout_s: -1\n"
    )
    result = runner.invoke(
        app, ["preflight", str(FIXTURES / "good.html"), "-w", str(workspace), "--offline"]
    )
    assert result.exit_code == 1
    flat = "".join(result.output.split())  # rich wraps long paths
    assert "preflight.yml:3:checks.no_such" in flat
    assert "preflight.yml:5:links.timeout_s" in flat
    problems = validate_workspace(workspace)
    assert {p.where.rsplit("/", 1)[-1] for p in problems} == {"preflight.yml:3", "preflight.yml:5"}


def test_the_template_is_valid_and_copied_by_init(workspace: Path) -> None:
    assert (workspace / "preflight.yml").exists()
    assert validate_workspace(workspace) == []


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["preflight", str(tmp_path / "nope.html")])
    assert result.exit_code == 2


def test_validate_reports_a_missing_custom_taxonomy(workspace: Path) -> None:
    (workspace / "preflight.yml").write_text(
        "links:\n  timeout_s: 3\nutm:\n  taxonomy: tax/x.yml\n"
    )
    problems = validate_workspace(workspace)
    assert [(p.where.rsplit("/", 1)[-1], p.message) for p in problems] == [
        ("preflight.yml:4", "utm.taxonomy: tax/x.yml not found")
    ]
    (workspace / "tax").mkdir()
    (workspace / "tax" / "x.yml").write_text((workspace / "taxonomy.yml").read_text())
    assert validate_workspace(workspace) == []
