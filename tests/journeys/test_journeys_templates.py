"""Built-in templates: each copies into a valid journey; parameters fill in with their types;
reuse is counted and reaches the MOPS metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from marketops.errors import MarketopsError
from marketops.journeys.loader import load_journey
from marketops.journeys.templates import builtin, new, reuse
from marketops.workspace import validate_workspace


def test_every_template_copies_into_a_valid_journey(workspace_dir) -> None:
    names = sorted(builtin())
    assert names == ["nurture", "re-engagement", "upsell", "welcome", "win-back"]
    for t in names:
        new(workspace_dir, f"my-{t}", t, {})
        j, _ = load_journey(workspace_dir, f"my-{t}")
        assert (j.from_template, j.template_version) == (t, 1)
    assert not [p for p in validate_workspace(workspace_dir) if "journeys" in p.where]


def test_parameters_keep_their_types_and_bad_ones_are_refused(workspace_dir) -> None:
    path = new(workspace_dir, "big", "upsell", {"threshold": "95", "gap": "10d"})
    body = yaml.safe_load(path.read_text())
    assert body["entry"] == {"score": {"gte": 95, "field": "engagement_score"}}
    assert body["steps"][2] == {"id": "wait", "wait": {"delay": "10d"}}
    with pytest.raises(MarketopsError, match="no parameter"):
        new(workspace_dir, "x", "nurture", {"gapp": "1d"})
    with pytest.raises(MarketopsError, match="invalid journey"):
        new(workspace_dir, "y", "nurture", {"gap": "soon"})
    with pytest.raises(MarketopsError, match="exists"):
        new(workspace_dir, "big", "upsell", {})
    with pytest.raises(MarketopsError, match="no journey template"):
        new(workspace_dir, "z", "onboarding", {})


def test_reuse_counted_for_mops_metrics(ctx) -> None:
    root = ctx.workspace.root
    assert reuse(root)["by_template"]["welcome"] == 1  # the example workspace's welcome journey
    (root / "journeys" / "welcome.yml").unlink()
    new(root, "a", "nurture", {})
    new(root, "b", "nurture", {"gap": "1w"})
    new(root, "c", "welcome", {})
    (root / "journeys" / "hand.yml").write_text(
        yaml.safe_dump({"entry": {"event": "x"}, "steps": [{"id": "s", "exit": {}}]})
    )
    counts = reuse(root)
    assert counts["journeys"] == 4 and counts["from_template"] == 3 and counts["rate"] == 0.75
    assert counts["by_template"]["nurture"] == 2 and counts["by_template"]["upsell"] == 0
    from marketops.ops.intake.service import intake_metrics

    m = intake_metrics(ctx, now=datetime(2026, 3, 2, tzinfo=UTC)).to_dict()
    assert m["journey_templates"] == counts
