"""`marketops validate` checks catalog.yml: schema errors and cross-references with their line."""

from __future__ import annotations

from pathlib import Path

from marketops.workspace import validate_workspace

BAD = """calendar: mars-office
request_types:
  - key: launch
    name: Launch
    class: complex
    launch: true
    train: rocket
  - key: field
    name: Field
    class: simplest
priority:
  formula: impact * urgency / effort
"""

CROSS_REF = """calendar: mars-office
request_types:
  - key: launch
    name: Launch
    class: complex
    launch: true
    train: rocket
"""


def test_example_catalog_is_valid(workspace_dir: Path) -> None:
    assert validate_workspace(workspace_dir) == []


def test_schema_errors_name_the_line(workspace_dir: Path) -> None:
    (workspace_dir / "catalog.yml").write_text(BAD)
    problems = [p for p in validate_workspace(workspace_dir) if "catalog.yml" in p.where]
    assert any(p.where.endswith("catalog.yml:10") and "class" in p.message for p in problems), (
        problems
    )


def test_unknown_calendar_and_train(workspace_dir: Path) -> None:
    (workspace_dir / "catalog.yml").write_text(CROSS_REF)
    problems = {p.where.rsplit("/", 1)[-1]: p.message for p in validate_workspace(workspace_dir)}
    assert problems == {
        "catalog.yml:1": "unknown calendar 'mars-office'",
        "catalog.yml:7": "unknown release train 'rocket'",
    }
