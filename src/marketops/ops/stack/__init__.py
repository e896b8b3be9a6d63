"""Tool-stack audit: utilization, waste, renewals, overlaps, integrations, vendor scorecard."""

from marketops.ops.stack.audit import Overlap, StackAudit, ToolAudit, audit_stack, weighted_score
from marketops.ops.stack.config import Criterion, Scorecard, Stack, Tool

__all__ = [
    "Criterion",
    "Overlap",
    "Scorecard",
    "Stack",
    "StackAudit",
    "Tool",
    "ToolAudit",
    "audit_stack",
    "weighted_score",
]
