"""Request intake: a service catalog, requests with SLA clocks on business-hours calendars, a
priority formula kept in the workspace, and the MOPS team metrics.

Public face; the parts live in sibling modules named after what they hold.
"""

from __future__ import annotations

from marketops.ops.intake.config import FILENAME, Catalog, RequestType
from marketops.ops.intake.formula import Formula, FormulaError
from marketops.ops.intake.metrics import MopsMetrics, RequestRecord, mops_metrics
from marketops.ops.intake.requests import NewRequest, check_new_request, priority_score
from marketops.ops.intake.states import PAUSE_STATES, STATES, allowed_moves, sla_events

__all__ = [
    "FILENAME",
    "PAUSE_STATES",
    "STATES",
    "Catalog",
    "Formula",
    "FormulaError",
    "MopsMetrics",
    "NewRequest",
    "RequestRecord",
    "RequestType",
    "allowed_moves",
    "check_new_request",
    "mops_metrics",
    "priority_score",
    "sla_events",
]
