"""Hand-computed request histories around the US fall-back DST change (Sunday 2026-11-01).

Calendar: New York, Mon-Fri 09:00-17:00. Before the change New York is UTC-4, after it UTC-5.

Request A (simple, add-field), created Fri 2026-10-30 16:00 EDT (20:00Z):
  triaged Mon 11-02 09:30 EST (14:30Z), in_progress 09:45, waiting_on_requester 10:00 EST (15:00Z),
  back to in_progress 15:00 EST (20:00Z), qa Tue 11-03 10:00 EST, done Wed 11-04 12:00 EST (17:00Z).
  time to triage (4h): Fri 16-17 = 1h + Mon 09:00-09:30 = 0.5h -> 1.5h, met.
  time to done (16h): Fri 1h + Mon 09-10 1h + (paused 10-15) + Mon 15-17 2h + Tue 8h + Wed 09-12
  3h = 15h, met.  A fixed UTC-4 offset would have counted Monday 08:00-09:00 EST instead.
Request B (simple), created Mon 11-02 09:00 EST (14:00Z), never moved; now = Thu 11-05 12:00 EST:
  time to triage (4h) breached at Mon 13:00 EST (18:00Z), elapsed 27h.
  time to done (16h) breached at Tue 11-03 17:00 EST (22:00Z), elapsed Mon 8 + Tue 8 + Wed 8 +
  Thu 3 = 27h.
Request C (complex launch), created Fri 10-30 16:00 EDT, live Tue 11-03 10:30 EST (15:30Z):
  time to campaign: calendar 91.5h (Fri 20:00Z -> Tue 15:30Z); business Fri 1h + Mon 8h +
  Tue 1.5h = 10.5h.
"""

from __future__ import annotations

import datetime as dt

from marketops.ops.calendars import CalendarsFile, load_calendars
from marketops.ops.intake import Catalog

Z = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=Z)


NOW = utc(2026, 11, 5, 17)  # Thu 12:00 EST

CALENDARS = load_calendars(
    CalendarsFile.model_validate(
        {
            "calendars": [
                {
                    "name": "ny",
                    "timezone": "America/New_York",
                    "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                }
            ]
        }
    )
)

CATALOG = Catalog.model_validate(
    {
        "calendar": "ny",
        "classes": {
            "simple": {
                "sla": [
                    {
                        "name": "time to triage",
                        "target": "4h",
                        "start": ["created"],
                        "stop": ["triaged", "cancelled"],
                    },
                    {
                        "name": "time to done",
                        "target": "16h",
                        "start": ["created"],
                        "stop": ["done", "cancelled"],
                    },
                ]
            },
            "complex": {
                "sla": [
                    {
                        "name": "time to live",
                        "target": "80h",
                        "start": ["created", "reopened"],
                        "stop": ["live", "done", "cancelled"],
                    }
                ]
            },
        },
        "request_types": [
            {"key": "add-field", "name": "Add a field", "class": "simple"},
            {
                "key": "launch-campaign",
                "name": "Launch",
                "class": "complex",
                "launch": True,
                "templates": ["newsletter"],
            },
        ],
    }
)

A_MOVES = [
    (utc(2026, 10, 30, 20), None, "new"),
    (utc(2026, 11, 2, 14, 30), "new", "triaged"),
    (utc(2026, 11, 2, 14, 45), "triaged", "in_progress"),
    (utc(2026, 11, 2, 15), "in_progress", "waiting_on_requester"),
    (utc(2026, 11, 2, 20), "waiting_on_requester", "in_progress"),
    (utc(2026, 11, 3, 15), "in_progress", "qa"),
    (utc(2026, 11, 4, 17), "qa", "done"),
]
B_MOVES = [(utc(2026, 11, 2, 14), None, "new")]
C_MOVES = [
    (utc(2026, 10, 30, 20), None, "new"),
    (utc(2026, 11, 2, 14), "new", "triaged"),
    (utc(2026, 11, 2, 15), "triaged", "in_progress"),
    (utc(2026, 11, 2, 18), "in_progress", "qa"),
    (utc(2026, 11, 2, 19), "qa", "scheduled"),
    (utc(2026, 11, 3, 15, 30), "scheduled", "live"),
]
