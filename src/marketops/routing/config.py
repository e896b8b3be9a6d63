"""What routing and SLA timers need from the workspace besides the core YAML: the calendars they
name and the accounts CSV. Loaded once per process, with every unknown name reported at once."""

from __future__ import annotations

from typing import Any

from marketops.errors import Problem, WorkspaceError
from marketops.ops.calendars.business import BusinessCalendar
from marketops.ops.calendars.models import BUILTIN_24X7
from marketops.routing.accounts import Account, read_accounts_csv


def calendar_refs(ws: Any) -> list[tuple[str, str]]:
    """(where, calendar name) for every calendar routing.yml and lifecycle.yml mention."""
    refs = []
    for q in ws.routing.queues:
        if q.calendar:
            refs.append((f"routing.yml: queue {q.name}", q.calendar))
        for m in q.members:
            if m.calendar:
                refs.append((f"routing.yml: member {m.name}", m.calendar))
    for sla in ws.lifecycle.slas:
        if sla.calendar not in ("owner", BUILTIN_24X7):
            refs.append((f"lifecycle.yml: sla {sla.name}", sla.calendar))
    return refs


def routing_inputs(ws: Any) -> tuple[dict[str, BusinessCalendar], list[Account]]:
    refs = calendar_refs(ws)
    calendars: dict[str, BusinessCalendar] = {}
    if refs:
        from marketops.ops.calendars import load_calendars

        calendars = load_calendars(ws.root)
        unknown = [
            Problem(
                where,
                f"unknown calendar `{name}`",
                f"declare it in calendars.yml (known: {sorted(calendars)})",
            )
            for where, name in refs
            if name not in calendars
        ]
        if unknown:
            raise WorkspaceError("routing/lifecycle name unknown calendars", unknown)
    else:
        calendars = {BUILTIN_24X7: BusinessCalendar.twenty_four_seven()}
    return calendars, csv_accounts(ws)


def csv_accounts(ws: Any) -> list[Account]:
    """The accounts of routing.yml's `accounts.file` (none when it names no file)."""
    file = ws.routing.accounts.file
    return read_accounts_csv(ws.path(file)) if file else []
