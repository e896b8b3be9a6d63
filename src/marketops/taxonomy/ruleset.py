"""Channel rulesets as data: the YAML model, merging a workspace file onto a built-in, compiling.

A ruleset is an ordered list of rules (first match wins) over three lower-cased fields: source,
medium and campaign. It is compiled once into one generated Python function (no interpretation
per row), because the classifier runs over millions of touchpoints.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from marketops.errors import Problem, WorkspaceError
from marketops.workspace.yamlfile import located, problems_from_validation, read_yaml

FIELDS: tuple[str, ...] = ("source", "medium", "campaign")
BUILTIN = {"ga4-default": "ga4_default_channels.yml"}
_CATEGORY_CSV = "source_categories.csv"
_LEAF_OPS = ("equals", "in_", "in_list", "matches", "contains", "starts_with", "ends_with")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class When(_Strict):
    """A condition: `all`/`any`/`not` of conditions, or `field` with exactly one operator."""

    all: list[When] | None = None
    any: list[When] | None = None
    not_: When | None = Field(None, alias="not")
    field: Literal["source", "medium", "campaign"] | None = None
    equals: str | None = None
    in_: list[str] | None = Field(None, alias="in")
    in_list: str | None = Field(None, description="name of a source list of the ruleset")
    matches: str | None = Field(None, description="regex (searched); `$name` refers to definitions")
    contains: str | list[str] | None = None
    starts_with: str | list[str] | None = None
    ends_with: str | list[str] | None = None

    @model_validator(mode="after")
    def _shape(self) -> When:
        combos = [k for k in ("all", "any", "not_") if getattr(self, k) is not None]
        ops = [k for k in _LEAF_OPS if getattr(self, k) is not None]
        names = [k.rstrip("_") for k in combos + ops]
        if len(combos) + len(ops) != 1:
            raise ValueError(
                "a condition needs exactly one of all, any, not, equals, in, in_list, matches,"
                f" contains, starts_with, ends_with; got {names or 'none'}"
            )
        if ops and self.field is None:
            raise ValueError(f"`{names[0]}` needs `field` (one of {', '.join(FIELDS)})")
        if combos and self.field is not None:
            raise ValueError(f"`{names[0]}` combines conditions and takes no `field`")
        if self.matches is not None and not self.matches.startswith("$"):
            _check_regex(self.matches)
        return self


class ListSpec(_Strict):
    """A source list: from a category of the built-in CSV, or given values; then add/remove."""

    category: str | None = None
    values: list[str] | None = None
    add: list[str] = []
    remove: list[str] = []


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    channel: str | None = Field(None, description="channel name; on an override, keeps the old")
    when: When | None = None
    before: str | None = Field(None, description="insert/move before the rule with this id")
    after: str | None = Field(None, description="insert/move after the rule with this id")
    description: str = ""

    @model_validator(mode="after")
    def _position(self) -> Rule:
        if self.before and self.after:
            raise ValueError("give `before` or `after`, not both")
        return self


class ChannelsFile(_Strict):
    """A ruleset file: the built-in one, or a workspace `channels.yml` that extends it."""

    name: str | None = None
    version: str | None = None
    description: str = ""
    extends: str | None = Field(None, description=f"built-in ruleset: {', '.join(BUILTIN)}")
    default_channel: str | None = None
    definitions: dict[str, str] = {}
    lists: dict[str, ListSpec] = {}
    rules: list[Rule] = []
    disable: list[str] = Field([], description="ids of inherited rules to drop")

    @model_validator(mode="before")
    @classmethod
    def _version_as_text(cls, data: Any) -> Any:
        # `version: 3` or `version: 2024-01-01` in YAML are not strings; keep what was written.
        if isinstance(data, dict) and data.get("version") is not None:
            data = {**data, "version": str(data["version"])}
        return data


def _check_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression {pattern!r}: {exc}") from exc


# --- resolving (merge onto the base) -------------------------------------------------------------
@dataclass
class Resolved:
    name: str
    version: str
    base: str | None
    default_channel: str
    definitions: dict[str, str]
    lists: dict[str, frozenset[str]]
    rules: list[Rule]
    description: str = ""

    @property
    def label(self) -> str:
        own = f"{self.name}@{self.version}"
        return f"{own} (extends {self.base})" if self.base else own


@cache
def source_categories() -> dict[str, frozenset[str]]:
    """The packaged GA4 source-category list: category -> lower-cased sources."""
    text = resources.files("marketops.taxonomy.data").joinpath(_CATEGORY_CSV).read_text("utf-8")
    out: dict[str, set[str]] = {}
    for row in csv.DictReader(text.splitlines()):
        out.setdefault(row["source_category"], set()).add(row["source"].lower())
    return {k: frozenset(v) for k, v in out.items()}


def _problem(where: tuple[Path | None, Any], loc: tuple[Any, ...], msg: str, hint: str) -> Problem:
    path, node = where
    if path is None:
        return Problem(".".join(str(p) for p in loc) or "ruleset", msg, hint)
    return located(path, node, loc, msg, hint)


def resolve(spec: ChannelsFile, *, path: Path | None = None, node: Any = None) -> Resolved:
    """Merge `spec` onto what it extends; every inconsistency is reported, with its line."""
    where = (path, node)
    problems: list[Problem] = []
    base: Resolved | None = None
    if spec.extends is not None:
        if spec.extends not in BUILTIN:
            raise WorkspaceError(
                "unknown base ruleset",
                [
                    _problem(
                        where,
                        ("extends",),
                        f"no built-in ruleset {spec.extends!r}",
                        f"use one of: {', '.join(BUILTIN)}",
                    )
                ],
            )
        base = builtin_resolved(spec.extends)
    elif not spec.name or not spec.version or not spec.rules:
        problems.append(
            _problem(
                where,
                (),
                "a ruleset that extends nothing needs name, version and rules",
                "or add `extends: ga4-default`",
            )
        )

    definitions = dict(base.definitions) if base else {}
    definitions.update(spec.definitions)
    for key, pattern in spec.definitions.items():
        try:
            _check_regex(pattern)
        except ValueError as exc:
            problems.append(_problem(where, ("definitions", key), str(exc), "fix the pattern"))

    cats = source_categories()
    lists: dict[str, frozenset[str]] = dict(base.lists) if base else {}
    for name, ls in spec.lists.items():
        values = set(lists.get(name, frozenset()))
        if ls.category is not None:
            if ls.category not in cats:
                problems.append(
                    _problem(
                        where,
                        ("lists", name, "category"),
                        f"unknown source category {ls.category!r}",
                        f"use one of: {', '.join(sorted(cats))}",
                    )
                )
            values = set(cats.get(ls.category, frozenset()))
        if ls.values is not None:
            values = {v.lower() for v in ls.values}
        values |= {v.lower() for v in ls.add}
        values -= {v.lower() for v in ls.remove}
        lists[name] = frozenset(values)

    rules = list(base.rules) if base else []
    for i, rule in enumerate(spec.rules):
        ids = [r.id for r in rules]
        anchor = rule.before or rule.after
        if anchor is not None and anchor not in ids:
            problems.append(
                _problem(
                    where,
                    ("rules", i, "before" if rule.before else "after"),
                    f"no rule with id {anchor!r} to place rule {rule.id!r} by",
                    f"ids: {', '.join(ids)}",
                )
            )
            anchor = None
        if rule.id in ids:
            old = rules[ids.index(rule.id)]
            rule = Rule(
                id=rule.id,
                channel=rule.channel or old.channel,
                when=rule.when or old.when,
                before=rule.before,
                after=rule.after,
                description=rule.description or old.description,
            )
            if anchor is None:
                rules[ids.index(rule.id)] = rule
                continue
            rules.pop(ids.index(rule.id))
            ids = [r.id for r in rules]
        elif rule.when is None or rule.channel is None:
            problems.append(
                _problem(
                    where,
                    ("rules", i),
                    f"new rule {rule.id!r} needs `channel` and `when`",
                    "or use the id of an inherited rule",
                )
            )
            continue
        if anchor is None:
            rules.append(rule)
        else:
            rules.insert(ids.index(anchor) + (1 if rule.after else 0), rule)

    for i, rid in enumerate(spec.disable):
        if rid not in {r.id for r in rules}:
            problems.append(
                _problem(
                    where,
                    ("disable", i),
                    f"no rule with id {rid!r} to disable",
                    f"ids: {', '.join(r.id for r in rules)}",
                )
            )
    rules = [r for r in rules if r.id not in set(spec.disable)]

    for i, rule in enumerate(spec.rules):
        if rule.when is not None:
            problems.extend(_check_refs(rule.when, definitions, lists, where, ("rules", i, "when")))
    if problems:
        raise WorkspaceError(
            f"channel ruleset {path or spec.name}: {len(problems)} problem(s)", problems
        )
    return Resolved(
        name=spec.name or (base.name if base else "custom"),
        version=spec.version or (base.version if base else "1"),
        base=base.label if base and (spec.name or spec.version) else None,
        default_channel=spec.default_channel or (base.default_channel if base else "Unassigned"),
        definitions=definitions,
        lists=lists,
        rules=rules,
        description=spec.description or (base.description if base else ""),
    )


def _check_refs(
    w: When,
    defs: dict[str, str],
    lists: dict[str, frozenset[str]],
    where: tuple[Path | None, Any],
    loc: tuple[Any, ...],
) -> list[Problem]:
    out: list[Problem] = []
    if w.matches is not None and w.matches.startswith("$") and w.matches[1:] not in defs:
        out.append(
            _problem(
                where,
                (*loc, "matches"),
                f"unknown definition {w.matches!r}",
                f"defined: {', '.join('$' + d for d in defs) or 'none'}",
            )
        )
    if w.in_list is not None and w.in_list not in lists:
        out.append(
            _problem(
                where,
                (*loc, "in_list"),
                f"unknown source list {w.in_list!r}",
                f"lists: {', '.join(lists) or 'none'}",
            )
        )
    for key in ("all", "any"):
        for j, sub in enumerate(getattr(w, key) or []):
            out.extend(_check_refs(sub, defs, lists, where, (*loc, key, j)))
    if w.not_ is not None:
        out.extend(_check_refs(w.not_, defs, lists, where, (*loc, "not")))
    return out


def parse_file(path: Path) -> tuple[ChannelsFile, Any]:
    data, node = read_yaml(path)
    try:
        return ChannelsFile.model_validate(data or {}), node
    except ValidationError as exc:
        problems = problems_from_validation(path, node, exc)
        raise WorkspaceError(f"{path}: {len(problems)} problem(s)", problems) from exc


@cache
def builtin_resolved(name: str) -> Resolved:
    text = resources.files("marketops.taxonomy.data").joinpath(BUILTIN[name]).read_text("utf-8")
    return resolve(ChannelsFile.model_validate(yaml.safe_load(text)))


# --- compiling -----------------------------------------------------------------------------------
@dataclass
class _Codegen:
    definitions: dict[str, str]
    lists: dict[str, frozenset[str]]
    consts: dict[str, Any] = field(default_factory=dict)
    regexes: dict[tuple[str, str], str] = field(default_factory=dict)
    shared: dict[tuple[str, str], str] = field(default_factory=dict)  # -> hoisted local

    def const(self, value: Any) -> str:
        name = f"K{len(self.consts)}"
        self.consts[name] = value
        return name

    def expr(self, w: When) -> str:
        if w.all is not None:
            return "(" + " and ".join(self.expr(x) for x in w.all) + ")"
        if w.any is not None:
            return "(" + " or ".join(self.expr(x) for x in w.any) + ")"
        if w.not_ is not None:
            return f"(not {self.expr(w.not_)})"
        v = _VAR[w.field or "source"]
        if w.equals is not None:
            return f"{v} == {self.const(w.equals.lower())}"
        if w.in_ is not None:
            return f"{v} in {self.const(frozenset(x.lower() for x in w.in_))}"
        if w.in_list is not None:
            return f"{v} in {self.const(self.lists[w.in_list])}"
        if w.matches is not None:
            pattern = w.matches
            if pattern.startswith("$"):
                pattern = self.definitions[pattern[1:]]
            key = (v, pattern)
            if key not in self.regexes:
                self.regexes[key] = self.const(re.compile(pattern, re.IGNORECASE).search)
            return self.shared.setdefault(key, f"R{len(self.shared)}")
        if w.contains is not None:
            parts = [w.contains] if isinstance(w.contains, str) else w.contains
            return "(" + " or ".join(f"{self.const(p.lower())} in {v}" for p in parts) + ")"
        op, arg = (
            ("startswith", w.starts_with)
            if w.starts_with is not None
            else ("endswith", w.ends_with)
        )
        parts = [arg] if isinstance(arg, str) else list(arg or [])
        return f"{v}.{op}({self.const(tuple(p.lower() for p in parts))})"


_VAR = {"source": "s", "medium": "m", "campaign": "c"}


_MEMO_MAX = 1 << 16  # per regex: distinct values remembered (mediums repeat, campaigns may not)
_PRELUDE = """\
def _match(source, medium, campaign):
    s = source.lower() if isinstance(source, str) and source else None
    m = medium.lower() if isinstance(medium, str) and medium else None
    c = campaign.lower() if isinstance(campaign, str) and campaign else "(not set)"
    if s is None:
        s = "(direct)" if m is None else "(not set)"
    if m is None:
        m = "(none)" if s == "(direct)" else "(not set)"
"""


def compile_rules(resolved: Resolved) -> Callable[[Any, Any, Any], int]:
    """One generated function (source, medium, campaign) -> index of the first matching rule.

    Missing values (None, "", NaN) are read as GA4 shows them; see marketops.taxonomy.channels.
    Each regex test is evaluated once per row however many rules use it (GA4's paid-medium
    test is used by five), and remembered per distinct value: mediums repeat a lot.
    """
    gen = _Codegen(resolved.definitions, resolved.lists)
    body = []
    for i, rule in enumerate(resolved.rules):
        assert rule.when is not None  # resolve() guarantees it
        body.append(f"    if {gen.expr(rule.when)}: return {i}")
    hoisted = []
    for key, var in gen.shared.items():
        memo = gen.const({})
        v = key[0]
        hoisted += [
            f"    {var} = {memo}.get({v})",
            f"    if {var} is None:",
            f"        if len({memo}) > {_MEMO_MAX}: {memo}.clear()",
            f"        {var} = {memo}[{v}] = {gen.regexes[key]}({v}) is not None",
        ]
    source = "\n".join(
        [_PRELUDE.rstrip("\n"), *hoisted, *body, f"    return {len(resolved.rules)}"]
    )
    namespace: dict[str, Any] = dict(gen.consts)
    exec(compile(source, f"<ruleset {resolved.label}>", "exec"), namespace)
    return namespace["_match"]


def describe(w: When) -> str:
    """A one-line human reading of a condition, for `marketops channel rules`."""
    if w.all is not None:
        return " AND ".join(_paren(describe(x), x) for x in w.all)
    if w.any is not None:
        return " OR ".join(_paren(describe(x), x) for x in w.any)
    if w.not_ is not None:
        return f"NOT ({describe(w.not_)})"
    for op in _LEAF_OPS:
        value = getattr(w, op)
        if value is not None:
            shown = value if isinstance(value, str) else ", ".join(value)
            return f"{w.field} {op.rstrip('_').replace('_', ' ')} {shown}"
    return "?"


def _paren(text: str, w: When) -> str:
    return f"({text})" if w.all is not None or w.any is not None else text


When.model_rebuild()
