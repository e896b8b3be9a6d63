"""calendars.yml parsing: the template loads, every mistake is reported with file:line."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from marketops.errors import WorkspaceError
from marketops.ops.calendars import BUILTIN_24X7, CalendarsFile, load_calendars
from marketops.ops.calendars.timeparse import format_duration, parse_duration, parse_instant
from marketops.workspace import validate_workspace
from marketops.workspace.registry import registered


def template() -> Path:
    return Path(str(resources.files("marketops.workspace") / "templates" / "calendars.yml"))


def test_template_loads_with_builtin_24x7():
    calendars = load_calendars(template())
    assert {"us-east-business", "uk-support", BUILTIN_24X7} <= set(calendars)
    assert calendars["uk-support"].timezone == "Europe/London"


def test_a_folder_without_the_file_still_has_24x7(tmp_path):
    assert list(load_calendars(tmp_path)) == [BUILTIN_24X7]


def test_model_input_is_accepted():
    model = CalendarsFile.model_validate(
        {"calendars": [{"name": "x", "timezone": "UTC", "hours": {"mon": ["09:00-10:00"]}}]}
    )
    assert set(load_calendars(model)) == {"x", BUILTIN_24X7}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendars.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("    hours:\n      mon: ['09:00-13:00', '12:00-17:00']\n", 5, "overlap"),
        ("    hours:\n      mon: ['17:00-09:00']\n", 5, "night shift"),
        ("    hours:\n      mon: ['9am-5pm']\n", 5, "HH:MM"),
        (
            "    hours:\n      mon: ['09:00-17:00']\n    holidays:\n      - rrule: FREQ=SOMETIMES\n",
            7,
            "RRULE",
        ),
        (
            "    hours:\n      mon: ['09:00-17:00']\n    holidays:\n      - {date: 2026-01-01,"
            " rrule: FREQ=YEARLY}\n",
            7,
            "exactly one",
        ),
        ("    hours:\n      monday: ['09:00-17:00']\n", 5, "monday"),
        ("    hours: {}\n", 2, "no working hours"),
    ],
)
def test_mistakes_are_located(tmp_path, body, line, fragment):
    path = write(tmp_path, "calendars:\n  - name: desk\n    timezone: UTC\n" + body)
    with pytest.raises(WorkspaceError) as exc:
        load_calendars(path)
    problem = exc.value.problems[0]
    assert problem.where == f"{path}:{line}"
    assert fragment in str(problem)


def test_unknown_zone_duplicate_and_reserved_names(tmp_path):
    path = write(
        tmp_path,
        """calendars:
  - {name: a, timezone: Mars/Olympus, hours: {mon: ['09:00-17:00']}}
  - {name: 24x7, timezone: UTC, hours: {mon: ['09:00-17:00']}}
""",
    )
    with pytest.raises(WorkspaceError) as exc:
        load_calendars(path)
    text = str(exc.value)
    assert "Mars/Olympus" in text and "built in" in text
    path = write(
        tmp_path,
        """calendars:
  - {name: a, timezone: UTC, hours: {mon: ['09:00-17:00']}}
  - {name: a, timezone: UTC, hours: {tue: ['09:00-17:00']}}
""",
    )
    with pytest.raises(WorkspaceError, match="unique"):
        load_calendars(path)


def test_registered_and_checked_by_validate(tmp_path):
    assert "calendars.yml" in registered()
    write(tmp_path, "calendars:\n  - {name: a, timezone: UTC, hours: {mon: ['25:00-26:00']}}\n")
    problems = validate_workspace(tmp_path)
    assert any(p.where.endswith("calendars.yml:2") for p in problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("45m", timedelta(minutes=45)),
        ("3d", timedelta(days=3)),
        ("1w 2d", timedelta(days=9)),
        ("PT2H", timedelta(hours=2)),
        ("P1DT4H30M", timedelta(days=1, hours=4, minutes=30)),
        (90, timedelta(seconds=90)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "two hours", "P", "2x"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_format_duration_and_instants():
    assert format_duration(timedelta(days=1, hours=2, minutes=5)) == "1d 2h 5m"
    assert format_duration(-timedelta(hours=3)) == "-3h"
    assert parse_instant("2026-03-06T16:30Z").utcoffset() == timedelta(0)
    assert parse_instant("2026-03-06T16:30", "America/New_York").utcoffset() == -timedelta(hours=5)
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_instant("2026-03-06T16:30")


def test_init_copies_the_examples_and_the_workspace_loads_them(tmp_path):
    from typer.testing import CliRunner

    from marketops.cli import app
    from marketops.ops.releases import load_releases
    from marketops.workspace import Workspace

    root = tmp_path / "ws"
    result = CliRunner().invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.output
    workspace = Workspace.load(root)
    calendars = load_calendars(workspace.extra("calendars.yml"))
    assert "us-east-business" in calendars
    releases = load_releases(workspace.extra("releases.yml"))
    assert [t.item.name for t in releases.trains] == ["web", "email"]
