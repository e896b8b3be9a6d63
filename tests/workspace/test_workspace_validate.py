from pathlib import Path

from typer.testing import CliRunner

from marketops.cli import app
from marketops.workspace import Workspace, validate_workspace

runner = CliRunner()


def test_example_workspace_is_valid(workspace_dir: Path) -> None:
    assert validate_workspace(workspace_dir) == []
    ws = Workspace.load(workspace_dir)
    assert ws.contract.field("email").required
    assert ws.scoring.mql_threshold == 60
    assert ws.database_url.startswith("sqlite:///") and str(workspace_dir) in ws.database_url


def test_env_overrides_database_url(workspace_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", "postgresql://u@db.internal/mops")
    assert Workspace.load(workspace_dir).database_url == "postgresql://u@db.internal/mops"


def test_problems_name_file_line_and_fix(workspace_dir: Path) -> None:
    scoring = workspace_dir / "scoring.yml"
    text = scoring.read_text().replace("mql_threshold: 60", "mql_threshold: sixty")
    scoring.write_text(text)
    line = text.splitlines().index("mql_threshold: sixty") + 1
    routing = workspace_dir / "routing.yml"
    routing.write_text(routing.read_text().replace("queue: apac\n", "queue: apacc\n"))
    problems = validate_workspace(workspace_dir)
    wheres = {p.where for p in problems}
    assert f"{scoring}:{line}" in wheres
    assert any("unknown queue `apacc`" in p.message for p in problems)
    assert any(str(routing) in p.where for p in problems)


def test_yaml_syntax_error_reports_line(workspace_dir: Path) -> None:
    lifecycle = workspace_dir / "lifecycle.yml"
    lifecycle.write_text("stages: [Known, MQL\ninitial: Known\n")
    problems = validate_workspace(workspace_dir)
    assert any(p.where.startswith(f"{lifecycle}:") and "YAML syntax" in p.message for p in problems)


def test_contract_problems(workspace_dir: Path) -> None:
    contract = workspace_dir / "contracts" / "lead.odcs.yaml"
    text = contract.read_text().replace("logicalType: integer", "logicalType: whole-number")
    text = text.replace("value: warning", "value: loud", 1)
    contract.write_text(text)
    messages = " | ".join(p.message for p in validate_workspace(workspace_dir))
    assert "logicalType" in messages


def test_unknown_key_and_bad_regex(workspace_dir: Path) -> None:
    scoring = workspace_dir / "scoring.yml"
    scoring.write_text(
        scoring.read_text()
        .replace("decay:", "decai:")
        .replace('matches: "(?i)\\\\bdirector\\\\b"', 'matches: "(unclosed"')
    )
    problems = validate_workspace(workspace_dir)
    text = " | ".join(f"{p.message} {p.hint}" for p in problems)
    assert "decai" in text and "remove it or check the spelling" in text
    assert "regular expression" in text


def test_cli_validate_exit_codes(workspace_dir: Path) -> None:
    ok = runner.invoke(app, ["validate", str(workspace_dir)])
    assert ok.exit_code == 0, ok.output
    (workspace_dir / "routing.yml").write_text("rules:\n  - name: x\n")
    bad = runner.invoke(app, ["validate", str(workspace_dir)])
    assert bad.exit_code == 1
    assert "routing.yml" in bad.output and "queue" in bad.output


def test_init_refuses_to_overwrite(workspace_dir: Path) -> None:
    result = runner.invoke(app, ["init", str(workspace_dir)])
    assert result.exit_code == 1 and "--force" in result.output


def test_validate_reads_yaml_without_loading_the_analytics(workspace_dir: Path) -> None:
    """`validate` is a pre-commit check: it must not pay for SciPy, pandas or Ibis (~2 s), which
    only analyses need (package exports are lazy, `marketops._lazy`)."""
    import subprocess
    import sys

    code = (
        "import sys; from marketops.workspace import validate_workspace; "
        f"assert validate_workspace({str(workspace_dir)!r}) == []; "
        "print(sorted(m for m in ('scipy', 'pandas', 'ibis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
