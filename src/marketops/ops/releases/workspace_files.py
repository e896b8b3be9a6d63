"""Declares `releases.yml` so that `marketops validate` checks it and `Workspace.extra` loads it."""

from __future__ import annotations

from itertools import islice, pairwise
from pathlib import Path

from dateutil.rrule import rrulestr

from marketops.errors import Problem
from marketops.ops.releases import RELEASES_FILE
from marketops.ops.releases.models import DEFAULT_DTSTART, ReleasesFile
from marketops.workspace.registry import ExtraFile, register_file
from marketops.workspace.yamlfile import located, read_yaml

# enough occurrences to see every pattern of a weekly or monthly rule
_SAMPLE = 400


def overlapping_trains(model: ReleasesFile) -> list[tuple[int, str]]:
    """Trains whose windows run into their own next window: (index, message)."""
    out = []
    for i, train in enumerate(model.trains):
        rule = rrulestr(train.rrule, dtstart=train.dtstart or DEFAULT_DTSTART)
        for a, b in pairwise(islice(rule, _SAMPLE)):
            if a + train.duration > b:
                out.append(
                    (
                        i,
                        f"train `{train.name}`: the window at {a:%a %Y-%m-%d %H:%M} "
                        f"({train.duration}) runs into the next one at {b:%H:%M}",
                    )
                )
                break
    return out


def check(root: Path, model: ReleasesFile) -> list[Problem]:
    found = overlapping_trains(model)
    if not found:
        return []
    path = root / RELEASES_FILE
    _, node = read_yaml(path)
    return [
        located(
            path,
            node,
            ("trains", i, "duration"),
            message,
            "shorten the duration or space the windows out",
        )
        for i, message in found
    ]


RELEASES = register_file(ExtraFile(RELEASES_FILE, ReleasesFile, default={}, check=check))
