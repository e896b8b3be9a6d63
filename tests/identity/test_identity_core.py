"""Pure parts: features, Fellegi-Sunter arithmetic, real-time decisions, survivorship."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from marketops.identity.config import ComparisonSpec, IdentityConfig, Survivorship
from marketops.identity.features import features, name_forms
from marketops.identity.model import CompiledComparison, MatchModel, default_model, levels_of
from marketops.identity.realtime import Candidate, blocking_keys, decide_match
from marketops.identity.survivorship import Member, golden

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_features_normalize_what_matching_compares() -> None:
    f = features(
        {
            "email": " Jane.Doe+news@Acme.example ",
            "first_name": "Zoë",
            "last_name": "O'Brien",
            "company": "Acme GmbH",
            "phone": "+44 20 7946 0958",
            "attributes": {"city": "London"},
        }
    )
    assert f["email"] == "jane.doe+news@acme.example"
    assert f["email_local"] == "janedoe" and f["email_domain"] == "acme.example"
    assert (f["first_name"], f["last_name"], f["company_key"]) == ("zoe", "obrien", "acme")
    assert f["phone"] == "+442079460958" and f["city"] == "london"
    assert "william" in name_forms("bill")


def test_match_weight_is_fellegi_sunter() -> None:
    # λ = 0.5 and one comparison agreeing with m = 0.9, u = 0.1: w = log2(9), p = 0.9
    spec = ComparisonSpec(column="last_name", kind="exact", thresholds=[])
    model = MatchModel(0.5, [CompiledComparison(spec, levels_of(spec), [0.9, 0.1], [0.1, 0.9])])
    w, p = model.score({"last_name": "x"}, {"last_name": "x"})
    assert w == pytest.approx(math.log2(9)) and p == pytest.approx(0.9)
    w, p = model.score({"last_name": "x"}, {"last_name": "y"})
    assert p == pytest.approx(0.1)
    w, p = model.score({"last_name": None}, {"last_name": "y"})  # null level: no evidence
    assert p == pytest.approx(0.5)


def test_levels_nickname_and_jaro_winkler() -> None:
    model = default_model(IdentityConfig())
    first = model.comparisons[0]
    f = lambda n: {"first_name": n, "first_names": list(name_forms(n))}  # noqa: E731
    assert first.level_of(f("william"), f("william")) == 0
    assert first.level_of(f("bill"), f("william")) == 1  # nickname
    assert first.level_of(f("martha"), f("marhta")) == 2  # jw 0.961 >= 0.92
    assert first.level_of(f("anna"), f("zoe")) == len(first.levels) - 1


def _cand(lead: str, ident: str, **rec: str) -> Candidate:
    return Candidate(lead, ident, features(rec))


def test_realtime_decision_links_bridges_or_starts_new() -> None:
    cfg = IdentityConfig()
    model = default_model(cfg)
    new = features(
        {
            "email": "bill.smith@gmail.com",
            "first_name": "Bill",
            "last_name": "Smith",
            "company": "Acme Inc",
        }
    )
    a = _cand(
        "l1",
        "i1",
        email="william.smith@acme.example",
        first_name="William",
        last_name="Smith",
        company="Acme",
    )
    b = _cand("l2", "i2", email="bill.smith@gmail.com", first_name="B", last_name="Smith")
    c = _cand("l3", "i3", email="ann@other.example", first_name="Ann", last_name="Smith")
    d = decide_match(new, [a, c], model, cfg)
    assert d.identity_id == "i1" and d.method == "model" and d.probability >= cfg.threshold
    d = decide_match(new, [a, b, c], model, cfg)
    assert d.identity_id == "i2" and d.method == "email" and d.probability == 1.0
    assert d.merge == ["i1"]  # the new record bridges two identities
    assert decide_match(new, [c], model, cfg).identity_id is None
    keys = blocking_keys(new, cfg)
    assert "=email:bill.smith@gmail.com" in keys and "last_name+first_initial:smith|b" in keys


def test_survivorship_rules_per_field() -> None:
    old = Member(
        "a",
        {
            "email": "a@x.example",
            "title": "CTO",
            "company": "Acme",
            "source": "crm",
            "phone_e164": "+15550001",
            "country": "US",
        },
        T0,
        T0,
        "crm",
    )
    new = Member(
        "b",
        {
            "email": "b@y.example",
            "title": "CEO",
            "company": None,
            "phone_e164": "+15550002",
            "source": "website",
        },
        T0 + timedelta(days=1),
        T0 + timedelta(days=1),
        "website",
    )
    cfg = Survivorship(
        default="most_recent",
        source_priority=["crm", "website"],
        fields={
            "email": {"rule": "never_overwrite"},
            "phone_e164": {"rule": "source_priority"},
            "country": {"rule": "most_complete"},
        },
    )
    g = golden([old, new], cfg)
    assert g["values"]["email"] == "a@x.example"  # never overwrite: the first stays
    assert g["values"]["title"] == "CEO"  # most recent non-empty
    assert g["values"]["company"] == "Acme"  # most recent is empty: the next one
    assert g["values"]["phone_e164"] == "+15550001"  # crm outranks website
    assert g["values"]["country"] == "US" and g["from"]["country"] == "a"  # most complete member


def test_validate_names_the_file_and_rule_for_unknown_columns(workspace_dir) -> None:
    from marketops.workspace import validate_workspace

    assert validate_workspace(workspace_dir) == []  # the template is valid
    (workspace_dir / "identity.yml").write_text(
        "blocking_rules: [[last_name, shoe_size]]\nthreshold: 1.5\n"
    )
    problems = [str(p) for p in validate_workspace(workspace_dir)]
    assert any("identity.yml" in p and "threshold" in p for p in problems), problems
    (workspace_dir / "identity.yml").write_text("blocking_rules: [[last_name, shoe_size]]\n")
    problems = [str(p) for p in validate_workspace(workspace_dir)]
    assert any("blocking_rules[0]" in p and "shoe_size" in p for p in problems), problems
