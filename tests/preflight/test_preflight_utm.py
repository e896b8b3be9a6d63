"""UTM checks against the real workspace taxonomy (marketops.taxonomy) and the fallback rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketops.errors import WorkspaceError
from marketops.ops.preflight import PreflightConfig, parse_document, run_preflight
from marketops.ops.preflight.utm import check_utms, fallback_check, load_taxonomy_file

TAXONOMY = """\
version: 1
normalize: {lowercase: true, trim: true, spaces: "_"}
charset: "a-z0-9_.-"
required: [utm_source, utm_medium, utm_campaign]
parameters:
  utm_source:
    allowed: [newsletter, partner]
  utm_medium:
    allowed: [email]
  utm_campaign:
    pattern: "[0-9]{4}-[0-9]{2}_[a-z_]+"
internal:
  domains: [acme.example]
  forbid: ["utm_*"]
"""


@pytest.fixture
def taxonomy(tmp_path: Path):
    path = tmp_path / "taxonomy.yml"
    path.write_text(TAXONOMY)
    loaded = load_taxonomy_file(path)
    assert loaded is not None
    return loaded


def email(href: str) -> str:
    return (
        f'<html><body><a href="{href}">Read</a><a href="https://esp.example/unsub">'
        "Unsubscribe</a><p>PO Box 1, Springfield, IL 62701</p></body></html>"
    )


def utm_findings(href: str, taxonomy) -> list[str]:
    report = run_preflight(
        parse_document(email(href), "t.html"), PreflightConfig(), taxonomy=taxonomy
    )
    return [f.message for f in report.findings if f.check == "utm"]


def test_taxonomy_accepts_a_conforming_link(taxonomy) -> None:
    url = (
        "https://shop.example/p?utm_source=newsletter&utm_medium=email&utm_campaign=2026-11_launch"
    )
    assert utm_findings(url, taxonomy) == []


def test_taxonomy_rejects_values_the_fallback_would_accept(taxonomy) -> None:
    url = "https://shop.example/p?utm_source=twitter&utm_medium=email&utm_campaign=launch"
    assert fallback_check(url) == []  # present and lowercase
    messages = utm_findings(url, taxonomy)
    assert any("twitter" in m for m in messages)
    assert any("launch" in m for m in messages)


def test_taxonomy_forbids_utms_on_internal_links(taxonomy) -> None:
    url = "https://www.acme.example/p?utm_source=newsletter&utm_medium=email&utm_campaign=x"
    assert any("internal" in m for m in utm_findings(url, taxonomy))
    assert utm_findings("https://www.acme.example/p", taxonomy) == []


def test_check_utms_without_a_taxonomy_uses_the_fallback() -> None:
    url = "https://shop.example/?utm_source=Newsletter&utm_medium=email"
    assert [p.where for p in check_utms(url, None)] == ["utm_source", "utm_campaign"]


def test_taxonomy_file_missing_or_invalid(tmp_path: Path) -> None:
    assert load_taxonomy_file(tmp_path / "absent.yml") is None
    bad = tmp_path / "taxonomy.yml"
    bad.write_text("version: 1\nparameters:\n  utm_source:\n    alowed: [x]\n")
    with pytest.raises(WorkspaceError) as exc:
        load_taxonomy_file(bad)
    assert any(p.where.endswith("taxonomy.yml:4") for p in exc.value.problems)
