"""Built-in journey templates (welcome, nurture, re-engagement, win-back, upsell).

A template is YAML with `params` (each with a default) and a `journey` body where `${param}`
stands for a value. `new` writes `journeys/<name>.yml` with the values filled in and records
`from_template` and `template_version`, so reuse can be counted (a MOPS metric).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from marketops.errors import MarketopsError, Problem
from marketops.journeys.loader import journey_names, journey_path, load_journey
from marketops.journeys.models import Journey

TEMPLATE_DIR = Path(__file__).parent / "library"
_PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Param(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: Any
    description: str = ""


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str
    template_version: int
    description: str
    params: dict[str, Param]
    journey: dict[str, Any]


def builtin() -> dict[str, Template]:
    out = {}
    for path in sorted(TEMPLATE_DIR.glob("*.yml")):
        t = Template.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        out[t.template] = t
    return out


def _coerce(text: str) -> Any:
    """A --set value as YAML would read it (80 -> int, true -> bool, 3d stays a string)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    if isinstance(node, str):
        whole = _PARAM.fullmatch(node)
        if whole:  # the value keeps its type (a number stays a number)
            return values[whole.group(1)]
        return _PARAM.sub(lambda m: str(values[m.group(1)]), node)
    return node


def render(template: Template, overrides: dict[str, str]) -> dict[str, Any]:
    unknown = sorted(set(overrides) - set(template.params))
    if unknown:
        raise MarketopsError(
            f"template {template.template!r} has no parameter(s) {unknown}",
            [
                Problem(f"--set {k}", "unknown parameter", f"known: {sorted(template.params)}")
                for k in unknown
            ],
        )
    values = {k: p.default for k, p in template.params.items()}
    values.update({k: _coerce(v) for k, v in overrides.items()})
    body = _fill(template.journey, values)
    return {
        **body,
        "from_template": template.template,
        "template_version": template.template_version,
    }


def new(
    root: Path, name: str, template_name: str, overrides: dict[str, str], *, force: bool = False
) -> Path:
    """Write a parameterised copy; checked as a journey before it is written."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name):
        raise MarketopsError("bad journey name", [Problem("NAME", name, "letters, digits, . _ -")])
    templates = builtin()
    template = templates.get(template_name)
    if template is None:
        raise MarketopsError(
            f"no journey template {template_name!r}",
            [Problem("--from", template_name, f"one of {sorted(templates)}")],
        )
    path = journey_path(root, name)
    if path.exists() and not force:
        raise MarketopsError(
            f"{path} exists", [Problem(str(path), "exists", "pick another name or use --force")]
        )
    body = render(template, overrides)
    try:
        Journey.model_validate(body)
    except ValueError as exc:
        raise MarketopsError(
            f"the values given make an invalid journey: {exc}",
            [Problem("--set", str(exc).splitlines()[0], "check the parameter values")],
        ) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# From the built-in `{template.template}` template, version"
        f" {template.template_version}. Publish with `marketops journey publish {name}`.\n"
    )
    path.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
    return path


def reuse(root: Path) -> dict[str, Any]:
    """How many workspace journeys each template was copied into (MOPS template reuse)."""
    counts = {name: 0 for name in builtin()}
    total = from_template = 0
    for name in journey_names(root):
        total += 1
        try:
            j, _ = load_journey(root, name)
        except MarketopsError:
            continue
        if j.from_template:
            from_template += 1
            counts[j.from_template] = counts.get(j.from_template, 0) + 1
    return {
        "journeys": total,
        "from_template": from_template,
        "rate": round(from_template / total, 4) if total else None,
        "by_template": counts,
    }
