"""Registers the outbox delivery job with the worker (`marketops worker`)."""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from marketops.worker.jobs import register_job

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"[:64]


_LOCK = threading.Lock()
# per workspace: the config they were built for, its senders (HTTP pool) and send threads
_SENDING: dict[str, tuple[object, object, ThreadPoolExecutor]] = {}


def _sending(ctx):  # type: ignore[no-untyped-def]
    """Senders and threads kept across ticks, rebuilt when notifications.yml changes."""
    from marketops.notify.config import load_notifications
    from marketops.notify.senders import Senders

    cfg = load_notifications(ctx.workspace.root)
    key = str(ctx.workspace.root)
    with _LOCK:
        cached = _SENDING.get(key)
        if cached is not None and cached[0] is cfg:
            return cfg, cached[1], cached[2]
        if cached is not None:
            cached[1].close()  # type: ignore[attr-defined]
            cached[2].shutdown(wait=False)
        member_emails = {
            m.name: m.email for q in ctx.workspace.routing.queues for m in q.members if m.email
        }
        senders = Senders(cfg, member_emails, os.environ)
        pool = ThreadPoolExecutor(cfg.delivery.concurrency, thread_name_prefix="outbox-send")
        _SENDING[key] = (cfg, senders, pool)
        return cfg, senders, pool


def deliver_outbox(ctx, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """One tick: send what is due; returns how many deliveries were attempted."""
    from marketops.messaging.compose import email_composer
    from marketops.notify.delivery import deliver_due

    cfg, senders, pool = _sending(ctx)
    stats = deliver_due(
        ctx.engine,
        cfg,
        now=now,
        worker=WORKER_ID,
        senders=senders,
        pool=pool,
        compose=email_composer(ctx),  # journey emails are rendered as they are sent
    )
    return stats.claimed


register_job("outbox", deliver_outbox, interval_s=1.0)
