"""Snapshots of the governed files: hashing, unified diffs, writing a version back exactly."""

from __future__ import annotations

from pathlib import Path

from marketops.governance.snapshot import (
    diff,
    governed_paths,
    read_folder,
    snapshot_hash,
    write_folder,
)


def test_hash_depends_on_every_path_and_byte_but_not_order() -> None:
    a = {"scoring.yml": "a: 1\n", "routing.yml": "b: 2\n"}
    b = {"routing.yml": "b: 2\n", "scoring.yml": "a: 1\n"}
    assert snapshot_hash(a) == snapshot_hash(b)
    assert snapshot_hash(a) != snapshot_hash({**a, "scoring.yml": "a: 1\r\n"})
    assert snapshot_hash(a) != snapshot_hash({"scoring2.yml": "a: 1\n", "routing.yml": "b: 2\n"})


def test_diff_reports_added_removed_modified_as_unified_diffs() -> None:
    old = {"scoring.yml": "mql_threshold: 60\ndecay: {}\n", "gone.yml": "x: 1\n"}
    new = {"scoring.yml": "mql_threshold: 70\ndecay: {}\n", "new.yml": "y: 2"}
    changes = {c.path: c for c in diff(old, new, "v1", "working")}
    assert {p: c.status for p, c in changes.items()} == {
        "gone.yml": "removed",
        "new.yml": "added",
        "scoring.yml": "modified",
    }
    s = changes["scoring.yml"]
    assert "--- v1/scoring.yml\n+++ working/scoring.yml\n" in s.diff
    assert "-mql_threshold: 60\n+mql_threshold: 70\n" in s.diff
    assert (s.added_lines, s.removed_lines) == (1, 1)
    assert "\\ No newline at end of file" in changes["new.yml"].diff
    assert diff(old, old, "a", "b") == []


def test_write_folder_restores_exact_bytes_and_removes_governed_extras(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "scoring.yml").write_bytes(b"new\n")
    (tmp_path / "taxonomy.yml").write_bytes(b"added later\n")
    (tmp_path / "notes.txt").write_bytes(b"not governed\n")
    target = {"scoring.yml": "old\r\nwith crlf\r\n", "contracts/lead.odcs.yaml": "c: 1\n"}
    governed = governed_paths(["scoring.yml", "taxonomy.yml"], "contracts/lead.odcs.yaml")
    written, removed = write_folder(tmp_path, target, governed)
    assert sorted(written) == ["contracts/lead.odcs.yaml", "scoring.yml"]
    assert removed == ["taxonomy.yml"]
    assert (tmp_path / "scoring.yml").read_bytes() == b"old\r\nwith crlf\r\n"
    assert (tmp_path / "notes.txt").exists()
    assert read_folder(tmp_path, governed) == target
    assert write_folder(tmp_path, target, governed) == ([], [])  # already there: nothing to do
