"""Errors a user can cause. Each carries problems that name where (file/field/row) and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located precisely enough to fix it."""

    where: str  # file:line, field name or row number
    message: str
    hint: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class MarketopsError(Exception):
    """Base class for errors that are the user's to fix, not bugs."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class WorkspaceError(MarketopsError):
    """The workspace YAML is missing, unparsable or invalid."""


class NotFound(MarketopsError):
    """A requested record does not exist."""


class Conflict(MarketopsError):
    """A request contradicts the current state (e.g. idempotency key reused with another body)."""
