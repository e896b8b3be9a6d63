"""How a rule sees a value: one definition shared by the Python evaluator and the SQL generator.

A field is a lead column or, for any other name, a contract attribute (`attributes.<name>` or the
bare name). Values are compared as text (case-insensitive, like SQL `lower`) when the rule's value
is a string, and as numbers (strings that parse count) when it is a number. The batch path turns
attributes into text columns with `as_text`, so both paths compare the very same strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# lead columns a rule may name directly, with the SQL type the batch path gives them
LEAD_FIELDS: dict[str, str] = {
    "id": "string",
    "email": "string",
    "first_name": "string",
    "last_name": "string",
    "title": "string",
    "company": "string",
    "company_domain": "string",
    "country": "string",
    "region": "string",
    "industry": "string",
    "employees": "int64",
    "source": "string",
    "lifecycle_stage": "string",
    "fit_score": "float64",
    "engagement_score": "float64",
    "total_score": "float64",
    "queue": "string",
    "owner": "string",
    "suppressed": "boolean",
}
TRUE_WORDS = ("true", "yes", "y", "1")


def attribute_name(field: str) -> str | None:
    """The attribute a field names, or None for a lead column."""
    if field in LEAD_FIELDS:
        return None
    return field.removeprefix("attributes.")


def raw_value(lead: Mapping[str, Any], field: str) -> Any:
    attr = attribute_name(field)
    if attr is None:
        return lead.get(field)
    return (lead.get("attributes") or {}).get(attr)


def as_text(v: Any) -> str | None:
    """The text form of a value (None when missing): what SQL's CAST(… AS VARCHAR) gives."""
    if v is None or v == "" or v == [] or v == {}:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, list | dict):
        return json.dumps(v, sort_keys=True, default=str)
    return str(v)


def as_num(v: Any) -> float | None:
    """The number a value holds, or None (booleans are not numbers; numeric strings are)."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None
