"""The contract compiled into one generated function finds what the rules say, issue for issue.

`reference` below is the validator as it was before compilation: a loop over the contract's
fields and every option of each rule. The compiled one must give the same issues (field, rule,
value, message, severity, in order) for the sample's records and for edge values of every type.
"""

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from marketops.pipeline import validate as validate_mod
from marketops.pipeline.emails import email_problem
from marketops.pipeline.geo import country_code
from marketops.pipeline.records import Issue
from marketops.pipeline.validate import check_value, validate
from marketops.sample import generate
from marketops.workspace import Workspace
from marketops.workspace.contract import Contract, FieldRule

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
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


def reference(raw: dict[str, Any], contract: Contract) -> list[Issue]:
    issues = []
    for rule in contract.fields:
        v = raw.get(rule.name)
        if v is None or (isinstance(v, str) and not v.strip()):
            if rule.required:
                issues.append(
                    Issue(rule.name, "required", None, "is required but missing", rule.severity)
                )
            continue
        if (found := _check(rule, v)) is not None:
            issues.append(Issue(rule.name, found[0], v, found[1], rule.severity))
    return issues


EDGE = [
    None,
    "",
    "   ",
    "x",
    " padded ",
    "0",
    "1",
    "-3",
    "1,200",
    "1.5",
    "2.0",
    "1e3",
    "nan",
    "inf",
    "lots",
    "true",
    "No",
    "maybe",
    "2026-11-01",
    "2026-11-01T10:00:00Z",
    "2026-13-01",
    "US",
    "Deutschland",
    "Narnia",
    "web",
    " web ",
    "+1 (415) 555-0100",
    "555-CALL-NOW",
    "a@b.example",
    "bad at example.com",
    "x" * 300,
    0,
    1,
    7,
    1.5,
    2.0,
    6_000_000,
    True,
    False,
    NOW,
    ["list"],
]


def _contract(workspace_dir: Path) -> Contract:
    return Workspace.load(workspace_dir).contract


def test_compiled_validator_gives_the_reference_issues(workspace_dir: Path) -> None:
    contract = _contract(workspace_dir)
    records: list[dict[str, Any]] = list(generate(3000, seed=5, now=NOW))
    names = [r.name for r in contract.fields]
    for k, v in enumerate(EDGE):  # every edge value in every field, beside valid ones
        records.append({n: v for n in names})
        records.append({**records[k], names[k % len(names)]: v})
    for _ in range(2):  # the second time, text answers come from the memos
        for raw in records:
            assert validate(raw, contract) == reference(raw, contract), raw


def test_every_kind_of_rule_compiles_to_its_checks() -> None:
    rules = [
        FieldRule("n", "integer", True, "error", minimum=1, maximum=10),
        FieldRule("x", "number", False, "warning", minimum=-2.5),
        FieldRule("b", "boolean", False, "error"),
        FieldRule("d", "date", False, "error"),
        FieldRule("s", "string", False, "error", min_length=2, max_length=4),
        FieldRule("p", "string", False, "error", pattern=re.compile(r"^[a-z]+$")),
        FieldRule("v", "string", False, "error", valid_values=frozenset({"a", "b"})),
        FieldRule("e", "string", True, "error", fmt="email", max_length=30),
        FieldRule("c", "string", False, "warning", fmt="country"),
        FieldRule("plain", "string", False, "error"),
    ]
    contract = Contract("test", "1", "lead", tuple(rules))
    for rule in rules:
        for v in EDGE:
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            assert check_value(rule, v) == _check(rule, v), (rule.name, v)
    for v in EDGE:
        raw = {r.name: v for r in rules}
        assert validate(raw, contract) == reference(raw, contract)


def test_a_changed_memo_size_takes_effect_on_the_next_compile(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = _contract(workspace_dir)
    monkeypatch.setattr(validate_mod, "MEMO_MAX", 0)
    monkeypatch.setattr(validate_mod, "_COMPILED", {})
    raw = {"email": "a@b.example", "employees": "0"}
    assert validate(raw, contract) == reference(raw, contract)
    validator = validate_mod._COMPILED[id(contract)][1]
    memos = [v for k, v in validator.__globals__.items() if re.fullmatch(r"M\d+", k)]
    assert memos and not any(memos)
