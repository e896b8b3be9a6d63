"""Concurrent captures: no second person for one email, no round-robin slot handed out twice."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import func, select

from marketops.services.leads import capture_one
from marketops.store.schema import activities, leads, queue_cursors

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_parallel_writers_share_nothing_they_should_not(ctx) -> None:
    hot = [
        {
            "email": f"buyer{i}@gmail.com",
            "activity": "demo_request",
            "title": "CEO",
            "message": "need a demo",
            "employees": 5000,
        }
        for i in range(60)
    ]
    same = [{"email": "same.person@initech.example", "activity": "form_fill"}] * 20
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda p: capture_one(ctx, p, NOW), hot + same))
    assert all(status in (200, 201) for status, _ in results)
    owners = Counter(body["assignment"]["owner"] for _, body in results[:60])
    assert owners == {"ava.sdr": 40, "ben.sdr": 20}  # weights 2:1, every slot used once
    with ctx.engine.connect() as conn:
        assert (
            conn.scalar(
                select(queue_cursors.c.position).where(queue_cursors.c.queue == "inbound-sdr")
            )
            == 60
        )
        assert conn.scalar(select(func.count()).select_from(leads)) == 61
        assert conn.scalar(select(func.count()).select_from(activities)) == 80
    ids = {body["id"] for _, body in results[60:]}
    assert len(ids) == 1
    assert sorted(status for status, _ in results[60:]) == [200] * 19 + [201]
