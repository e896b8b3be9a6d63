"""Golden record of an identity: which member's value survives, per field.

Rules (identity.yml `survivorship`): `most_recent` non-empty value (by the member's update
time), `most_complete` (the value from the member with the most non-empty fields),
`source_priority` (the value from the best-ranked source that has one, then most recent) and
`never_overwrite` (the first non-empty value ever seen stays). Pure: members are handed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marketops.identity.config import Survivorship

GOLDEN_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "title",
    "company",
    "company_domain",
    "phone_e164",
    "country",
    "industry",
    "employees",
    "source",
)


@dataclass(frozen=True)
class Member:
    lead_id: str
    values: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    source: str | None = None


def _empty(v: Any) -> bool:
    return v is None or v == ""


def golden(members: Sequence[Member], cfg: Survivorship) -> dict[str, Any]:
    """{"values": {field: value}, "from": {field: lead_id}, "rules": {field: rule}}."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    rules: dict[str, str] = {}
    recent = sorted(members, key=lambda m: (m.updated_at, m.lead_id), reverse=True)
    oldest = sorted(members, key=lambda m: (m.created_at, m.lead_id))
    completeness = {
        m.lead_id: sum(not _empty(m.values.get(f)) for f in GOLDEN_FIELDS) for m in members
    }
    complete = sorted(recent, key=lambda m: completeness[m.lead_id], reverse=True)  # stable
    for name in GOLDEN_FIELDS:
        spec = cfg.fields.get(name)
        rule = spec.rule if spec else cfg.default
        sources = (spec.sources if spec and spec.sources else None) or cfg.source_priority
        if rule == "never_overwrite":
            order = oldest
        elif rule == "most_complete":
            order = complete
        elif rule == "source_priority":
            rank = {s: i for i, s in enumerate(sources)}
            order = sorted(recent, key=lambda m: rank.get(m.source or "", len(rank)))
        else:
            order = recent
        for m in order:
            v = m.values.get(name)
            if not _empty(v):
                values[name], origin[name] = v, m.lead_id
                break
        rules[name] = rule
    return {"values": values, "from": origin, "rules": rules}
