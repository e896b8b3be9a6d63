"""The CLI end to end: quickstart, ingest summary, quarantine list/show/replay, keys, lead show."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from marketops.cli import app
from marketops.sample import write_csv

runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def test_quickstart_creates_ingests_and_reports(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    result = run("quickstart", str(demo), "--rows", "600")
    assert result.exit_code == 0, result.output
    assert (demo / "marketops.yml").exists() and (demo / "marketops.db").exists()
    for heading in ("Ingest summary", "Quarantined by reason", "Routed by queue", "Leads by stage"):
        assert heading in result.output
    assert "@" not in result.output.split("Top scored leads")[1]  # no emails printed


def test_ingest_json_summary_and_quarantine_cycle(workspace_dir: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", 400, seed=21)
    result = run("ingest", str(path), "-w", str(workspace_dir), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["rows"] == 400 and summary["quarantined"] > 0

    listed = run("quarantine", "list", "-w", str(workspace_dir), "--json", "--limit", "1000")
    records = json.loads(listed.output)
    assert len(records) == summary["quarantined"]
    target = next(r for r in records if r["errors"][0]["field"] == "activity")

    shown = run("quarantine", "show", str(target["id"]), "-w", str(workspace_dir))
    assert json.loads(shown.output)["payload"]["activity"] == target["payload"]["activity"]

    failing = run("quarantine", "replay", str(target["id"]), "-w", str(workspace_dir))
    assert failing.exit_code == 1 and "activity" in failing.output
    fixed = run(
        "quarantine",
        "replay",
        str(target["id"]),
        "-w",
        str(workspace_dir),
        "--set",
        "activity=form_fill",
    )
    assert fixed.exit_code == 0 and "replayed: 1" in fixed.output
    bad_set = run(
        "quarantine", "replay", str(target["id"]), "-w", str(workspace_dir), "--set", "oops"
    )
    assert bad_set.exit_code == 1


def test_keys_create_list_revoke(workspace_dir: Path) -> None:
    created = run("keys", "create", "zapier", "--scope", "ingest", "-w", str(workspace_dir))
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    key_id = re.search(r"created key (\w+)", created.output).group(1)
    assert token.startswith(f"mk_{key_id}_")
    secret = token[len(f"mk_{key_id}_") :]  # the secret may itself hold "_" (URL-safe base64)
    listed = run("keys", "list", "-w", str(workspace_dir))
    assert key_id in listed.output and len(secret) >= 20 and secret not in listed.output
    assert run("keys", "revoke", key_id, "-w", str(workspace_dir)).exit_code == 0
    bad = run("keys", "create", "x", "--scope", "superuser", "-w", str(workspace_dir))
    assert bad.exit_code == 1 and "ingest, read, admin" in bad.output


def test_not_a_workspace_is_a_clear_error(tmp_path: Path) -> None:
    result = run("quarantine", "list", "-w", str(tmp_path))
    assert result.exit_code == 1 and "marketops init" in result.output
