"""Cross-file checks for a journey: the segments, lists, email templates and stages it names.

A journey that names an undeclared segment never enters anyone, and one that sends a missing
template fails per person at run time; `marketops validate` and `journey publish` report both
up front with the journey file's line. Each other file's own problems are its loader's to report:
an unreadable segments.yml or lifecycle.yml skips that part of the check here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from marketops.errors import Problem, WorkspaceError
from marketops.journeys.models import Journey
from marketops.workspace import lifecycle_stages

Loc = tuple[Any, ...]


def reference_problems(root: Path, journey: Journey, path: Path, node: Any) -> list[Problem]:
    from marketops.workspace.yamlfile import located

    names = _segment_names(root)
    stages = lifecycle_stages(root)
    problems = []
    for kind, name, loc in _references(journey):
        found = _missing(root, kind, name, names, stages)
        if found is not None:
            problems.append(located(path, node, loc, *found))
    return problems


def _missing(
    root: Path,
    kind: str,
    name: str,
    names: tuple[set[str], set[str]] | None,
    stages: list[str] | None,
) -> tuple[str, str] | None:
    """(message, hint) when `name` of `kind` is not declared; None when it is (or unknowable)."""
    from marketops.messaging.templates import template_path

    if kind == "template":
        if template_path(root, name).exists():
            return None
        return f"email template {name!r} does not exist", f"create emails/{name}.yml"
    if kind == "stage":
        if stages is None or name in stages:
            return None
        return f"unknown lifecycle stage {name!r}", f"stages in lifecycle.yml: {', '.join(stages)}"
    if names is None:
        return None
    segments, lists = names
    if kind == "list":
        if name in lists:
            return None
        return f"list {name!r} is not declared", _known("lists:", lists)
    if name in segments or name in lists:
        return None
    return f"segment {name!r} is not declared", _known("segments:", segments | lists)


def _known(section: str, names: set[str]) -> str:
    return f"declare it under `{section}` in segments.yml (known: {', '.join(sorted(names)) or 'none'})"


def _references(j: Journey) -> Iterator[tuple[str, str, Loc]]:
    """(kind, name, location in the file) for every name the journey takes from elsewhere."""
    if j.entry.segment:
        yield "segment", j.entry.segment, ("entry", "segment")
    if j.entry.stage is not None:
        yield "stage", j.entry.stage.to, ("entry", "stage", "to")
        if j.entry.stage.from_:
            yield "stage", j.entry.stage.from_, ("entry", "stage", "from")
    for i, name in enumerate(j.suppression_segments):
        yield "segment", name, ("suppression_segments", i)
    for i, s in enumerate(j.steps):
        at: Loc = ("steps", i)
        if s.send_email is not None:
            yield "template", s.send_email.template, (*at, "send_email", "template")
        if s.add_to_list is not None:
            yield "list", s.add_to_list.list, (*at, "add_to_list", "list")
        if s.remove_from_list is not None:
            yield "list", s.remove_from_list.list, (*at, "remove_from_list", "list")
        if s.change_stage is not None:
            yield "stage", s.change_stage.to, (*at, "change_stage", "to")
        for a, arm in enumerate(s.branch or []):
            w = arm.when
            if w is None:
                continue
            where: Loc = (*at, "branch", a, "when")
            for key in ("in_segment", "not_in_segment"):
                if getattr(w, key):
                    yield "segment", getattr(w, key), (*where, key)
            for stage in w.stage_in or []:
                yield "stage", stage, (*where, "stage_in")
    for g, goal in enumerate(j.goals):
        if goal.in_segment:
            yield "segment", goal.in_segment, ("goals", g, "in_segment")
        if goal.stage:
            yield "stage", goal.stage, ("goals", g, "stage")
        for stage in goal.stage_in or []:
            yield "stage", stage, ("goals", g, "stage_in")


def _segment_names(root: Path) -> tuple[set[str], set[str]] | None:
    from marketops.segments.config import SEGMENTS_FILE, SegmentsConfig
    from marketops.workspace.yamlfile import load_model

    path = root / SEGMENTS_FILE
    if not path.exists():
        return set(), set()
    try:
        cfg = load_model(path, SegmentsConfig)
    except WorkspaceError:
        return None
    return {s.name for s in cfg.segments}, {lst.name for lst in cfg.lists}
