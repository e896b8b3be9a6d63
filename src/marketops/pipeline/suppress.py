"""Suppress stage: consent and do-not-contact lists per channel.

A lead suppressed for `sales` or `all` (or with consent withdrawn on every contact channel) is stored
but never routed or notified; channel-level suppressions are kept on the lead for senders to honour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from marketops.pipeline.enrich import domain_of
from marketops.pipeline.records import Lead

BLOCKING_CHANNELS = ("all", "sales")


@dataclass
class SuppressionIndex:
    """channel -> emails / domains; built by the service from the store and the workspace list."""

    emails: dict[str, set[str]] = field(default_factory=dict)
    domains: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, str, str]]) -> SuppressionIndex:
        idx = cls()
        for channel, kind, value in entries:
            target = idx.emails if kind == "email" else idx.domains
            target.setdefault(channel, set()).add(value.strip().lower())
        return idx


def suppress(lead: Lead, index: SuppressionIndex) -> tuple[bool, list[dict[str, str]]]:
    """(suppressed from routing/notification, reasons per channel)."""
    reasons: list[dict[str, str]] = []
    email, consent = lead.email, lead.consent
    domain = domain_of(email)
    for channel, emails in index.emails.items():
        if email in emails:
            reasons.append({"channel": channel, "reason": "do-not-contact list (email)"})
    for channel, domains in index.domains.items():
        if domain in domains:
            reasons.append({"channel": channel, "reason": "do-not-contact list (domain)"})
    for channel, granted in consent.items():
        if granted is False:
            reasons.append({"channel": channel, "reason": "consent withdrawn"})
    channels = {r["channel"] for r in reasons} if reasons else set()
    withdrawn_everywhere = (
        bool(consent) and not any(consent.values()) and "email" in consent and "phone" in consent
    )
    blocked = not channels.isdisjoint(BLOCKING_CHANNELS) or withdrawn_everywhere
    lead.flags["suppressed_channels"] = sorted(channels)
    return blocked, reasons
