"""Registers the identity re-link with `marketops worker` (and `serve --with-worker`)."""

from __future__ import annotations

from marketops.events.service import relink
from marketops.worker.jobs import register_job

RELINK_INTERVAL_S = 300.0

register_job("events.relink", relink, RELINK_INTERVAL_S)
