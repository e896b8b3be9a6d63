"""Helpers for routing tests: open a context on an edited workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def edit_yaml(path: Path, fn: Any) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def open_ctx(workspace_dir: Path, url: str, monkeypatch: Any):  # -> AppContext
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    monkeypatch.setenv("MARKETOPS_DATABASE_URL", url)
    return AppContext.open(Workspace.load(workspace_dir))
