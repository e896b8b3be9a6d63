"""Multi-touch attribution: heuristic models as Ibis expressions, Markov and Shapley on top.

The public face; the modules behind it are small enough to read one at a time.
"""

from marketops.analytics.attribution.config import ALL_MODELS, HEURISTICS, LEVELS, AttributionConfig
from marketops.analytics.attribution.load import load_files, load_records, put_tables
from marketops.analytics.attribution.service import (
    AttributionResult,
    Credit,
    attribute,
    attribute_files,
    frame,
)

__all__ = [
    "ALL_MODELS",
    "HEURISTICS",
    "LEVELS",
    "AttributionConfig",
    "AttributionResult",
    "Credit",
    "attribute",
    "attribute_files",
    "frame",
    "load_files",
    "load_records",
    "put_tables",
]
