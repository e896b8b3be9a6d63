"""Pure send-time rules: who is held back and why, the contact's time zone, quiet hours, the
frequency cap. `hold_back` is the one decision both the real send and `journey simulate` take.

Handed `now` and data; no store, no clock. Quiet-hour ends are computed on the local wall clock
and converted back through the zone, so a window that spans a DST change ends at the right
local hour (08:00 is 08:00 whether the night had 23, 24 or 25 hours).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo

from marketops.messaging.config import FrequencyCap, MessagingFile, QuietHours, valid_zone
from marketops.pipeline.enrich import domain_of

DNC_CHANNELS = ("email", "all")

# multi-zone countries whose first zone.tab entry is a small region: their most populous zone
_POPULOUS = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UZ": "Asia/Tashkent",
}


@cache
def country_zones() -> dict[str, str]:
    """ISO country code -> a zone for it, from the tz database's zone.tab (tzdata package).

    One-zone countries are exact. For the others zone.tab's first entry is used (its rows run
    roughly east to west: America/New_York for US), except where that is a small region
    (`_POPULOUS`); messaging.yml's `quiet_hours.country_timezones` overrides either.
    """
    out: dict[str, str] = {}
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            out.setdefault(parts[0].upper(), parts[2])
    return out | _POPULOUS


def contact_zone(lead: Mapping[str, object], quiet: QuietHours) -> tuple[ZoneInfo, str]:
    """(zone, where it came from): the lead's `timezone` attribute if valid IANA, else the
    country's zone (messaging.yml override first), else the workspace default."""
    attrs = lead.get("attributes") or {}
    tz = (attrs.get("timezone") if isinstance(attrs, Mapping) else None) or lead.get("timezone")
    if isinstance(tz, str) and valid_zone(tz):
        return ZoneInfo(tz), "timezone"
    country = lead.get("country")
    if isinstance(country, str) and country:
        code = country.upper()
        name = quiet.country_timezones.get(code) or country_zones().get(code)
        if name:
            return ZoneInfo(name), "country"
    return ZoneInfo(quiet.default_timezone), "default"


def _at(day: datetime, hhmm: time, zone: ZoneInfo) -> datetime:
    """`hhmm` on `day`'s local date in `zone`, as UTC.

    fold=0 (PEP 495): a time repeated when clocks fall back is its first occurrence; a time
    skipped when they spring forward is read with the old offset, which lands just after the gap
    (02:30 that never happened becomes 03:30), so the result is never inside the quiet window.
    """
    return datetime.combine(day.date(), hhmm, tzinfo=zone).astimezone(UTC)


def quiet_until(now: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """The UTC instant quiet hours end if `now` is inside them, else None."""
    if not quiet.enabled:
        return None
    start, end = quiet.window()
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    if start > end:  # wraps midnight: 20:00–08:00
        if t >= start:
            return _at(local + timedelta(days=1), end, zone)
        if t < end:
            return _at(local, end, zone)
        return None
    if start <= t < end:  # same-day window, e.g. 12:00–14:00
        return _at(local, end, zone)
    return None


@dataclass(frozen=True)
class CapDecision:
    over: bool
    retry_at: datetime | None  # when a slot frees up (for over_cap: defer)


_UNDER = CapDecision(False, None)


def cap_check(now: datetime, sent_at: Sequence[datetime], cap: FrequencyCap) -> CapDecision:
    """Over the cap if `max_emails` marketing emails were queued in the last `per_days` days.

    `sent_at` are the times of this person's counted sends (any order). A deferral waits until
    the oldest send in the window leaves it.
    """
    if not cap.enabled or len(sent_at) < cap.max_emails:  # fewer sends than the cap at all
        return _UNDER
    window = timedelta(days=cap.per_days)
    recent = sorted(t for t in sent_at if now - window < t <= now)
    if len(recent) < cap.max_emails:
        return CapDecision(False, None)
    # the send that must age out so that one fewer than the cap remains in the window
    oldest_blocking = recent[len(recent) - cap.max_emails]
    return CapDecision(True, oldest_blocking + window)


@dataclass(frozen=True)
class HoldBack:
    """Why an email does not go now: skipped for good, or deferred until `retry_at`."""

    status: Literal["skipped", "deferred"]
    reason: str
    retry_at: datetime | None = None


def hold_back(
    cfg: MessagingFile,
    lead: Mapping[str, Any],
    category: str,
    now: datetime,
    *,
    unsubscribed: bool,
    on_dnc: bool,
    suppressed_by: str | None,
    recent: Sequence[datetime],
    zone: ZoneInfo,
    quiet_end: datetime | None,
) -> HoldBack | None:
    """The checks in order — consent (and unsubscribe), do-not-contact, suppression segments,
    then for marketing email the frequency cap and quiet hours; None when the email may go.
    `recent`: the person's counted sends; `quiet_end`: `quiet_until(now, zone, …)`."""
    consent = (lead.get("consent") or {}).get("email")
    if consent is False:
        return HoldBack("skipped", "unsubscribed" if unsubscribed else "consent_withdrawn")
    if cfg.consent == "explicit" and consent is not True:
        return HoldBack("skipped", "no_consent")
    if on_dnc:
        return HoldBack("skipped", "do_not_contact")
    if suppressed_by is not None:
        return HoldBack("skipped", f"suppression_segment:{suppressed_by}")
    if category != "marketing":
        return None
    cap = cfg.frequency_cap
    if cap.enabled:
        decision = cap_check(now, recent, cap)
        if decision.over:
            if cap.over_cap == "skip" or decision.retry_at is None:
                return HoldBack("skipped", "frequency_cap")
            retry = decision.retry_at
            return HoldBack(
                "deferred", "frequency_cap", quiet_until(retry, zone, cfg.quiet_hours) or retry
            )
    if quiet_end is not None:
        return HoldBack("deferred", "quiet_hours", quiet_end)
    return None


class DoNotContact:
    """Is an address on the do-not-contact list for email (by address or domain, channel email
    or all)? Built once for many addresses: the email channels' entries are merged here."""

    def __init__(self, index: Any) -> None:
        self.emails = set().union(*(index.emails.get(ch, ()) for ch in DNC_CHANNELS))
        self.domains = set().union(*(index.domains.get(ch, ()) for ch in DNC_CHANNELS))

    def __call__(self, email: str) -> bool:
        email = email.strip().lower()
        return email in self.emails or (bool(self.domains) and domain_of(email) in self.domains)
