"""The tool-stack audit on a small hand-computed inventory."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from marketops.errors import WorkspaceError
from marketops.ops.stack import Stack, audit_stack
from marketops.ops.stack.config import check
from marketops.workspace.yamlfile import load_model

TEMPLATE = Path(__file__).parents[2] / "src" / "marketops" / "workspace" / "templates" / "stack.yml"
TODAY = date(2026, 11, 25)

STACK = Stack.model_validate(
    {
        "currency": "EUR",
        "scorecard": {"criteria": [{"key": "fit", "weight": 3}, {"key": "support", "weight": 1}]},
        "tools": [
            {
                "name": "Mailer",
                "category": "email",
                "owner": "ana",
                "annual_cost": "12000.00",
                "seats": 10,
                "active_users": 3,
                "renewal_date": "2027-01-15",
                "integrations": ["CRM"],
                "scores": {"fit": 4, "support": 2},
            },
            {
                "name": "Sender",
                "category": "Email",
                "owner": "bo",
                "annual_cost": "1000.00",
                "seats": 3,
                "active_users": 3,
                "renewal_date": "2027-06-01",
                "integrations": [],
                "scores": {"fit": 5},
            },
            {
                "name": "CDP",
                "category": "cdp",
                "owner": "cy",
                "annual_cost": "30000",
                "seats": 0,
                "active_users": 0,
                "renewal_date": "2026-11-01",
                "integrations": ["CRM"],
            },
        ],
    }
)


def test_per_tool_figures_hand_computed() -> None:
    audit = audit_stack(STACK, TODAY)
    mailer, sender, cdp = audit.tools
    # Mailer: 3/10 = 30% < 40% -> underused; 12000/3 = 4000.00 per active user;
    # 7 unused seats x 1200.00 = 8400.00 waste; renews in 51 days (inside 90)
    assert mailer.utilization == Decimal("0.3000") and mailer.underused
    assert mailer.cost_per_active_user == Decimal("4000.00")
    assert (mailer.unused_seats, mailer.waste) == (7, Decimal("8400.00"))
    assert (mailer.days_to_renewal, mailer.renewal_due) == (51, True)
    # weighted score (3*4 + 1*2) / 4 = 3.50
    assert (mailer.score, mailer.score_complete) == (Decimal("3.50"), True)
    # Sender: fully used; 1000/3 = 333.33; no integrations; partial score (3*5 + 1*0)/4 = 3.75
    assert sender.utilization == Decimal("1.0000") and not sender.underused
    assert sender.cost_per_active_user == Decimal("333.33")
    assert sender.no_integrations and sender.waste == Decimal("0.00")
    assert (sender.score, sender.score_complete) == (Decimal("3.75"), False)
    assert sender.renewal_due is False  # 188 days away
    # CDP: not seat-priced, nobody active, renewal date already passed, unscored
    assert cdp.utilization is None and not cdp.underused
    assert cdp.cost_per_active_user is None
    assert cdp.renewal_passed and not cdp.renewal_due and cdp.score is None


def test_totals_overlaps_and_findings() -> None:
    audit = audit_stack(STACK, TODAY)
    assert audit.total_annual_cost == Decimal("43000.00")
    assert audit.total_waste == Decimal("8400.00")
    # categories compare case-insensitively: "email" and "Email" overlap
    assert [(o.category, o.tools, o.annual_cost) for o in audit.overlaps] == [
        ("email", ["Mailer", "Sender"], Decimal("13000.00"))
    ]
    assert [t.name for t in audit.renewals] == ["Mailer"]
    assert [t.name for t in audit.ranking] == ["Sender", "Mailer"]
    text = "\n".join(audit.findings)
    assert "Mailer: 30% of seats used (< 40%), 7 unused seats waste 8400.00 EUR/year" in text
    assert "Sender: integrated with nothing" in text
    assert "CDP: no active users for 30000.00 EUR/year" in text
    assert "CDP: renewal date 2026-11-01 has passed" in text


def test_waste_sums_before_rounding() -> None:
    # 3 tools each wasting 100/3 = 33.333..: the total is 100.00, not 3 x 33.33 = 99.99
    tools = [
        {
            "name": f"T{i}",
            "category": f"c{i}",
            "owner": "o",
            "annual_cost": "100",
            "seats": 3,
            "active_users": 2,
            "renewal_date": "2027-12-31",
            "integrations": ["x"],
        }
        for i in range(3)
    ]
    audit = audit_stack(Stack.model_validate({"tools": tools}), TODAY)
    assert [t.waste for t in audit.tools] == [Decimal("33.33")] * 3
    assert audit.total_waste == Decimal("100.00")


def test_renewal_window_and_threshold_are_configurable() -> None:
    stack = STACK.model_copy(
        update={"renewal_window_days": 30, "utilization_threshold": Decimal("0.25")}
    )
    mailer = audit_stack(stack, TODAY).tools[0]
    assert not mailer.renewal_due and not mailer.underused


def test_template_is_valid_and_clean() -> None:
    stack = load_model(TEMPLATE, Stack)
    assert check(TEMPLATE.parent, stack) == []
    assert all(isinstance(t.annual_cost, Decimal) for t in stack.tools)


def test_schema_errors_carry_file_and_line(tmp_path: Path) -> None:
    # the date is quoted: an unquoted impossible date makes PyYAML raise ValueError inside the
    # shared loader (workspace/yamlfile.py), reported to the lead engineer
    f = tmp_path / "stack.yml"
    f.write_text(
        "tools:\n  - name: A\n    category: x\n    owner: o\n    annual_cost: -5\n"
        '    seats: 1\n    active_users: 1\n    renewal_date: "2027-13-01"\n    colour: red\n'
    )
    with pytest.raises(WorkspaceError) as exc:
        load_model(f, Stack)
    where = {p.message.split(":")[0]: p.where for p in exc.value.problems}
    assert where["tools.0.annual_cost"] == f"{f}:5"
    assert where["tools.0.renewal_date"] == f"{f}:8"
    assert where["tools.0.colour"] == f"{f}:9"


def test_semantic_checks() -> None:
    stack = Stack.model_validate(
        {
            "scorecard": {"scale_max": 5, "criteria": [{"key": "fit", "weight": 1}]},
            "tools": [
                {
                    "name": "A",
                    "category": "x",
                    "owner": "o",
                    "annual_cost": 1,
                    "seats": 2,
                    "active_users": 5,
                    "renewal_date": "2027-01-01",
                    "scores": {"fit": 7, "speed": 3},
                }
            ],
        }
    )
    messages = [p.message for p in check(Path("ws"), stack)]
    assert "score for unknown criterion 'speed'" in messages
    assert "score fit=7 outside 0..5" in messages
    assert "5 active users on 2 seats" in messages
    with pytest.raises(ValueError, match="duplicate tool names"):
        Stack.model_validate(
            {
                "tools": [
                    {
                        "name": n,
                        "category": "x",
                        "owner": "o",
                        "annual_cost": 1,
                        "seats": 1,
                        "active_users": 1,
                        "renewal_date": "2027-01-01",
                    }
                    for n in ("A", "a")
                ]
            }
        )
