"""What health checks: the compiled contract plus its consistency rules, as one plain value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from marketops.analytics.health.config import (
    CONSISTENCY_PROPERTY,
    DEFAULT_RULES,
    ConsistencyRule,
)
from marketops.errors import WorkspaceError
from marketops.workspace.contract import Contract, FieldRule, load_contract
from marketops.workspace.yamlfile import located, read_yaml

_RULES = TypeAdapter(list[ConsistencyRule])


@dataclass(frozen=True)
class HealthSpec:
    contract_id: str
    contract_version: str
    fields: tuple[FieldRule, ...]
    rules: tuple[ConsistencyRule, ...]
    rules_declared: bool  # False: the defaults, applied only where their columns exist
    freshness_days: float | None
    thresholds: dict[str, float]


def consistency_rules(path: Path) -> tuple[ConsistencyRule, ...] | None:
    """The contract's `consistencyRules` custom property, or None when it declares none."""
    data, node = read_yaml(path)
    try:
        custom = data["schema"][0].get("customProperties") or []
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    for i, prop in enumerate(custom):
        if isinstance(prop, dict) and prop.get("property") == CONSISTENCY_PROPERTY:
            try:
                return tuple(_RULES.validate_python(prop.get("value") or []))
            except ValidationError as exc:
                problems = [
                    located(
                        path,
                        node,
                        ("schema", 0, "customProperties", i, "value", *e["loc"][:1]),
                        f"consistencyRules[{'.'.join(str(p) for p in e['loc'])}]: {e['msg']}",
                        "see docs/data-health.md for the rule format",
                    )
                    for e in exc.errors()
                ]
                raise WorkspaceError(f"{path}: invalid consistencyRules", problems) from exc
    return None


def build_spec(contract: Contract, rules: tuple[ConsistencyRule, ...] | None) -> HealthSpec:
    return HealthSpec(
        contract_id=contract.id,
        contract_version=contract.version,
        fields=contract.fields,
        rules=rules if rules is not None else DEFAULT_RULES,
        rules_declared=rules is not None,
        freshness_days=contract.freshness_days,
        thresholds=dict(contract.thresholds),
    )


def load_spec(path: Path) -> HealthSpec:
    return build_spec(load_contract(path), consistency_rules(path))


def spec_from_workspace(ws: Any) -> HealthSpec:
    path = ws.path(ws.settings.contract)
    return build_spec(ws.contract, consistency_rules(path))
