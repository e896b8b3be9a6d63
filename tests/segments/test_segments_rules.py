"""The pure evaluator's semantics, and its agreement with the DuckDB batch path on generated data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from marketops.analytics.engines import connect
from marketops.segments.batch import member_ids
from marketops.segments.config import SegmentDef, SegmentsConfig
from marketops.segments.load import empty_tables, put
from marketops.segments.rules import compile_rule, evaluate, index_activities
from marketops.segments.sql import activity_types, attr_column, attributes_used, to_sql
from marketops.segments.values import LEAD_FIELDS, as_text
from marketops.workspace.scaffold import TEMPLATES

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def seg(rule: dict[str, Any], name: str = "s") -> SegmentDef:
    return SegmentDef.model_validate({"name": name, "rule": rule})


def acts(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    """(type, days ago) pairs as activity rows."""
    return [{"type": t, "occurred_at": NOW - timedelta(days=d)} for t, d in pairs]


def test_behaviour_counts_in_the_window_with_exclusive_start_and_inclusive_now() -> None:
    s = seg({"activity": {"type": "pricing_page", "at_least": 3, "within_days": 30}})
    assert evaluate(
        s, {}, acts(("pricing_page", 1), ("pricing_page", 29), ("pricing_page", 0)), NOW
    )
    # exactly 30 days ago is outside (start is exclusive); a future-dated visit does not count yet
    edge = acts(("pricing_page", 1), ("pricing_page", 30), ("pricing_page", -1), ("webinar", 2))
    assert not evaluate(s, {}, edge, NOW)
    assert evaluate(s, {}, edge, NOW + timedelta(days=1, seconds=-1)) is False  # 30d one ages out
    did_not = seg({"activity": {"type": "form_fill", "at_most": 0, "within_days": 90}})
    assert evaluate(did_not, {}, acts(("form_fill", 91)), NOW)
    assert not evaluate(did_not, {}, acts(("form_fill", 89)), NOW)
    once = seg({"activity": {"type": "webinar"}})  # at least once, ever
    assert evaluate(once, {}, acts(("webinar", 400)), NOW) and not evaluate(once, {}, [], NOW)


def test_open_ticket_is_an_open_without_a_later_close() -> None:
    s = seg({"activity": {"type": "ticket_opened", "without_later": "ticket_closed"}})
    assert evaluate(s, {}, acts(("ticket_opened", 3)), NOW)
    assert not evaluate(s, {}, acts(("ticket_opened", 3), ("ticket_closed", 1)), NOW)
    reopened = acts(("ticket_opened", 5), ("ticket_closed", 4), ("ticket_opened", 2))
    assert evaluate(s, {}, reopened, NOW)
    # a close dated ahead has not happened yet at NOW
    assert evaluate(s, {}, acts(("ticket_opened", 3), ("ticket_closed", -1)), NOW)
    assert not evaluate(s, {}, [], NOW)


def test_fields_attributes_identity_opportunities_and_lists() -> None:
    lead = {
        "lifecycle_stage": "MQL",
        "fit_score": 55.0,
        "country": "DE",
        "attributes": {"plan": "Enterprise", "seats": "40", "trial": True},
        "identity_size": 2,
        "lists": {"vip"},
        "opportunities": [{"status": "open", "amount": 1200}],
    }
    yes = [
        {"field": "fit_score", "gte": 50},
        {"field": "lifecycle_stage", "in": ["mql", "SQL"]},  # case-insensitive text
        {"field": "plan", "equals": "enterprise"},
        {"field": "attributes.seats", "between": [10, 50]},  # numeric strings are numbers
        {"field": "trial", "is_true": True},
        {"field": "industry", "exists": False},
        {"field": "country", "not_in": ["FR"]},
        {"identity": {"linked": True, "max_size": 2}},
        {"opportunity": {"status": "open", "min_amount": 1000}},
        {"in_list": "vip"},
        {"not": {"field": "plan", "matches": "^Free"}},
    ]
    for rule in yes:
        assert evaluate(seg(rule), lead, [], NOW), rule
    no = [
        {"field": "fit_score", "lte": 50},
        {"identity": {"min_size": 3}},
        {"opportunity": {"status": "won"}},
        {"in_list": "other"},
        {"any": [{"field": "country", "equals": "FR"}, {"field": "seats", "gte": 41}]},
    ]
    for rule in no:
        assert not evaluate(seg(rule), lead, [], NOW), rule
    assert evaluate(seg({"identity": {"linked": False}}), {}, [], NOW)  # unlinked: a cluster of one


# --- agreement with the batch path on generated data -------------------------------------------

STAGES = ["Known", "MQL", "SQL", "Opportunity", "Customer", "Nurture"]
TYPES = ["pricing_page", "form_fill", "webinar", "ticket_opened", "ticket_closed"]
PLANS = ["Free", "Pro", "Enterprise", None, ""]


def _generate(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], dict[str, list]]:
    people, activity = [], {}
    for i in range(n):
        lead = {
            "id": f"L{i:05d}",
            "lifecycle_stage": rng.choice(STAGES),
            "fit_score": float(rng.randint(0, 100)),
            "engagement_score": float(rng.randint(0, 60)),
            "country": rng.choice(["DE", "US", "FR", None]),
            "employees": rng.choice([None, 5, 50, 500]),
            "suppressed": rng.random() < 0.1,
            "title": rng.choice(["VP Marketing", "Marketing Ops Lead", "CTO", None]),
            "attributes": {
                "plan": rng.choice(PLANS),
                "seats": rng.choice([None, 3, "12", 40.0, "n/a"]),
                "trial": rng.choice([True, False, None, "yes"]),
            },
            "identity_size": rng.choice([1, 1, 1, 2, 3]),
            "lists": {x for x in ("vip", "webinar") if rng.random() < 0.2},
            "opportunities": [
                {
                    "status": rng.choice(["open", "won", "lost"]),
                    "amount": rng.choice([None, 500, 5000]),
                }
                for _ in range(rng.choice([0, 0, 0, 1, 2]))
            ],
        }
        people.append(lead)
        activity[lead["id"]] = [
            {
                "type": rng.choice(TYPES),
                "occurred_at": NOW - timedelta(hours=rng.uniform(-48, 24 * 120)),
            }
            for _ in range(rng.choice([0, 1, 3, 6, 12]))
        ]
    return people, activity


def _leaf(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(
        ["field", "field", "activity", "activity", "identity", "opportunity", "in_list"]
    )
    if kind == "field":
        return rng.choice(
            [
                {"field": "fit_score", "gte": rng.randint(0, 100)},
                {
                    "field": "engagement_score",
                    "between": sorted([rng.randint(0, 60), rng.randint(0, 60)]),
                },
                {"field": "lifecycle_stage", "in": rng.sample(STAGES, 2)},
                {"field": "lifecycle_stage", "not_equals": "customer"},
                {"field": "country", "equals": rng.choice(["de", "US"])},
                {"field": "country", "not_in": ["FR"]},
                {"field": "employees", "lte": 50},
                {"field": "employees", "equals": 50},
                {"field": "suppressed", "is_false": True},
                {"field": "suppressed", "equals": True},
                {"field": "title", "contains_any": ["marketing", "ops"]},
                {"field": "title", "matches": "^VP"},
                {"field": "title", "exists": rng.choice([True, False])},
                {"field": "plan", "in": ["pro", "Enterprise"]},
                {"field": "attributes.plan", "exists": True},
                {"field": "seats", "gte": 10},
                {"field": "seats", "equals": "n/a"},
                {"field": "trial", "is_true": True},
                {"field": "trial", "equals": True},
            ]
        )
    if kind == "activity":
        if rng.random() < 0.25:
            spec = {"type": "ticket_opened", "without_later": "ticket_closed"}
            if rng.random() < 0.5:
                spec["within_days"] = 30
            return {"activity": spec}
        spec = {"type": rng.choice(TYPES[:3])}
        if rng.random() < 0.7:
            spec["at_least"] = rng.randint(0, 3)
        if rng.random() < 0.4:
            spec["at_most"] = spec.get("at_least", 0) + rng.randint(0, 2)
        if rng.random() < 0.8:
            spec["within_days"] = rng.choice([1, 7, 30, 90.5])
        return {"activity": spec}
    if kind == "identity":
        return {
            "identity": rng.choice(
                [{"linked": True}, {"linked": False}, {"min_size": 3}, {"max_size": 2}]
            )
        }
    if kind == "opportunity":
        return {
            "opportunity": rng.choice(
                [{"status": "open"}, {"status": "any", "min_amount": 1000}, {"status": "won"}]
            )
        }
    return {"in_list": rng.choice(["vip", "webinar"])}


def _tree(rng: random.Random, depth: int) -> dict[str, Any]:
    if depth == 0 or rng.random() < 0.3:
        return _leaf(rng)
    op = rng.choice(["all", "any", "not"])
    if op == "not":
        return {"not": _tree(rng, depth - 1)}
    return {op: [_tree(rng, depth - 1) for _ in range(rng.randint(1, 3))]}


def _engine_tables(people: list[dict[str, Any]], activity: dict[str, list], defs: list[SegmentDef]):
    attrs = attributes_used(defs)
    schemas = {k: v.to_pyarrow() for k, v in empty_tables(attrs).items()}
    lead_cols: dict[str, list] = {f.name: [] for f in schemas["seg_leads"]}
    for p in people:
        for c in LEAD_FIELDS:
            lead_cols[c].append(p.get(c))
        lead_cols["identity_size"].append(p["identity_size"])
        for a in attrs:
            lead_cols[attr_column(a)].append(as_text(p["attributes"].get(a)))
    acts_rows = [
        (lid, a["type"], a["occurred_at"].replace(tzinfo=None))
        for lid, xs in activity.items()
        for a in xs
    ]
    return {
        "seg_leads": pa.table(lead_cols, schema=schemas["seg_leads"]),
        "seg_activities": pa.table(
            {
                "lead_id": [r[0] for r in acts_rows],
                "type": [r[1] for r in acts_rows],
                "occurred_at": [r[2] for r in acts_rows],
            },
            schema=schemas["seg_activities"],
        ),
        "seg_lists": pa.table(
            {
                "list": [x for p in people for x in sorted(p["lists"])],
                "lead_id": [p["id"] for p in people for _ in p["lists"]],
            },
            schema=schemas["seg_lists"],
        ),
        "seg_opportunities": pa.table(
            {
                "lead_id": [p["id"] for p in people for _ in p["opportunities"]],
                "status": [o["status"] for p in people for o in p["opportunities"]],
                "amount": [
                    None if o["amount"] is None else float(o["amount"])
                    for p in people
                    for o in p["opportunities"]
                ],
            },
            schema=schemas["seg_opportunities"],
        ),
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_python_evaluator_agrees_with_duckdb_on_generated_data(seed: int) -> None:
    rng = random.Random(seed)
    people, activity = _generate(rng, 1500)
    defs = [seg(_tree(rng, 3), f"r{i}") for i in range(60)]
    template = SegmentsConfig.model_validate(
        __import__("yaml").safe_load((TEMPLATES / "segments.yml").read_text())
    )
    defs += [d for d in template.segments if "in_list" not in str(d.rule)]
    con = connect("duckdb://")
    try:
        put(con, _engine_tables(people, activity, defs))
        nonempty = 0
        for d in defs:
            pred = compile_rule(d.rule)
            expected = {
                p["id"] for p in people if pred(p, index_activities(activity[p["id"]]), NOW)
            }
            got = member_ids(con, d, NOW)
            assert got == expected, (d.rule, sorted(got ^ expected)[:5])
            nonempty += 0 < len(expected) < len(people)
        assert nonempty > len(defs) // 3  # the rules discriminate: not all trivially empty/full
    finally:
        con.disconnect()


def test_rules_compile_to_postgres_sql_too() -> None:
    d = seg(
        {
            "all": [
                {"activity": {"type": "pricing_page", "at_least": 3, "within_days": 30}},
                {"field": "plan", "equals": "pro"},
                {"in_list": "vip"},
            ]
        }
    )
    sql = to_sql(d, NOW, "postgres")
    assert "seg_activities" in sql and "attr__plan" in sql and "seg_lists" in sql
    assert activity_types([d]) == {"pricing_page"}


def test_in_segment_is_the_named_segments_rule_and_bad_references_are_located(tmp_path) -> None:
    from marketops.errors import WorkspaceError
    from marketops.workspace.yamlfile import load_model

    cfg = SegmentsConfig.model_validate(
        {
            "segments": [
                {"name": "german", "rule": {"field": "country", "equals": "DE"}},
                {"name": "keen", "rule": {"activity": {"type": "pricing_page", "at_least": 2}}},
                {"name": "keen-german", "rule": {"all": [{"in_segment": "german"}, {"in_segment": "keen"}]}},
                {"name": "keen-elsewhere", "rule": {"all": [{"in_segment": "keen"}, {"not": {"in_segment": "german"}}]}},
            ]
        }
    )  # fmt: skip
    by = {s.name: compile_rule(s.rule) for s in cfg.segments}
    people = {
        "de-keen": ({"country": "DE"}, acts(("pricing_page", 1), ("pricing_page", 2))),
        "de-once": ({"country": "DE"}, acts(("pricing_page", 1))),
        "us-keen": ({"country": "US"}, acts(("pricing_page", 1), ("pricing_page", 3))),
    }
    members = {
        name: {p for p, (lead, a) in people.items() if pred(lead, index_activities(a), NOW)}
        for name, pred in by.items()
    }
    assert members["keen-german"] == {"de-keen"}
    assert members["keen-elsewhere"] == {"us-keen"}
    # the expanded rule is the definition: editing `german` changes the referencing hash too
    from marketops.segments.watermarks import definition_hash

    edited = SegmentsConfig.model_validate(
        {
            "segments": [
                {"name": "german", "rule": {"field": "country", "in": ["DE", "AT"]}},
                {"name": "keen-german", "rule": {"in_segment": "german"}},
            ]
        }
    )
    before = SegmentsConfig.model_validate(
        {"segments": [cfg.segments[0].model_dump(by_alias=True), {"name": "keen-german", "rule": {"in_segment": "german"}}]}
    )  # fmt: skip
    assert definition_hash(edited.segments[1]) != definition_hash(before.segments[1])

    bad = {
        "loop": ("{in_segment: b}", "refers back to itself (a -> b -> a)"),
        "unknown": ("{in_segment: zz}", "in_segment 'zz': no such dynamic segment"),
        "list": ("{in_segment: l}", "in_segment 'l': it is a list: use in_list"),
    }
    for case, (ref, message) in bad.items():
        text = (
            "segments:\n"
            "  - name: a\n"
            f"    rule: {{all: [{ref}]}}\n"
            "  - name: b\n"
            "    rule: {in_segment: a}\n"
            "lists: [{name: l}]\n"
        )
        path = tmp_path / f"{case}.yml"
        path.write_text(text)
        with pytest.raises(WorkspaceError) as err:
            load_model(path, SegmentsConfig)
        (problem,) = err.value.problems
        assert problem.where == f"{path}:3" and message in problem.message, (case, problem)
