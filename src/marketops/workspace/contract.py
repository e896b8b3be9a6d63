"""The lead data contract: an ODCS v3.1 document, compiled into per-field rules.

We read the standard's keys (`schema[].properties[]` with `logicalType`, `required`, `unique`,
`logicalTypeOptions` and `quality` rules such as `invalidValues` with `validValues`) and keep our own
extensions under `customProperties`, as the standard asks:

- `severity`: `error` (default; the record is quarantined) or `warning` (passes, recorded on the lead)
- `format`: `email` | `phone` | `country` — checks done by the normalizer's libraries
- `freshnessDays` (on the schema object): timeliness SLA used by data health
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from marketops.errors import WorkspaceError
from marketops.workspace.yamlfile import located, problems_from_validation, read_yaml

LOGICAL_TYPES = ("string", "integer", "number", "boolean", "date", "timestamp", "object", "array")


class CustomProperty(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property: str
    value: Any = None


class QualityRule(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    type: str = "library"
    metric: str | None = None
    arguments: dict[str, Any] = {}
    mustBe: Any = None
    severity: str | None = None
    description: str | None = None


class LogicalTypeOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    pattern: str | None = None
    format: str | None = None
    minLength: int | None = None
    maxLength: int | None = None
    minimum: float | None = None
    maximum: float | None = None

    @field_validator("pattern")
    @classmethod
    def _rx(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return v


class Property(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    logicalType: Literal[LOGICAL_TYPES] = "string"  # type: ignore[valid-type]
    physicalType: str | None = None
    description: str | None = None
    required: bool = False
    unique: bool = False
    classification: str | None = None
    logicalTypeOptions: LogicalTypeOptions = LogicalTypeOptions()
    quality: list[QualityRule] = []
    customProperties: list[CustomProperty] = []


class SchemaObject(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    physicalName: str | None = None
    logicalType: str = "object"
    properties: list[Property]
    quality: list[QualityRule] = []
    customProperties: list[CustomProperty] = []


class ContractDoc(BaseModel):
    model_config = ConfigDict(extra="allow")
    apiVersion: str = Field(pattern=r"^v3\.\d+\.\d+$")
    kind: Literal["DataContract"]
    id: str
    version: str
    status: str
    name: str | None = None
    schema_: list[SchemaObject] = Field(alias="schema", min_length=1)
    customProperties: list[CustomProperty] = []


@dataclass(frozen=True)
class FieldRule:
    """What the validate stage checks for one field; compiled from an ODCS property."""

    name: str
    logical_type: str
    required: bool
    severity: str
    pattern: re.Pattern[str] | None = None
    fmt: str | None = None
    valid_values: frozenset[str] | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    unique: bool = False
    pii: bool = False


@dataclass(frozen=True)
class Contract:
    id: str
    version: str
    object_name: str
    fields: tuple[FieldRule, ...]
    freshness_days: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)

    def field(self, name: str) -> FieldRule | None:
        return next((f for f in self.fields if f.name == name), None)


def _custom(props: list[CustomProperty]) -> dict[str, Any]:
    return {p.property: p.value for p in props}


def _compile_property(p: Property) -> FieldRule:
    custom = _custom(p.customProperties)
    opts = p.logicalTypeOptions
    valid: frozenset[str] | None = None
    for q in p.quality:
        if q.metric == "invalidValues" and "validValues" in q.arguments:
            valid = frozenset(str(v) for v in q.arguments["validValues"])
    return FieldRule(
        name=p.name,
        logical_type=p.logicalType,
        required=p.required,
        severity=str(custom.get("severity", "error")),
        pattern=re.compile(opts.pattern) if opts.pattern else None,
        fmt=custom.get("format") or opts.format,
        valid_values=valid,
        min_length=opts.minLength,
        max_length=opts.maxLength,
        minimum=opts.minimum,
        maximum=opts.maximum,
        unique=p.unique,
        pii=(p.classification or "").lower() in {"pii", "restricted", "confidential"},
    )


def load_contract(path: Path) -> Contract:
    data, node = read_yaml(path)
    try:
        doc = ContractDoc.model_validate(data or {})
    except ValidationError as exc:
        # pydantic reports the alias `schema` as `schema`, which is what the YAML says too
        problems = problems_from_validation(path, node, exc)
        raise WorkspaceError(f"{path}: {len(problems)} problem(s)", problems) from exc
    problems = []
    obj = doc.schema_[0]
    for i, prop in enumerate(obj.properties):
        sev = _custom(prop.customProperties).get("severity", "error")
        if sev not in ("error", "warning"):
            problems.append(
                located(
                    path,
                    node,
                    ("schema", 0, "properties", i, "customProperties"),
                    f"{prop.name}: severity must be `error` or `warning`, not {sev!r}",
                )
            )
        fmt = _custom(prop.customProperties).get("format") or prop.logicalTypeOptions.format
        if fmt not in (None, "email", "phone", "country", "url", "date"):
            problems.append(
                located(
                    path,
                    node,
                    ("schema", 0, "properties", i),
                    f"{prop.name}: unknown format {fmt!r}",
                    "use email, phone, country, url or date",
                )
            )
    names = [p.name for p in obj.properties]
    for n in {n for n in names if names.count(n) > 1}:
        problems.append(located(path, node, ("schema", 0), f"property `{n}` declared twice"))
    if problems:
        raise WorkspaceError(f"{path}: {len(problems)} problem(s)", problems)
    custom = _custom(obj.customProperties)
    thresholds = {
        k.removeprefix("threshold."): float(v)
        for k, v in custom.items()
        if k.startswith("threshold.")
    }
    return Contract(
        id=doc.id,
        version=doc.version,
        object_name=obj.physicalName or obj.name,
        fields=tuple(_compile_property(p) for p in obj.properties),
        freshness_days=float(custom["freshnessDays"]) if "freshnessDays" in custom else None,
        thresholds=thresholds,
    )
