"""Read `journeys/<name>.yml` with file:line errors; the name is the file's stem."""

from __future__ import annotations

import hashlib
from pathlib import Path

from marketops.errors import NotFound, Problem, WorkspaceError
from marketops.journeys import JOURNEYS_DIR
from marketops.journeys.models import Journey
from marketops.workspace.yamlfile import load_model, located, read_yaml


def journey_path(root: Path, name: str) -> Path:
    return Path(root) / JOURNEYS_DIR / f"{name}.yml"


def check(path: Path, model: Journey) -> list[Problem]:
    """A `name:` inside the file must match the file name (the name is the journey's key), and
    every segment, list, email template and stage it names must be declared."""
    from marketops.journeys.references import reference_problems

    _, node = read_yaml(path)
    problems = []
    if model.name is not None and model.name != path.stem:
        problems.append(
            located(
                path,
                node,
                ("name",),
                f"name `{model.name}` differs from the file name `{path.stem}`",
                f"rename the file to {model.name}.yml or remove `name`",
            )
        )
    root = path.parent.parent  # journeys/<name>.yml
    return problems + reference_problems(root, model, path, node)


def load_journey(root: Path, name: str) -> tuple[Journey, str]:
    """(the parsed journey, its source text); NotFound or WorkspaceError with file:line."""
    path = journey_path(root, name)
    if not path.exists():
        raise NotFound(
            f"no journey {name!r}",
            [Problem(str(path), "file not found", "see `marketops journey list`")],
        )
    model = load_model(path, Journey)
    problems = check(path, model)
    if problems:
        raise WorkspaceError(f"{path}: {len(problems)} problem(s)", problems)
    return model.model_copy(update={"name": name}), path.read_text(encoding="utf-8")


def journey_names(root: Path) -> list[str]:
    folder = Path(root) / JOURNEYS_DIR
    return sorted(p.stem for p in folder.glob("*.yml")) if folder.exists() else []


def content_hash(journey: Journey) -> str:
    """The hash of what runs (the parsed definition), so comments and spacing publish nothing."""
    body = journey.model_dump_json(by_alias=True, exclude={"description"})
    return hashlib.sha256(body.encode()).hexdigest()
