"""Load YAML into pydantic models with errors that name the file and line.

PyYAML drops positions once data is constructed, so the file is composed a second time into a node
tree and pydantic's error locations are walked down that tree to the offending node's line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from marketops.errors import Problem, WorkspaceError

M = TypeVar("M", bound=BaseModel)


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if nxt is None:
                # key missing (the mapping is the best place to point at), or a tagged union's
                # tag that pydantic adds to the location: skip it and keep walking
                continue
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        elif isinstance(node, yaml.SequenceNode):
            continue  # a union tag between a list's key and its items
        else:
            break
        line = node.start_mark.line + 1
    return line


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file; a syntax error becomes a WorkspaceError with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise WorkspaceError(
            f"{path}: file not found",
            [Problem(str(path), "file not found", "run `marketops init` or create the file")],
        ) from exc
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        reason = getattr(exc, "problem", None) or str(exc)
        raise WorkspaceError(
            f"{path}: not valid YAML",
            [Problem(where, f"YAML syntax error: {reason}", "fix the indentation or quoting")],
        ) from exc
    return data, node


def problems_from_validation(
    path: Path, node: yaml.Node | None, exc: ValidationError
) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = _line_of(node, loc)
        field = ".".join(str(p) for p in loc) or "(top level)"
        where = f"{path}:{line}" if line else str(path)
        hint = ""
        if err["type"] == "missing":
            hint = f"add `{loc[-1]}`"
        elif err["type"] == "extra_forbidden":
            hint = "remove it or check the spelling"
        out.append(Problem(where, f"{field}: {err['msg']}", hint))
    return out


def load_model(path: Path, model: type[M], *, default: dict | None = None) -> M:
    """Read `path` as `model`; every problem is reported with file:line and a hint."""
    if default is not None and not path.exists():
        return model.model_validate(default)
    data, node = read_yaml(path)
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation(path, node, exc)
        raise WorkspaceError(f"{path}: {len(problems)} problem(s)", problems) from exc


def located(
    path: Path, node: yaml.Node | None, loc: tuple[Any, ...], message: str, hint: str = ""
) -> Problem:
    """A Problem for a semantic check done after parsing (cross-references and the like)."""
    line = _line_of(node, loc)
    return Problem(f"{path}:{line}" if line else str(path), message, hint)
