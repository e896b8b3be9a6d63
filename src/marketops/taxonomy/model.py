"""taxonomy.yml: UTM rules, naming templates and internal domains, as typed config.

Parsing (pydantic) catches shapes; `check_taxonomy` catches what only makes sense across the file
(a template that is referenced but not declared, an allowed value that can never pass its own
normalisation), each with its file:line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from marketops.errors import Problem, WorkspaceError
from marketops.taxonomy.naming import (
    BUILTIN_HINTS,
    BUILTIN_PATTERNS,
    CompiledTemplate,
    Part,
    parse_format,
)
from marketops.workspace.yamlfile import load_model, located, read_yaml

UTM_PREFIX = "utm_"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _regex(v: str | None) -> str | None:
    if v is not None:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression {v!r}: {exc}") from exc
    return v


def _charset(v: str | None) -> str | None:
    if v is not None:
        try:
            re.compile(f"[{v}]")
        except re.error as exc:
            raise ValueError(f"not a valid character class [{v}]: {exc}") from exc
    return v


class Normalize(_Strict):
    """How values are normalised before they are checked (and when a URL is built)."""

    lowercase: bool = True
    trim: bool = True
    spaces: str | None = Field("_", description="replace each run of whitespace; null keeps it")


class FieldRule(_Strict):
    """Rules for one UTM parameter or one name (e.g. a CSV column `campaign_name`)."""

    allowed: list[str] | None = None
    pattern: str | None = Field(None, description="regex the whole value must match")
    template: str | None = Field(None, description="name of a naming template")
    max_length: int | None = Field(None, ge=1)
    charset: str | None = Field(None, description="character class, e.g. `a-z0-9_-`")
    normalize: Normalize | None = None
    description: str = ""

    _v_pattern = field_validator("pattern")(_regex)
    _v_charset = field_validator("charset")(_charset)


class Placeholder(_Strict):
    allowed: list[str] | None = None
    pattern: str | None = None
    description: str = ""

    _v_pattern = field_validator("pattern")(_regex)


class NamingTemplate(_Strict):
    format: str = Field(description="e.g. `{yyyy}-{mm}_{objective}_{audience}`")
    fields: dict[str, Placeholder] = {}
    description: str = ""

    @field_validator("format")
    @classmethod
    def _format(cls, v: str) -> str:
        parse_format(v)
        return v


class Dependency(_Strict):
    """When every `when` parameter has one of its values, restrict or require others."""

    when: dict[str, str | list[str]]
    allow: dict[str, list[str]] = {}
    require: list[str] = []
    forbid: list[str] = []
    message: str = ""

    @model_validator(mode="after")
    def _does_something(self) -> Dependency:
        if not (self.allow or self.require or self.forbid):
            raise ValueError("a dependency needs `allow`, `require` or `forbid`")
        return self


class Internal(_Strict):
    domains: list[str] = Field([], description="a domain covers its subdomains")
    forbid: list[str] = Field(["utm_*"], description="parameters (globs) forbidden on them")


class Taxonomy(_Strict):
    version: str = "1"
    normalize: Normalize = Normalize()
    charset: str | None = Field(None, description="allowed characters, as a regex class body")
    required: list[str] = []
    parameters: dict[str, FieldRule] = {}
    names: dict[str, FieldRule] = {}
    templates: dict[str, NamingTemplate] = {}
    depends: list[Dependency] = []
    internal: Internal = Internal()
    allow_unknown_parameters: bool = Field(False, description="accept utm_* not declared")

    _compiled: tuple[int, Compiled] | None = PrivateAttr(None)

    _v_charset = field_validator("charset")(_charset)

    @model_validator(mode="before")
    @classmethod
    def _version_as_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("version") is not None:
            data = {**data, "version": str(data["version"])}
        return data

    def compiled(self) -> Compiled:
        """Regexes and templates compiled once per loaded taxonomy."""
        # keyed by identity: model_copy() copies private attributes, not their validity
        if self._compiled is None or self._compiled[0] != id(self):
            self._compiled = (id(self), compile_taxonomy(self))
        return self._compiled[1]

    def rule_for(self, name: str) -> FieldRule | None:
        return self.parameters.get(name) or self.names.get(name)


@dataclass(frozen=True)
class Compiled:
    templates: dict[str, CompiledTemplate]
    charsets: dict[str, re.Pattern[str]]  # field -> the complement class (finds bad characters)


def compile_template(name: str, t: NamingTemplate) -> CompiledTemplate:
    parts = {}
    for _, ph in parse_format(t.format):
        if ph is None:
            continue
        decl = t.fields.get(ph)
        if decl is not None:
            allowed = tuple(decl.allowed) if decl.allowed is not None else None
            parts[ph] = Part(allowed, decl.pattern, decl.description)
        elif ph in BUILTIN_PATTERNS:
            parts[ph] = Part(None, BUILTIN_PATTERNS[ph], BUILTIN_HINTS[ph])
        else:
            raise ValueError(f"template {name!r}: placeholder {{{ph}}} is not declared in fields")
    return CompiledTemplate(name, t.format, parts)


def compile_taxonomy(tax: Taxonomy) -> Compiled:
    templates = {k: compile_template(k, t) for k, t in tax.templates.items()}
    charsets = {}
    for name, rule in [*tax.parameters.items(), *tax.names.items()]:
        cs = rule.charset or tax.charset
        if cs:
            charsets[name] = re.compile(f"[^{cs}]")
    if tax.charset:
        charsets["*"] = re.compile(f"[^{tax.charset}]")
    return Compiled(templates, charsets)


def normalize_value(value: str, norm: Normalize) -> str:
    if norm.trim:
        value = value.strip()
    if norm.spaces is not None:
        value = re.sub(r"\s+", norm.spaces, value)
    if norm.lowercase:
        value = value.lower()
    return value


def check_taxonomy(path: Path, tax: Taxonomy) -> list[Problem]:
    """Cross-field checks, located at their line (used by `marketops validate` too)."""
    try:
        _, node = read_yaml(path)
    except WorkspaceError:
        node = None
    out: list[Problem] = []
    for name, t in tax.templates.items():
        try:
            compile_template(name, t)
        except ValueError as exc:
            out.append(
                located(
                    path,
                    node,
                    ("templates", name, "format"),
                    str(exc),
                    "declare it under `fields` (yyyy, yy, mm, dd, q are built in)",
                )
            )
    for section in ("parameters", "names"):
        rules: dict[str, FieldRule] = getattr(tax, section)
        for fname, rule in rules.items():
            if rule.template and rule.template not in tax.templates:
                out.append(
                    located(
                        path,
                        node,
                        (section, fname, "template"),
                        f"no template named {rule.template!r}",
                        f"templates: {', '.join(tax.templates) or 'none'}",
                    )
                )
            norm = rule.normalize or tax.normalize
            cs = rule.charset or tax.charset
            bad_cs = re.compile(f"[^{cs}]") if cs else None
            for i, value in enumerate(rule.allowed or []):
                fixed = normalize_value(value, norm)
                if fixed != value:
                    out.append(
                        located(
                            path,
                            node,
                            (section, fname, "allowed", i),
                            f"{fname}: allowed value {value!r} can never pass normalisation",
                            f"write {fixed!r}",
                        )
                    )
                elif bad_cs is not None and bad_cs.search(value):
                    out.append(
                        located(
                            path,
                            node,
                            (section, fname, "allowed", i),
                            f"{fname}: allowed value {value!r} breaks charset [{cs}]",
                            "change the value or the charset",
                        )
                    )
    for i, dep in enumerate(tax.depends):
        for pname in [*dep.when, *dep.allow, *dep.require, *dep.forbid]:
            if not pname.startswith(UTM_PREFIX) and pname not in tax.names:
                out.append(
                    located(
                        path,
                        node,
                        ("depends", i),
                        f"{pname!r} is not a utm_* parameter nor a declared name",
                        "check the spelling",
                    )
                )
    return out


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Load and check a taxonomy.yml; raises WorkspaceError listing every problem with file:line."""
    path = Path(path)
    tax = load_model(path, Taxonomy)
    problems = check_taxonomy(path, tax)
    if problems:
        raise WorkspaceError(f"{path}: {len(problems)} problem(s)", problems)
    return tax
