"""Declares preflight.yml so `marketops validate` checks it and `Workspace.extra` loads it."""

from __future__ import annotations

from pathlib import Path

from marketops.errors import Problem
from marketops.ops.preflight.config import PreflightConfig, UtmSettings
from marketops.workspace.registry import ExtraFile, register_file
from marketops.workspace.yamlfile import located, read_yaml

FILENAME = "preflight.yml"


def _check(root: Path, config: PreflightConfig) -> list[Problem]:
    """A taxonomy path other than the default that does not exist is a typo, not "no taxonomy"."""
    default = UtmSettings().taxonomy
    if config.utm.taxonomy == default or (root / config.utm.taxonomy).exists():
        return []
    path = root / FILENAME
    _, node = read_yaml(path)
    return [
        located(
            path,
            node,
            ("utm", "taxonomy"),
            f"utm.taxonomy: {config.utm.taxonomy} not found",
            f"create it or remove the key to use {default}",
        )
    ]


register_file(ExtraFile(FILENAME, PreflightConfig, default={}, check=_check))
