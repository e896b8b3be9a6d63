"""Static list import from CSV (a column `email` or `lead_id`), and replay of unmatched rows.

A row that matches no lead (or has neither column) is kept in `segment_pending` with its row
number and reason, and retried on every refresh: a contact imported before the person is captured
joins the list when they are. Rows are keyed by the file's hash and row number, so importing the
same file twice (or again after a crash) adds and keeps nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from marketops.errors import MarketopsError, Problem
from marketops.pipeline.normalize import normalize_email
from marketops.segments.membership import add_to_list
from marketops.store.schema import leads
from marketops.store.tables_segments import segment_pending

CHUNK = 500
EMAIL_COLUMNS = ("email", "email_address", "e-mail")
ID_COLUMNS = ("lead_id", "id")


def _column(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    return next((lowered[n] for n in names if n in lowered), None)


def _insert_pending(conn: Connection):  # -> dialect insert (on_conflict_do_nothing)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(segment_pending)


def match(conn: Connection, emails: list[str], ids: list[str]) -> tuple[dict[str, str], set[str]]:
    """Lead ids by normalized email, and which of `ids` are leads."""
    by_email = (
        dict(conn.execute(select(leads.c.email, leads.c.id).where(leads.c.email.in_(emails))).all())
        if emails
        else {}
    )
    known = (
        set(conn.execute(select(leads.c.id).where(leads.c.id.in_(ids))).scalars()) if ids else set()
    )
    return by_email, known


def import_list(ctx: Any, list_name: str, path: Path, now: datetime) -> dict[str, Any]:
    """Add the file's leads to `list_name`; every row that matches no lead is reported and kept."""
    from marketops.segments.service import find_list

    find_list(ctx, list_name)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise MarketopsError(
            f"{path}: file not found", [Problem(str(path), "file not found")]
        ) from exc
    digest = hashlib.sha256(data).hexdigest()[:16]
    reader = csv.DictReader(data.decode("utf-8-sig").splitlines())
    header = reader.fieldnames or []
    email_col, id_col = _column(header, EMAIL_COLUMNS), _column(header, ID_COLUMNS)
    if email_col is None and id_col is None:
        raise MarketopsError(
            f"{path}: no email or lead_id column",
            [Problem(f"{path}:1", f"header is {header}", "add a column `email` or `lead_id`")],
        )
    rows = list(reader)
    stats: dict[str, Any] = {
        "list": list_name,
        "rows": len(rows),
        "added": 0,
        "already": 0,
        "pending": [],
    }
    for start in range(0, len(rows), CHUNK):
        chunk = [
            (start + i + 2, r) for i, r in enumerate(rows[start : start + CHUNK])
        ]  # row 1 = header
        parsed = []
        for row_no, r in chunk:
            email = (r.get(email_col) or "").strip() if email_col else ""
            lead_ref = (r.get(id_col) or "").strip() if id_col else ""
            parsed.append((row_no, normalize_email(email) if email else None, lead_ref or None))
        with ctx.engine.begin() as conn:
            by_email, known = match(
                conn, [e for _, e, _ in parsed if e], [i for _, _, i in parsed if i]
            )
            found, pending = [], []
            for row_no, email, lead_ref in parsed:
                lid = lead_ref if lead_ref in known else by_email.get(email) if email else None
                if lid is not None:
                    found.append(lid)
                    continue
                if lead_ref:
                    reason = "no lead with this lead_id"
                elif email:
                    reason = "no lead with this email"
                else:
                    reason = "row has neither an email nor a lead_id"
                pending.append(
                    {
                        "list": list_name,
                        "source": path.name,
                        "source_ref": f"{digest}:{row_no}",
                        "row_number": row_no,
                        "email": email,
                        "lead_ref": lead_ref,
                        "reason": reason,
                        "status": "open",
                        "created_at": now,
                    }
                )
                stats["pending"].append({"row": row_no, "reason": reason})
            added = add_to_list(conn, list_name, found, now, source=f"import:{path.name}")
            stats["added"] += added
            stats["already"] += len(set(found)) - added
            if pending:
                conn.execute(_insert_pending(conn).on_conflict_do_nothing(), pending)
    return stats


def replay_pending(ctx: Any, now: datetime, list_name: str | None = None) -> int:
    """Retry open unmatched rows; those that now match a lead join their list. Returns how many."""
    q = select(
        segment_pending.c.id,
        segment_pending.c.list,
        segment_pending.c.email,
        segment_pending.c.lead_ref,
    ).where(segment_pending.c.status == "open")
    if list_name:
        q = q.where(segment_pending.c.list == list_name)
    with ctx.engine.connect() as conn:
        rows = conn.execute(q.order_by(segment_pending.c.id)).all()
    matched = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        with ctx.engine.begin() as conn:
            by_email, known = match(
                conn, [r.email for r in chunk if r.email], [r.lead_ref for r in chunk if r.lead_ref]
            )
            for r in chunk:
                lid = (
                    r.lead_ref
                    if r.lead_ref in known
                    else by_email.get(r.email)
                    if r.email
                    else None
                )
                if lid is None:
                    continue
                done = conn.execute(
                    update(segment_pending)
                    .where(segment_pending.c.id == r.id, segment_pending.c.status == "open")
                    .values(status="matched", lead_id=lid, resolved_at=now)
                ).rowcount
                if done:
                    add_to_list(conn, r.list, [lid], now, source="import:replay")
                    matched += 1
    return matched


def pending(ctx: Any, list_name: str | None = None, status: str = "open") -> list[dict[str, Any]]:
    q = (
        select(segment_pending)
        .where(segment_pending.c.status == status)
        .order_by(segment_pending.c.id)
    )
    if list_name:
        q = q.where(segment_pending.c.list == list_name)
    with ctx.engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
