"""Registers stack.yml so `marketops validate` checks it and `Workspace.extra` loads it."""

from __future__ import annotations

from marketops.ops.stack.config import FILENAME, Stack, check
from marketops.workspace.registry import ExtraFile, register_file

SPEC = register_file(ExtraFile(FILENAME, Stack, default={}, check=check))
