"""The built-in GA4 default channel group, rule by rule.

Expected channels are derived by hand from the rule table transcribed from Google Analytics Help
9756891 "[GA4] Default channel group" (rules evaluated top-down, first match wins) and from the
dbt-ga4 source-category list (e.g. `google` is SOURCE_CATEGORY_SEARCH, `facebook` SOCIAL, `amazon`
SHOPPING, `youtube` VIDEO). Each rule has positive examples (the rule decides) and negative ones
(a near miss that must fall to another rule or to Unassigned).
"""

from __future__ import annotations

import pandas as pd
import pytest

from marketops.taxonomy.channels import classify, classify_many, default_ruleset
from marketops.taxonomy.ruleset import source_categories

# (rule id, source, medium, campaign, expected channel)
POSITIVE = [
    ("direct", "(direct)", "(none)", None, "Direct"),
    ("direct", "(direct)", "(not set)", None, "Direct"),
    ("cross_network", "google", "cpc", "q3_cross-network_pmax", "Cross-network"),
    ("cross_network", "foo", "bar", "Cross-Network launch", "Cross-network"),
    ("paid_shopping", "amazon", "cpc", None, "Paid Shopping"),
    ("paid_shopping", "foo", "paid", "black_shop_friday", "Paid Shopping"),
    ("paid_shopping", "foo", "ppc", "eshop", "Paid Shopping"),  # `e` may precede "shop"
    ("paid_search", "google", "cpc", None, "Paid Search"),
    ("paid_search", "bing", "ppc", None, "Paid Search"),
    ("paid_search", "google", "cpm", None, "Paid Search"),  # cpm matches .*cp.* before Display
    ("paid_social", "facebook", "paid_social", None, "Paid Social"),
    ("paid_social", "linkedin", "retargeting", None, "Paid Social"),
    ("paid_video", "youtube", "cpv", None, "Paid Video"),
    ("display", "foo", "display", None, "Display"),
    ("display", "foo", "banner", None, "Display"),
    ("display", "foo", "cpm", None, "Display"),
    ("display", "foo", "interstitial", None, "Display"),
    ("paid_other", "foo", "paid-promo", None, "Paid Other"),
    ("paid_other", "foo", "ppc", None, "Paid Other"),
    ("organic_shopping", "amazon", "referral", None, "Organic Shopping"),
    ("organic_shopping", "foo", "newsletter", "spring_shopping", "Organic Shopping"),
    ("organic_social", "facebook", "referral", None, "Organic Social"),
    ("organic_social", "foo", "social media", None, "Organic Social"),
    ("organic_social", "foo", "sm", None, "Organic Social"),
    ("organic_video", "youtube", "referral", None, "Organic Video"),
    ("organic_video", "youtube", "organic", None, "Organic Video"),  # before Organic Search
    ("organic_video", "foo", "video_launch", None, "Organic Video"),
    ("organic_search", "google", "organic", None, "Organic Search"),
    ("organic_search", "foo", "organic", None, "Organic Search"),
    ("organic_search", "google", "referral", None, "Organic Search"),  # before Referral
    ("referral", "foo.com", "referral", None, "Referral"),
    ("referral", "foo", "app", None, "Referral"),
    ("referral", "foo", "link", None, "Referral"),
    ("email", "newsletter", "email", None, "Email"),
    ("email", "e-mail", "foo", None, "Email"),
    ("email", "foo", "E_Mail", None, "Email"),
    ("email", "foo", "e mail", None, "Email"),
    ("affiliates", "foo", "affiliate", None, "Affiliates"),
    ("audio", "podcastco", "audio", None, "Audio"),
    ("sms", "sms", "foo", None, "SMS"),
    ("sms", "foo", "sms", None, "SMS"),
    ("mobile_push", "foo", "web-push", None, "Mobile Push Notifications"),
    ("mobile_push", "foo", "mobile-app", None, "Mobile Push Notifications"),
    ("mobile_push", "foo", "notification", None, "Mobile Push Notifications"),
    ("mobile_push", "firebase", "foo", None, "Mobile Push Notifications"),
]

# (rule id whose near miss this is, source, medium, campaign, expected channel)
NEGATIVE = [
    ("direct", "(direct)", "referral", None, "Referral"),
    ("direct", "direct", "(none)", None, "Unassigned"),
    ("cross_network", "google", "cpc", "crossnetwork", "Paid Search"),
    ("paid_shopping", "amazon", "organic", None, "Organic Shopping"),
    ("paid_shopping", "foo", "cpc", "workshop_q1", "Paid Other"),  # `k` before "shop"
    ("paid_search", "google", "organic", None, "Organic Search"),
    ("paid_search", "google", "pay", None, "Organic Search"),
    ("paid_social", "facebook", "social", None, "Organic Social"),
    ("paid_video", "youtube", "referral", None, "Organic Video"),
    ("display", "foo", "displays", None, "Unassigned"),
    ("paid_other", "foo", "pay", None, "Unassigned"),
    ("organic_shopping", "foo", "referral", "workshop", "Referral"),
    ("organic_social", "foo", "socials", None, "Unassigned"),
    ("organic_video", "foo", "vid", None, "Unassigned"),
    ("organic_search", "foo", "organic-social", None, "Unassigned"),
    ("referral", "foo", "links", None, "Unassigned"),
    ("email", "foo", "newsletter-email", None, "Unassigned"),  # exact reading, see docs
    ("affiliates", "foo", "affiliates", None, "Unassigned"),  # older versions accepted it
    ("audio", "foo", "audio-ad", None, "Unassigned"),
    ("sms", "foo", "sms-blast", None, "Unassigned"),
    ("mobile_push", "foo", "pushed", None, "Unassigned"),
    ("mobile_push", "firebase.io", "foo", None, "Unassigned"),
]


@pytest.mark.parametrize(("rule", "source", "medium", "campaign", "expected"), POSITIVE)
def test_rule_positive(
    rule: str, source: str, medium: str, campaign: str | None, expected: str
) -> None:
    channel, decided_by = default_ruleset().explain(source, medium, campaign)
    assert (channel, decided_by) == (expected, rule)


@pytest.mark.parametrize(("rule", "source", "medium", "campaign", "expected"), NEGATIVE)
def test_rule_negative(
    rule: str, source: str, medium: str, campaign: str | None, expected: str
) -> None:
    channel, decided_by = default_ruleset().explain(source, medium, campaign)
    assert decided_by != rule
    assert channel == expected


def test_every_rule_of_the_spec_is_covered_both_ways() -> None:
    ids = set(default_ruleset().rule_ids) - {""}
    assert len(ids) == 18  # the spec's table has 18 rules before Unassigned
    assert {r[0] for r in POSITIVE} == ids
    assert {r[0] for r in NEGATIVE} == ids


def test_ruleset_carries_a_version() -> None:
    rs = default_ruleset()
    assert rs.name == "ga4-default"
    assert rs.version == "2023-11-04"
    assert rs.label == "ga4-default@2023-11-04"


def test_matching_is_case_insensitive_including_mixed_case_list_entries() -> None:
    assert classify("Google", "CPC") == "Paid Search"
    # the CSV lists "Google Shopping" and "IGShopping" with capitals
    assert classify("google shopping", "organic") == "Organic Shopping"
    assert classify("IGSHOPPING", "cpc") == "Paid Shopping"


def test_missing_values_read_as_ga4_shows_them() -> None:
    assert classify(None, None) == "Direct"
    assert classify("", "") == "Direct"
    assert classify(None, "cpc") == "Paid Other"  # source (not set), paid medium
    assert classify("google", None) == "Organic Search"  # medium (not set), search source
    assert classify("foo", None) == "Unassigned"
    assert classify(float("nan"), float("nan")) == "Direct"  # type: ignore[arg-type]


def test_values_are_not_trimmed_as_ga4_does_not_trim() -> None:
    assert classify("google ", "cpc") == "Paid Other"


def test_source_category_list_is_the_packaged_csv() -> None:
    cats = source_categories()
    assert set(cats) == {
        "SOURCE_CATEGORY_SEARCH",
        "SOURCE_CATEGORY_SOCIAL",
        "SOURCE_CATEGORY_SHOPPING",
        "SOURCE_CATEGORY_VIDEO",
    }
    assert "360.cn" in cats["SOURCE_CATEGORY_SEARCH"]  # first data row of the CSV
    assert "igshopping" in cats["SOURCE_CATEGORY_SHOPPING"]


def test_license_ships_beside_the_list() -> None:
    from importlib import resources

    text = (
        resources.files("marketops.taxonomy.data")
        .joinpath("LICENSE-source-categories.txt")
        .read_text("utf-8")
    )
    assert "MIT License" in text


def test_batch_forms_agree_with_single_row() -> None:
    rows = [(s, m, c) for _, s, m, c, _ in POSITIVE + NEGATIVE] * 3 + [(None, None, None)]
    sources, mediums, campaigns = (list(col) for col in zip(*rows, strict=True))
    single = [classify(s, m, c) for s, m, c in rows]
    assert classify_many(sources, mediums, campaigns) == single
    frame = pd.DataFrame({"source": sources, "medium": mediums, "campaign": campaigns})
    assert default_ruleset().classify_frame(frame).tolist() == single


def test_batch_without_campaign_column() -> None:
    frame = pd.DataFrame({"source": ["google", "amazon"], "medium": ["cpc", "cpc"]})
    assert default_ruleset().classify_frame(frame, campaign=None).tolist() == [
        "Paid Search",
        "Paid Shopping",
    ]
    assert classify_many(["google"], ["organic"]) == ["Organic Search"]


def test_sql_form_agrees_with_python_on_every_example() -> None:
    import duckdb

    from marketops.taxonomy.channels_sql import channel_case_sql, classify_query

    rows = [(s, m, c) for _, s, m, c, _ in POSITIVE + NEGATIVE]
    rows += [
        (None, None, None),
        ("", "", ""),
        (None, "cpc", None),
        ("google", None, None),
        ("Google", "CPC", "O'Brien shop"),
        ("(DIRECT)", None, None),
    ]
    frame = pd.DataFrame(rows, columns=["source", "medium", "campaign"])
    frame["i"] = range(len(frame))
    con = duckdb.connect()
    con.register("t", frame)
    got = [r[0] for r in con.execute(f"SELECT {channel_case_sql()} FROM t ORDER BY i").fetchall()]
    expected = [classify(s, m, c) for s, m, c in rows]
    assert got == expected
    query = classify_query("t", channel_column="ch")
    result = con.execute(f"SELECT i, ch FROM ({query}) ORDER BY i").fetchall()
    assert [ch for _, ch in result] == expected


def test_many_distinct_campaigns_stay_correct_past_the_regex_memo() -> None:
    # 70,000 distinct campaigns overflow the per-regex memo (65,536 values) and it restarts;
    # every 7th campaign contains "_shop" ($shop matches), so with a paid medium it is
    # Paid Shopping (rule 3), else Paid Other (rule 8).
    campaigns = [f"c{i}_shop" if i % 7 == 0 else f"c{i}" for i in range(70_000)]
    got = classify_many(["foo"] * len(campaigns), ["cpc"] * len(campaigns), campaigns)
    assert got == ["Paid Shopping" if i % 7 == 0 else "Paid Other" for i in range(70_000)]
