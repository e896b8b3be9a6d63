"""`marketops utm …` (build, check, lint tagged URLs) and `marketops channel …` (classify)."""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from marketops.cli._common import (
    WorkspaceOpt,
    console,
    emit_json,
    err_console,
    load_workspace,
    table,
    user_errors,
)
from marketops.errors import MarketopsError, Problem

utm_app = typer.Typer(
    help="Build, check and lint UTM-tagged URLs against taxonomy.yml.", no_args_is_help=True
)
channel_app = typer.Typer(
    help="Classify traffic into channels (GA4 default channel group).", no_args_is_help=True
)

TaxonomyOpt = Annotated[
    Path | None,
    typer.Option(
        "--taxonomy",
        "-t",
        help="taxonomy file (default: the workspace's taxonomy.yml)",
        show_default=False,
    ),
]
RulesetOpt = Annotated[
    Path | None,
    typer.Option(
        "--ruleset",
        "-r",
        show_default=False,
        help="channel ruleset file (default: the workspace's channels.yml if present,"
        " else the built-in GA4 default channel group)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def register(app: typer.Typer) -> None:
    app.add_typer(utm_app, name="utm")
    app.add_typer(channel_app, name="channel")


def _taxonomy(path: Path | None, workspace: Path | None) -> tuple[Any, ZoneInfo]:
    from marketops.taxonomy import load_taxonomy
    from marketops.taxonomy.service import workspace_taxonomy

    if path is not None:
        return load_taxonomy(path), ZoneInfo("UTC")
    ws = load_workspace(workspace)
    return workspace_taxonomy(ws.root), ZoneInfo(ws.settings.timezone)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MarketopsError(
                f"bad {what} {item!r}",
                [Problem(what, f"{item!r} is not NAME=VALUE", "e.g. utm_id=42")],
            )
        out[key.strip()] = value
    return out


def _print_problems(problems: list[Problem]) -> None:
    console.print(
        table(
            "violations",
            ["where", "problem", "suggested fix"],
            [[p.where, p.message, p.hint] for p in problems],
        )
    )


@utm_app.command("build")
def utm_build(
    url: Annotated[str, typer.Argument(help="landing page URL (its query and #fragment are kept)")],
    source: Annotated[str | None, typer.Option("--source", "-s", help="utm_source")] = None,
    medium: Annotated[str | None, typer.Option("--medium", "-m", help="utm_medium")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", "-c", help="utm_campaign")] = None,
    term: Annotated[str | None, typer.Option("--term", help="utm_term")] = None,
    content: Annotated[str | None, typer.Option("--content", help="utm_content")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="any other parameter, NAME=VALUE (repeatable)"),
    ] = None,
    part: Annotated[
        list[str] | None,
        typer.Option(
            "--part",
            help="naming-template part, NAME=VALUE (repeatable); builds utm_campaign"
            " from its template when --campaign is not given",
        ),
    ] = None,
    taxonomy: TaxonomyOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a tagged URL that passes the taxonomy, or list every rule that blocks it."""
    from marketops.taxonomy.utm import build_url

    with user_errors():
        tax, tz = _taxonomy(taxonomy, workspace)
        params: dict[str, str | None] = {
            "utm_source": source,
            "utm_medium": medium,
            "utm_campaign": campaign,
            "utm_term": term,
            "utm_content": content,
            **_pairs(param or [], "--param"),
        }
        tagged = build_url(
            url, params, tax, parts=_pairs(part or [], "--part") or None, now=datetime.now(tz)
        )
    if as_json:
        emit_json({"url": tagged})
    else:
        sys.stdout.write(tagged + "\n")


@utm_app.command("check")
def utm_check(
    urls: Annotated[list[str], typer.Argument(help="tagged URL(s) to check")],
    taxonomy: TaxonomyOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check tagged URLs; exit code 1 if any breaks a rule."""
    from marketops.taxonomy.lint import lint_urls

    with user_errors():
        tax, _ = _taxonomy(taxonomy, workspace)
    report = lint_urls(urls, tax, source="arg")
    _render_report(report, as_json)


@utm_app.command("lint")
def utm_lint(
    file: Annotated[
        Path,
        typer.Argument(
            help="text file of URLs, or CSV with utm_* columns; `-` reads standard input"
        ),
    ],
    csv_input: Annotated[
        bool | None,
        typer.Option(
            "--csv/--text",
            help="force the input format (default: from the name and header)",
            show_default=False,
        ),
    ] = None,
    url_column: Annotated[str, typer.Option(help="CSV column holding the URL")] = "url",
    taxonomy: TaxonomyOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report every violation per row with a suggested fix, and the compliance percentage."""
    from marketops.taxonomy.lint import lint_text

    with user_errors():
        tax, _ = _taxonomy(taxonomy, workspace)
        text = sys.stdin.read() if str(file) == "-" else _read(file)
        report = lint_text(
            text,
            tax,
            source="stdin" if str(file) == "-" else str(file),
            csv_input=csv_input,
            url_column=url_column,
        )
    _render_report(report, as_json)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise MarketopsError(
            f"cannot read {path}", [Problem(str(path), "file not found", "check the path")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise MarketopsError(
            f"cannot read {path}",
            [Problem(str(path), f"not UTF-8 text (byte {exc.start})", "save it as UTF-8")],
        ) from exc


def _render_report(report: Any, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
    else:
        rows = [[r.where, p.where, p.message, p.hint] for r in report.rows for p in r.problems]
        if rows:
            console.print(
                table(
                    f"{report.violations} violation(s)",
                    ["row", "field", "problem", "suggested fix"],
                    rows,
                )
            )
        colour = "green" if report.compliant == report.total else "red"
        console.print(
            f"[{colour}]{report.compliance:.1f}% compliant[/] "
            f"({report.compliant} of {report.total} rows pass)"
        )
    if report.violations:
        raise typer.Exit(1)


# --- channels ------------------------------------------------------------------------------------
def _ruleset(path: Path | None, workspace: Path | None) -> Any:
    """No full workspace load: classifying needs only channels.yml, if the folder has one."""
    from marketops.taxonomy.channels import load_ruleset
    from marketops.taxonomy.service import workspace_ruleset

    if path is not None:
        return load_ruleset(path)
    return workspace_ruleset(workspace or os.environ.get("MARKETOPS_WORKSPACE") or ".")


@channel_app.command("classify")
def channel_classify(
    source: Annotated[str | None, typer.Option("--source", "-s")] = None,
    medium: Annotated[str | None, typer.Option("--medium", "-m")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", "-c")] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input", "-i", help="CSV of touchpoints; adds a channel column")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV to write (default: standard output)")
    ] = None,
    source_column: str = "source",
    medium_column: str = "medium",
    campaign_column: str = "campaign",
    channel_column: str = "channel",
    explain: Annotated[bool, typer.Option(help="also give the id of the deciding rule")] = False,
    ruleset: RulesetOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Classify one source/medium/campaign (options) or every row of a CSV file (--input)."""
    with user_errors():
        rules = _ruleset(ruleset, workspace)
        if input_file is None:
            if source is None and medium is None:
                raise MarketopsError(
                    "nothing to classify",
                    [
                        Problem(
                            "options",
                            "give --source/--medium (and --campaign), or --input FILE.csv",
                            "e.g. marketops channel classify -s google -m cpc",
                        )
                    ],
                )
            channel, rule_id = rules.explain(source, medium, campaign)
            if as_json:
                emit_json({"channel": channel, "rule": rule_id or None, "ruleset": rules.label})
            else:
                sys.stdout.write(channel + (f"\t{rule_id or '-'}" if explain else "") + "\n")
            return
        counts = _classify_csv(
            rules,
            input_file,
            output,
            source_column,
            medium_column,
            campaign_column,
            channel_column,
            explain,
        )
    err_console.print(f"ruleset {rules.label}", highlight=False)
    err_console.print(table("", ["channel", "rows"], [[k, v] for k, v in counts.most_common()]))


def _classify_csv(
    rules: Any,
    src: Path,
    dst: Path | None,
    s_col: str,
    m_col: str,
    c_col: str,
    ch_col: str,
    explain: bool,
) -> Counter[str]:
    try:
        fin = src.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise MarketopsError(
            f"cannot read {src}", [Problem(str(src), "file not found", "check the path")]
        ) from exc
    with fin:
        reader = csv.DictReader(fin)
        header = list(reader.fieldnames or [])
        missing = [c for c in (s_col, m_col) if c not in header]
        if missing:
            raise MarketopsError(
                f"{src}: missing column(s)",
                [
                    Problem(
                        f"{src}:1",
                        f"no column {', '.join(missing)}",
                        f"header: {', '.join(header) or '(empty)'}; see --source-column etc.",
                    )
                ],
            )
        has_campaign = c_col in header
        extra = [ch_col] + (["channel_rule"] if explain else [])
        fout = dst.open("w", newline="", encoding="utf-8") if dst else sys.stdout
        try:
            writer = csv.DictWriter(fout, [*header, *(c for c in extra if c not in header)])
            writer.writeheader()
            counts: Counter[str] = Counter()
            for row in reader:
                channel, rule_id = rules.explain(
                    row[s_col], row[m_col], row[c_col] if has_campaign else None
                )
                row[ch_col] = channel
                if explain:
                    row["channel_rule"] = rule_id
                counts[channel] += 1
                writer.writerow(row)
        finally:
            if dst:
                fout.close()
    return counts


@channel_app.command("rules")
def channel_rules(
    ruleset: RulesetOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the ruleset in force: its version and its rules in evaluation order."""
    from marketops.taxonomy.ruleset import describe

    with user_errors():
        rules = _ruleset(ruleset, workspace)
    rows = [
        [i + 1, r.id, r.channel, describe(r.when)]
        for i, r in enumerate(rules.resolved.rules)
        if r.when is not None
    ]
    if as_json:
        emit_json(
            {
                "ruleset": rules.label,
                "name": rules.name,
                "version": rules.version,
                "default_channel": rules.resolved.default_channel,
                "rules": [
                    dict(zip(["order", "id", "channel", "when"], r, strict=True)) for r in rows
                ],
            }
        )
        return
    console.print(
        table(
            f"{rules.label} — first match wins, else {rules.resolved.default_channel}",
            ["#", "id", "channel", "when"],
            rows,
        )
    )
