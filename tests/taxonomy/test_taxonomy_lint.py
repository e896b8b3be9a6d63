"""Linting files of URLs and campaign tables: per-row violations and the compliance percentage."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketops.errors import MarketopsError
from marketops.taxonomy import Taxonomy, load_taxonomy
from marketops.taxonomy.lint import lint_text

TEMPLATES = Path(__file__).parents[2] / "src" / "marketops" / "workspace" / "templates"
OK = "https://shop.io/?utm_source=google&utm_medium=cpc&utm_campaign=2025-01_leads_smb"


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy(TEMPLATES / "taxonomy.yml")


def test_text_file_of_urls(tax: Taxonomy) -> None:
    text = "\n".join(
        [
            "# spring campaign links",
            OK,
            "",
            OK.replace("google", "Google"),
            "https://www.example.com/?utm_source=google",
            OK,
        ]
    )
    report = lint_text(text, tax, source="links.txt")
    # 4 rows (comment and blank line skipped), 2 pass: 50 %
    assert (report.total, report.compliant, report.compliance) == (4, 2, 50.0)
    problems = report.problems()
    assert (problems[0].where, problems[0].hint) == ("links.txt:4 utm_source", "use 'google'")
    assert problems[1].where == "links.txt:5 utm_source"


def test_csv_of_campaigns(tax: Taxonomy) -> None:
    text = (
        "campaign_name,url,utm_source,utm_medium,utm_campaign,utm_content\n"
        "2025-01_leads_smb,https://shop.io/a,google,cpc,2025-01_leads_smb,\n"
        "2025-01_leeds_smb,https://shop.io/b,facebook,cpc,2025-01_leads_smb,hero\n"
        "2025-02_retention_partners,https://blog.example.com/x,newsletter,email,"
        "2025-02_retention_partners,\n"
        '"2025-01_leads_smb","https://shop.io/c",bing,cpc,2025-01_leads_smb,x,extra\n'
    )
    report = lint_text(text, tax, source="campaigns.csv")
    assert (report.total, report.compliant) == (4, 1)
    assert report.compliance == 25.0
    by_row = {r.where: [(p.where, p.hint) for p in r.problems] for r in report.rows}
    assert by_row["campaigns.csv:2"] == []
    assert sorted(by_row["campaigns.csv:3"]) == [
        ("campaign_name", "use 'leads'"),
        ("utm_source", "allowed when utm_medium=cpc: google, bing"),
    ]
    # the url column gives the landing host: internal links must not be tagged
    assert {f for f, _ in by_row["campaigns.csv:4"]} == {"utm_source", "utm_medium", "utm_campaign"}
    assert by_row["campaigns.csv:5"][0][0] == "row"  # too many cells: reported, not dropped


def test_csv_with_only_a_url_column(tax: Taxonomy) -> None:
    report = lint_text(f"url,owner\n{OK},ana\n,bo\n", tax, source="x.csv")
    assert [len(r.problems) for r in report.rows] == [0, 1]
    assert report.rows[1].problems[0].where == "url"


def test_csv_line_numbers_follow_multiline_cells(tax: Taxonomy) -> None:
    text = (
        'note,utm_source,utm_medium,utm_campaign\n"two\nlines",google,cpc,bad\nx,google,cpc,bad\n'
    )
    report = lint_text(text, tax, source="t.csv")
    assert [r.where for r in report.rows] == ["t.csv:2", "t.csv:4"]


def test_format_detection_and_override(tax: Taxonomy) -> None:
    assert lint_text(OK + "\n", tax, source="links.csv", csv_input=False).total == 1
    report = lint_text(OK + "\n", tax, source="links.txt")
    assert report.total == 1 and report.compliance == 100.0


def test_unusable_input_is_an_error(tax: Taxonomy) -> None:
    with pytest.raises(MarketopsError, match="no rows"):
        lint_text("# nothing\n\n", tax, source="empty.txt")
    with pytest.raises(MarketopsError, match="nothing to lint"):
        lint_text("a,b\n1,2\n", tax, source="t.csv")


def test_to_dict(tax: Taxonomy) -> None:
    data = lint_text(OK.replace("cpc", "CPC") + "\n" + OK + "\n", tax, source="l.txt").to_dict()
    assert data["compliance_pct"] == 50.0
    assert data["violations"] == [
        {
            "where": "l.txt:1",
            "subject": OK.replace("cpc", "CPC"),
            "field": "utm_medium",
            "message": "'CPC' is not normalised",
            "fix": "use 'cpc'",
        }
    ]
