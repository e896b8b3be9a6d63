"""Time zones, quiet hours across DST changes, and the frequency cap (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from marketops.messaging.config import FrequencyCap, QuietHours
from marketops.messaging.policy import cap_check, contact_zone, quiet_until

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
Q = QuietHours(start="20:00", end="08:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_zone_from_attribute_then_country_then_default() -> None:
    q = QuietHours(default_timezone="Europe/London", country_timezones={"us": "America/Chicago"})
    assert contact_zone({"attributes": {"timezone": "Asia/Tokyo"}, "country": "FR"}, q) == (
        ZoneInfo("Asia/Tokyo"),
        "timezone",
    )
    assert contact_zone({"attributes": {"timezone": "Mars/Olympus"}, "country": "FR"}, q) == (
        PARIS,
        "country",
    )
    assert contact_zone({"country": "US"}, q) == (ZoneInfo("America/Chicago"), "country")
    assert contact_zone({"country": "CA"}, q)[0] == ZoneInfo("America/Toronto")
    assert contact_zone({"country": "de"}, q)[0] == ZoneInfo("Europe/Berlin")
    assert contact_zone({"country": "ZZ"}, q) == (ZoneInfo("Europe/London"), "default")
    assert contact_zone({}, q) == (ZoneInfo("Europe/London"), "default")


def test_bad_zone_in_config_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        QuietHours(default_timezone="Europe/Atlantis")
    with pytest.raises(ValidationError, match="HH:MM"):
        QuietHours(start="8pm")


def test_quiet_hours_end_at_local_eight_across_spring_forward() -> None:
    # New York springs forward on 2025-03-09: the night is 23 hours long.
    evening = utc(2025, 3, 9, 3, 0)  # 22:00 EST on the 8th
    assert quiet_until(evening, NY, Q) == utc(2025, 3, 9, 12, 0)  # 08:00 EDT, not 13:00 UTC
    assert quiet_until(evening, NY, Q) - evening == timedelta(hours=9)
    assert quiet_until(utc(2025, 3, 9, 12, 0), NY, Q) is None  # 08:00 EDT exactly: allowed


def test_quiet_hours_end_at_local_eight_across_fall_back() -> None:
    # ... and falls back on 2025-11-02: the night is 25 hours long.
    evening = utc(2025, 11, 2, 2, 0)  # 22:00 EDT on the 1st
    assert quiet_until(evening, NY, Q) == utc(2025, 11, 2, 13, 0)  # 08:00 EST
    early = utc(2025, 11, 2, 11, 30)  # 06:30 EST
    assert quiet_until(early, NY, Q) == utc(2025, 11, 2, 13, 0)


def test_quiet_hours_outside_window_and_same_day_window() -> None:
    assert quiet_until(utc(2025, 6, 2, 10, 0), PARIS, Q) is None  # 12:00 in Paris
    lunch = QuietHours(start="12:00", end="14:00")
    assert quiet_until(utc(2025, 6, 2, 10, 30), PARIS, lunch) == utc(2025, 6, 2, 12, 0)
    assert quiet_until(utc(2025, 6, 2, 12, 0), PARIS, lunch) is None
    assert quiet_until(utc(2025, 6, 2, 23, 0), PARIS, QuietHours(enabled=False)) is None


def test_quiet_end_in_a_skipped_hour_lands_after_the_gap() -> None:
    q = QuietHours(start="01:00", end="02:30")  # 02:30 does not exist in NY on 2025-03-09
    end = quiet_until(utc(2025, 3, 9, 6, 30), NY, q)  # 01:30 EST
    assert end == utc(2025, 3, 9, 7, 30)  # 03:30 EDT: after the jump, never inside the window
    assert end.astimezone(NY).hour == 3


def test_frequency_cap_counts_the_rolling_window() -> None:
    cap = FrequencyCap(max_emails=3, per_days=7)
    now = utc(2025, 6, 10, 12)
    sent = [now - timedelta(days=d) for d in (1, 3, 6)]
    decision = cap_check(now, sent, cap)
    assert decision.over and decision.retry_at == now - timedelta(days=6) + timedelta(days=7)
    assert not cap_check(now, [now - timedelta(days=8), *sent[:2]], cap).over
    # five in the window (a cap lowered later): wait until only two remain
    many = [now - timedelta(days=d) for d in (0.5, 1, 2, 3, 4)]
    assert cap_check(now, many, cap).retry_at == now - timedelta(days=2) + timedelta(days=7)
    assert not cap_check(now, sent, FrequencyCap(enabled=False)).over
