"""The workspace files intake needs, loaded once per workspace: the catalog, the calendars, the
release trains and the pre-flight checklist (with its taxonomy)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from marketops.ops.calendars import BusinessCalendar, SlaGoal, load_calendars
from marketops.ops.intake.config import FILENAME, Catalog
from marketops.ops.releases import ReleaseCalendar, load_releases
from marketops.workspace.yamlfile import load_model

_CACHE_KEY = "intake:setup"  # kept beside the workspace's parsed extra files


@dataclass
class IntakeSetup:
    workspace: Any  # marketops.workspace.Workspace

    # Each file is read with its own loader rather than `Workspace.extra`, which imports every
    # capability of the package first (seconds of scipy/ibis imports for a CLI call).
    @cached_property
    def catalog(self) -> Catalog:
        return load_model(self.workspace.path(FILENAME), Catalog, default={})

    @cached_property
    def calendars(self) -> dict[str, BusinessCalendar]:
        return load_calendars(self.workspace.root)

    @cached_property
    def releases(self) -> ReleaseCalendar:
        return load_releases(self.workspace.root)

    @cached_property
    def preflight(self) -> tuple[Any, Any]:
        """(PreflightConfig, taxonomy or None)."""
        from marketops.ops.preflight.config import PreflightConfig
        from marketops.ops.preflight.utm import load_taxonomy_file

        config = load_model(self.workspace.path("preflight.yml"), PreflightConfig, default={})
        return config, load_taxonomy_file(self.workspace.path(config.utm.taxonomy))

    def calendar_for(self, class_: str) -> BusinessCalendar:
        name = self.catalog.calendar_for(class_)
        return self.calendars[name] if name in self.calendars else self.calendars["24x7"]

    def goals_for(self, class_: str) -> list[SlaGoal]:
        cache = self.__dict__.setdefault("_goals", {})
        if class_ not in cache:
            cache[class_] = self.catalog.goals(class_, self.calendars)
        return cache[class_]


def intake_setup(workspace: Any) -> IntakeSetup:
    extras = workspace._extras
    if _CACHE_KEY not in extras:
        extras[_CACHE_KEY] = IntakeSetup(workspace)
    return extras[_CACHE_KEY]
