"""taxonomy.yml loading and checks, naming templates, and the workspace registration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from marketops.errors import WorkspaceError
from marketops.taxonomy import Taxonomy, load_taxonomy
from marketops.taxonomy.model import NamingTemplate, compile_template
from marketops.workspace.registry import registered

TEMPLATES = Path(__file__).parents[2] / "src" / "marketops" / "workspace" / "templates"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_template_loads() -> None:
    tax = load_taxonomy(TEMPLATES / "taxonomy.yml")
    assert tax.required == ["utm_source", "utm_medium", "utm_campaign"]
    assert tax.parameters["utm_campaign"].template == "campaign"


def test_empty_file_is_an_empty_taxonomy(tmp_path: Path) -> None:
    assert load_taxonomy(write(tmp_path, "")) == Taxonomy()


@pytest.mark.parametrize(
    ("body", "line", "text"),
    [
        ("parameters:\n  utm_source:\n    allowed: [Google]\n", 3, "can never pass"),
        ("charset: a-z\nparameters:\n  utm_source:\n    allowed: [g-1]\n", 4, "breaks charset"),
        ("parameters:\n  utm_campaign:\n    template: nope\n", 3, "no template named 'nope'"),
        ("templates:\n  t:\n    format: '{yyyy}_{region}'\n", 3, "{region} is not declared"),
        (
            "depends:\n  - when: {medium: cpc}\n    allow: {utm_source: [google]}\n",
            2,
            "'medium' is not a utm_*",
        ),
    ],
)
def test_cross_checks_name_the_line(tmp_path: Path, body: str, line: int, text: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(WorkspaceError) as info:
        load_taxonomy(path)
    assert any(p.where == f"{path}:{line}" and text in p.message for p in info.value.problems), (
        info.value.problems
    )


@pytest.mark.parametrize(
    ("body", "line", "text"),
    [
        ("required: [utm_source]\nparamaters: {}\n", 2, "paramaters"),
        ("parameters:\n  utm_content:\n    pattern: '(['\n", 3, "not a valid regular expression"),
        ("charset: 'a-'\ncharset2: 1\n", 2, "charset2"),
        ("templates:\n  t:\n    format: '{yyyy:04d}'\n", 3, "plain name"),
        ("depends:\n  - when: {utm_medium: cpc}\n", 2, "needs `allow`"),
        ("parameters:\n  utm_term:\n    max_length: 0\n", 3, "max_length"),
    ],
)
def test_shape_errors_name_the_line(tmp_path: Path, body: str, line: int, text: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(WorkspaceError) as info:
        load_taxonomy(path)
    assert any(p.where == f"{path}:{line}" and text in p.message for p in info.value.problems), (
        info.value.problems
    )


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "required: [utm_source\n")
    with pytest.raises(WorkspaceError, match="not valid YAML"):
        load_taxonomy(path)


def test_template_check_and_render() -> None:
    t = compile_template(
        "c",
        NamingTemplate.model_validate(
            {
                "format": "{yyyy}-{mm}_{objective}_{audience}",
                "fields": {
                    "objective": {"allowed": ["awareness", "leads"]},
                    "audience": {"pattern": "[a-z]{2,10}"},
                },
            }
        ),
    )
    assert t.check("2024-12_leads_smb") == []
    assert [name for name, *_ in t.check("2024-00_lead_SMB")] == ["mm", "objective", "audience"]
    assert t.check("2024-00_lead_SMB")[1][2] == "use 'leads'"
    assert (
        t.render({"objective": "leads", "audience": "smb"}, datetime(2024, 7, 9, tzinfo=UTC))
        == "2024-07_leads_smb"
    )
    with pytest.raises(KeyError):
        t.render({"objective": "leads"}, datetime(2024, 7, 9, tzinfo=UTC))


def test_template_builtin_date_parts_and_repeats() -> None:
    t = compile_template(
        "d", NamingTemplate(format="{yy}{q}-{dd}/{x}/{x}", fields={"x": {"allowed": ["a", "b"]}})
    )
    assert t.render({"x": "a"}, datetime(2025, 11, 5, tzinfo=UTC)) == "25q4-05/a/a"
    assert t.check("25q4-05/a/a") == []
    assert t.check("25q4-05/a/b") != []  # a repeated placeholder repeats its value
    assert t.placeholders() == ["yy", "q", "dd", "x"]


def test_registered_workspace_files() -> None:
    files = registered()
    assert files["taxonomy.yml"].model is Taxonomy
    assert "channels.yml" in files
    # what a workspace without the files gets: no rules, and the built-in channel ruleset
    assert Taxonomy.model_validate(files["taxonomy.yml"].default) == Taxonomy()
    assert files["channels.yml"].default == {"extends": "ga4-default"}


def test_registered_checks_report_problems(tmp_path: Path) -> None:
    files = registered()
    (tmp_path / "taxonomy.yml").write_text("parameters:\n  utm_campaign: {template: x}\n")
    tax = Taxonomy.model_validate({"parameters": {"utm_campaign": {"template": "x"}}})
    [p] = files["taxonomy.yml"].check(tmp_path, tax)  # type: ignore[misc]
    assert p.where.endswith("taxonomy.yml:2")
    from marketops.taxonomy.ruleset import ChannelsFile

    (tmp_path / "channels.yml").write_text("extends: ga4-default\ndisable: [x]\n")
    [p] = files["channels.yml"].check(  # type: ignore[misc]
        tmp_path, ChannelsFile(extends="ga4-default", disable=["x"])
    )
    assert p.where.endswith("channels.yml:2")
