"""Declares taxonomy.yml and channels.yml as workspace files (checked by `marketops validate`)."""

from __future__ import annotations

from pathlib import Path

from marketops.errors import Problem, WorkspaceError
from marketops.taxonomy.model import Taxonomy, check_taxonomy
from marketops.taxonomy.ruleset import ChannelsFile, resolve
from marketops.workspace.registry import ExtraFile, register_file
from marketops.workspace.yamlfile import read_yaml

TAXONOMY_FILE = "taxonomy.yml"
CHANNELS_FILE = "channels.yml"


def _check_taxonomy(root: Path, model: Taxonomy) -> list[Problem]:
    return check_taxonomy(root / TAXONOMY_FILE, model)


def _check_channels(root: Path, model: ChannelsFile) -> list[Problem]:
    path = root / CHANNELS_FILE
    try:
        _, node = read_yaml(path)
        resolve(model, path=path, node=node)
    except WorkspaceError as exc:
        return exc.problems or [Problem(str(path), str(exc))]
    return []


register_file(ExtraFile(TAXONOMY_FILE, Taxonomy, default={}, check=_check_taxonomy))
register_file(
    ExtraFile(
        CHANNELS_FILE, ChannelsFile, default={"extends": "ga4-default"}, check=_check_channels
    )
)
