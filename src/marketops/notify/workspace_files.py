"""Declares `notifications.yml` so `marketops validate` checks it and `Workspace.extra` loads it."""

from __future__ import annotations

from pathlib import Path

from marketops.errors import Problem
from marketops.notify import NOTIFICATIONS_FILE
from marketops.notify.config import NotificationsFile
from marketops.workspace.registry import ExtraFile, register_file
from marketops.workspace.yamlfile import located, read_yaml


def check(root: Path, model: NotificationsFile) -> list[Problem]:
    """Members must be people routing.yml knows (queue members, rule owners): catches typos."""
    routing = root / "routing.yml"
    if not routing.exists() or not model.members:
        return []
    data, _ = read_yaml(routing)
    data = data if isinstance(data, dict) else {}
    known = {
        m.get("name")
        for q in data.get("queues") or []
        if isinstance(q, dict)
        for m in q.get("members") or []
        if isinstance(m, dict)
    } | {r.get("owner") for r in data.get("rules") or [] if isinstance(r, dict)}
    unknown = [name for name in model.members if name not in known]
    if not unknown:
        return []
    path = root / NOTIFICATIONS_FILE
    _, node = read_yaml(path)
    return [
        located(
            path,
            node,
            ("members", name),
            f"member `{name}` is not in any routing.yml queue",
            "use a member name from routing.yml, or remove the entry",
        )
        for name in unknown
    ]


NOTIFICATIONS = register_file(
    ExtraFile(NOTIFICATIONS_FILE, NotificationsFile, default={}, check=check)
)
