"""reports.yml: who receives the weekly scorecard, and when."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

FILENAME = "reports.yml"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScorecardSchedule(_Strict):
    enabled: bool = True
    recipients: list[str] = Field(
        default_factory=list,
        description="email addresses or named destinations from notifications.yml",
    )
    channel: Literal["email", "slack", "webhook"] = "email"
    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    hour: int = Field(8, ge=0, le=23, description="local hour of the send")
    timezone: str | None = Field(None, description="IANA zone; default: marketops.yml timezone")
    subject: str = "Weekly marketing scorecard"
    weeks: int = Field(12, ge=2, le=104, description="weeks shown in the MQL trend")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)"
                ) from exc
        return v


class ReportsFile(_Strict):
    scorecard: ScorecardSchedule = ScorecardSchedule()
