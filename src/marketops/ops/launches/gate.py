"""May a launch ship now? A pure decision over its assets' latest pre-flight reports and the
freeze check at the shipping instant (`ReleaseCalendar.check_launch`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marketops.errors import Conflict, Problem
from marketops.ops.releases import LaunchCheck


class LaunchRefused(Conflict):
    """The launch may not happen (a freeze without override, a full train, blockers)."""


@dataclass(frozen=True)
class AssetReport:
    asset: str
    sha256: str
    report: Mapping[str, Any]  # Report.to_dict()
    run_id: int | None = None


def freeze_problems(verdict: LaunchCheck) -> list[Problem]:
    return [
        Problem(
            f"freeze {w.name}",
            f"{w.start.isoformat()} to {w.end.isoformat()}: {w.reason or 'change freeze'}",
            "pick another time, or override with a reason (it is audited)",
        )
        for w in verdict.blocked_by
    ]


def ship_gate(reports: Sequence[AssetReport], verdict: LaunchCheck) -> None:
    """Raise LaunchRefused naming every blocker of every asset, and every freeze not overridden."""
    problems: list[Problem] = []
    for item in reports:
        for finding in item.report.get("findings", []):
            if finding.get("severity") == "blocker":
                problems.append(
                    Problem(
                        f"{item.asset}: {finding.get('where', '')}",
                        f"[{finding.get('check')}] {finding.get('message')}",
                        finding.get("hint", ""),
                    )
                )
    if not verdict.allowed:
        problems.extend(freeze_problems(verdict))
    if problems:
        blockers = sum(1 for r in reports for _ in _blockers(r))
        what = []
        if blockers:
            what.append(f"{blockers} pre-flight blocker(s)")
        if not verdict.allowed:
            what.append("inside a change freeze")
        raise LaunchRefused(f"the launch cannot ship: {' and '.join(what)}", problems)


def _blockers(item: AssetReport) -> list[Any]:
    return [f for f in item.report.get("findings", []) if f.get("severity") == "blocker"]
