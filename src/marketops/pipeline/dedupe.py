"""Dedupe (exact) stage: the same normalized email is the same person.

A repeat submission updates the stored person — most recent non-empty value wins — and the stage
reports which fields changed so the update is recorded as an activity, never as a second person.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from marketops.pipeline.records import Lead

# Fields a later submission may overwrite when it carries a value.
MERGEABLE = (
    "first_name",
    "last_name",
    "title",
    "company",
    "company_key",
    "company_domain",
    "phone",
    "phone_e164",
    "country",
    "region",
    "industry",
    "employees",
    "source",
)


def merge(existing: Lead, incoming: Lead) -> tuple[Lead, dict[str, dict[str, Any]]]:
    """Incoming non-empty values win; returns the merged lead and {field: {from, to}}."""
    changes: dict[str, dict[str, Any]] = {}
    merged = Lead(**{f.name: getattr(existing, f.name) for f in fields(Lead)})
    for name in MERGEABLE:
        new = getattr(incoming, name)
        old = getattr(merged, name)
        if new not in (None, "") and new != old:
            setattr(merged, name, new)
            if name not in ("company_key", "region"):  # derived fields: not news to a person
                changes[name] = {"from": old, "to": new}
    for key, value in incoming.attributes.items():
        if merged.attributes.get(key) != value:
            changes[key] = {"from": merged.attributes.get(key), "to": value}
    merged.attributes = {**existing.attributes, **incoming.attributes}
    merged.consent = {**existing.consent, **incoming.consent}
    for channel, granted in incoming.consent.items():  # consent history: `journey simulate`
        if existing.consent.get(channel) != granted:
            changes[f"consent_{channel}"] = {"from": existing.consent.get(channel), "to": granted}
    merged.flags = {**existing.flags, **incoming.flags}
    merged.warnings = incoming.warnings
    merged.message = incoming.message
    merged.activity = incoming.activity
    merged.occurred_at = incoming.occurred_at
    merged.email_original = incoming.email_original
    return merged, changes
