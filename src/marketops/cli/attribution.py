"""`marketops attribute`: every attribution model side by side, plus attribution coverage."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors
from marketops.errors import MarketopsError, Problem

FileOpt = Annotated[Path | None, typer.Option(help="CSV or Parquet file", show_default=False)]


def _config(workspace: Path | None, overrides: dict[str, Any]):  # -> (Path, AttributionConfig)
    """attribution.yml from the workspace if there is one, then the command-line overrides."""
    from marketops.analytics.attribution.config import AttributionConfig
    from marketops.analytics.attribution.workspace_files import ATTRIBUTION_FILE
    from marketops.workspace import ENV_WORKSPACE
    from marketops.workspace.yamlfile import load_model

    root = Path(workspace or os.environ.get(ENV_WORKSPACE) or ".").resolve()
    base = load_model(root / ATTRIBUTION_FILE, AttributionConfig, default={})
    data = base.model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return root, AttributionConfig.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError: name the option at fault
        errors = getattr(exc, "errors", lambda: [])()
        raise MarketopsError(
            "invalid options",
            [
                Problem("--" + "-".join(str(p) for p in e["loc"]).replace("_", "-"), e["msg"])
                for e in errors
            ]
            or [Problem("options", str(exc))],
        ) from exc


def _split(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MarketopsError("--now is not a date-time", [Problem("--now", str(exc))]) from exc
    if value.tzinfo is None:
        raise MarketopsError("--now needs a time zone", [Problem("--now", "no offset", "add Z")])
    return value


SHORT = {
    "first_touch": "first",
    "last_touch": "last",
    "last_non_direct": "last-nd",
    "linear": "linear",
    "position_based": "U-40/20",
    "time_decay": "decay",
    "w_shaped": "W",
    "full_path": "Z",
    "markov": "markov",
    "shapley": "shapley",
}


def _fmt(x: float) -> str:
    return f"{x:,.2f}"


def _grid(title: str, label: str, models: list[str], rows: list[list[str]]) -> Table:
    """Groups down, models across, with short headers so ten models fit a normal terminal."""
    t = Table(title=title, title_justify="left", pad_edge=False, padding=(0, 1))
    t.add_column(label, min_width=8, overflow="fold")
    for m in models:
        t.add_column(SHORT.get(m, m), justify="right", overflow="fold")
    for r in rows:
        t.add_row(*r)
    return t


def render(result: Any) -> None:
    groups = result.groups()
    models = result.models
    label = result.by.replace("_", "/")
    console.print(
        _grid(
            "Conversions credited",
            label,
            models,
            [
                [g, *[_fmt(c.conversions) if (c := result.get(g, m)) else "" for m in models]]
                for g in groups
            ],
        )
    )
    console.print(
        _grid(
            "Share of credit (%)",
            label,
            models,
            [
                [g, *[f"{100 * c.share:.1f}" if (c := result.get(g, m)) else "" for m in models]]
                for g in groups
            ],
        )
    )
    console.print(
        _grid(
            "Revenue credited",
            label,
            models,
            [
                [g, *[f"{c.revenue:,.0f}" if (c := result.get(g, m)) else "" for m in models]]
                for g in groups
            ],
        )
    )
    if any(c.spend is not None for c in result.credits):
        spend = {c.group: c.spend for c in result.credits if c.spend is not None}
        console.print(
            _grid(
                "ROI = (revenue - spend) / spend",
                label,
                ["spend", *models],
                [
                    [
                        g,
                        f"{spend[g]:,.0f}",
                        *[
                            f"{c.roi:+.2f}" if (c := result.get(g, m)) and c.roi is not None else ""
                            for m in models
                        ],
                    ]
                    for g in groups
                    if g in spend
                ],
            )
        )
    console.print("[dim]models: " + ", ".join(f"{SHORT.get(m, m)}={m}" for m in models) + "[/]")
    if result.shapley is not None and result.shapley.method == "sampled":
        console.print(
            table(
                "Shapley (sampled) standard error",
                [label, "conversions", "stderr"],
                [
                    [g, _fmt(c.conversions), f"{c.stderr:.3f}"]
                    for g in groups
                    if (c := result.get(g, "shapley")) and c.stderr is not None
                ],
            )
        )
    console.print(
        f"{result.conversions_in_scope} conversion(s) in scope, "
        f"{result.conversions_with_touches} with at least one credited touch."
    )
    if result.coverage is not None:
        cov = result.coverage
        console.print(
            table(
                "Attribution coverage (campaign + channel)",
                ["metric", "total", "attributed", "share"],
                [
                    [
                        ln.metric,
                        f"{ln.total:,}",
                        f"{ln.attributed:,}",
                        "" if ln.share is None else f"{100 * ln.share:.1f}%",
                    ]
                    for ln in cov.lines
                ],
            )
        )
        if cov.unattributed:
            console.print(
                table(
                    "Unattributed, by reason",
                    ["metric", "reason", "count", "amount"],
                    [[u.metric, u.reason, u.count, f"{u.amount:,}"] for u in cov.unattributed],
                )
            )
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")


def write_out(result: Any, out: Path) -> None:
    from marketops.analytics.attribution.service import frame

    df = frame(result)
    if out.suffix.lower() == ".csv":
        df.to_csv(out, index=False)
    elif out.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(out, index=False)
    else:
        raise MarketopsError(
            f"--out {out}: unsupported file type",
            [Problem("--out", f"{out.suffix!r}", "use .csv or .parquet")],
        )


def register(app: typer.Typer) -> None:
    @app.command("attribute")
    def attribute_cmd(
        touchpoints: FileOpt = None,
        conversions: FileOpt = None,
        costs: FileOpt = None,
        by: Annotated[
            str | None, typer.Option(help="channel | source_medium | campaign | content")
        ] = None,
        models: Annotated[str | None, typer.Option(help="comma-separated model names")] = None,
        kinds: Annotated[str | None, typer.Option(help="conversion kinds to attribute")] = None,
        touch_types: Annotated[str | None, typer.Option(help="touch types that count")] = None,
        lookback_days: Annotated[
            float | None, typer.Option(help="analyse conversions in (now - N days, now]")
        ] = None,
        conversion_window_days: Annotated[
            float | None, typer.Option(help="credit touches at most N days before a conversion")
        ] = None,
        half_life_days: Annotated[float | None, typer.Option(help="time-decay half-life")] = None,
        markov_order: Annotated[int | None, typer.Option(help="Markov chain order, 1-4")] = None,
        now: Annotated[str | None, typer.Option(help="analysis time (ISO, default: now)")] = None,
        engine: Annotated[
            str | None, typer.Option(help="Ibis engine URL (default duckdb:// in memory)")
        ] = None,
        out: Annotated[
            Path | None, typer.Option(help="write long-form results (.csv/.parquet)")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Credit conversions to channels/campaigns with every model, side by side."""
        from marketops.analytics.attribution.service import attribute_files, to_dict

        with user_errors():
            root, cfg = _config(
                workspace,
                {
                    "by": by,
                    "models": _split(models),
                    "kinds": _split(kinds),
                    "touch_types": _split(touch_types),
                    "lookback_days": lookback_days,
                    "conversion_window_days": conversion_window_days,
                    "half_life_days": half_life_days,
                    "markov_order": markov_order,
                },
            )
            tp = touchpoints or (
                root / cfg.sources.touchpoints if cfg.sources.touchpoints else None
            )
            cv = conversions or (
                root / cfg.sources.conversions if cfg.sources.conversions else None
            )
            co = costs or (root / cfg.sources.costs if cfg.sources.costs else None)
            if tp is None or cv is None:
                raise MarketopsError(
                    "no input files",
                    [
                        Problem(
                            "--touchpoints/--conversions",
                            "missing",
                            "pass both files, or set sources: in attribution.yml",
                        )
                    ],
                )
            result = attribute_files(tp, cv, co, cfg, _now(now), engine_url=engine)
            if out is not None:
                write_out(result, out)
        if as_json:
            emit_json(to_dict(result))
        else:
            render(result)
            if out is not None:
                console.print(f"wrote {out}")
