"""Lifecycle state machine, SLA timers and escalation."""
