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
    filename: str  # path relative to the workspace root; a glob (journeys/*.yml) for a folder
    model: type[BaseModel]
    required: bool = False
    default: dict[str, Any] | None = None
    # optional semantic check run after parsing: (workspace root, parsed model) -> problems;
    # for a glob, (the file's path, parsed model)
    check: Callable[[Path, Any], list[Problem]] | None = None


_REGISTRY: dict[str, ExtraFile] = {}


def register_file(spec: ExtraFile) -> ExtraFile:
    _REGISTRY[spec.filename] = spec
    return spec


def is_glob(filename: str) -> bool:
    return any(ch in filename for ch in "*?[")


def registered() -> dict[str, ExtraFile]:
    _import_capabilities()
    return dict(_REGISTRY)


def find(filename: str) -> ExtraFile | None:
    """The spec for one file, importing only the capability that mentions it (cheap for the CLI:
    importing every capability pulls in pandas, scipy, Ibis…)."""
    if filename not in _REGISTRY:
        _import_capabilities(mentioning=filename)
    if filename not in _REGISTRY:  # registered under a computed name: look everywhere
        _import_capabilities()
    return _REGISTRY.get(filename)


def _capability_modules() -> list[tuple[str, Path]]:
    import marketops

    root = Path(marketops.__file__).parent
    return sorted(
        ("marketops." + ".".join(p.relative_to(root).with_suffix("").parts), p)
        for p in root.rglob("workspace_files.py")
    )


def _import_capabilities(mentioning: str | None = None) -> None:
    """Import the modules that register files: all of them (for `validate`), or those whose
    source mentions one file name."""
    import importlib

    for name, path in _capability_modules():
        if mentioning is None or mentioning in path.read_text(encoding="utf-8"):
            importlib.import_module(name)
