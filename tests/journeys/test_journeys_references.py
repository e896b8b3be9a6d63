"""A journey's names from other files (segments, lists, email templates, stages) are checked by
`marketops validate` and by publishing, each problem with the journey file's line."""

from __future__ import annotations

import pytest
from journeys_helpers import T0, write_journey

from marketops.errors import WorkspaceError
from marketops.journeys.versions import publish
from marketops.workspace import validate_workspace

BAD = {
    "entry": {"segment": "nope"},  # line 2
    "suppression_segments": ["gone-quiet", "missing-seg"],
    "steps": [
        {"id": "a", "send_email": {"template": "ghost"}},
        {"id": "b", "add_to_list": {"list": "vip"}},
        {"id": "c", "change_stage": {"to": "Lost"}},
        {
            "id": "d",
            "branch": [
                {"when": {"in_segment": "gone-quiet"}, "goto": "a"},  # declared: no problem
                {"when": {"not_in_segment": "ghost-seg"}, "goto": "a"},
                {"goto": "a"},
            ],
        },
    ],
    "goals": [{"name": "g", "stage": "Won"}, {"name": "h", "in_segment": "webinar-2026-attendees"}],
}


def test_validate_reports_every_undeclared_name_with_its_line(workspace_dir) -> None:
    path = write_journey(workspace_dir, "bad", BAD)
    text = path.read_text().splitlines()
    found = {
        (p.where, p.message) for p in validate_workspace(workspace_dir) if "bad.yml" in p.where
    }

    def line_of(needle: str) -> str:
        return f"{path}:{next(i for i, t in enumerate(text, 1) if needle in t)}"

    assert found == {
        (line_of("segment: nope"), "segment 'nope' is not declared"),
        (line_of("- missing-seg"), "segment 'missing-seg' is not declared"),
        (line_of("template: ghost"), "email template 'ghost' does not exist"),
        (line_of("list: vip"), "list 'vip' is not declared"),
        (line_of("to: Lost"), "unknown lifecycle stage 'Lost'"),
        (line_of("not_in_segment: ghost-seg"), "segment 'ghost-seg' is not declared"),
        (line_of("stage: Won"), "unknown lifecycle stage 'Won'"),
    }


def test_publish_refuses_a_journey_naming_what_does_not_exist(ctx) -> None:
    write_journey(ctx.workspace.root, "bad", BAD)
    with pytest.raises(WorkspaceError) as err:
        publish(ctx, "bad", now=T0)
    assert len(err.value.problems) == 7
    ok = {**BAD, "entry": {"segment": "gone-quiet"}, "suppression_segments": [], "goals": []}
    ok["steps"] = [{"id": "a", "send_email": {"template": "nurture_1"}}]
    write_journey(ctx.workspace.root, "fine", ok)
    assert publish(ctx, "fine", now=T0)["version"] == 1
