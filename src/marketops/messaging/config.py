"""`messaging.yml`: sender, consent rule, quiet hours, frequency cap, unsubscribe and footer.

Secrets never live here: the unsubscribe-link signing key is named by the environment variable
that holds it (`MARKETOPS_SECRET_KEY` by default, the same key the web dashboard signs with).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def valid_zone(name: str) -> bool:
    """True when `name` is an IANA zone this machine's tz database knows."""
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sender(Strict):
    name: str = Field(..., min_length=1)
    address: str = Field(..., pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
    reply_to: str | None = None

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


class QuietHours(Strict):
    """No marketing email between `start` and `end` local time (wraps midnight when start > end)."""

    enabled: bool = True
    start: str = "20:00"
    end: str = "08:00"
    default_timezone: str = "UTC"
    # a zone per ISO country code, overriding the first zone the tz database lists for it
    country_timezones: dict[str, str] = Field(default_factory=dict)

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("use 24-hour HH:MM, e.g. 20:00")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not valid_zone(value):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Europe/Paris)")
        return value

    @field_validator("country_timezones")
    @classmethod
    def _zones(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [f"{c}: {z}" for c, z in value.items() if not valid_zone(z)]
        if bad:
            raise ValueError(f"unknown IANA time zone(s): {', '.join(bad)}")
        return {c.upper(): z for c, z in value.items()}

    @model_validator(mode="after")
    def _window(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are equal: set enabled: false to allow any hour")
        return self

    def window(self) -> tuple[time, time]:
        return time.fromisoformat(self.start), time.fromisoformat(self.end)


class FrequencyCap(Strict):
    """At most `max_emails` marketing emails per person per `per_days`, across every journey."""

    enabled: bool = True
    max_emails: int = Field(3, ge=1)
    per_days: float = Field(7, gt=0)
    over_cap: Literal["defer", "skip"] = "defer"


class Unsubscribe(Strict):
    base_url: str = Field(..., pattern=r"^https?://[^\s/]+")  # where `marketops serve` is reachable
    mailto: str | None = Field(None, pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    secret_env: str = "MARKETOPS_SECRET_KEY"

    @field_validator("base_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.rstrip("/")


class Footer(Strict):
    postal_address: str = Field(..., min_length=5, description="CAN-SPAM: a physical address")
    text: str = "You are receiving this because you asked to hear from us."


class MessagingFile(Strict):
    sender: Sender = Field(alias="from")
    consent: Literal["explicit", "unless_withdrawn"] = Field(
        "explicit",
        description="explicit: send only when consent.email is true; unless_withdrawn: unless false",
    )
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    frequency_cap: FrequencyCap = Field(default_factory=FrequencyCap)
    unsubscribe: Unsubscribe
    footer: Footer

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
