"""The request life cycle and the SLA events its moves produce; new requests against the catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from marketops.errors import MarketopsError
from marketops.ops.intake import Catalog, NewRequest, allowed_moves, check_new_request, sla_events

T = dt.datetime(2026, 3, 2, 14, tzinfo=dt.UTC)


def test_forward_path_pauses_and_cancel() -> None:
    assert allowed_moves("new", is_launch=False) == [
        "triaged",
        "waiting_on_requester",
        "awaiting_approval",
        "cancelled",
    ]
    assert "done" in allowed_moves("qa", is_launch=False)
    assert "done" not in allowed_moves("qa", is_launch=True)  # a launch must go live first
    assert allowed_moves("scheduled", is_launch=True)[:2] == ["live", "qa"]
    assert allowed_moves("waiting_on_requester", is_launch=False, paused_from="qa") == [
        "qa",
        "awaiting_approval",
        "cancelled",
    ]
    assert allowed_moves("done", is_launch=False) == ["in_progress"]
    assert allowed_moves("cancelled", is_launch=False) == []


def test_sla_events_from_moves() -> None:
    h = dt.timedelta(hours=1)
    moves = [
        (T, None, "new"),
        (T + h, "new", "triaged"),
        (T + 2 * h, "triaged", "waiting_on_requester"),
        (T + 3 * h, "waiting_on_requester", "triaged"),
        (T + 4 * h, "triaged", "in_progress"),
        (T + 5 * h, "in_progress", "qa"),
        (T + 6 * h, "qa", "done"),
        (T + 7 * h, "done", "in_progress"),
    ]
    assert [name for _, name in sla_events(moves)] == [
        "created",
        "new",
        "triaged",
        "waiting_on_requester",
        "resumed",
        "triaged",
        "in_progress",
        "qa",
        "done",
        "reopened",
        "in_progress",
    ]


def catalog() -> Catalog:
    return Catalog.model_validate(
        {
            "request_types": [
                {
                    "key": "add-field",
                    "name": "Add a field",
                    "class": "simple",
                    "templates": ["std"],
                    "inputs": [
                        {"name": "object", "type": "choice", "choices": ["lead"], "required": True},
                        {"name": "due", "type": "date"},
                        {"name": "brief", "type": "url"},
                    ],
                }
            ]
        }
    )


def test_new_request_is_checked_against_the_catalog() -> None:
    ok = check_new_request(
        catalog(),
        NewRequest(
            type="add-field",
            title=" Add source ",
            requester="a@example.com",
            inputs={"object": "lead", "due": "2026-03-10"},
            priority={"impact": 4},
            template="std",
        ),
    )
    assert ok.title == "Add source" and ok.priority == pytest.approx(4.0)
    assert ok.self_serve is False and ok.inputs == {"object": "lead", "due": "2026-03-10"}


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(MarketopsError) as exc:
        check_new_request(
            catalog(),
            NewRequest(
                type="add-field",
                title="",
                requester="",
                inputs={"object": "account", "due": "soon", "brief": "ftp://x", "extra": 1},
                priority={"impact": 7},
                template="nope",
            ),
        )
    wheres = sorted(p.where for p in exc.value.problems)
    assert wheres == [
        "inputs.brief",
        "inputs.due",
        "inputs.extra",
        "inputs.object",
        "priority.impact",
        "requester",
        "template",
        "title",
    ]
    with pytest.raises(MarketopsError) as exc:
        check_new_request(catalog(), NewRequest(type="nope", title="x", requester="y"))
    assert exc.value.problems[0].where == "type"


def test_catalog_validation_messages() -> None:
    with pytest.raises(ValueError, match="unknown event"):
        Catalog.model_validate(
            {
                "classes": {
                    "simple": {
                        "sla": [
                            {
                                "name": "g",
                                "target": "4h",
                                "start": ["created"],
                                "stop": ["finished"],
                            }
                        ]
                    }
                }
            }
        )
    with pytest.raises(ValueError, match="repeated"):
        Catalog.model_validate(
            {"request_types": [{"key": "a", "name": "A", "class": "simple"}] * 2}
        )
