"""The taxonomy and channel ruleset of a workspace folder, reloaded only when the file changes.

The API serves many requests from one process; re-reading the YAML each time would be waste,
and caching it forever would ignore edits. Keyed by modification time, it is neither.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from marketops.errors import MarketopsError, Problem
from marketops.taxonomy.channels import Ruleset, default_ruleset, load_ruleset
from marketops.taxonomy.model import Taxonomy, load_taxonomy
from marketops.taxonomy.workspace_files import CHANNELS_FILE, TAXONOMY_FILE


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


@lru_cache(maxsize=16)
def _taxonomy(path: str, stamp: int) -> Taxonomy:
    return load_taxonomy(path)


@lru_cache(maxsize=16)
def _ruleset(path: str, stamp: int) -> Ruleset:
    return load_ruleset(path)


def workspace_taxonomy(root: str | Path) -> Taxonomy:
    """The workspace's taxonomy.yml; its absence is an error (checking against nothing passes)."""
    path = Path(root) / TAXONOMY_FILE
    stamp = _stamp(path)
    if stamp is None:
        raise MarketopsError(
            "no taxonomy to check against",
            [
                Problem(
                    str(path),
                    "file not found",
                    "create it (see docs/taxonomy.md; `marketops init` writes an example)",
                )
            ],
        )
    return _taxonomy(str(path), stamp)


def workspace_ruleset(root: str | Path) -> Ruleset:
    """The workspace's channels.yml, or the built-in GA4 default channel group without one."""
    path = Path(root) / CHANNELS_FILE
    stamp = _stamp(path)
    return default_ruleset() if stamp is None else _ruleset(str(path), stamp)
