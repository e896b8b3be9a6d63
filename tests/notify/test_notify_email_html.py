"""An HTML payload (the scorecard) is mailed as multipart/alternative with a text fallback."""

from marketops.notify.senders import Delivery, EmailTarget, email_message


def test_html_payload_becomes_an_alternative_part() -> None:
    delivery = Delivery(
        id=1,
        idempotency_key="scorecard:2026-W48:cmo@example.com",
        channel="email",
        destination="cmo@example.com",
        subject="Weekly scorecard",
        payload={"text": "Pipeline up 12%", "html": "<h1>Pipeline up 12%</h1>"},
        attempt=1,
    )
    msg = email_message(delivery, EmailTarget(to=("cmo@example.com",)), "mops@example.com")
    assert msg.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert "<h1>Pipeline up 12%</h1>" in parts["text/html"]
    assert "Pipeline up 12%" in parts["text/plain"] and "<h1>" not in parts["text/plain"]
