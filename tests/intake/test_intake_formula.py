"""The priority formula: safe arithmetic only, checked when the catalog loads."""

from __future__ import annotations

import pytest

from marketops.errors import MarketopsError
from marketops.ops.intake import Catalog, Formula, FormulaError, priority_score

NAMES = {"impact", "urgency", "effort", "risk"}


def test_default_formula_values() -> None:
    f = Formula("impact * urgency / effort * (1 - 0.1 * (risk - 1))", NAMES)
    # 5 * 4 / 2 = 10, risk 3 takes 20% off -> 8
    assert f.evaluate({"impact": 5, "urgency": 4, "effort": 2, "risk": 3}) == pytest.approx(8.0)
    assert f.evaluate({"impact": 1, "urgency": 1, "effort": 5, "risk": 1}) == pytest.approx(0.2)


def test_functions_and_powers() -> None:
    f = Formula("max(1, impact) ** 2 - abs(-urgency) + round(effort / 3, 1)", NAMES)
    assert f.evaluate({"impact": 3, "urgency": 2, "effort": 1, "risk": 0}) == pytest.approx(7.3)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "impact.__class__",
        "[x for x in (1, 2)]",
        "impact if urgency else effort",
        "open('/etc/passwd')",
        "'a' * 3",
        "lambda: 1",
        "impact < urgency",
        "unknown_name * 2",
        "impact * ",
        "True + impact",
        "max(impact, key=urgency)",
    ],
)
def test_refuses_anything_but_arithmetic(text: str) -> None:
    with pytest.raises(FormulaError):
        Formula(text, NAMES)


def test_runtime_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="division by zero"):
        Formula("impact / (effort - 3)", NAMES).evaluate(
            {"impact": 1, "urgency": 1, "effort": 3, "risk": 1}
        )
    with pytest.raises(ValueError, match="exponent"):
        Formula("impact ** (urgency * 100)", NAMES).evaluate(
            {"impact": 2, "urgency": 1, "effort": 1, "risk": 1}
        )


def test_catalog_rejects_bad_formula_at_load() -> None:
    with pytest.raises(ValueError, match=r"priority\.formula"):
        Catalog.model_validate({"priority": {"formula": "impact * os"}})
    with pytest.raises(ValueError, match="division by zero"):
        Catalog.model_validate({"priority": {"formula": "impact / (risk - 1)"}})


def test_priority_score_defaults_ranges_and_unknowns() -> None:
    catalog = Catalog()
    used, score = priority_score(catalog, {"impact": "5", "urgency": 5})
    assert used == {"impact": 5.0, "urgency": 5.0, "effort": 3.0, "risk": 1.0}
    assert score == pytest.approx(8.3333)
    with pytest.raises(MarketopsError) as exc:
        priority_score(catalog, {"impact": 9, "effort": "lots", "value": 1})
    wheres = {p.where for p in exc.value.problems}
    assert wheres == {"priority.impact", "priority.effort", "priority.value"}
