"""Registers experiments.yml so `marketops validate` checks it and `Workspace.extra` loads it."""

from __future__ import annotations

from marketops.ops.experiments.config import FILENAME, ExperimentsFile, check
from marketops.workspace.registry import ExtraFile, register_file

SPEC = register_file(ExtraFile(FILENAME, ExperimentsFile, default={}, check=check))
