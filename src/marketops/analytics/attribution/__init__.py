"""Multi-touch attribution: heuristic models as Ibis expressions, Markov and Shapley on top.

The public face; the modules behind it are small enough to read one at a time, and are imported
on first use (`marketops._lazy`: pandas and Ibis are not loaded for `marketops validate`).
"""

from __future__ import annotations

from marketops._lazy import exports

__getattr__, __dir__, __all__ = exports(
    __name__,
    {
        "config": ["ALL_MODELS", "HEURISTICS", "LEVELS", "AttributionConfig"],
        "load": ["load_files", "load_records", "put_tables"],
        "service": ["AttributionResult", "Credit", "attribute", "attribute_files", "frame"],
    },
)
