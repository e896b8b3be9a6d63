"""Rendering and token checks: fallbacks, escaping, the sandbox, file:line validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from marketops.errors import WorkspaceError
from marketops.messaging.render import RenderError, render
from marketops.workspace import Workspace, validate_workspace

LEAD = {"id": "L1", "email": "ann@example.com", "first_name": None, "company": "Acme & Co"}


def write(ws: Path, name: str, text: str) -> Path:
    path = ws / "emails" / f"{name}.yml"
    path.write_text(text)
    return path


def test_example_templates_validate_and_render(workspace_dir: Path) -> None:
    assert validate_workspace(workspace_dir) == []
    ws = Workspace.load(workspace_dir)
    names = sorted(p.stem for p in (workspace_dir / "emails").glob("*.yml"))
    assert names == sorted(
        ["welcome", "nurture_1", "nurture_2", "nurture_3", "reengage", "winback", "upsell"]
    )
    for name in names:
        out = render(name, LEAD, None, ws)
        assert out.subject and "{{" not in out.subject + out.text + (out.html or "")
        assert "Unsubscribe: https://mkt.acme.example/u/preview" in out.text


def test_fallback_token_and_html_escaping(workspace_dir: Path) -> None:
    ws = Workspace.load(workspace_dir)
    out = render("welcome", LEAD, None, ws, unsubscribe_url="https://x.example/u/T")
    assert out.subject == "Welcome to Acme, there"
    assert "Hi there," in out.text and "on behalf of Acme & Co." in out.text
    assert "on behalf of Acme &amp; Co." in (out.html or "")
    assert '<a href="https://x.example/u/T">Unsubscribe</a>' in (out.html or "")
    assert "100 Main Street" in out.text  # postal address in the footer
    named = render("welcome", {**LEAD, "first_name": "Ann"}, None, ws)
    assert named.subject == "Welcome to Acme, Ann"


def test_params_and_attributes_are_tokens(workspace_dir: Path) -> None:
    ws = Workspace.load(workspace_dir)
    write(
        workspace_dir,
        "offer",
        'subject: "{{ params.plan }} for {{ plan_tier | default(\\"you\\") }}"\n'
        "text: Hi {{ first_name | default('there') }}\n",
    )
    # params.plan has no fallback: validation says so, and rendering refuses rather than blank
    problems = [str(p) for p in validate_workspace(workspace_dir)]
    assert any("offer.yml:1" in p and "`params` has no fallback" in p for p in problems)
    with pytest.raises(WorkspaceError):
        render("offer", LEAD, {"plan": "Pro"}, ws)


def test_missing_param_without_fallback_is_a_render_error(workspace_dir: Path) -> None:
    ws = Workspace.load(workspace_dir)
    write(
        workspace_dir,
        "guarded",
        "subject: Hello\ntext: |\n  {% if params.code %}\n  Code: {{ params.code }}\n  {% endif %}\n"
        "  {{ params.link | default('https://acme.example') }} {{ plan_tier or 'free' }}\n",
    )
    assert validate_workspace(workspace_dir) == []
    out = render("guarded", {**LEAD, "attributes": {"plan_tier": "gold"}}, {"code": "X1"}, ws)
    assert out.text.startswith("Code: X1\nhttps://acme.example gold")
    assert render("guarded", LEAD, {}, ws).text.startswith("https://acme.example free")
    write(
        workspace_dir, "strict", "subject: Hi\ntext: '{{ params.x.y | default(1) }}{{ email }}'\n"
    )
    assert render("strict", LEAD, None, ws).text.startswith("1ann@example.com")


def test_missing_token_is_a_validation_error_with_file_line(workspace_dir: Path) -> None:
    path = write(
        workspace_dir,
        "bad",
        "# a comment\nsubject: Hi {{ first_name }}\ntext: |\n  Hello,\n\n  {{ company }} rocks\n"
        "html: '<p>{% if x %}</p>'\n",
    )
    problems = {p.where: p.message for p in validate_workspace(workspace_dir)}
    assert problems[f"{path}:2"] == "subject: token `first_name` has no fallback"
    assert problems[f"{path}:6"] == "text: token `company` has no fallback"
    assert "template syntax error" in problems[f"{path}:7"]


def test_sandbox_blocks_python_internals(workspace_dir: Path) -> None:
    write(workspace_dir, "evil", "subject: x\ntext: \"{{ ''.__class__.__mro__ }}\"\n")
    with pytest.raises(SecurityError):
        render("evil", LEAD, None, Workspace.load(workspace_dir))


def test_unknown_template_and_bad_name(workspace_dir: Path) -> None:
    ws = Workspace.load(workspace_dir)
    with pytest.raises(WorkspaceError, match="no email template 'nope'"):
        render("nope", LEAD, None, ws)
    with pytest.raises(WorkspaceError, match="bad email template name"):
        render("../messaging", LEAD, None, ws)


def test_render_error_names_the_token(workspace_dir: Path) -> None:
    ws = Workspace.load(workspace_dir)
    write(
        workspace_dir,
        "loop",
        "subject: x\ntext: '{% for i in params.rows %}{{ i.name }}{% endfor %}'\n",
    )
    with pytest.raises(RenderError) as err:
        render("loop", LEAD, {"rows": [{"title": "no name"}]}, ws)
    assert "has no attribute 'name'" in str(err.value)
    with pytest.raises(RenderError, match="TypeError"):
        render("loop", LEAD, {"rows": 5}, ws)
