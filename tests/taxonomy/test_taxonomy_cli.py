"""`marketops utm …` and `marketops channel …` through Typer's CliRunner on the real app."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from marketops.cli import app

TEMPLATES = Path(__file__).parents[2] / "src" / "marketops" / "workspace" / "templates"
TAX = str(TEMPLATES / "taxonomy.yml")
OK = "https://shop.io/?utm_source=google&utm_medium=cpc&utm_campaign=2025-01_leads_smb"
runner = CliRunner()


def flat(text: str) -> str:
    """Rich wraps long lines to the terminal width; compare words, not layout."""
    return " ".join(text.split())


def test_utm_build_prints_the_url() -> None:
    r = runner.invoke(
        app,
        [
            "utm",
            "build",
            "https://shop.io/p?a=1#x",
            "-t",
            TAX,
            "-s",
            "Bing",
            "-m",
            "cpc",
            "-c",
            "2025-02_leads_enterprise",
            "-p",
            "utm_id=42",
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == (
        "https://shop.io/p?a=1&utm_source=bing&utm_medium=cpc"
        "&utm_campaign=2025-02_leads_enterprise&utm_id=42#x"
    )


def test_utm_build_from_parts_in_the_workspace(workspace_dir: Path) -> None:
    r = runner.invoke(
        app,
        [
            "utm",
            "build",
            "https://shop.io/",
            "-w",
            str(workspace_dir),
            "-s",
            "google",
            "-m",
            "cpc",
            "--part",
            "objective=leads",
            "--part",
            "audience=smb",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    url = json.loads(r.stdout)["url"]
    # the date parts come from the clock: check the shape, the rest exactly
    prefix, campaign = url.split("utm_campaign=")
    assert prefix == "https://shop.io/?utm_source=google&utm_medium=cpc&"
    assert campaign[4] == "-" and campaign[7:] == "_leads_smb"


def test_utm_build_blocked_exits_1_with_the_rule() -> None:
    r = runner.invoke(
        app,
        [
            "utm",
            "build",
            "https://shop.io/",
            "-t",
            TAX,
            "-s",
            "facebook",
            "-m",
            "cpc",
            "-c",
            "2025-02_leads_smb",
        ],
    )
    assert r.exit_code == 1
    assert "utm_source" in r.stderr and "google, bing" in flat(r.stderr)


def test_utm_build_bad_param_syntax() -> None:
    r = runner.invoke(app, ["utm", "build", "https://shop.io/", "-t", TAX, "-p", "utm_id"])
    assert r.exit_code == 1 and "NAME=VALUE" in flat(r.stderr)


def test_utm_check() -> None:
    assert runner.invoke(app, ["utm", "check", OK, "-t", TAX]).exit_code == 0
    r = runner.invoke(app, ["utm", "check", OK.replace("cpc", "CPC"), "-t", TAX, "--json"])
    assert r.exit_code == 1
    assert json.loads(r.stdout)["violations"][0]["fix"] == "use 'cpc'"


def test_utm_lint_text_and_csv(tmp_path: Path) -> None:
    links = tmp_path / "links.txt"
    links.write_text(f"{OK}\n{OK.replace('smb', 'smbs')}\n{OK}\n{OK}\n")
    r = runner.invoke(app, ["utm", "lint", str(links), "-t", TAX])
    assert r.exit_code == 1
    assert "75.0% compliant" in r.stdout and "'smb'" in flat(r.stdout)
    table = tmp_path / "campaigns.csv"
    table.write_text("utm_source,utm_medium,utm_campaign\ngoogle,cpc,2025-01_leads_smb\n")
    r = runner.invoke(app, ["utm", "lint", str(table), "-t", TAX, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["compliance_pct"] == 100.0


def test_utm_lint_stdin_and_missing_file(tmp_path: Path) -> None:
    r = runner.invoke(app, ["utm", "lint", "-", "-t", TAX], input=OK + "\n")
    assert r.exit_code == 0 and "100.0% compliant" in r.stdout
    r = runner.invoke(app, ["utm", "lint", str(tmp_path / "nope.txt"), "-t", TAX])
    assert r.exit_code == 1 and "file not found" in flat(r.stderr)


def test_utm_without_a_taxonomy(tmp_path: Path) -> None:
    r = runner.invoke(app, ["utm", "check", OK, "-w", str(tmp_path)])
    assert r.exit_code == 1 and "not a marketops workspace" in flat(r.stderr)


def test_channel_classify_single() -> None:
    r = runner.invoke(app, ["channel", "classify", "-s", "google", "-m", "cpc", "--explain"])
    assert (r.exit_code, r.stdout) == (0, "Paid Search\tpaid_search\n")
    r = runner.invoke(app, ["channel", "classify", "-s", "amazon", "-m", "referral", "--json"])
    assert json.loads(r.stdout) == {
        "channel": "Organic Shopping",
        "rule": "organic_shopping",
        "ruleset": "ga4-default@2023-11-04",
    }
    assert runner.invoke(app, ["channel", "classify"]).exit_code == 1


def test_channel_classify_csv(tmp_path: Path) -> None:
    src = tmp_path / "touch.csv"
    src.write_text("id,utm_source,utm_medium\n1,google,cpc\n2,,\n3,newsletter,email\n")
    out = tmp_path / "out.csv"
    r = runner.invoke(
        app,
        [
            "channel",
            "classify",
            "-i",
            str(src),
            "-o",
            str(out),
            "--source-column",
            "utm_source",
            "--medium-column",
            "utm_medium",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(row["id"], row["channel"]) for row in rows] == [
        ("1", "Paid Search"),
        ("2", "Direct"),
        ("3", "Email"),
    ]
    r = runner.invoke(app, ["channel", "classify", "-i", str(src)])
    assert r.exit_code == 1 and "no column source, medium" in flat(r.stderr)


def test_channel_workspace_ruleset(tmp_path: Path) -> None:
    (tmp_path / "channels.yml").write_text(
        (TEMPLATES / "channels.example.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    r = runner.invoke(app, ["channel", "classify", "-w", str(tmp_path), "-s", "g2", "-m", "x"])
    assert r.stdout == "Partners\n"
    r = runner.invoke(app, ["channel", "rules", "-w", str(tmp_path), "--json"])
    data = json.loads(r.stdout)
    assert data["ruleset"] == "acme-channels@2025.1 (extends ga4-default@2023-11-04)"
    assert "audio" not in [rule["id"] for rule in data["rules"]]
    (tmp_path / "channels.yml").write_text("extends: ga4-default\ndisable: [x]\n")
    r = runner.invoke(app, ["channel", "rules", "-w", str(tmp_path)])
    assert r.exit_code == 1 and "channels.yml:2" in flat(r.stderr)


def test_validate_sees_the_taxonomy_files(workspace_dir: Path) -> None:
    assert runner.invoke(app, ["validate", str(workspace_dir)]).exit_code == 0
    (workspace_dir / "taxonomy.yml").write_text("parameters:\n  utm_source: {allowed: [Google]}\n")
    r = runner.invoke(app, ["validate", str(workspace_dir)])
    assert r.exit_code == 1
    assert "taxonomy.yml:2" in flat(r.output)
