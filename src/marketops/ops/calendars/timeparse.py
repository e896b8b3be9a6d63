"""Parsing of the small time vocabularies that workspace files and the CLI share.

Durations accept the short forms people type ("2h", "1h30m", "90m", "3d") and ISO 8601 ("PT2H",
"P1DT4H"), so a YAML file reads naturally and still round-trips with other tools.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_SHORT = re.compile(
    r"^\s*(?:(?P<w>\d+(?:\.\d+)?)\s*w)?\s*(?:(?P<d>\d+(?:\.\d+)?)\s*d)?\s*"
    r"(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m(?:in)?)?\s*"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*s)?\s*$",
    re.IGNORECASE,
)
_ISO = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """A duration from "2h", "1h30m", "3d", "PT2H" or a number of seconds; ValueError otherwise."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    text = str(value).strip()
    match = _ISO.match(text) if text[:1].upper() == "P" else _SHORT.match(text)
    if not text or match is None or not any(match.groupdict().values()):
        raise ValueError(f"not a duration: {value!r} (use e.g. 2h, 1h30m, 45m, 3d or PT2H)")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(
        weeks=parts["w"], days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"]
    )


def format_duration(value: timedelta) -> str:
    """Signed "1d 2h 30m" style, for people reading a terminal or a report."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds}s" if seconds else "",
    ]
    return sign + (" ".join(p for p in parts if p) or "0m")


def parse_clock(text: str) -> tuple[int, int]:
    """Parse "09:30" into (9, 30); "24:00" is allowed as the end of a day."""
    match = _HHMM.match(text.strip())
    if match is None:
        raise ValueError(f"not a time of day: {text!r} (use HH:MM, e.g. 09:00)")
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute > 59 or hour > 24 or (hour == 24 and minute != 0):
        raise ValueError(f"not a time of day: {text!r} (00:00 to 24:00)")
    return hour, minute


def clock_to_time(hour: int, minute: int) -> time:
    return time(hour % 24, minute)


def zone(name: str) -> ZoneInfo:
    """The IANA zone, or a ValueError that says what is expected."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r} (e.g. America/New_York)") from exc


def parse_instant(text: str, default_zone: str | None = None) -> datetime:
    """An ISO 8601 instant; a naive one takes `default_zone`, or is refused when there is none.

    Refusing naive input is deliberate: a due time computed from a guessed zone is silently wrong.
    """
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"not an ISO 8601 date-time: {text!r} (e.g. 2026-03-06T16:30-05:00)"
        ) from exc
    if value.tzinfo is None:
        if default_zone is None:
            raise ValueError(f"{text!r} has no UTC offset (add one, e.g. +00:00 or Z)")
        value = value.replace(tzinfo=zone(default_zone))
    return value


def to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
