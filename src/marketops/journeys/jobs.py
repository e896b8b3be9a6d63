"""Registers the journey jobs with `marketops worker`: entries (+ wake-ups) and due steps."""

from __future__ import annotations

from marketops.journeys.runner import step_tick
from marketops.journeys.triggers import entry_tick
from marketops.worker.jobs import register_job

ENTRY_INTERVAL_S = 5.0
STEP_INTERVAL_S = 5.0  # the scheduler's tick: a person's due step runs at most this late

register_job("journeys.entries", entry_tick, ENTRY_INTERVAL_S)
register_job("journeys.steps", step_tick, STEP_INTERVAL_S)
