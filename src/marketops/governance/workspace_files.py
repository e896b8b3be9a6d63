"""Declares governance.yml (checked by `marketops validate`, loaded with `ws.extra`)."""

from __future__ import annotations

from marketops.governance.config import GovernanceFile
from marketops.workspace.registry import ExtraFile, register_file

GOVERNANCE_FILE = "governance.yml"

SPEC = register_file(ExtraFile(GOVERNANCE_FILE, GovernanceFile, default={}))
