"""Turn `calendars.yml` (a path, a workspace folder or a parsed model) into calendars."""

from __future__ import annotations

from pathlib import Path

from marketops.ops.calendars.business import BusinessCalendar
from marketops.ops.calendars.models import BUILTIN_24X7, CalendarsFile
from marketops.workspace.yamlfile import load_model

CALENDARS_FILE = "calendars.yml"


def load_calendars(path_or_model: str | Path | CalendarsFile) -> dict[str, BusinessCalendar]:
    """Every calendar by name, plus the built-in `24x7`.

    A folder is taken as a workspace root; a workspace without `calendars.yml` still has `24x7`.
    Bad files raise WorkspaceError with file:line problems.
    """
    if isinstance(path_or_model, CalendarsFile):
        model = path_or_model
    else:
        path = Path(path_or_model)
        if path.is_dir():
            model = load_model(path / CALENDARS_FILE, CalendarsFile, default={})
        else:
            model = load_model(path, CalendarsFile)
    calendars = {BUILTIN_24X7: BusinessCalendar.twenty_four_seven()}
    for spec in model.calendars:
        calendars[spec.name] = BusinessCalendar.from_spec(spec)
    return calendars
