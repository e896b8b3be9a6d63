"""The batch writer looks up in the store only the emails that may be there (`StoreEmails`).

A lead the store had before the file, and one another connection writes while the file is being
ingested, must still be found (the record updates it); the filter's own answers are held to the
store's contents.
"""

import csv
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from marketops.sample import generate
from marketops.services.batch_commit import StoreEmails
from marketops.services.capture import Batch, capture
from marketops.services.context import AppContext
from marketops.services.ingest import ingest_file
from marketops.store.schema import activities, leads
from marketops.workspace import Workspace

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _activities(ctx, email: str) -> list[str]:
    with ctx.engine.connect() as conn:
        (lead_id,) = conn.execute(select(leads.c.id).where(leads.c.email == email)).one()
        return list(
            conn.execute(
                select(activities.c.type)
                .where(activities.c.lead_id == lead_id)
                .order_by(activities.c.id)
            ).scalars()
        )


def test_leads_from_before_the_file_and_from_another_writer_are_found(ctx, tmp_path) -> None:
    rows = [{**r, "email": f"p{i}@example.org"} for i, r in enumerate(generate(40, seed=3))]
    before = {**rows[0], "email": "early@initech.com", "activity": "webinar"}
    capture(ctx, Batch([before], "api", ["api:1"], [None]), NOW)
    rows[5] = {**rows[5], "email": "Early@Initech.com", "activity": "demo_request"}
    rows[30] = {**rows[30], "email": "meanwhile@initech.com", "activity": "pricing_page"}
    path = _write(tmp_path / "leads.csv", rows)

    wrote: list[int] = []

    def another_writer(done: int, total: int) -> None:  # after the first group's commit
        # (5 or 10 rows: the first group may go early, `ingest.Tail`; row 31 comes later)
        if not wrote:
            wrote.append(done)
            meanwhile = {**rows[1], "email": "meanwhile@initech.com", "activity": "webinar"}
            capture(ctx, Batch([meanwhile], "api", ["api:2"], [None]), NOW)

    stats = ingest_file(
        ctx,
        path,
        batch_size=5,
        workers=2,
        commit_rows=10,
        now=lambda: NOW,
        on_progress=another_writer,
    )
    assert wrote[0] in (5, 10)
    assert stats.rows == 40 and stats.updated >= 2
    assert _activities(ctx, "early@initech.com") == ["webinar", "demo_request"]
    assert _activities(ctx, "meanwhile@initech.com") == ["webinar", "pricing_page"]
    with ctx.engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(leads))
        assert n == len({r["email"].strip().lower() for r in rows} | {"early@initech.com"})


def test_the_filter_answers_with_every_stored_email_until_another_connection_commits(
    workspace_dir, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    ctx = AppContext.open(Workspace.load(workspace_dir))
    people = [{**r, "email": f"s{i}@example.org"} for i, r in enumerate(generate(20, seed=8))]
    capture(ctx, Batch(people, "api", [f"api:{i}" for i in range(20)], [None] * 20), NOW)
    stored = {f"s{i}@example.org" for i in range(20)}
    fresh = [f"new{i}@example.org" for i in range(2000)]
    emails = StoreEmails(limit=1000)
    with ctx.engine.connect() as held:
        with held.begin():
            assert emails.begin(held)
            asked = [*fresh, *sorted(stored)]
            found = emails.to_look_up(asked)
            assert stored <= set(found) <= set(asked)
            assert len(found) < 40  # the new ones pass (a false positive only costs a lookup)
        with held.begin():
            assert emails.begin(held)  # its own commits keep it on
            assert set(emails.to_look_up(fresh[:50])) == set(fresh[:50])  # counted from now on
        capture(ctx, Batch([{**people[0], "email": "x@example.org"}], "api", ["x"], [None]), NOW)
        with held.begin():
            assert not emails.begin(held)  # another connection committed: look everything up
    small = StoreEmails(limit=10)  # the store has more leads than the file rows to come
    with ctx.engine.connect() as held, held.begin():
        assert not small.begin(held)
    ctx.close()
