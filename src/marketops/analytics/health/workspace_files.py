"""Registers `health.yml` (alert targets, timestamp column, maximum record age) with the workspace.

`marketops validate` also checks the contract's `consistencyRules` here: the contract loader
keeps only the standard keys and our thresholds, so the rules would otherwise go unchecked
until the first health run.
"""

from __future__ import annotations

from pathlib import Path

from marketops.analytics.health.config import HEALTH_FILE, HealthConfig
from marketops.errors import Problem, WorkspaceError
from marketops.workspace.registry import ExtraFile, register_file


def _check(root: Path, _cfg: HealthConfig) -> list[Problem]:
    from marketops.analytics.health.spec import consistency_rules
    from marketops.workspace import SETTINGS_FILE
    from marketops.workspace.models import Settings
    from marketops.workspace.yamlfile import load_model

    try:
        settings = load_model(root / SETTINGS_FILE, Settings)
        path = root / settings.contract
        if path.exists():
            consistency_rules(path)
    except WorkspaceError as exc:
        return list(exc.problems)  # the core files' own problems are reported by their loader
    return []


SPEC = register_file(ExtraFile(HEALTH_FILE, HealthConfig, default={}, check=_check))
