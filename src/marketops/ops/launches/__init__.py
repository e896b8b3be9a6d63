"""Launches on release trains: booked on the next train with room (capacity kept under
concurrency), refused inside a freeze unless overridden with an audited reason, and shipped only
when the latest pre-flight report of every asset has no blockers.
"""

from __future__ import annotations

from marketops.ops.launches.gate import AssetReport, LaunchRefused, ship_gate
from marketops.ops.launches.service import NewLaunch

__all__ = ["AssetReport", "LaunchRefused", "NewLaunch", "ship_gate"]
