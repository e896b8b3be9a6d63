"""Business-hours calendars and SLA clocks (Jira Service Management semantics).

The public face; other capabilities (lead SLAs, request SLAs) import from here:

    cals = load_calendars(workspace_root)          # dict name -> BusinessCalendar, with "24x7"
    due = cals["support-ny"].add_business_time(created_at, timedelta(hours=4))
"""

from __future__ import annotations

from marketops.ops.calendars.business import BusinessCalendar
from marketops.ops.calendars.loader import CALENDARS_FILE, load_calendars
from marketops.ops.calendars.models import BUILTIN_24X7, CalendarsFile, CalendarSpec
from marketops.ops.calendars.sla import SlaCycle, SlaGoal, SlaGoalSpec, SlaStatus, evaluate_sla

__all__ = [
    "BUILTIN_24X7",
    "CALENDARS_FILE",
    "BusinessCalendar",
    "CalendarSpec",
    "CalendarsFile",
    "SlaCycle",
    "SlaGoal",
    "SlaGoalSpec",
    "SlaStatus",
    "evaluate_sla",
    "load_calendars",
]
