"""Registers reports.yml so `marketops validate` checks it and `Workspace.extra` loads it."""

from __future__ import annotations

from marketops.reports.config import FILENAME, ReportsFile
from marketops.workspace.registry import ExtraFile, register_file

SPEC = register_file(ExtraFile(FILENAME, ReportsFile, default={}))
