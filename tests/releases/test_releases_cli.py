"""`marketops release …` through the real CLI app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marketops.cli import app

runner = CliRunner()

RELEASES = """timezone: America/New_York
trains:
  - name: web
    rrule: FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=10;BYMINUTE=0;BYSECOND=0
    duration: 2h
    capacity: 1
freezes:
  - name: friday
    rrule: FREQ=WEEKLY;BYDAY=FR;BYHOUR=15;BYMINUTE=0;BYSECOND=0
    duration: 66h
    reason: weekend
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "marketops.yml").write_text("name: test\n")
    (tmp_path / "releases.yml").write_text(RELEASES)
    return tmp_path


def run(*args: str):
    return runner.invoke(app, list(args))


def shows(fragment: str, text: str) -> bool:
    """Rich wraps and folds to the terminal width; compare without whitespace."""
    return "".join(fragment.split()) in "".join(text.split())


def test_next_lists_trains_with_room_and_honours_bookings(workspace):
    bookings = workspace / "bookings.csv"
    bookings.write_text("at,train,ref\n2026-03-03T10:15,web,CAMP-7\n")
    result = run(
        "release",
        "next",
        "-w",
        str(workspace),
        "--after",
        "2026-03-02T09:00",
        "--duration",
        "30m",
        "--count",
        "2",
        "--bookings",
        str(bookings),
        "--json",
    )
    assert result.exit_code == 0, result.output
    slots = json.loads(result.stdout)
    assert [s["launch_at"] for s in slots] == [
        "2026-03-05T15:00:00+00:00",
        "2026-03-10T14:00:00+00:00",
    ]
    table = run("release", "next", "-w", str(workspace), "--after", "2026-03-02T09:00")
    assert table.exit_code == 0 and shows("2026-03-03", table.stdout)


def test_bad_booking_rows_are_each_reported(workspace):
    bookings = workspace / "bookings.csv"
    bookings.write_text("at,train\nsoon,web\n2026-03-03T10:15,mobile\n2026-03-04,\nlater,\n")
    result = run("release", "next", "-w", str(workspace), "--bookings", str(bookings))
    assert result.exit_code == 1
    for line in (2, 3, 5):
        assert shows(f"bookings.csv:{line}", result.stderr)
    assert shows("unknown train 'mobile'", result.stderr)
    assert not shows("bookings.csv:4", result.stderr)


def test_check_blocks_inside_a_freeze_with_exit_2(workspace):
    result = run("release", "check", "-w", str(workspace), "--at", "2026-03-06T16:00", "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["allowed"] is False and data["blocked_by"][0]["name"] == "friday"


def test_check_override_is_allowed_and_recorded(workspace):
    result = run(
        "release",
        "check",
        "-w",
        str(workspace),
        "--at",
        "2026-03-06T16:00",
        "--override-reason",
        "pricing page is wrong",
        "--json",
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["overridden"] is True and data["override_reason"] == "pricing page is wrong"
    text = run("release", "check", "-w", str(workspace), "--at", "2026-03-05T10:30")
    assert text.exit_code == 0 and shows("web train window", text.stdout)


def test_windows_lists_trains_and_freezes(workspace):
    result = run(
        "release",
        "windows",
        "-w",
        str(workspace),
        "--from",
        "2026-03-02T09:00",
        "--to",
        "2026-03-09",
        "--json",
    )
    assert result.exit_code == 0
    assert [(w["kind"], w["name"]) for w in json.loads(result.stdout)] == [
        ("train", "web"),
        ("train", "web"),
        ("freeze", "friday"),
    ]
    bad = run(
        "release", "windows", "-w", str(workspace), "--from", "2026-03-09", "--to", "2026-03-02"
    )
    assert bad.exit_code == 1 and shows("after --from", bad.stderr)
