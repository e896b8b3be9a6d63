"""Snapshots of the governed files: content, per-file SHA-256, one hash for the set, and diffs.

A snapshot is a plain mapping path -> text (exact bytes decoded as UTF-8, line endings kept), so
the same functions compare the working folder, a stored version, or two stored versions.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from marketops.errors import MarketopsError, Problem

Snapshot = Mapping[str, str]


def file_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def snapshot_hash(files: Snapshot) -> str:
    """One hash for the whole set: order-independent, changes when any path or byte changes."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(f"{path}\0{file_hash(files[path])}\n".encode())
    return h.hexdigest()


def governed_paths(files: list[str], contract: str | None) -> list[str]:
    """The configured files plus the contract (deduplicated, in a stable order)."""
    out = list(dict.fromkeys([*files, *([contract] if contract else [])]))
    return [p.replace("\\", "/") for p in out]


def read_folder(root: Path, paths: list[str]) -> dict[str, str]:
    """The governed files present in the folder (absent files are simply not in the snapshot)."""
    out: dict[str, str] = {}
    for rel in paths:
        p = root / rel
        if p.is_file():
            try:
                out[rel] = p.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MarketopsError(
                    f"cannot version {rel}",
                    [Problem(str(p), f"not UTF-8 text: {exc}", "save the file as UTF-8")],
                ) from exc
    return out


def write_folder(root: Path, target: Snapshot, governed: list[str]) -> tuple[list[str], list[str]]:
    """Make the folder's governed files equal `target`: (written, removed) paths."""
    written, removed = [], []
    for rel, content in sorted(target.items()):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8")
        if not p.is_file() or p.read_bytes() != data:
            tmp = p.with_name(p.name + ".marketops-tmp")
            tmp.write_bytes(data)
            tmp.replace(p)  # atomic per file: a reader never sees half a file
            written.append(rel)
    for rel in governed:
        if rel not in target and (root / rel).is_file():
            (root / rel).unlink()
            removed.append(rel)
    return written, removed


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added | removed | modified
    diff: str  # unified diff text
    added_lines: int
    removed_lines: int


def diff(old: Snapshot, new: Snapshot, old_label: str, new_label: str) -> list[FileChange]:
    """Per-file unified diffs from `old` to `new` (unchanged files are left out)."""
    out = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        status = "added" if a is None else "removed" if b is None else "modified"
        lines = list(
            difflib.unified_diff(
                (a or "").splitlines(keepends=True),
                (b or "").splitlines(keepends=True),
                fromfile=f"{old_label}/{path}" if a is not None else "/dev/null",
                tofile=f"{new_label}/{path}" if b is not None else "/dev/null",
            )
        )
        text = "".join(
            ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines
        )
        plus = sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
        minus = sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
        out.append(FileChange(path, status, text, plus, minus))
    return out
