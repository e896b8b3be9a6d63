"""Enricher plugins declared in marketops.yml run inside the real pipeline."""

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from marketops.errors import WorkspaceError
from marketops.services.context import AppContext
from marketops.services.leads import capture_one, get_lead
from marketops.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parents[1] / "pipeline"))


def _with_plugin(ws_dir: Path, factory: str) -> None:
    settings = ws_dir / "marketops.yml"
    settings.write_text(
        settings.read_text().replace(
            "  local_lookup: data/companies.csv\n",
            "  local_lookup: data/companies.csv\n  plugins:\n"
            f"    - factory: {factory}\n      options: {{suffix: -plugin}}\n",
        )
    )


def test_plugin_fills_what_the_local_lookup_does_not(workspace_dir: Path) -> None:
    _with_plugin(workspace_dir, "enricher_plugin_example:make")
    ctx = AppContext.open(Workspace.load(workspace_dir))
    _, body = capture_one(ctx, {"email": "kim@globex.example"}, datetime.now(UTC))
    lead = get_lead(ctx, body["id"])
    assert lead["industry"] == "Software"  # the local CSV answered first
    _, body = capture_one(ctx, {"email": "kim@newco.example"}, datetime.now(UTC))
    lead = get_lead(ctx, body["id"])
    assert lead["industry"] == "newco-plugin" and lead["employees"] == 42
    assert lead["flags"]["enriched_by"] == {"reverse": ["industry", "employees"]}


def test_missing_plugin_names_the_setting(workspace_dir: Path) -> None:
    _with_plugin(workspace_dir, "no_such_module:make")
    with pytest.raises(WorkspaceError) as exc:
        AppContext.open(Workspace.load(workspace_dir))
    assert "enrichment.plugins" in str(exc.value)
