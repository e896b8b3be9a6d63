"""Reporting periods: half-open UTC intervals [start, end) named the way people say them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from marketops.errors import MarketopsError, Problem

HINT = "use 2026-10, 2026-Q3, 2026, 2026-10-01..2026-10-31, this-month or last-month"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    label: str

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def _at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def months(period: Period) -> list[datetime]:
    """Start of every calendar month that overlaps the period."""
    out, m = [], month_start(period.start.year, period.start.month)
    while m < period.end:
        out.append(m)
        m = month_start(m.year, m.month + 1)
    return out


def parse_period(text: str | None, now: datetime) -> Period:
    """Parse a period; `now` resolves the relative ones (default: last-month)."""
    text = (text or "last-month").strip().lower()
    try:
        if text in ("this-month", "last-month"):
            start = month_start(now.year, now.month - (text == "last-month"))
            end = month_start(start.year, start.month + 1)
            return Period(start, end, start.strftime("%Y-%m"))
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            start = month_start(int(m[1]), int(m[2]))
            if not 1 <= int(m[2]) <= 12:
                raise ValueError("month out of range")
            return Period(start, month_start(start.year, start.month + 1), text)
        if m := re.fullmatch(r"(\d{4})-q([1-4])", text):
            start = month_start(int(m[1]), 3 * int(m[2]) - 2)
            return Period(start, month_start(start.year, start.month + 3), text.upper())
        if re.fullmatch(r"\d{4}", text):
            return Period(month_start(int(text), 1), month_start(int(text) + 1, 1), text)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if last < first:
                raise ValueError("the end date is before the start date")
            return Period(_at(first), _at(last) + timedelta(days=1), text)
    except ValueError as exc:
        raise MarketopsError(f"bad period {text!r}", [Problem("period", str(exc), HINT)]) from exc
    raise MarketopsError(f"bad period {text!r}", [Problem("period", "not understood", HINT)])
