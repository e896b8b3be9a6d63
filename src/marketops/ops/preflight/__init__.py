"""Pre-flight QA for emails and landing pages: a checklist that can refuse a launch.

Public face; the parts live in sibling modules named after what they hold.
"""

from __future__ import annotations

from marketops.ops.preflight.config import CHECKS, PreflightConfig, Severity
from marketops.ops.preflight.document import Document, load_document, parse_document
from marketops.ops.preflight.links import HttpLinkChecker, LinkChecker, LinkStatus
from marketops.ops.preflight.report import Finding, Report
from marketops.ops.preflight.run import run_preflight

__all__ = [
    "CHECKS",
    "Document",
    "Finding",
    "HttpLinkChecker",
    "LinkChecker",
    "LinkStatus",
    "PreflightConfig",
    "Report",
    "Severity",
    "load_document",
    "parse_document",
    "run_preflight",
]
