"""Registers the SLA timer tick with `marketops worker` (and `serve --with-worker`)."""

from __future__ import annotations

from marketops.lifecycle.timers import sla_tick
from marketops.worker.jobs import register_job

SLA_TICK_INTERVAL_S = 15.0

register_job("lifecycle.sla_timers", sla_tick, SLA_TICK_INTERVAL_S)
