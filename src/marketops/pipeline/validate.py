"""Validate stage: a raw record against the data contract. Returns every finding, not the first.

A contract compiles once per process into one generated function (`_compiled`): its fields in
contract order, each with only the checks its rule has (`_checker`), and each field's answers
memoized by text value (most fields repeat few values: countries, sizes, industries, sources).
A record then costs one call, not a loop over rules and their unset options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from marketops.pipeline.emails import email_problem
from marketops.pipeline.geo import country_code
from marketops.pipeline.records import Issue
from marketops.workspace.contract import Contract, FieldRule

_BOOL = {"true", "false", "1", "0", "yes", "no", "y", "n", "t", "f"}


def _integer(v: Any) -> str | None:
    if isinstance(v, bool):
        return "expected a whole number"
    try:
        f = float(str(v).replace(",", ""))
    except ValueError:
        return "expected a whole number"
    return None if f.is_integer() else "expected a whole number"


def _number(v: Any) -> str | None:
    try:
        float(str(v).replace(",", ""))
    except ValueError:
        return "expected a number"
    return None


def _boolean(v: Any) -> str | None:
    if not isinstance(v, bool) and str(v).strip().lower() not in _BOOL:
        return "expected true/false"
    return None


def _when(v: Any) -> str | None:
    if isinstance(v, datetime):
        return None
    try:
        datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
    except ValueError:
        return "expected an ISO 8601 date/time"
    return None


# a present value's type check by logical type (`string`, `object`, `array`: none)
_TYPE_PROBLEM: dict[str, Callable[[Any], str | None]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": _when,
    "timestamp": _when,
}

Found = tuple[str, str] | None  # (rule, message) of a value's first broken check


def _checks(rule: FieldRule) -> list[tuple[str, Any, str, str]]:
    """The rule's checks after the type check, in order: (test of `s` — the value as trimmed
    text — or `n` — its number —, the test's constant `K`, rule, message)."""
    out: list[tuple[str, Any, str, str]] = []
    limits = [("len(s) < K", rule.min_length, "minLength", "shorter than {} characters")]
    limits.append(("len(s) > K", rule.max_length, "maxLength", "longer than {} characters"))
    if rule.logical_type in ("integer", "number"):  # the type check passed: `n` parses
        limits.append(("n < K", rule.minimum, "minimum", "below the minimum {:g}"))
        limits.append(("n > K", rule.maximum, "maximum", "above the maximum {:g}"))
    out += [(test, k, name, msg.format(k)) for test, k, name, msg in limits if k is not None]
    if rule.valid_values is not None:
        shown = ", ".join(sorted(rule.valid_values)[:8])
        msg = f"not an allowed value (allowed: {shown})"
        out.append(("s not in K", rule.valid_values, "validValues", msg))
    if rule.pattern is not None:
        msg = f"does not match {rule.pattern.pattern}"
        out.append(("not K(s)", rule.pattern.search, "pattern", msg))
    if rule.fmt == "country":
        msg = "not a known country (use ISO 3166 code or English name)"
        out.append(("K(s) is None", country_code, "format", msg))
    return out


def _checker(rule: FieldRule) -> Callable[[Any], Found] | None:
    """The first broken check of one present value, as a function generated for this rule's
    checks alone; None when a present value cannot break anything (a plain string)."""
    ns: dict[str, Any] = {"email_problem": email_problem}
    body: list[str] = []
    if (tp := _TYPE_PROBLEM.get(rule.logical_type)) is not None:
        ns["tp"] = tp
        body += ["m = tp(v)", "if m is not None:", "    return 'type', m"]
    checks = _checks(rule)
    if not body and not checks and rule.fmt != "email":
        return None
    body.append("s = str(v).strip()")
    parsed = False
    for k, (test, const, name, msg) in enumerate(checks):
        if test.startswith("n ") and not parsed:
            body.append("n = float(s.replace(',', ''))")
            parsed = True
        ns[f"K{k}"], ns[f"R{k}"] = const, (name, msg)
        body += [f"if {test.replace('K', f'K{k}')}:", f"    return R{k}"]
    if rule.fmt == "email":  # the format check comes last
        body += [
            "m = email_problem(s)",
            "if m is not None:",
            "    return 'format', 'not a valid email address: ' + m",
        ]
    body.append("return None")
    # the source holds names only; the rule's values (limits, sets, patterns) are in `ns`
    src = "def check(v):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(src, f"<check of {rule.name}>", "exec"), ns)
    return ns["check"]  # type: ignore[no-any-return]


def check_value(rule: FieldRule, v: Any) -> Found:
    """The first broken check of one present (non-blank) value of `rule`'s field."""
    check = _checker(rule)
    return None if check is None else check(v)


MEMO_MAX = 4096  # answers of a field's check kept per field (per process, per contract)
_MISS = object()


def _compile(contract: Contract) -> Callable[[Mapping[str, Any]], list[Issue]]:
    """One function for the contract's fields, in order. Per field: blank (None, or text of
    whitespace) → `required` if the rule says so; else its checks. A text rule's checks are
    inlined for `str` values (a length, a set, a pattern: cheaper than a call and a memo); a
    typed rule's answers for a `str` value are memoized by the text (only `str`: 1, 1.0 and
    True are equal keys, not values). Other values go through the rule's checker."""
    ns: dict[str, Any] = {
        "Issue": Issue,
        "MISS": _MISS,
        "MAX": MEMO_MAX,
        "email_problem": email_problem,
    }
    lines = [
        "def validate(raw):",
        "    issues = []",
        "    get = raw.get",
        "    add = issues.append",
    ]
    for k, rule in enumerate(contract.fields):
        check = _checker(rule)
        if check is None and not rule.required:
            continue  # nothing a value (or its absence) can break
        ns[f"N{k}"], ns[f"S{k}"] = rule.name, rule.severity
        lines += [
            f"    v = get(N{k})",
            "    if v is None or (isinstance(v, str) and not v.strip()):",
            f"        add(Issue(N{k}, 'required', None, 'is required but missing', S{k}))"
            if rule.required
            else "        pass",
        ]
        if check is None:
            continue
        ns[f"C{k}"], ns[f"M{k}"] = check, {}
        if rule.logical_type not in _TYPE_PROBLEM:  # text checks only: inline for text
            lines += ["    elif type(v) is str:", "        s = v.strip()"]
            for j, (test, const, name, msg) in enumerate(_checks(rule)):
                ns[f"K{k}_{j}"], ns[f"R{k}_{j}"] = const, (name, msg)
                lines += [
                    f"        {'if' if j == 0 else 'elif'} {test.replace('K', f'K{k}_{j}')}:",
                    f"            add(Issue(N{k}, R{k}_{j}[0], v, R{k}_{j}[1], S{k}))",
                ]
            if rule.fmt == "email":
                lines += [
                    f"        {'elif' if _checks(rule) else 'if'} (m := email_problem(s)) is not None:",
                    f"            add(Issue(N{k}, 'format', v, 'not a valid email address: ' + m, S{k}))",
                ]
            lines += [
                "    else:",
                f"        f = C{k}(v)",
                "        if f is not None:",
                f"            add(Issue(N{k}, f[0], v, f[1], S{k}))",
            ]
            continue
        lines += [
            "    elif type(v) is str:",
            f"        f = M{k}.get(v, MISS)",
            "        if f is MISS:",
            f"            f = C{k}(v)",
            f"            if len(M{k}) < MAX:",
            f"                M{k}[v] = f",
            "        if f is not None:",
            f"            add(Issue(N{k}, f[0], v, f[1], S{k}))",
            "    else:",
            f"        f = C{k}(v)",
            "        if f is not None:",
            f"            add(Issue(N{k}, f[0], v, f[1], S{k}))",
        ]
    lines.append("    return issues")
    exec(compile("\n".join(lines) + "\n", "<contract validator>", "exec"), ns)
    return ns["validate"]  # type: ignore[no-any-return]


# compiled validators by contract (`id`, checked against the object: ids are reused)
_COMPILED: dict[int, tuple[Contract, Callable[[Mapping[str, Any]], list[Issue]]]] = {}


def validate(raw: Mapping[str, Any], contract: Contract) -> list[Issue]:
    """Every contract finding for one record; severity comes from the contract field."""
    hit = _COMPILED.get(id(contract))
    if hit is None or hit[0] is not contract:
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        hit = _COMPILED[id(contract)] = (contract, _compile(contract))
    return hit[1](raw)


def errors_of(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]
