"""Declares segments.yml (optional): `marketops validate` checks names, list references, stages."""

from __future__ import annotations

from pathlib import Path

from marketops.errors import Problem
from marketops.segments.config import SEGMENTS_FILE, ListRule, SegmentsConfig, walk
from marketops.workspace.conditions import Condition
from marketops.workspace.registry import ExtraFile, register_file


def _check(root: Path, cfg: SegmentsConfig) -> list[Problem]:
    import yaml

    from marketops.workspace import lifecycle_stages
    from marketops.workspace.yamlfile import located

    path = root / SEGMENTS_FILE
    node = yaml.compose(path.read_text(encoding="utf-8")) if path.exists() else None
    problems: list[Problem] = []
    seen: set[str] = set()
    for key, items in (("segments", cfg.segments), ("lists", cfg.lists)):
        for i, item in enumerate(items):
            if item.name in seen:
                problems.append(
                    located(
                        path,
                        node,
                        (key, i, "name"),
                        f"duplicate name {item.name!r}",
                        "segments and lists share one namespace",
                    )
                )
            seen.add(item.name)
    lists = {lst.name for lst in cfg.lists}
    stages = lifecycle_stages(root) or []
    for i, seg in enumerate(cfg.segments):
        for n in walk(seg.rule):
            if isinstance(n, ListRule) and n.in_list not in lists:
                problems.append(
                    located(
                        path,
                        node,
                        ("segments", i, "rule"),
                        f"segment {seg.name!r}: in_list {n.in_list!r} is not a declared list",
                        f"declare it under `lists:` (known: {sorted(lists) or 'none'})",
                    )
                )
            if isinstance(n, Condition) and n.field == "lifecycle_stage" and stages:
                named = [n.equals, n.not_equals, *(n.in_ or []), *(n.not_in or [])]
                for s in named:
                    if isinstance(s, str) and s not in stages:
                        problems.append(
                            located(
                                path,
                                node,
                                ("segments", i, "rule"),
                                f"segment {seg.name!r}: unknown lifecycle stage {s!r}",
                                f"stages in lifecycle.yml: {', '.join(stages)}",
                            )
                        )
    return problems


SPEC = register_file(ExtraFile(SEGMENTS_FILE, SegmentsConfig, default={}, check=_check))
