"""The lead rows a batch of due steps reads: whole rows, or only what its actions use.

A batch whose journeys are all straight (`Journey.straight`: no goals, branches or windows) and act
only by email, webhook or owner notification reads the few columns those use (the send policy's
consent, zone and address; the owner) instead of every column of 2,000 leads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

from marketops.journeys.models import Journey
from marketops.store.leads_repo import lead_rows

# what `send_emails` (policy, zone, recipe), webhooks and owner notifications read of a lead
NARROW = ("id", "email", "country", "owner", "consent", "attributes")
NARROW_KINDS = frozenset({"wait", "exit", "send_email", "webhook", "notify_owner"})


def narrow_enough(journeys: Iterable[Journey]) -> bool:
    return all(j.straight and all(s.kind in NARROW_KINDS for s in j.steps) for j in journeys)


def read_leads(
    conn: Connection, ids: Sequence[str], journeys: Iterable[Journey], *, lock: bool = False
) -> dict[str, dict[str, Any]]:
    """Lead rows by id for these journeys' steps (`lead_rows`: PostgreSQL locks them `FOR
    UPDATE` in id order when `lock`)."""
    if narrow_enough(journeys):
        return lead_rows(conn, ids, lock=lock, columns=NARROW)
    return lead_rows(conn, ids, lock=lock)
