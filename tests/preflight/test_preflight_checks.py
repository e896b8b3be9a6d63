"""Each check over real documents: a passing case and a failing case, with the location."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketops.ops.preflight import (
    PreflightConfig,
    Report,
    Severity,
    load_document,
    parse_document,
    run_preflight,
)

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = (FIXTURES / "good.html").read_text()


def check(html: str, config: PreflightConfig | None = None, *, page: bool = False) -> Report:
    return run_preflight(parse_document(html, "t.html", page=page), config or PreflightConfig())


def found(report: Report, name: str) -> list[tuple[str, str]]:
    return [(f.where, f.message) for f in report.findings if f.check == name]


def test_the_good_fixtures_can_ship_with_no_findings() -> None:
    for name in ("good.html", "good.eml"):
        report = run_preflight(load_document(FIXTURES / name), PreflightConfig())
        assert report.findings == [], name
        assert report.can_ship


def test_the_bad_fixture_cannot_ship() -> None:
    report = run_preflight(load_document(FIXTURES / "bad.html"), PreflightConfig())
    assert not report.can_ship
    assert {"link_syntax", "unsubscribe", "postal_address", "token_fallback", "utm"} <= {
        f.check for f in report.blockers
    }
    assert report.to_dict()["blockers"] == len(report.blockers)
    # blockers are listed first
    assert report.to_dict()["findings"][0]["severity"] == "blocker"


# --- links ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("href", "reason"),
    [
        ("", "empty link"),
        ("#", "placeholder"),
        ("javascript:void(0)", "javascript"),
        ("mailto:", "mailto: without a valid address"),
        ("/pricing", "relative"),
        ("https://www.acme.example/a b", "whitespace"),
        ("https://exa_mple..com/", "not a valid"),
        ("https:///path", "no host"),
        ("https://acme.example:99999/", "not a valid URL"),
    ],
)
def test_link_syntax_problems_are_blockers_at_the_tag(href: str, reason: str) -> None:
    html = GOOD.replace("<p>Our November", f'<p><a href="{href}">x</a></p>\n<p>Our November')
    problems = found(check(html), "link_syntax")
    assert len(problems) == 1 and reason in problems[0][1]
    assert problems[0][0] == "t.html:16:8"


@pytest.mark.parametrize(
    "href",
    [
        "#section-2",
        "mailto:help@acme.example?subject=Hi",
        "tel:+1-555-010-0199",
        "https://www.acme.example/p?e={{email}}",
        "{{unsubscribe_url}}",
        "https://bücher.example/",
    ],
)
def test_valid_links_pass_syntax(href: str) -> None:
    html = GOOD.replace("<p>Our November", f'<p><a href="{href}">x</a></p>\n<p>Our November')
    assert found(check(html), "link_syntax") == []


def test_http_links_are_insecure() -> None:
    html = GOOD.replace(
        'src="https://cdn.acme.example/logo.png"', 'src="http://cdn.acme.example/logo.png"'
    )
    assert found(check(html), "link_insecure") == [
        ("t.html:13:11", "http://cdn.acme.example/logo.png is not https")
    ]


def test_links_outside_the_allowlist_are_reported_and_not_fetched() -> None:
    config = PreflightConfig.model_validate({"links": {"allow_domains": ["acme.example"]}})
    assert found(check(GOOD, config), "link_domain") == []  # www. and cdn. are subdomains
    html = GOOD.replace("https://cdn.acme.example/logo.png", "https://other.example/logo.png")
    assert [w for w, _ in found(check(html, config), "link_domain")] == ["t.html:13:11"]


# --- UTMs (fallback rule: the taxonomy module is tested in test_preflight_links) -------------------
def test_utm_missing_and_uppercase_values() -> None:
    html = GOOD.replace("utm_source=newsletter&amp;", "").replace(
        "utm_campaign=2026-11_product_update", "utm_campaign=Nov_Update"
    )
    messages = [m for _, m in found(check(html), "utm")]
    assert messages == [
        "utm_source is missing or empty",
        "utm_campaign='Nov_Update' is not lowercase",
    ]


def test_utm_only_for_configured_domains_and_not_for_unsubscribe_links() -> None:
    html = GOOD.replace(
        '<a href="{{unsubscribe_url}}">', '<a href="https://mail.esp.example/unsub?id=1">'
    )
    assert found(check(html), "utm") == []  # the unsubscribe link needs no UTMs
    html = GOOD.replace(
        "?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=2026-11_product_update", ""
    )
    assert len(found(check(html), "utm")) == 3
    only_other = PreflightConfig.model_validate({"utm": {"domains": ["other.example"]}})
    assert found(check(html, only_other), "utm") == []


# --- CAN-SPAM ------------------------------------------------------------------------------------
def test_unsubscribe_link_required() -> None:
    html = (
        GOOD.replace('<a href="{{unsubscribe_url}}">Unsubscribe</a>', "")
        .replace("Manage preferences", "Our blog")
        .replace("/preferences", "/blog")
    )
    assert found(check(html), "unsubscribe") == [("t.html", "no unsubscribe link found")]


@pytest.mark.parametrize(
    "link",
    [
        '<a href="https://esp.example/u/9">Opt out</a>',
        '<a href="https://esp.example/unsubscribe">here</a>',
        '<a href="*|UNSUB|*">Leave this list</a>',
        '<a href="https://x.example/a"><img src="https://x.example/u.png" alt="Unsubscribe"></a>',
    ],
)
def test_unsubscribe_found_by_text_url_merge_tag_or_alt(link: str) -> None:
    html = (
        GOOD.replace('<a href="{{unsubscribe_url}}">Unsubscribe</a>', link)
        .replace("Manage preferences", "Our blog")
        .replace("/preferences", "/blog")
    )
    assert found(check(html), "unsubscribe") == []


def test_postal_address_required_in_visible_text() -> None:
    no_address = GOOD.replace(
        "Acme Analytics, Inc., 100 Main Street, Suite 400, Springfield, IL 62701", "Acme Analytics"
    )
    assert found(check(no_address), "postal_address") != []
    hidden = no_address.replace(
        "<br>", '<span style="display:none">100 Main Street, Springfield, IL 62701</span><br>', 1
    )
    assert found(check(hidden), "postal_address") != []


@pytest.mark.parametrize(
    "address",
    [
        "PO Box 1234, Springfield",
        "10 Downing Street, London",
        "Acme Ltd, London SW1A 2AA",
        "Acme Inc., Toronto, ON M5V 3L9",
        "Springfield, IL 62701-1234",
        "*|LIST:ADDRESS|*",
    ],
)
def test_postal_address_formats(address: str) -> None:
    html = GOOD.replace(
        "Acme Analytics, Inc., 100 Main Street, Suite 400, Springfield, IL 62701", address
    )
    assert found(check(html), "postal_address") == []


def test_text_part_needs_unsubscribe_and_address_too() -> None:
    raw = (FIXTURES / "good.eml").read_text().replace("Unsubscribe: {{unsubscribe_url}}", "Thanks!")
    report = run_preflight(parse_document(raw, "m.eml"), PreflightConfig())
    assert found(report, "unsubscribe") == [("m.eml[text/plain]", "no unsubscribe link found")]


# --- headers (.eml) ------------------------------------------------------------------------------
def test_rfc8058_headers_missing() -> None:
    report = run_preflight(load_document(FIXTURES / "no_list_headers.eml"), PreflightConfig())
    assert found(report, "list_unsubscribe") == [
        ("no_list_headers.eml:1", "no List-Unsubscribe header")
    ]
    assert found(report, "list_unsubscribe_post") == [
        ("no_list_headers.eml:1", "no List-Unsubscribe-Post header")
    ]


def test_rfc8058_headers_wrong() -> None:
    report = run_preflight(load_document(FIXTURES / "bad_list_headers.eml"), PreflightConfig())
    assert found(report, "list_unsubscribe") == [
        (
            "bad_list_headers.eml:5",
            "List-Unsubscribe has no https URI (found: mailto:unsubscribe@acme.example)",
        )
    ]
    assert found(report, "list_unsubscribe_post") == [
        ("bad_list_headers.eml:6", "List-Unsubscribe-Post is 'One-Click'")
    ]
    assert report.checks_failed() == {"list_unsubscribe", "list_unsubscribe_post"}


def test_rfc8058_headers_present() -> None:
    report = run_preflight(load_document(FIXTURES / "good.eml"), PreflightConfig())
    assert not {"list_unsubscribe", "list_unsubscribe_post"} & report.checks_failed()


def test_subject_required() -> None:
    raw = (
        (FIXTURES / "bad_list_headers.eml")
        .read_text()
        .replace("Subject: Your trial ends soon\n", "")
    )
    report = run_preflight(parse_document(raw, "m.eml"), PreflightConfig())
    assert found(report, "subject") == [("m.eml:1", "the message has no subject")]
    assert (
        found(
            run_preflight(load_document(FIXTURES / "bad_list_headers.eml"), PreflightConfig()),
            "subject",
        )
        == []
    )


def test_header_checks_do_not_apply_to_html_files() -> None:
    assert not {"list_unsubscribe", "subject"} & check(GOOD).checks_failed()


# --- images, size, preheader ---------------------------------------------------------------------
def test_images_need_alt_text() -> None:
    html = GOOD.replace(' alt="Acme"', "")
    assert found(check(html), "img_alt") == [("t.html:13:11", "image has no alt attribute")]
    empty = GOOD.replace(' alt="Acme"', ' alt=""')
    assert found(check(empty), "img_alt_empty") == [
        ("t.html:13:11", "content image has empty alt text")
    ]
    # the 1x1 spacer in GOOD has alt="" and is fine
    assert found(check(GOOD), "img_alt_empty") == []


def pad(html: str, size: int) -> str:
    filler = "<!--" + "x" * (size - len(html.encode()) - 7) + "-->"
    out = html.replace("</body>", filler + "</body>")
    assert len(out.encode()) == size
    return out


def test_gmail_clipping_threshold() -> None:
    assert found(check(pad(GOOD, 102_000)), "html_size") == []
    assert found(check(pad(GOOD, 102_000)), "html_size_near") != []
    big = check(pad(GOOD, 102_001))
    assert [w for w, _ in found(big, "html_size")] == ["t.html"]
    assert not big.can_ship
    assert found(check(pad(GOOD, 92_000)), "html_size_near") == []


def test_size_thresholds_are_configurable() -> None:
    config = PreflightConfig.model_validate({"size": {"clip_bytes": 1000, "warn_bytes": 500}})
    assert found(check(GOOD, config), "html_size") != []


def test_preheader() -> None:
    assert found(check(GOOD), "preheader") == []
    # no class, but hidden text before the first visible text still is a preheader
    unnamed = GOOD.replace('class="preheader" ', "")
    assert found(check(unnamed), "preheader") == []
    missing = GOOD.replace(
        '<div class="preheader" style="display:none;max-height:0;overflow:hidden;">'
        "Three new reports, and a faster dashboard.</div>",
        "",
    )
    assert [w for w, _ in found(check(missing), "preheader")] == ["t.html:10:1"]


# --- tokens and spam -----------------------------------------------------------------------------
def test_token_findings_in_html_and_subject() -> None:
    html = GOOD.replace('{{ first_name | default: "there" }}', "{{first_name}}")
    assert [w for w, _ in found(check(html), "token_fallback")] == ["t.html:15:11"]
    report = run_preflight(load_document(FIXTURES / "no_list_headers.eml"), PreflightConfig())
    assert [w for w, _ in found(report, "token_fallback")] == ["no_list_headers.eml:3 (Subject)"]
    typo = GOOD.replace('{{ first_name | default: "there" }}', "{{first_name}")
    assert [w for w, _ in found(check(typo), "token_malformed")] == ["t.html:15:11"]


def test_spam_phrases_with_location_and_word_boundaries() -> None:
    html = GOOD.replace("brings three new reports.", "brings three new reports. Act NOW!")
    assert found(check(html), "spam_phrase") == [("t.html:16:55", "spam-trigger phrase 'Act NOW'")]
    # "urgently" is not "urgent"
    assert found(check(GOOD.replace("three new", "urgently needed")), "spam_phrase") == []
    raw = (
        (FIXTURES / "bad_list_headers.eml")
        .read_text()
        .replace("Subject: Your trial ends soon", "Subject: URGENT: your trial ends")
    )
    report = run_preflight(parse_document(raw, "m.eml"), PreflightConfig())
    assert found(report, "spam_phrase") == [("m.eml:3 (Subject)", "spam-trigger phrase 'URGENT'")]


def test_mime_defects_are_reported() -> None:
    raw = (
        b"From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="zz"\n\n'
        b"--zz\nContent-Type: text/html\n\n<p>hi</p>\n"
    )
    report = run_preflight(parse_document(raw, "cut.eml"), PreflightConfig())
    assert found(report, "eml_defect") != []
    assert (
        found(run_preflight(load_document(FIXTURES / "good.eml"), PreflightConfig()), "eml_defect")
        == []
    )


# --- configuration -------------------------------------------------------------------------------
def test_severities_are_configurable() -> None:
    html = GOOD.replace(' alt="Acme"', "")
    assert check(html).can_ship  # missing alt is a warning by default
    strict = PreflightConfig.model_validate({"checks": {"img_alt": "blocker"}})
    assert not check(html, strict).can_ship
    off = PreflightConfig.model_validate({"checks": {"img_alt": "off"}})
    assert check(html, off).findings == []
    assert strict.severity("img_alt") is Severity.BLOCKER


def test_landing_pages_skip_email_only_checks() -> None:
    page = "<html><body><h1>Pricing</h1><img src='https://x.example/a.png'></body></html>"
    report = check(page, page=True)
    assert report.checks_failed() == {"img_alt"}
    assert {"unsubscribe", "postal_address", "preheader"} <= check(page).checks_failed()


def test_unquoted_yaml_off_turns_a_check_off(tmp_path: Path) -> None:
    from marketops.workspace.yamlfile import load_model

    path = tmp_path / "preflight.yml"
    path.write_text("checks:\n  spam_phrase: off\n  img_alt: blocker\n")
    config = load_model(path, PreflightConfig)
    assert config.severity("spam_phrase") is Severity.OFF
    assert config.severity("img_alt") is Severity.BLOCKER
    assert config.severity("preheader") is Severity.WARNING  # default kept
