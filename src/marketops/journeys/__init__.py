"""Journeys: multi-step programmes (wait, branch, act) that people enter on a trigger.

Definitions live in the workspace (`journeys/<name>.yml`); published versions, enrolments and
every executed step live in the store, so the worker can crash at any point and resume.
"""

from __future__ import annotations

JOURNEYS_DIR = "journeys"
JOURNEYS_GLOB = "journeys/*.yml"
