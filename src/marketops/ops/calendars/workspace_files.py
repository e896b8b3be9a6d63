"""Declares `calendars.yml` so that `marketops validate` checks it and `Workspace.extra` loads it."""

from __future__ import annotations

from marketops.ops.calendars.loader import CALENDARS_FILE
from marketops.ops.calendars.models import CalendarsFile
from marketops.workspace.registry import ExtraFile, register_file

CALENDARS = register_file(ExtraFile(CALENDARS_FILE, CalendarsFile, default={"calendars": []}))
