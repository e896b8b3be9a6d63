"""Each stage on its own: pure functions, no store."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from marketops.pipeline.dedupe import merge
from marketops.pipeline.enrich import LocalLookup, domain_flags, enrich
from marketops.pipeline.normalize import company_key, normalize, normalize_name, phone_e164
from marketops.pipeline.route import compile_routing, member_at, route, smooth_weighted_sequence
from marketops.pipeline.score import compile_scoring, score
from marketops.pipeline.suppress import SuppressionIndex, suppress
from marketops.pipeline.validate import validate
from marketops.workspace import Workspace
from marketops.workspace.models import Routing, Scoring

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def ws(workspace_dir: Path) -> Workspace:
    return Workspace.load(workspace_dir)


def test_validate_reports_every_problem_with_field_rule_value(ws: Workspace) -> None:
    issues = validate(
        {
            "email": "not-an-email",
            "activity": "carrier_pigeon",
            "employees": "lots",
            "source": "tv",
        },
        ws.contract,
    )
    by_field = {i.field: i for i in issues}
    assert by_field["email"].rule == "format" and by_field["email"].severity == "error"
    assert (
        by_field["activity"].rule == "validValues"
        and by_field["activity"].value == "carrier_pigeon"
    )
    assert by_field["employees"].rule == "type" and by_field["employees"].severity == "warning"
    assert by_field["source"].severity == "warning"
    missing = validate({"first_name": "Ann"}, ws.contract)
    assert [(i.field, i.rule) for i in missing] == [("email", "required")]


def test_validate_ranges_and_patterns(ws: Workspace) -> None:
    issues = validate(
        {"email": "a@b.example", "employees": "0", "phone": "call me maybe"}, ws.contract
    )
    rules = {(i.field, i.rule) for i in issues}
    assert ("employees", "minimum") in rules and ("phone", "pattern") in rules


def test_normalize_email_phone_country_names(ws: Workspace) -> None:
    lead = normalize(
        {
            "email": "  Jane.DOE@Example.COM ",
            "first_name": "  jane ",
            "last_name": "MCDONALD",
            "phone": "(415) 555-2671",
            "country": "United States",
            "company": "Acme Holdings, Inc.",
            "employees": "1,200",
            "utm_campaign": "spring",
        },
        [],
        NOW,
    )
    assert lead.email == "jane.doe@example.com"
    assert lead.email_original == "  Jane.DOE@Example.COM "
    assert lead.phone_e164 == "+14155552671"
    assert (lead.country, lead.region) == ("US", "NA")
    assert (lead.first_name, lead.last_name) == ("Jane", "McDonald")
    assert lead.company_key == "acme holdings"  # "Holdings" is a name, not a legal form
    assert lead.employees == 1200
    assert lead.attributes == {"utm_campaign": "spring"}


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("020 7946 0958", "GB", "+442079460958"),
        ("030 12345678", "DE", "+493012345678"),
        ("+33 1 42 68 53 00", None, "+33142685300"),
        ("12", "US", None),
        ("555-CALL-NOW", "US", None),
    ],
)
def test_phone_e164(phone: str, country: str | None, expected: str | None) -> None:
    assert phone_e164(phone, country) == expected


def test_country_forms_and_unknown() -> None:
    from marketops.pipeline.geo import country_code, region_of

    assert [country_code(v) for v in ["UK", "deu", "Deutschland", "jp", "Narnia"]] == [
        "GB",
        "DE",
        "DE",
        "JP",
        None,
    ]
    assert [region_of(c) for c in ["GB", "BR", "SG", "CA"]] == ["EMEA", "LATAM", "APAC", "NA"]


def test_names_keep_deliberate_case() -> None:
    assert normalize_name("van der Berg") == "van der Berg"
    assert normalize_name("o'brien") == "O'Brien"
    assert normalize_name("ANNE-MARIE") == "Anne-Marie"
    assert company_key("Tyrell GmbH") == "tyrell"
    assert (
        company_key("Wonka Industries plc") == company_key("WONKA INDUSTRIES") == "wonka industries"
    )


def test_domain_flags() -> None:
    assert domain_flags("bob@gmail.com") == {
        "free_mail": True,
        "disposable": False,
        "role_account": False,
    }
    assert domain_flags("x@mailinator.com")["disposable"] is True
    assert domain_flags("info@acme.example")["role_account"] is True


def test_enrich_fills_only_blanks_and_records_provenance(ws: Workspace) -> None:
    lookup = LocalLookup(ws.path("data/companies.csv"))
    lead = normalize({"email": "ann@acme.example", "industry": "Retail"}, [], NOW)
    enrich(lead, {"local": lookup.lookup({"acme.example"})})
    assert lead.company == "Acme Corporation" and lead.company_key == "acme"
    assert lead.industry == "Retail"  # kept: the person told us
    assert lead.employees == 5200 and lead.country == "US"
    assert lead.company_domain == "acme.example"
    assert lead.flags["enriched_by"] == {"local": ["company", "employees", "country"]}
    free = enrich(normalize({"email": "ann@gmail.com"}, [], NOW), {"local": lookup.table})
    assert free.company_domain is None and free.company is None


def test_suppression_by_list_and_consent() -> None:
    idx = SuppressionIndex.from_entries(
        [
            ("all", "email", "Legal@Acme.example"),
            ("sales", "domain", "competitor.example"),
            ("email", "email", "unsub@x.example"),
        ]
    )
    blocked, reasons = suppress(normalize({"email": "legal@acme.example"}, [], NOW), idx)
    assert blocked and reasons[0]["channel"] == "all"
    blocked, _ = suppress(normalize({"email": "spy@competitor.example"}, [], NOW), idx)
    assert blocked
    blocked, reasons = suppress(normalize({"email": "unsub@x.example"}, [], NOW), idx)
    assert not blocked and reasons == [
        {"channel": "email", "reason": "do-not-contact list (email)"}
    ]
    lead = normalize(
        {"email": "a@b.example", "consent_email": "false", "consent_phone": "no"}, [], NOW
    )
    assert suppress(lead, idx)[0] is True


def test_merge_records_consent_changes_per_channel() -> None:
    """A record that changes a channel's consent says so in its changes (the consent history
    `journey simulate` replays); a record that repeats it or says nothing does not."""
    first = normalize({"email": "a@b.example", "consent_email": "yes"}, [], NOW)
    again = normalize({"email": "a@b.example", "consent_email": "yes", "title": "CTO"}, [], NOW)
    _, changes = merge(first, again)
    assert changes == {"title": {"from": None, "to": "CTO"}}
    flip = normalize({"email": "a@b.example", "consent_email": "no", "consent_phone": "1"}, [], NOW)
    merged, changes = merge(first, flip)
    assert merged.consent == {"email": False, "phone": True}
    assert changes == {
        "consent_email": {"from": True, "to": False},
        "consent_phone": {"from": None, "to": True},
    }


def test_score_decay_caps_and_reasons() -> None:
    cfg = Scoring.model_validate(
        {
            "mql_threshold": 50,
            "decay": {"half_life_days": 30},
            "fit": [
                {
                    "name": "size",
                    "cap": 20,
                    "rules": [
                        {"field": "employees", "gte": 1000, "points": 15},
                        {"field": "industry", "in": ["Software"], "points": 10},
                    ],
                },
                {
                    "name": "junk",
                    "floor": 5,
                    "rules": [{"field": "free_mail", "is_true": True, "points": -10}],
                },
            ],
            "engagement": [
                {
                    "name": "intent",
                    "cap": 50,
                    "rules": [
                        {"activity": "demo_request", "points": 40},
                        {"activity": "pricing_page", "points": 10, "max_times": 2},
                    ],
                }
            ],
        }
    )
    compiled = compile_scoring(cfg)
    view = {"employees": 5000, "industry": "software", "free_mail": True}
    acts = [
        ("demo_request", NOW - timedelta(days=30)),  # one half-life: 40 -> 20
        ("pricing_page", NOW),
        ("pricing_page", NOW),
        ("pricing_page", NOW),
    ]
    result = score(view, acts, compiled, NOW)
    assert result.fit == 15  # 25 capped to 20, free mail -10 floored at -5
    assert result.engagement == pytest.approx(40.0)  # 20 + 10 + 10 (third pricing ignored)
    assert result.total == pytest.approx(55.0)
    rules = [(r["group"], r["rule"]) for r in result.reasons]
    assert ("size", "cap") in rules and ("junk", "cap") in rules
    assert sum(r["points"] for r in result.reasons) == pytest.approx(result.total)


def test_smooth_weighted_round_robin() -> None:
    assert smooth_weighted_sequence([("a", 2), ("b", 1)]) == ["a", "b", "a"]
    seq = smooth_weighted_sequence([("a", 5), ("b", 1), ("c", 1)])
    assert seq == ["a", "a", "b", "a", "c", "a", "a"]  # nginx's documented example


def test_route_first_match_intent_and_default() -> None:
    cfg = Routing.model_validate(
        {
            "queues": [
                {"name": "sdr", "members": [{"name": "x", "weight": 2}, {"name": "y"}]},
                {"name": "emea", "members": [{"name": "z"}]},
            ],
            "rules": [
                {
                    "name": "intent",
                    "when": [{"field": "message", "contains_any": ["pricing", "demo"]}],
                    "queue": "sdr",
                },
                {"name": "emea", "when": [{"field": "region", "equals": "EMEA"}], "queue": "emea"},
                {"name": "fallback", "owner": "catch.all"},
            ],
        }
    )
    compiled = compile_routing(cfg)
    a = route({"message": "Need PRICING asap", "region": "EMEA"}, compiled)
    assert (a.queue, a.rule, a.evaluated) == ("sdr", "intent", ["intent"])
    b = route({"message": "pricingless", "region": "EMEA"}, compiled)  # whole words only
    assert (b.queue, b.evaluated) == ("emea", ["intent", "emea"])
    c = route({"region": "NA"}, compiled)
    assert (c.owner, c.rule) == ("catch.all", "fallback")
    assert [member_at(compiled, "sdr", i) for i in range(6)] == ["x", "y", "x", "x", "y", "x"]


def test_lead_fields_keep_the_order_normalize_builds_them_in() -> None:
    """`normalize` builds a Lead positionally (keywords cost twice as much): pin the order."""
    from dataclasses import fields

    from marketops.pipeline.records import Lead

    assert [f.name for f in fields(Lead)] == [
        "email", "email_original", "first_name", "last_name", "title", "company",
        "company_key", "company_domain", "phone", "phone_e164", "country", "region",
        "industry", "employees", "source", "message", "activity", "occurred_at", "consent",
        "flags", "warnings", "attributes",
    ]  # fmt: skip
