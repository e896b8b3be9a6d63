"""Registers the incremental segment refresh with `marketops worker` (and `serve --with-worker`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marketops.worker.jobs import register_job

REFRESH_INTERVAL_S = 30.0


def refresh_job(ctx: Any, now: datetime) -> int:
    from marketops.segments.service import refresh

    return refresh(ctx, now)


register_job("segments.refresh", refresh_job, REFRESH_INTERVAL_S)
