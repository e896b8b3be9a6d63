"""`RowEncoder.many` encodes a batch exactly as one call a row does, on both stores' encodings:
JSON, instants shared and not, None, and a naive datetime refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketops.store.bulk import RowEncoder
from marketops.store.tables_messaging import email_sends
from marketops.store.tables_notify import outbox

NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)
SENDS = ("lead_id", "ref", "status", "retry_at", "delivery_id", "created_at", "decided_at")
OUTBOX = ("idempotency_key", "payload", "status", "next_attempt_at", "created_at", "updated_at")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_many_is_one_call_a_row(dialect: str) -> None:
    sends = RowEncoder(email_sends, SENDS, dialect)
    rows = [
        (
            f"{i:032x}",
            f"journey:{i}:email-2:1",
            "queued",
            None if i % 3 else NOW + timedelta(hours=i),
            i,
            NOW if i % 4 else NOW - timedelta(days=1),
            datetime(2026, 3, 4, 13, tzinfo=UTC) - timedelta(hours=1),  # equal to NOW, not it
        )
        for i in range(50)
    ]
    assert sends.many(rows) == [sends(r) for r in rows]
    box = RowEncoder(outbox, OUTBOX, dialect)
    messages = [
        (f"k{i}", {"lead_id": f"{i}", "params": {"n": i}}, "pending", NOW, NOW, NOW)
        for i in range(50)
    ]
    assert box.many(messages) == [box(r) for r in messages]
    assert sends.many([]) == []
    with pytest.raises(ValueError, match="naive"):
        sends.many([(*rows[0][:6], datetime(2026, 3, 4, 12))])
