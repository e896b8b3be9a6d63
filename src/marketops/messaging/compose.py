"""Delivery-time rendering: a queued email is a recipe in the outbox, rendered when it is sent.

`send_emails` decides and commits a compact outbox row — template, lead, params — instead of the
rendered message, so the step that decides costs a few microseconds instead of a Jinja render
(the way ESPs render at send time). The outbox worker hands the rows it claimed to
`email_composer(ctx)`, which reads the leads once, renders each message and builds the same
payload (bodies, From, List-Unsubscribe, One-Click, Message-ID) the decision used to store. A row
that cannot be rendered (the lead was deleted, a token has no value, the signing key is unset)
comes back as the reason, which the outbox records as a dead letter: fix it, then `outbox replay`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from marketops.errors import MarketopsError
from marketops.messaging.render import RenderError, compiled, messaging_config, render_compiled
from marketops.messaging.unsubscribe import make_token, signing_keys, unsubscribe_url
from marketops.notify.delivery import Compose
from marketops.notify.outbox import COMPOSE_KEY, Claimed
from marketops.store.leads_repo import lead_rows

RECIPE = "email_template"  # payload[COMPOSE_KEY] of a journey email


def recipe(lead_id: str, template: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The outbox payload of a queued email: what to render, for whom."""
    return {COMPOSE_KEY: RECIPE, "lead_id": lead_id, "template": template, "params": params or {}}


def email_composer(ctx: Any) -> Compose:
    """The outbox's composer for this workspace and store (see the module docstring)."""
    root = Path(ctx.workspace.root)

    def compose(rows: Sequence[Claimed]) -> list[Claimed | str]:
        wanted = sorted({c.payload.get("lead_id") for c in rows if _is_email(c)} - {None})
        with ctx.engine.connect() as conn:
            people = lead_rows(conn, wanted)
        return [compose_one(root, c, people) if _is_email(c) else c for c in rows]

    return compose


def _is_email(c: Claimed) -> bool:
    return c.payload.get(COMPOSE_KEY) == RECIPE


def compose_one(root: Path, c: Claimed, people: Mapping[str, dict[str, Any]]) -> Claimed | str:
    """The claimed row with its message rendered, or why it cannot be (a permanent failure)."""
    from marketops.messaging.send import message_payload

    p = c.payload
    lead = people.get(p["lead_id"])
    if lead is None:
        return f"render: lead {p['lead_id']} no longer exists"
    name = p["template"]
    try:
        cfg = messaging_config(root)
        keys = signing_keys(os.environ, cfg.unsubscribe.secret_env)
        tpl = compiled(root, name)
        token = make_token(lead["id"], tpl.model.topic, keys)
        url = unsubscribe_url(cfg.unsubscribe.base_url, token)
        email = render_compiled(
            tpl, cfg, lead, p.get("params"), unsubscribe_url=url, where=(root, name)
        )
    except RenderError as exc:
        detail = exc.problems[0].message if exc.problems else str(exc)
        return f"render_error: template {name!r}: {detail}"[:500]
    except MarketopsError as exc:  # no such template, a bad messaging.yml, no signing key
        problem = f" ({exc.problems[0].where}: {exc.problems[0].message})" if exc.problems else ""
        return f"render: {exc}{problem}"[:500]
    payload = message_payload(email, cfg, c.idempotency_key, url, token, lead["id"], name)
    return replace(c, payload=payload, subject=email.subject)
