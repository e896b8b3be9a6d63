"""Field conditions shared by scoring, routing and (later) segments.

A condition names a field and exactly one operator. Compiled once into a plain predicate so that a
million records pay for the parsing only once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "matches",
    "contains_any",
    "gte",
    "lte",
    "between",
    "exists",
    "is_true",
    "is_false",
)


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    equals: Any = None
    not_equals: Any = None
    in_: list[Any] | None = None
    not_in: list[Any] | None = None
    matches: str | None = None
    contains_any: list[str] | None = None
    gte: float | None = None
    lte: float | None = None
    between: tuple[float, float] | None = None
    exists: bool | None = None
    is_true: bool | None = None
    is_false: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _rename_in(cls, data: Any) -> Any:
        if isinstance(data, dict) and "in" in data:
            data = dict(data)
            data["in_"] = data.pop("in")
        return data

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        used = [op for op in OPERATORS if getattr(self, "in_" if op == "in" else op) is not None]
        if len(used) != 1:
            raise ValueError(
                f"condition on `{self.field}` needs exactly one operator of {', '.join(OPERATORS)};"
                f" got {used or 'none'}"
            )
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"`matches` is not a valid regular expression: {exc}") from exc
        return self

    def describe(self) -> str:
        for op in OPERATORS:
            value = getattr(self, "in_" if op == "in" else op)
            if value is not None:
                return f"{self.field} {op} {value}"
        return self.field


Predicate = Callable[[Mapping[str, Any]], bool]


def _num(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _norm(v: Any) -> Any:
    return v.casefold() if isinstance(v, str) else v


def compile_condition(c: Condition) -> Predicate:
    f = c.field
    if c.equals is not None:
        target = _norm(c.equals)
        return lambda r: _norm(r.get(f)) == target
    if c.not_equals is not None:
        target = _norm(c.not_equals)
        return lambda r: _norm(r.get(f)) != target
    if c.in_ is not None:
        allowed = {_norm(v) for v in c.in_}
        return lambda r: _norm(r.get(f)) in allowed
    if c.not_in is not None:
        banned = {_norm(v) for v in c.not_in}
        return lambda r: _norm(r.get(f)) not in banned
    if c.matches is not None:
        rx = re.compile(c.matches)
        return lambda r: isinstance(r.get(f), str) and rx.search(r[f]) is not None
    if c.contains_any is not None:
        rx = re.compile(r"\b(" + "|".join(re.escape(w) for w in c.contains_any) + r")\b", re.I)
        return lambda r: isinstance(r.get(f), str) and rx.search(r[f]) is not None
    if c.between is not None:
        lo, hi = c.between
        return lambda r: (n := _num(r.get(f))) is not None and lo <= n <= hi
    if c.gte is not None:
        lo = c.gte
        return lambda r: (n := _num(r.get(f))) is not None and n >= lo
    if c.lte is not None:
        hi = c.lte
        return lambda r: (n := _num(r.get(f))) is not None and n <= hi
    if c.exists is not None:
        want = c.exists
        return lambda r: (r.get(f) not in (None, "", [])) == want
    if c.is_true is not None:
        return lambda r: bool(r.get(f)) is True
    return lambda r: bool(r.get(f)) is False


def compile_all(conditions: list[Condition]) -> Predicate:
    preds = [compile_condition(c) for c in conditions]
    return lambda r: all(p(r) for p in preds)
