"""Release trains (recurring launch windows with capacity) and change freezes.

releases = load_releases(workspace_root)
slot = releases.next_train(now, existing_bookings, timedelta(minutes=30))
verdict = releases.check_launch(at, override_reason="sev-1 fix approved by CMO")
"""

from __future__ import annotations

from pathlib import Path

from marketops.ops.releases.models import Freeze, ReleasesFile, Train
from marketops.ops.releases.trains import (
    Booking,
    LaunchCheck,
    ReleaseCalendar,
    TrainSlot,
    Window,
)
from marketops.workspace.yamlfile import load_model

RELEASES_FILE = "releases.yml"


def load_releases(path_or_model: str | Path | ReleasesFile) -> ReleaseCalendar:
    """A folder is a workspace root (no `releases.yml` there means no trains and no freezes)."""
    if isinstance(path_or_model, ReleasesFile):
        return ReleaseCalendar(path_or_model)
    path = Path(path_or_model)
    if path.is_dir():
        return ReleaseCalendar(load_model(path / RELEASES_FILE, ReleasesFile, default={}))
    return ReleaseCalendar(load_model(path, ReleasesFile))


__all__ = [
    "RELEASES_FILE",
    "Booking",
    "Freeze",
    "LaunchCheck",
    "ReleaseCalendar",
    "ReleasesFile",
    "Train",
    "TrainSlot",
    "Window",
    "load_releases",
]
