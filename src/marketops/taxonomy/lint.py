"""Lint a list of tagged URLs or a table of campaigns: every violation per row, and compliance.

Input is text (one URL per line; blank lines and `#` comments skipped) or CSV with a header. In a
CSV, `utm_*` columns are the parameters (an optional `url` column gives the landing host, so that
internal links are caught); without `utm_*` columns, the `url` column is checked as a tagged URL.
Columns declared under `names` in taxonomy.yml (e.g. `campaign_name`) are checked too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from marketops.errors import MarketopsError, Problem
from marketops.taxonomy.model import UTM_PREFIX, Taxonomy
from marketops.taxonomy.utm import check_params, check_url, check_value


@dataclass
class RowResult:
    where: str  # file:line
    subject: str  # the URL, or the campaign row's identifying text
    problems: list[Problem] = field(default_factory=list)


@dataclass
class LintReport:
    source: str
    rows: list[RowResult]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def compliant(self) -> int:
        return sum(1 for r in self.rows if not r.problems)

    @property
    def compliance(self) -> float:
        """Percentage of rows with no violation (100 for no rows: nothing broke a rule)."""
        return 100.0 * self.compliant / self.total if self.total else 100.0

    @property
    def violations(self) -> int:
        return sum(len(r.problems) for r in self.rows)

    def problems(self) -> list[Problem]:
        """Flat list, each `where` being `file:line field`."""
        return [
            Problem(f"{r.where} {p.where}", p.message, p.hint, p.severity)
            for r in self.rows
            for p in r.problems
        ]

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "rows": self.total,
            "compliant": self.compliant,
            "compliance_pct": round(self.compliance, 2),
            "violations": [
                {
                    "where": r.where,
                    "subject": r.subject,
                    "field": p.where,
                    "message": p.message,
                    "fix": p.hint,
                }
                for r in self.rows
                for p in r.problems
            ],
        }


def lint_urls(lines: Iterable[str], taxonomy: Taxonomy, *, source: str = "<input>") -> LintReport:
    rows = []
    for n, line in enumerate(lines, start=1):
        url = line.strip()
        if not url or url.startswith("#"):
            continue
        rows.append(RowResult(f"{source}:{n}", url, check_url(url, taxonomy)))
    return LintReport(source, rows)


def lint_table(
    text: str, taxonomy: Taxonomy, *, source: str = "<input>", url_column: str = "url"
) -> LintReport:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    utm_cols = [h for h in header if h.startswith(UTM_PREFIX)]
    name_cols = [h for h in header if h in taxonomy.names]
    if not utm_cols and url_column not in header and not name_cols:
        raise MarketopsError(
            f"{source}: nothing to lint",
            [
                Problem(
                    f"{source}:1",
                    f"no utm_* columns, no {url_column!r} column and no column declared"
                    " under `names`",
                    f"header is: {', '.join(header) or '(empty)'}",
                )
            ],
        )
    rows = []
    line = 1
    for record in reader:
        where = f"{source}:{line + 1}"
        line = reader.line_num
        if None in record:  # more cells than header columns
            rows.append(
                RowResult(
                    where,
                    "",
                    [
                        Problem(
                            "row",
                            f"{len(record[None])} cell(s) more than the header has",  # type: ignore[index]
                            "quote cells that contain commas",
                        )
                    ],
                )
            )
            continue
        values = {k: (v or "") for k, v in record.items()}
        url = values.get(url_column, "").strip()
        problems: list[Problem] = []
        if utm_cols:
            host = urlsplit(url).hostname if url else None
            params = [(k, values[k]) for k in utm_cols if values[k] != ""]
            problems.extend(check_params(params, taxonomy, host=host))
        elif url_column in header:
            problems.extend(
                check_url(url, taxonomy)
                if url
                else [Problem(url_column, "is empty", "give the tagged URL")]
            )
        for col in name_cols:
            problems.extend(check_value(col, values[col], taxonomy))
        subject = url or " ".join(values[c] for c in [*name_cols, *utm_cols] if values[c])
        rows.append(RowResult(where, subject, problems))
    return LintReport(source, rows)


def looks_like_csv(path: Path, first_line: str) -> bool:
    if path.suffix.lower() in (".csv", ".tsv"):
        return True
    head = first_line.strip().lower()
    return "," in head and "://" not in head


def lint_text(
    text: str,
    taxonomy: Taxonomy,
    *,
    source: str,
    csv_input: bool | None = None,
    url_column: str = "url",
) -> LintReport:
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    if csv_input is None:
        csv_input = looks_like_csv(Path(source), first)
    text = text.lstrip("\ufeff")
    report = (
        lint_table(text, taxonomy, source=source, url_column=url_column)
        if csv_input
        else lint_urls(text.splitlines(), taxonomy, source=source)
    )
    if not report.rows:
        raise MarketopsError(
            f"{source}: no rows to lint",
            [
                Problem(
                    source,
                    "the file has no URLs or data rows",
                    "one URL per line, or a CSV with a header and rows",
                )
            ],
        )
    return report
