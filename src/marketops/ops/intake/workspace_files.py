"""Declares `catalog.yml` so `marketops validate` checks it and `Workspace.extra` loads it."""

from __future__ import annotations

from pathlib import Path

from marketops.errors import Problem, WorkspaceError
from marketops.ops.intake.config import FILENAME, Catalog
from marketops.workspace.registry import ExtraFile, register_file
from marketops.workspace.yamlfile import located, read_yaml


def check(root: Path, catalog: Catalog) -> list[Problem]:
    """Calendars and trains named in the catalog must exist in calendars.yml / releases.yml."""
    from marketops.ops.calendars import load_calendars
    from marketops.ops.releases import load_releases

    path = root / FILENAME
    _, node = read_yaml(path)
    problems: list[Problem] = []
    try:
        calendars = set(load_calendars(root))
    except WorkspaceError:
        calendars = None  # calendars.yml reports its own problems
    try:
        trains = {t.item.name for t in load_releases(root).trains}
    except WorkspaceError:
        trains = None
    if calendars is not None:
        named = [(("calendar",), catalog.calendar)]
        for cls, spec in catalog.classes.items():
            if spec.calendar:
                named.append((("classes", cls, "calendar"), spec.calendar))
            for i, goal in enumerate(spec.sla):
                if goal.calendar:
                    named.append((("classes", cls, "sla", i, "calendar"), goal.calendar))
        for loc, name in named:
            if name not in calendars:
                problems.append(
                    located(
                        path,
                        node,
                        loc,
                        f"unknown calendar {name!r}",
                        f"declare it in calendars.yml; known: {', '.join(sorted(calendars))}",
                    )
                )
    if trains is not None:
        for i, rtype in enumerate(catalog.request_types):
            if rtype.train and rtype.train not in trains:
                problems.append(
                    located(
                        path,
                        node,
                        ("request_types", i, "train"),
                        f"unknown release train {rtype.train!r}",
                        f"declare it in releases.yml; known: {', '.join(sorted(trains))}",
                    )
                )
    return problems


CATALOG = register_file(ExtraFile(FILENAME, Catalog, default={}, check=check))
