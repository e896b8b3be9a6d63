"""The outcome of a pre-flight run: findings with their location, and whether the email can ship."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from marketops.ops.preflight.config import Severity

_ORDER = {Severity.BLOCKER: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    where: str  # file:line:col, file[text/html]:line:col, or file:line for a header
    message: str
    hint: str = ""
    element: str = ""  # e.g. the offending <a href=...> start tag


@dataclass
class Report:
    source: str
    findings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.BLOCKER]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]

    @property
    def can_ship(self) -> bool:
        """A scheduler refuses a launch while this is False."""
        return not self.blockers

    def checks_failed(self) -> set[str]:
        return {f.check for f in self.findings}

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (_ORDER.get(f.severity, 9), f.check))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "can_ship": self.can_ship,
            "blockers": len(self.blockers),
            "warnings": len(self.warnings),
            "findings": [{**asdict(f), "severity": str(f.severity)} for f in self.sorted()],
            "stats": self.stats,
        }
