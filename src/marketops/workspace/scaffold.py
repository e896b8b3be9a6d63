"""`marketops init`: copy the example workspace (every file under workspace/templates)."""

from __future__ import annotations

import shutil
from pathlib import Path

from marketops.errors import MarketopsError, Problem

TEMPLATES = Path(__file__).parent / "templates"


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def init_workspace(target: Path, *, force: bool = False) -> list[Path]:
    """Write the example workspace; refuses to overwrite existing files unless `force`."""
    target = Path(target)
    planned = [(src, target / src.relative_to(TEMPLATES)) for src in template_files()]
    clashes = [dst for _, dst in planned if dst.exists()]
    if clashes and not force:
        raise MarketopsError(
            f"{target} already has workspace files",
            [Problem(str(p), "exists", "use --force to overwrite") for p in clashes],
        )
    written = []
    for src, dst in planned:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        written.append(dst)
    gitignore = target / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(
            "# local stores; the YAML is what you version\n*.db\n*.db-*\n*.duckdb\n"
        )
        written.append(gitignore)
    return written
