"""kpis.yml: the example validates; unknown stages are reported with file:line."""

from __future__ import annotations

from typer.testing import CliRunner

from marketops.cli import app

runner = CliRunner()


def test_example_validates_and_bad_stage_is_located(workspace_dir):
    assert runner.invoke(app, ["validate", str(workspace_dir)]).exit_code == 0
    (workspace_dir / "kpis.yml").write_text("funnel: [Known, Mql]\nroi_model: linear\n")
    res = runner.invoke(app, ["validate", str(workspace_dir)])
    assert res.exit_code == 1
    assert "kpis.yml:1" in res.output and "unknown stage 'Mql'" in res.output
