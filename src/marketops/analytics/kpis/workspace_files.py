"""Registers `kpis.yml` with the workspace (optional; every key has a default)."""

from __future__ import annotations

from pathlib import Path

from marketops.analytics.kpis.config import KpisConfig
from marketops.errors import Problem
from marketops.workspace.registry import ExtraFile, register_file
from marketops.workspace.yamlfile import located, read_yaml

KPIS_FILE = "kpis.yml"


def _check(root: Path, cfg: KpisConfig) -> list[Problem]:
    """Funnel and qualified stages must be lifecycle.yml stages (with file:line)."""
    from marketops.workspace import lifecycle_stages

    path = root / KPIS_FILE
    found = lifecycle_stages(root) if path.exists() else None
    if found is None:
        return []  # lifecycle.yml's own problems are reported by its own check
    stages = set(found)
    _, node = read_yaml(path)
    problems = [
        located(
            path, node, ("funnel", i), f"funnel: unknown stage {s!r}", "use lifecycle.yml stages"
        )
        for i, s in enumerate(cfg.funnel or [])
        if s not in stages
    ]
    if cfg.funnel is not None and len(cfg.funnel) < 2:
        problems.append(located(path, node, ("funnel",), "funnel: needs at least 2 stages"))
    if cfg.qualified_stage and cfg.qualified_stage not in stages:
        problems.append(
            located(
                path,
                node,
                ("qualified_stage",),
                f"qualified_stage: unknown stage {cfg.qualified_stage!r}",
                "use a lifecycle.yml stage",
            )
        )
    return problems


SPEC = register_file(ExtraFile(KPIS_FILE, KpisConfig, default={}, check=_check))
