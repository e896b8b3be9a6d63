"""Personalization tokens: each syntax with and without a fallback, guards, and typos."""

from __future__ import annotations

import pytest

from marketops.ops.preflight.config import DEFAULT_TOKEN_EXEMPT
from marketops.ops.preflight.tokens import scan_tokens


def issues(text: str) -> list[tuple[str, str, str]]:
    return [(i.kind, i.where, i.token) for i in scan_tokens(text, "t.html", DEFAULT_TOKEN_EXEMPT)]


@pytest.mark.parametrize(
    "token",
    [
        '{{ first_name | default: "there" }}',  # Liquid
        "{{first_name|default:'there'}}",
        '{{ contact.firstname|default("there") }}',  # HubL / Jinja
        '{{ first_name | d("there") }}',  # Jinja alias
        '{{ first_name or "there" }}',  # Jinja expression
        "{{lead.First Name:default=there}}",  # Marketo
        "{{lead.First Name:default=edit me}}",
        '{{insert first_name "default=there"}}',  # SendGrid
        "{{my.Webinar Date}}",  # Marketo program token: always set
        "{{system.unsubscribeLink}}",
        "{{unsubscribe_url}}",
        '{{ "now" | date: "%Y" }}',  # a literal, not a person's field
        "{{- first_name | default: 'there' -}}",  # whitespace control
    ],
)
def test_tokens_with_a_fallback_or_exempt_pass(token: str) -> None:
    assert issues(f"<p>Hi {token},</p>") == []


@pytest.mark.parametrize(
    "token",
    [
        "{{first_name}}",
        "{{ first_name }}",
        "{{lead.First Name}}",
        "{{insert first_name}}",
        "{{{first_name}}}",
        "{{ company | upcase }}",
    ],
)
def test_tokens_without_a_fallback_are_reported_where_they_are(token: str) -> None:
    text = f"<p>\n  Hi {token},</p>"
    assert issues(text) == [("fallback", "t.html:2:6", token)]


def test_handlebars_and_liquid_tags_are_not_tokens() -> None:
    text = "{{#each items}}{{this}}{{/each}}{{! note }}{{> footer}}{% raw %}"
    # `this` inside each is guarded by the block, the rest are tags
    assert issues(text) == []


def test_guarded_tokens_need_no_fallback_but_the_else_branch_does() -> None:
    liquid = "{% if first_name %}Hi {{ first_name }}{% else %}Hi {{ first_name }}{% endif %}"
    assert [i[2] for i in issues(liquid)] == ["{{ first_name }}"]
    assert issues(liquid)[0][1] == "t.html:1:52"
    handlebars = "{{#if first_name}}Hi {{first_name}}{{else}}Hi there{{/if}} {{last_name}}"
    assert [i[2] for i in issues(handlebars)] == ["{{last_name}}"]


def test_a_guard_on_another_name_does_not_cover_the_token() -> None:
    assert [i[2] for i in issues("{% if company %}{{ first_name }}{% endif %}")] == [
        "{{ first_name }}"
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("Hi {{first_name},", "t.html:1:4"),
        ("Hi {first_name}}!", "t.html:1:15"),
        ("a\nb {{ first_name | default: 'x' }", "t.html:2:3"),
    ],
)
def test_unbalanced_braces_are_malformed(text: str, where: str) -> None:
    assert ("malformed", where) in [(k, w) for k, w, _ in issues(text)]


def test_css_braces_are_not_malformed_tokens() -> None:
    html = "<style>@media (max-width:600px){ .a { width:100% }}</style><p>{{x|default:'y'}}</p>"
    assert issues(html) == []


def test_loop_variables_are_always_set() -> None:
    liquid = "{% for item in items %}{{ item.name }}{% endfor %} {{ item.name }}"
    assert [i[1] for i in issues(liquid)] == ["t.html:1:52"]  # 23 + 15 + 12 + 1 chars precede it
