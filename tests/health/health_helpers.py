"""Shared data for the health tests: a small table whose every score was counted by hand."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import yaml

NOW = datetime(2026, 11, 25, tzinfo=UTC)

COLUMNS = ("email", "phone", "country", "employees", "source", "occurred_at")
ROWS = [
    ("ann@acme.example", "+1 415 555 0100", "US", "120", "web", "2026-11-24T12:00:00Z"),
    ("ANN@acme.example ", "+44 20 7946 0958", "US", "1,500", "tv", "2026-11-20T00:00:00Z"),
    ("not-an-email", "12", "Germany", "abc", "", "2026-10-01T00:00:00Z"),
    ("", "", "Narnia", "0", "api", ""),
    ("bob@x.test", "(415) 555-0101", "uk", "9000000", "partner", "2025-11-25T00:00:00Z"),
    ("cy@beta.example", "+49 30 1234567", "DE", "42", "web", "2026-11-26T00:00:00Z"),
]

# Counted by hand against the example contract (see each comment); now = 2026-11-25T00:00Z.
EXPECTED = {
    ("completeness", "email"): 5 / 6,  # row 4 blank
    ("validity", "email"): 3 / 5,  # "not-an-email", and .test is an IETF special-use name
    ("uniqueness", "email"): 4 / 5,  # ANN@… is ann@… once trimmed and lowercased
    ("validity", "phone"): 4 / 5,  # "12": too short for the pattern and not a phone number
    ("validity", "country"): 5 / 6,  # Narnia; "Germany" and "uk" are accepted spellings
    ("validity", "employees"): 3 / 6,  # "abc" type, 0 < minimum 1, 9,000,000 > maximum
    ("validity", "source"): 4 / 5,  # "tv" not an allowed value; row 3 blank is not counted
    ("validity", "occurred_at"): 1.0,
    ("consistency", "phone_matches_country"): 2 / 3,  # +44 with US; national numbers skipped
}
EXPECTED_DIMENSIONS = {
    "completeness": 5 / 6,  # email is the only required field
    "validity": 24 / 32,  # 8 invalid among 32 present values
    "uniqueness": 4 / 5,
    "consistency": 2 / 3,
    "timeliness": 3 / 5,  # ages -1, 0.5, 5, 55, 365 days; 3 within max_age_days 30
}


def arrow_table() -> pa.Table:
    cols = list(zip(*ROWS, strict=True))
    return pa.table({c: pa.array(list(v), pa.string()) for c, v in zip(COLUMNS, cols, strict=True)})


def write_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(ROWS)
    return path


def edit_contract(workspace: Path, properties: list[dict]) -> None:
    """Append schema-level customProperties (thresholds, consistencyRules) to the contract."""
    path = workspace / "contracts" / "lead.odcs.yaml"
    doc = yaml.safe_load(path.read_text())
    custom = doc["schema"][0].setdefault("customProperties", [])
    names = {p["property"] for p in properties}
    doc["schema"][0]["customProperties"] = [
        p for p in custom if p["property"] not in names
    ] + properties
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def write_health_yml(workspace: Path, text: str) -> None:
    (workspace / "health.yml").write_text(text)
