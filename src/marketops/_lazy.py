"""Lazy package exports (PEP 562): a package's public names, imported on first use.

`marketops validate` imports every capability's `workspace_files` module, and with it the
capability's package; a package `__init__` that imported its analysis modules eagerly pulled in
pandas, Ibis and SciPy (~2 s) for a command that only reads YAML.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def exports(
    package: str, names: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """`__getattr__`, `__dir__` and `__all__` for `package`, whose public names live in the
    submodules `names` maps them from ({"analysis": ["analyze", …]})."""
    where = {n: module for module, ns in names.items() for n in ns}

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def dir_() -> list[str]:
        return sorted(where)

    return getattr_, dir_, sorted(where)
