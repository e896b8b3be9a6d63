"""Naming templates such as `{yyyy}-{mm}_{objective}_{audience}`: check a name, or render one.

A template is compiled twice: a strict regex (every placeholder is its allowed values or pattern)
that decides, and a lenient one (every placeholder is "anything") that, when the strict one fails,
splits the name on the literal separators so that each bad part can be named with a fix.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# Date placeholders need no declaration; a template may still redeclare them.
BUILTIN_PATTERNS: dict[str, str] = {
    "yyyy": r"\d{4}",
    "yy": r"\d{2}",
    "mm": r"0[1-9]|1[0-2]",
    "dd": r"0[1-9]|[12]\d|3[01]",
    "q": r"q[1-4]",
}


BUILTIN_HINTS: dict[str, str] = {
    "yyyy": "a 4-digit year, e.g. 2025",
    "yy": "a 2-digit year, e.g. 25",
    "mm": "a 2-digit month, 01 to 12",
    "dd": "a 2-digit day, 01 to 31",
    "q": "a quarter, q1 to q4",
}


def _date_part(name: str, now: datetime) -> str | None:
    return {
        "yyyy": f"{now.year:04d}",
        "yy": f"{now.year % 100:02d}",
        "mm": f"{now.month:02d}",
        "dd": f"{now.day:02d}",
        "q": f"q{(now.month - 1) // 3 + 1}",
    }.get(name)


def parse_format(fmt: str) -> list[tuple[str, str | None]]:
    """[(literal text, placeholder or None)], via str.format's own parser; rejects `{x:spec}`."""
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conv in string.Formatter().parse(fmt):
        if name is not None and (spec or conv or not name.isidentifier()):
            raise ValueError(f"placeholder {{{name}}} must be a plain name like {{objective}}")
        out.append((literal, name))
    return out


@dataclass(frozen=True)
class Part:
    allowed: tuple[str, ...] | None
    pattern: str | None
    hint: str = ""

    def regex(self) -> str:
        if self.allowed is not None:
            return "|".join(re.escape(a) for a in sorted(self.allowed, key=len, reverse=True))
        return self.pattern or ".+?"

    def problem(self, value: str) -> tuple[str, str] | None:
        """(message, hint) when `value` is not acceptable for this part."""
        if self.allowed is not None:
            if value in self.allowed:
                return None
            close = difflib.get_close_matches(value, self.allowed, n=1, cutoff=0.6)
            hint = f"use {close[0]!r}" if close else f"allowed: {', '.join(self.allowed)}"
            return f"{value!r} is not an allowed value", hint
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"{value!r} does not match /{self.pattern}/", self.hint or "fix this part"
        return None


class CompiledTemplate:
    def __init__(self, name: str, fmt: str, parts: Mapping[str, Part]):
        self.name = name
        self.format = fmt
        self.pieces = parse_format(fmt)
        self.parts = dict(parts)
        self.strict = re.compile(self._regex(lambda p: p.regex()))
        self.lenient = re.compile(self._regex(lambda p: ".*?"))

    def _regex(self, part_regex: object) -> str:
        seen: set[str] = set()
        out = []
        for literal, name in self.pieces:
            out.append(re.escape(literal))
            if name is None:
                continue
            if name in seen:
                out.append(f"(?P={name})")
            else:
                seen.add(name)
                out.append(f"(?P<{name}>{part_regex(self.parts[name])})")  # type: ignore[operator]
        return "".join(out)

    def check(self, value: str) -> list[tuple[str, str, str]]:
        """[(placeholder or "", message, hint)]; empty when `value` follows the template."""
        if self.strict.fullmatch(value):
            return []
        loose = self.lenient.fullmatch(value)
        if loose is None:
            return [
                (
                    "",
                    f"{value!r} does not follow the template {self.format!r}",
                    f"write it as {self.format}",
                )
            ]
        out = []
        for name, got in loose.groupdict().items():
            bad = self.parts[name].problem(got)
            if bad is not None:
                out.append((name, f"{{{name}}}: {bad[0]}", bad[1]))
        if not out:  # each part passes alone but not together (e.g. ambiguous separators)
            out.append(
                (
                    "",
                    f"{value!r} does not follow the template {self.format!r}",
                    f"write it as {self.format}",
                )
            )
        return out

    def render(self, values: Mapping[str, str], now: datetime | None = None) -> str:
        """Fill the template; date placeholders default to `now`. Missing parts raise KeyError."""
        out = []
        for literal, name in self.pieces:
            out.append(literal)
            if name is None:
                continue
            value = values.get(name)
            if value is None and now is not None:
                value = _date_part(name, now)
            if value is None:
                raise KeyError(name)
            out.append(value)
        return "".join(out)

    def placeholders(self) -> list[str]:
        return list(dict.fromkeys(n for _, n in self.pieces if n is not None))
