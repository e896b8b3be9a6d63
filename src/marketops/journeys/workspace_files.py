"""Declares `journeys/*.yml` so `marketops validate` checks every journey file."""

from __future__ import annotations

from marketops.journeys import JOURNEYS_GLOB
from marketops.journeys.loader import check
from marketops.journeys.models import Journey
from marketops.workspace.registry import ExtraFile, register_file

JOURNEYS = register_file(ExtraFile(JOURNEYS_GLOB, Journey, check=check))
