"""check_url / build_url against a taxonomy: each kind of rule, and URL handling."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from marketops.errors import MarketopsError, Problem
from marketops.taxonomy import Taxonomy, load_taxonomy
from marketops.taxonomy.utm import build_url, check_url, is_internal

TEMPLATES = Path(__file__).parents[2] / "src" / "marketops" / "workspace" / "templates"
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
GOOD = "https://shop.io/p?utm_source=google&utm_medium=cpc&utm_campaign=2025-01_leads_smb"


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy(TEMPLATES / "taxonomy.yml")


def fields(problems: list[Problem]) -> list[str]:
    return [p.where for p in problems]


def test_a_compliant_url_has_no_problem(tax: Taxonomy) -> None:
    assert check_url(GOOD, tax) == []


def test_required_parameters(tax: Taxonomy) -> None:
    problems = check_url("https://shop.io/p?utm_source=google", tax)
    assert sorted(fields(problems)) == ["utm_campaign", "utm_medium"]
    medium = next(p for p in problems if p.where == "utm_medium")
    assert "required" in medium.message and "cpc" in medium.hint  # lists the allowed values


def test_normalisation_with_the_fix(tax: Taxonomy) -> None:
    [p] = check_url(GOOD.replace("=google", "=%20Google%20"), tax)
    assert (p.where, p.hint) == ("utm_source", "use 'google'")
    [p] = check_url(
        GOOD.replace("2025-01_leads_smb", "2025-01_leads_smb+").replace(
            "utm_source=google", "utm_source=go+ogle"
        ),
        tax,
    )[:1]
    assert p.where == "utm_source"


def test_spaces_become_the_replacement(tax: Taxonomy) -> None:
    problems = check_url(GOOD + "&utm_content=spring+hero", tax)
    assert [(p.where, p.hint) for p in problems] == [("utm_content", "use 'spring_hero'")]


def test_charset(tax: Taxonomy) -> None:
    problems = check_url(GOOD + "&utm_term=shoes%21%3F", tax)
    [p] = [p for p in problems if p.where == "utm_term"]
    assert "'!' '?'" in p.message
    assert "'shoes'" in p.hint


def test_allowed_values_suggest_the_closest(tax: Taxonomy) -> None:
    [p] = check_url(GOOD.replace("=google", "=gogle"), tax)
    assert p.hint == "use 'google'"
    [p] = check_url(GOOD.replace("=google", "=tiktok"), tax)
    assert p.hint.startswith("allowed: google, bing, linkedin")


def test_pattern_and_max_length(tax: Taxonomy) -> None:
    problems = check_url(GOOD + "&utm_content=" + "a" * 41 + "&utm_term=" + "b" * 101, tax)
    assert sorted(fields(problems)) == ["utm_content", "utm_term"]
    assert "101 characters long (max 100)" in next(
        p.message for p in problems if p.where == "utm_term"
    )


def test_template_parts_are_named_with_fixes(tax: Taxonomy) -> None:
    problems = check_url(GOOD.replace("2025-01_leads_smb", "2025-13_lead_smb"), tax)
    assert [(p.where, p.message.split(":")[0], p.hint) for p in problems] == [
        ("utm_campaign", "{mm}", "a 2-digit month, 01 to 12"),
        ("utm_campaign", "{objective}", "use 'leads'"),
    ]
    [p] = check_url(GOOD.replace("2025-01_leads_smb", "springsale"), tax)
    assert "does not follow the template" in p.message


def test_dependent_picklist(tax: Taxonomy) -> None:
    # the shipped taxonomy: utm_medium=cpc allows only google or bing as utm_source
    [p] = check_url(GOOD.replace("=google", "=linkedin"), tax)
    assert p.where == "utm_source"
    assert "utm_medium=cpc" in p.message and p.hint.endswith("google, bing")
    # a value that needs normalising is judged, normalised, by the dependency too
    problems = check_url(GOOD.replace("=google", "=LinkedIn"), tax)
    assert [(p.where, p.hint) for p in problems] == [
        ("utm_source", "use 'linkedin'"),
        ("utm_source", "allowed when utm_medium=cpc: google, bing"),
    ]
    ok = GOOD.replace("=google", "=linkedin").replace("=cpc", "=paid_social")
    assert check_url(ok, tax) == []


def test_dependency_require_and_forbid() -> None:
    tax = Taxonomy.model_validate(
        {
            "depends": [
                {
                    "when": {"utm_medium": ["cpc", "ppc"]},
                    "require": ["utm_term"],
                    "forbid": ["utm_id"],
                }
            ]
        }
    )
    problems = check_url("https://a.io/?utm_medium=CPC&utm_id=1", tax)
    assert sorted((p.where, p.hint) for p in problems) == [
        ("utm_id", "remove utm_id"),
        ("utm_medium", "use 'cpc'"),
        ("utm_term", "add utm_term"),
    ]


def test_unknown_and_duplicate_parameters(tax: Taxonomy) -> None:
    problems = check_url(GOOD + "&utm_souce=x&utm_medium=cpc", tax)
    assert sorted((p.where, p.hint) for p in problems) == [
        ("utm_medium", "keep exactly one"),
        ("utm_souce", "did you mean 'utm_source'?"),
    ]
    lenient = tax.model_copy(update={"allow_unknown_parameters": True})
    assert fields(check_url(GOOD + "&utm_extra=x", lenient)) == []


def test_non_utm_parameters_are_not_judged(tax: Taxonomy) -> None:
    assert check_url(GOOD + "&gclid=ABC&Ref=Some%20Thing", tax) == []


def test_internal_links_must_not_be_tagged(tax: Taxonomy) -> None:
    problems = check_url(
        "https://www.Example.com/pricing?utm_source=google&utm_medium=cpc&x=1", tax
    )
    assert fields(problems) == ["utm_source", "utm_medium"]
    assert all("internal" in p.message for p in problems)
    assert check_url("https://example.com/pricing?x=1", tax) == []
    assert not is_internal("notexample.com", tax)
    assert is_internal("blog.example.com", tax)


def test_not_a_url(tax: Taxonomy) -> None:
    for bad in ("example.com/p?utm_source=google", "mailto:a@b.c", "https://a.io:99999/"):
        [p] = check_url(bad, tax)
        assert p.where == "url"


def test_build_keeps_query_and_fragment_without_double_encoding(tax: Taxonomy) -> None:
    base = "https://shop.io/a%2Fb?q=red+shoes&path=%2Fx%2Fy&utm_source=old&empty=#section?tab=2"
    url = build_url(
        base,
        {"utm_source": " Google ", "utm_medium": "CPC", "utm_campaign": "2025-03_leads_smb"},
        tax,
    )
    assert url == (
        "https://shop.io/a%2Fb?q=red+shoes&path=%2Fx%2Fy&utm_source=google&empty="
        "&utm_medium=cpc&utm_campaign=2025-03_leads_smb#section?tab=2"
    )
    assert check_url(url, tax) == []


def test_build_encodes_new_values_once(tax: Taxonomy) -> None:
    lenient = tax.model_copy(
        update={"charset": None, "parameters": {}, "required": [], "depends": []}
    )
    url = build_url("https://a.io/", {"utm_term": "a&b=c/d é"}, lenient)
    assert url == "https://a.io/?utm_term=a%26b%3Dc%2Fd_%C3%A9"
    assert parse_qsl(urlsplit(url).query) == [("utm_term", "a&b=c/d_é")]


def test_build_renders_the_campaign_template_from_parts_and_now(tax: Taxonomy) -> None:
    url = build_url(
        "https://shop.io/",
        {"utm_source": "bing", "utm_medium": "cpc"},
        tax,
        parts={"objective": "pipeline", "audience": "enterprise"},
        now=NOW,
    )
    assert url.endswith("utm_campaign=2025-03_pipeline_enterprise")


def test_build_says_which_rule_blocks(tax: Taxonomy) -> None:
    with pytest.raises(MarketopsError) as info:
        build_url(
            "https://shop.io/",
            {"utm_source": "linkedin", "utm_medium": "cpc", "utm_campaign": "2025-03_leads_smb"},
            tax,
        )
    assert fields(info.value.problems) == ["utm_source"]
    with pytest.raises(MarketopsError) as info:
        build_url(
            "https://shop.io/",
            {"utm_source": "bing", "utm_medium": "cpc"},
            tax,
            parts={"objective": "leads", "region": "emea"},
            now=NOW,
        )
    messages = [p.message for p in info.value.problems]
    assert any("needs {audience}" in m for m in messages)
    assert any("has no {region}" in m for m in messages)
    with pytest.raises(MarketopsError):
        build_url(
            "https://www.example.com/",
            {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "2025-03_leads_smb"},
            tax,
        )
    with pytest.raises(MarketopsError):
        build_url("not a url", {}, tax)
