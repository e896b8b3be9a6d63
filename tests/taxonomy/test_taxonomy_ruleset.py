"""Custom channel rulesets (workspace channels.yml): extend, override, insert, disable, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketops.errors import WorkspaceError
from marketops.taxonomy.channels import classify, load_ruleset
from marketops.taxonomy.ruleset import ChannelsFile, describe

TEMPLATES = Path(__file__).parents[2] / "src" / "marketops" / "workspace" / "templates"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_channels_yml_is_the_builtin() -> None:
    rs = load_ruleset(TEMPLATES / "channels.yml")
    assert rs.label == "ga4-default@2023-11-04"
    assert rs.classify("google", "cpc") == "Paid Search"


def test_shipped_example_customisations() -> None:
    rs = load_ruleset(TEMPLATES / "channels.example.yml")
    assert rs.label == "acme-channels@2025.1 (extends ga4-default@2023-11-04)"
    assert rs.explain("g2", "referral") == ("Partners", "partners")  # before Referral
    assert rs.classify("foo", "partner") == "Partners"
    assert rs.classify("bsky.app", "cpc") == "Paid Social"  # added to the social list
    assert rs.classify("foo", "newsletter-email") == "Email"  # contains reading
    assert rs.classify("foo", "paid-x") == "Paid - Other"  # renamed, same condition
    assert rs.classify("foo", "audio") == "Unassigned"  # disabled
    ids = list(rs.rule_ids)
    assert ids.index("partners") == ids.index("referral") - 1
    # the built-in is untouched by the customisation
    assert classify("g2", "referral") == "Referral"
    assert classify("foo", "paid-x") == "Paid Other"


def test_after_and_move_and_replace_list(tmp_path: Path) -> None:
    rs = load_ruleset(
        write(
            tmp_path,
            """
extends: ga4-default
version: 7
lists:
  search: {values: [duckduckgo]}
rules:
  - id: events
    channel: Events
    after: direct
    when: {field: medium, starts_with: event}
  - id: email
    before: direct
""",
        )
    )
    assert rs.version == "7"
    assert rs.rule_ids[:3] == ("email", "direct", "events")
    assert rs.classify("foo", "event-booth") == "Events"
    assert rs.classify("duckduckgo", "cpc") == "Paid Search"
    assert rs.classify("google", "cpc") == "Paid Other"  # google no longer in the search list


def test_standalone_ruleset_with_not(tmp_path: Path) -> None:
    rs = load_ruleset(
        write(
            tmp_path,
            """
name: tiny
version: "1"
default_channel: Other
rules:
  - id: paid
    channel: Paid
    when:
      all:
        - {field: medium, in: [cpc, ppc]}
        - not: {field: source, equals: internal}
""",
        )
    )
    assert rs.label == "tiny@1"
    assert rs.classify("google", "CPC") == "Paid"
    assert rs.classify("internal", "cpc") == "Other"
    assert describe(rs.resolved.rules[0].when) == (
        "medium in cpc, ppc AND NOT (source equals internal)"
    )


@pytest.mark.parametrize(
    ("body", "line", "text"),
    [
        ("extends: ga4-default\ndisable: [nope]\n", 2, "no rule with id 'nope'"),
        (
            "extends: ga4-default\nrules:\n  - id: x\n    channel: X\n    before: nope\n"
            "    when: {field: source, equals: x}\n",
            5,
            "no rule with id 'nope'",
        ),
        (
            "extends: ga4-default\nrules:\n  - id: x\n    channel: X\n"
            "    when: {field: source, in_list: nope}\n",
            5,
            "unknown source list 'nope'",
        ),
        (
            "extends: ga4-default\nrules:\n  - id: x\n    channel: X\n"
            "    when: {field: medium, matches: $nope}\n",
            5,
            "unknown definition '$nope'",
        ),
        (
            "extends: ga4-default\nlists:\n  x: {category: SOURCE_CATEGORY_NOPE}\n",
            3,
            "unknown source category",
        ),
        (
            "extends: ga4-default\nrules:\n  - id: brand_new\n    channel: X\n",
            3,
            "needs `channel` and `when`",
        ),
        ("extends: nope\n", 1, "no built-in ruleset 'nope'"),
    ],
)
def test_semantic_errors_name_the_line(tmp_path: Path, body: str, line: int, text: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(WorkspaceError) as info:
        load_ruleset(path)
    problems = info.value.problems
    assert any(p.where == f"{path}:{line}" and text in p.message for p in problems), problems


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (
            "rules:\n  - id: x\n    channel: X\n    when: {field: medium, matches: '('}\n",
            "not a valid regular expression",
        ),
        ("rules:\n  - id: x\n    channel: X\n    when: {field: medium}\n", "exactly one of"),
        ("rules:\n  - id: x\n    channel: X\n    when: {equals: cpc}\n", "needs `field`"),
        (
            "rules:\n  - id: x\n    channel: X\n    when: {field: meduim, equals: cpc}\n",
            "rules.0.when.field",
        ),
        (
            "rules:\n  - id: Bad Id\n    channel: X\n    when: {field: medium, equals: cpc}\n",
            "pattern",
        ),
        ("extend: ga4-default\n", "extend"),
    ],
)
def test_shape_errors_name_the_line(tmp_path: Path, body: str, text: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(WorkspaceError) as info:
        load_ruleset(path)
    assert any(text in p.message and p.where.startswith(f"{path}:") for p in info.value.problems)


def test_standalone_needs_name_version_and_rules() -> None:
    with pytest.raises(WorkspaceError, match="1 problem"):
        from marketops.taxonomy.channels import ruleset_from_spec

        ruleset_from_spec(ChannelsFile(name="x"))
