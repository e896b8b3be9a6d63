"""A new request checked against the catalog, with its priority score (pure: no I/O, no clock).

Every problem is reported at once (unknown type, missing required input, bad choice, priority
input out of range) so the requester fixes the form in one go.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from marketops.errors import MarketopsError, Problem
from marketops.ops.intake.config import FILENAME, Catalog, RequestType

CHANNELS = ("api", "cli", "web")


@dataclass(frozen=True)
class NewRequest:
    type: str
    title: str
    requester: str
    description: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    priority: dict[str, float] = field(default_factory=dict)
    template: str | None = None
    self_serve: bool | None = None  # None: the request type's default
    channel: str = "api"


@dataclass(frozen=True)
class CheckedRequest:
    rtype: RequestType
    title: str
    requester: str
    description: str
    inputs: dict[str, Any]
    priority_inputs: dict[str, float]
    priority: float
    template: str | None
    self_serve: bool
    channel: str


def priority_score(catalog: Catalog, values: dict[str, Any]) -> tuple[dict[str, float], float]:
    """(the inputs used, defaults filled in; the score from the workspace formula)."""
    cfg = catalog.priority
    problems: list[Problem] = []
    used: dict[str, float] = {}
    for name in values:
        if name not in cfg.inputs:
            problems.append(
                Problem(
                    f"priority.{name}",
                    "not a priority input",
                    f"known: {', '.join(cfg.inputs)} ({FILENAME} priority.inputs)",
                )
            )
    for name, spec in cfg.inputs.items():
        raw = values.get(name, spec.default)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            problems.append(Problem(f"priority.{name}", f"{raw!r} is not a number"))
            continue
        if not spec.min <= value <= spec.max:
            problems.append(
                Problem(
                    f"priority.{name}",
                    f"{value:g} is outside {spec.min:g}..{spec.max:g}",
                    "pick a value in the range",
                )
            )
        used[name] = value
    if problems:
        raise MarketopsError(f"{len(problems)} problem(s) with the priority inputs", problems)
    try:
        score = cfg.compiled().evaluate(used)
    except ValueError as exc:
        raise MarketopsError(
            "the priority formula cannot be computed for these inputs",
            [Problem(f"{FILENAME} priority.formula", str(exc), "guard divisors with max(1, x)")],
        ) from exc
    return used, round(score, 4)


def check_new_request(catalog: Catalog, new: NewRequest) -> CheckedRequest:
    """The request as it will be stored, or a MarketopsError listing every problem."""
    problems: list[Problem] = []
    rtype = None
    try:
        rtype = catalog.request_type(new.type)
    except MarketopsError as exc:
        problems.extend(exc.problems)
    title = (new.title or "").strip()
    if not title:
        problems.append(Problem("title", "is empty", "say in a few words what you need"))
    elif len(title) > 300:
        problems.append(Problem("title", "longer than 300 characters"))
    requester = (new.requester or "").strip()
    if not requester:
        problems.append(Problem("requester", "is empty", "give your email or name"))
    if new.channel not in CHANNELS:
        problems.append(Problem("channel", f"{new.channel!r} is not one of {CHANNELS}"))
    inputs: dict[str, Any] = {}
    if rtype is not None:
        known = {i.name: i for i in rtype.inputs}
        for name in new.inputs:
            if name not in known:
                problems.append(
                    Problem(
                        f"inputs.{name}",
                        f"not an input of {rtype.key}",
                        f"known: {', '.join(known) or '(none)'}",
                    )
                )
        for spec in rtype.inputs:
            value = new.inputs.get(spec.name)
            if isinstance(value, str):
                value = value.strip()
            if value in (None, ""):
                if spec.required:
                    problems.append(
                        Problem(f"inputs.{spec.name}", "is required", spec.help or spec.label or "")
                    )
                continue
            problem = _check_input(spec.type, spec.choices, value)
            if problem:
                problems.append(Problem(f"inputs.{spec.name}", problem))
            inputs[spec.name] = value
        if new.template is not None and new.template not in rtype.templates:
            problems.append(
                Problem(
                    "template",
                    f"{new.template!r} is not a template of {rtype.key}",
                    f"known: {', '.join(rtype.templates) or '(none)'}",
                )
            )
    try:
        used, score = priority_score(catalog, new.priority)
    except MarketopsError as exc:
        problems.extend(exc.problems)
        used, score = {}, 0.0
    if problems or rtype is None:
        raise MarketopsError(f"the request has {len(problems)} problem(s)", problems)
    return CheckedRequest(
        rtype=rtype,
        title=title,
        requester=requester,
        description=(new.description or "").strip(),
        inputs=inputs,
        priority_inputs=used,
        priority=score,
        template=new.template,
        self_serve=rtype.self_serve if new.self_serve is None else new.self_serve,
        channel=new.channel,
    )


def _check_input(kind: str, choices: list[str], value: Any) -> str | None:
    if kind == "choice" and value not in choices:
        return f"{value!r} is not one of {choices}"
    if kind == "number":
        try:
            float(value)
        except (TypeError, ValueError):
            return f"{value!r} is not a number"
    if kind == "date":
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return f"{value!r} is not a date (YYYY-MM-DD)"
    if kind == "url" and not str(value).startswith(("https://", "http://")):
        return f"{value!r} is not an http(s) URL"
    return None
