"""Declares identity.yml (checked by `marketops validate`; optional, defaults work for leads)."""

from __future__ import annotations

from pathlib import Path

from marketops.errors import Problem
from marketops.identity.config import FEATURE_COLUMNS, IdentityConfig
from marketops.workspace.registry import ExtraFile, register_file

IDENTITY_FILE = "identity.yml"


def _check(root: Path, cfg: IdentityConfig) -> list[Problem]:
    where = str(root / IDENTITY_FILE)
    known = set(FEATURE_COLUMNS)
    problems = []
    for i, rule in enumerate(cfg.blocking_rules):
        for col in rule:
            if col not in known:
                problems.append(
                    Problem(
                        f"{where}: blocking_rules[{i}]",
                        f"unknown column {col!r}",
                        f"use one of {', '.join(FEATURE_COLUMNS)}",
                    )
                )
    for i, comp in enumerate(cfg.comparisons):
        if comp.column not in known:
            problems.append(
                Problem(
                    f"{where}: comparisons[{i}].column",
                    f"unknown column {comp.column!r}",
                    f"use one of {', '.join(FEATURE_COLUMNS)}",
                )
            )
    for col in cfg.deterministic:
        if col not in known:
            problems.append(
                Problem(f"{where}: deterministic", f"unknown column {col!r}", "e.g. email, phone")
            )
    return problems


register_file(ExtraFile(IDENTITY_FILE, IdentityConfig, default={}, check=_check))
