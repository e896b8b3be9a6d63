"""Pure send-time rules: the contact's time zone, quiet hours, the frequency cap.

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
from zoneinfo import ZoneInfo

from marketops.messaging.config import FrequencyCap, QuietHours, valid_zone

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


def cap_check(now: datetime, sent_at: Sequence[datetime], cap: FrequencyCap) -> CapDecision:
    """Over the cap if `max_emails` marketing emails were queued in the last `per_days` days.

    `sent_at` are the times of this person's counted sends (any order). A deferral waits until
    the oldest send in the window leaves it.
    """
    if not cap.enabled:
        return CapDecision(False, None)
    window = timedelta(days=cap.per_days)
    recent = sorted(t for t in sent_at if now - window < t <= now)
    if len(recent) < cap.max_emails:
        return CapDecision(False, None)
    # the send that must age out so that one fewer than the cap remains in the window
    oldest_blocking = recent[len(recent) - cap.max_emails]
    return CapDecision(True, oldest_blocking + window)
