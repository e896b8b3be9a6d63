"""Validate stage: a raw record against the data contract. Returns every finding, not the first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marketops.pipeline.emails import email_problem
from marketops.pipeline.geo import country_code
from marketops.pipeline.records import Issue
from marketops.workspace.contract import Contract, FieldRule

_BOOL = {"true", "false", "1", "0", "yes", "no", "y", "n", "t", "f"}


def _type_problem(rule: FieldRule, v: Any) -> str | None:
    t = rule.logical_type
    if t == "integer":
        if isinstance(v, bool):
            return "expected a whole number"
        try:
            f = float(str(v).replace(",", ""))
        except ValueError:
            return "expected a whole number"
        return None if f.is_integer() else "expected a whole number"
    if t == "number":
        try:
            float(str(v).replace(",", ""))
        except ValueError:
            return "expected a number"
    elif t == "boolean":
        if not isinstance(v, bool) and str(v).strip().lower() not in _BOOL:
            return "expected true/false"
    elif t in ("date", "timestamp") and not isinstance(v, datetime):
        try:
            datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
        except ValueError:
            return "expected an ISO 8601 date/time"
    return None


def _check(rule: FieldRule, v: Any) -> tuple[str, str] | None:
    """(rule, message) of the first broken check of one present value."""
    if (msg := _type_problem(rule, v)) is not None:
        return "type", msg
    s = str(v).strip()
    if rule.min_length is not None and len(s) < rule.min_length:
        return "minLength", f"shorter than {rule.min_length} characters"
    if rule.max_length is not None and len(s) > rule.max_length:
        return "maxLength", f"longer than {rule.max_length} characters"
    if rule.logical_type in ("integer", "number"):
        n = float(s.replace(",", ""))
        if rule.minimum is not None and n < rule.minimum:
            return "minimum", f"below the minimum {rule.minimum:g}"
        if rule.maximum is not None and n > rule.maximum:
            return "maximum", f"above the maximum {rule.maximum:g}"
    if rule.valid_values is not None and s not in rule.valid_values:
        shown = ", ".join(sorted(rule.valid_values)[:8])
        return "validValues", f"not an allowed value (allowed: {shown})"
    if rule.pattern is not None and not rule.pattern.search(s):
        return "pattern", f"does not match {rule.pattern.pattern}"
    if rule.fmt == "email" and (msg := email_problem(s)) is not None:
        return "format", f"not a valid email address: {msg}"
    if rule.fmt == "country" and country_code(s) is None:
        return "format", "not a known country (use ISO 3166 code or English name)"
    return None


def _needs_check(rule: FieldRule) -> bool:
    """Whether a present value can break anything but `required` (a plain string cannot)."""
    return rule.logical_type != "string" or any(
        x is not None
        for x in (
            rule.min_length,
            rule.max_length,
            rule.valid_values,
            rule.pattern,
            rule.fmt,
        )
    )


MEMO_MAX = 4096  # answers of `_check` kept per field (per process, per contract)
_MISS = object()

# A contract field: its rule, whether a present value needs `_check`, and `_check`'s answers by
# text value (most fields repeat few values: countries, sizes, industries, sources, activities).
Plan = tuple[tuple[FieldRule, bool, dict[str, tuple[str, str] | None]], ...]

# the contract's fields with `_needs_check` decided once per contract (validate runs per record)
_PLANS: dict[int, tuple[Contract, Plan]] = {}


def _plan(contract: Contract) -> Plan:
    hit = _PLANS.get(id(contract))
    if hit is None or hit[0] is not contract:
        hit = (contract, tuple((r, _needs_check(r), {}) for r in contract.fields))
        if len(_PLANS) > 64:
            _PLANS.clear()
        _PLANS[id(contract)] = hit
    return hit[1]


def validate(raw: Mapping[str, Any], contract: Contract) -> list[Issue]:
    """Every contract finding for one record; severity comes from the contract field."""
    issues: list[Issue] = []
    for rule, check, memo in _plan(contract):
        v = raw.get(rule.name)
        if v is None or (isinstance(v, str) and not v.strip()):  # blank
            if rule.required:
                issues.append(
                    Issue(rule.name, "required", None, "is required but missing", rule.severity)
                )
            continue
        if not check:
            continue
        if type(v) is str:  # only text: 1, 1.0 and True are equal keys but not equal values
            found = memo.get(v, _MISS)
            if found is _MISS:
                found = _check(rule, v)
                if len(memo) < MEMO_MAX:
                    memo[v] = found
        else:
            found = _check(rule, v)
        if found:
            issues.append(Issue(rule.name, found[0], v, found[1], rule.severity))
    return issues


def errors_of(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]
