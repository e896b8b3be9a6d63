"""Extra workspace files that other capabilities declare (taxonomy.yml, stack.yml, …).

A capability calls `register_file` at import time; `marketops validate` then checks that file too,
and `Workspace.extra(name)` loads it. This keeps the foundation ignorant of every later feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from marketops.errors import Problem


@dataclass(frozen=True)
class ExtraFile:
    filename: str  # path relative to the workspace root
    model: type[BaseModel]
    required: bool = False
    default: dict[str, Any] | None = None
    # optional semantic check run after parsing: (workspace root, parsed model) -> problems
    check: Callable[[Path, Any], list[Problem]] | None = None


_REGISTRY: dict[str, ExtraFile] = {}


def register_file(spec: ExtraFile) -> ExtraFile:
    _REGISTRY[spec.filename] = spec
    return spec


def registered() -> dict[str, ExtraFile]:
    _import_capabilities()
    return dict(_REGISTRY)


def _import_capabilities() -> None:
    """Import every module that registers files, so `validate` sees all of them."""
    import importlib
    import pkgutil

    import marketops

    for mod in pkgutil.walk_packages(marketops.__path__, "marketops."):
        if mod.name.endswith(".workspace_files"):
            importlib.import_module(mod.name)
