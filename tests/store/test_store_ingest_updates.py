"""Updates of existing leads (`leads_repo.update_leads`, the batch writer's path): an indexed
column whose value stays is left out of the UPDATE, and every value still lands."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from marketops.services.leads import capture_one
from marketops.store import leads_repo
from marketops.store.schema import leads

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
LATER = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_changed_and_unchanged_indexed_columns(ctx) -> None:
    for email in ("ann@globex.example", "bo@initech.example"):
        capture_one(ctx, {"email": email, "activity": "form_fill"}, NOW)
    statements: list[str] = []
    with ctx.engine.begin() as conn:
        found = leads_repo.load_by_emails(conn, ["ann@globex.example", "bo@initech.example"])
        ann, bo = found["ann@globex.example"].id, found["bo@initech.example"].id
        stored = {s.id: leads_repo.indexed_values(s) for s in found.values()}
        assert stored[ann]["email"] == "ann@globex.example"
        rows = leads_repo.lead_rows(conn, [ann, bo])
        new = {i: dict(rows[i], updated_at=LATER) for i in (ann, bo)}
        new[ann].update(lifecycle_stage="MQL", title="CTO")  # one indexed column changes
        new[bo].update(company_domain="other.example", owner="sam", fit_score=42.0)
        if conn.dialect.name == "sqlite":
            conn.connection.driver_connection.set_trace_callback(statements.append)
        leads_repo.update_leads(conn, list(new.values()), stored)
        if conn.dialect.name == "sqlite":
            conn.connection.driver_connection.set_trace_callback(None)
    with ctx.engine.connect() as conn:
        after = leads_repo.lead_rows(conn, [ann, bo])
        by_domain = conn.execute(
            select(leads.c.id).where(leads.c.company_domain == "other.example")
        ).scalars()
        assert list(by_domain) == [bo]  # the index followed the change
        mql = conn.execute(select(leads.c.id).where(leads.c.lifecycle_stage == "MQL")).scalars()
        assert list(mql) == [ann]
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    for i in (ann, bo):
        assert after[i] == new[i]
    if ctx.engine.dialect.name == "sqlite":  # which columns each UPDATE set
        updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE LEADS")]
        sets = [s.split(" SET ", 1)[1].split(" WHERE ", 1)[0] for s in updates]
        assert len(sets) == 2
        assert all("email =" not in s and "company_key =" not in s for s in sets)
        assert any("lifecycle_stage =" in s and "company_domain =" not in s for s in sets)
        assert any("company_domain =" in s and "owner =" in s for s in sets)


def test_without_stored_values_every_column_is_set(ctx) -> None:
    capture_one(ctx, {"email": "cy@globex.example", "activity": "form_fill"}, NOW)
    with ctx.engine.begin() as conn:
        lead = leads_repo.load_by_emails(conn, ["cy@globex.example"])["cy@globex.example"]
        row = dict(leads_repo.lead_rows(conn, [lead.id])[lead.id], updated_at=LATER)
        row.update(owner="sam", lifecycle_stage="MQL")
        leads_repo.update_leads(conn, [row])
    with ctx.engine.connect() as conn:
        assert leads_repo.lead_rows(conn, [lead.id])[lead.id] == row
