"""`marketops calendar …` through the real CLI app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marketops.cli import app

runner = CliRunner()

CALENDARS = """calendars:
  - name: ny
    timezone: America/New_York
    hours:
      mon: ["09:00-17:00"]
      tue: ["09:00-17:00"]
      wed: ["09:00-17:00"]
      thu: ["09:00-17:00"]
      fri: ["09:00-17:00"]
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "marketops.yml").write_text("name: test\n")
    (tmp_path / "calendars.yml").write_text(CALENDARS)
    return tmp_path


def run(*args: str):
    return runner.invoke(app, list(args))


def shows(fragment: str, text: str) -> bool:
    """Rich wraps and folds to the terminal width; compare without whitespace."""
    return "".join(fragment.split()) in "".join(text.split())


def test_due_friday_afternoon_lands_monday(workspace):
    result = run(
        "calendar",
        "due",
        "-w",
        str(workspace),
        "--calendar",
        "ny",
        "--from",
        "2026-03-06T16:30",
        "--hours",
        "2",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["due"] == {"utc": "2026-03-09T14:30:00+00:00", "local": "2026-03-09T10:30:00-04:00"}
    text = run(
        "calendar",
        "due",
        "-w",
        str(workspace),
        "-c",
        "ny",
        "--from",
        "2026-03-06T21:30Z",
        "--hours",
        "2",
    )
    assert text.exit_code == 0 and shows("2026-03-09T10:30:00-04:00", text.stdout)


def test_between_and_status(workspace):
    result = run(
        "calendar",
        "between",
        "-w",
        str(workspace),
        "-c",
        "ny",
        "--from",
        "2026-03-06T00:00",
        "--to",
        "2026-03-10T00:00",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hours"] == 16  # Friday and Monday
    status = run(
        "calendar", "status", "-w", str(workspace), "-c", "ny", "--at", "2026-03-07T12:00", "--json"
    )
    data = json.loads(status.stdout)
    assert data["open"] is False and data["next_open"]["local"] == "2026-03-09T09:00:00-04:00"


def test_list_includes_builtin(workspace):
    result = run("calendar", "list", "-w", str(workspace), "--json")
    assert [c["name"] for c in json.loads(result.stdout)] == ["24x7", "ny"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("-c", "nope", "--from", "2026-03-06T16:30", "--hours", "1"), "unknown calendar"),
        (("-c", "ny", "--from", "yesterday", "--hours", "1"), "not an ISO 8601"),
    ],
)
def test_user_errors_exit_non_zero(workspace, args, fragment):
    result = run("calendar", "due", "-w", str(workspace), *args)
    assert result.exit_code == 1
    assert shows(fragment, result.stderr)


def test_not_a_workspace(tmp_path):
    result = run("calendar", "list", "-w", str(tmp_path))
    assert result.exit_code == 1 and shows("not a marketops workspace", result.stderr)


def test_bad_calendars_file_names_the_line(workspace):
    (workspace / "calendars.yml").write_text(CALENDARS.replace("09:00-17:00", "17:00-09:00", 1))
    result = run("calendar", "list", "-w", str(workspace))
    assert result.exit_code == 1 and shows("calendars.yml:5", result.stderr)


def test_sla_replays_an_event_log(workspace):
    events = workspace / "events.csv"
    # Monday 2026-06-08: created 09:00, waiting 10:00-Tue 09:30, now Tue 10:30 -> 2h elapsed
    events.write_text(
        "at,event\n2026-06-08T09:00,created\n2026-06-08T10:00,waiting\n2026-06-09T09:30,replied\n"
    )
    args = ["calendar", "sla", "-w", str(workspace), "-c", "ny", "--target", "4h"]
    args += ["--events", str(events), "--start", "created", "--stop", "resolved"]
    args += ["--pause", "waiting", "--resume", "replied", "--now", "2026-06-09T10:30", "--json"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    (cycle,) = json.loads(result.stdout)["cycles"]
    assert cycle["elapsed_seconds"] == 2 * 3600 and cycle["state"] == "running"
    assert cycle["breach_at"] == "2026-06-09T16:30:00+00:00"  # Tue 12:30 EDT
    table = run(*args[:-1])
    assert table.exit_code == 0 and shows("running", table.stdout)


def test_sla_reports_bad_rows_and_bad_goals(workspace):
    events = workspace / "events.csv"
    events.write_text("at,event\nnot-a-time,created\n2026-06-08T10:00,\n")
    base = ["calendar", "sla", "-w", str(workspace), "-c", "ny", "--events", str(events)]
    result = run(*base, "--target", "4h", "--start", "created", "--stop", "resolved")
    assert result.exit_code == 1
    assert shows("events.csv:2", result.stderr) and shows("events.csv:3", result.stderr)
    result = run(*base, "--target", "0h", "--start", "created", "--stop", "resolved")
    assert result.exit_code == 1 and shows("--target", result.stderr)
