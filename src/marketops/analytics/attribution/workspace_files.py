"""Registers `attribution.yml` (model settings and default input files) with the workspace."""

from __future__ import annotations

from pathlib import Path

from marketops.analytics.attribution.config import AttributionConfig
from marketops.errors import Problem
from marketops.workspace.registry import ExtraFile, register_file
from marketops.workspace.yamlfile import located, read_yaml

ATTRIBUTION_FILE = "attribution.yml"


def _check(root: Path, cfg: AttributionConfig) -> list[Problem]:
    """The source files named in the file must exist (relative to the workspace)."""
    path = root / ATTRIBUTION_FILE
    missing = [
        (name, rel)
        for name in ("touchpoints", "conversions", "costs")
        if (rel := getattr(cfg.sources, name)) and not (root / rel).exists()
    ]
    if not missing:
        return []
    _, node = read_yaml(path)
    return [
        located(
            path,
            node,
            ("sources", name),
            f"sources.{name}: file {rel!r} not found",
            "fix the path (relative to the workspace)",
        )
        for name, rel in missing
    ]


SPEC = register_file(ExtraFile(ATTRIBUTION_FILE, AttributionConfig, default={}, check=_check))
