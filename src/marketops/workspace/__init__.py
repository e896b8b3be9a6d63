"""The workspace: a folder of YAML (kept in git) that declares the team's rules."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from marketops.errors import Problem, WorkspaceError
from marketops.workspace.contract import Contract, load_contract
from marketops.workspace.models import Lifecycle, Routing, Scoring, Settings
from marketops.workspace.registry import find, is_glob, registered
from marketops.workspace.yamlfile import load_model

SETTINGS_FILE = "marketops.yml"
ENV_DATABASE_URL = "MARKETOPS_DATABASE_URL"
ENV_WORKSPACE = "MARKETOPS_WORKSPACE"


@dataclass
class Workspace:
    root: Path
    settings: Settings
    contract: Contract
    scoring: Scoring
    routing: Routing
    lifecycle: Lifecycle
    _extras: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, root: str | Path | None = None) -> Workspace:
        """Load and check every core file; raises WorkspaceError listing all problems at once."""
        root = Path(root or os.environ.get(ENV_WORKSPACE) or ".").resolve()
        if not (root / SETTINGS_FILE).exists():
            raise WorkspaceError(
                f"{root} is not a marketops workspace",
                [
                    Problem(
                        str(root / SETTINGS_FILE),
                        "file not found",
                        "run `marketops init DIR` to create a workspace, or pass --workspace",
                    )
                ],
            )
        problems: list[Problem] = []
        loaded: dict[str, Any] = {}

        def attempt(key: str, fn: Any) -> None:
            try:
                loaded[key] = fn()
            except WorkspaceError as exc:
                problems.extend(exc.problems or [Problem(key, str(exc))])

        attempt("settings", lambda: load_model(root / SETTINGS_FILE, Settings))
        settings = loaded.get("settings") or Settings()
        attempt("contract", lambda: load_contract(root / settings.contract))
        attempt("scoring", lambda: load_model(root / "scoring.yml", Scoring))
        attempt("routing", lambda: load_model(root / "routing.yml", Routing))
        attempt("lifecycle", lambda: load_model(root / "lifecycle.yml", Lifecycle))
        if problems:
            raise WorkspaceError(f"workspace {root} has {len(problems)} problem(s)", problems)
        return cls(root=root, **loaded)

    @cached_property
    def database_url(self) -> str:
        """The environment wins; a relative SQLite path is inside the workspace."""
        url = os.environ.get(ENV_DATABASE_URL) or self.settings.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(self.root / url[len(prefix) :])
        return url

    def path(self, relative: str) -> Path:
        return self.root / relative

    def extra(self, filename: str) -> Any:
        """Load a file that a capability registered (see workspace.registry), cached."""
        if filename not in self._extras:
            spec = find(filename)
            if spec is None:
                raise WorkspaceError(f"no capability declares the workspace file {filename!r}")
            self._extras[filename] = load_model(
                self.root / filename, spec.model, default=None if spec.required else spec.default
            )
        return self._extras[filename]


def validate_workspace(root: str | Path) -> list[Problem]:
    """Every problem in every file: core files, then each registered extra file present."""
    root = Path(root).resolve()
    problems: list[Problem] = []
    try:
        Workspace.load(root)
    except WorkspaceError as exc:
        problems.extend(exc.problems or [Problem(str(root), str(exc))])
    for spec in registered().values():
        if is_glob(spec.filename):  # a folder of files: each checked on its own
            for path in sorted(root.glob(spec.filename)):
                problems.extend(_check_file(spec, path, path))
            continue
        path = root / spec.filename
        if not path.exists():
            if spec.required:
                problems.append(Problem(str(path), "file not found", "create it (see docs)"))
            continue
        problems.extend(_check_file(spec, path, root))
    return problems


def _check_file(spec: Any, path: Path, check_arg: Path) -> list[Problem]:
    try:
        model = load_model(path, spec.model)
    except WorkspaceError as exc:
        return list(exc.problems)
    return list(spec.check(check_arg, model)) if spec.check else []


def lifecycle_stages(root: Path) -> list[str] | None:
    """lifecycle.yml's stages for another file's cross-checks; None when lifecycle.yml cannot be
    read (its own problems are reported by its own loader, not again by every file naming a stage)."""
    try:
        return list(load_model(Path(root) / "lifecycle.yml", Lifecycle).stages)
    except WorkspaceError:
        return None
