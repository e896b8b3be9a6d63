"""`marketops experiment plan|analyze`: size an A/B test, then read its results honestly."""

from __future__ import annotations

import math
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from marketops.cli._common import (
    WorkspaceOpt,
    console,
    emit_json,
    err_console,
    table,
    user_errors,
)
from marketops.errors import MarketopsError, Problem

sub = typer.Typer(
    help="Plan experiments (sample size, duration) and analyze their results.", no_args_is_help=True
)


class Adjustment(StrEnum):
    bonferroni = "bonferroni"
    sidak = "sidak"
    none = "none"


class Variance(StrEnum):
    pooled = "pooled"
    unpooled = "unpooled"


class MeanTest(StrEnum):
    t = "t"
    z = "z"


class Correction(StrEnum):
    holm = "holm"
    bh = "bh"
    none = "none"


class Difference(StrEnum):
    relative = "relative"
    absolute = "absolute"


def _pct(x: float | None, digits: int = 2) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x * 100:+.{digits}f}%"


def _num(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.6g}"


def _short(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.3g}"


def _p(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return ""
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


@sub.command("plan")
def plan_cmd(
    rate: Annotated[
        float | None,
        typer.Option("--rate", help="baseline conversion rate (0..1) of a proportion metric"),
    ] = None,
    mean: Annotated[
        float | None,
        typer.Option("--mean", help="baseline mean of a continuous metric (needs --sd)"),
    ] = None,
    sd: Annotated[float | None, typer.Option(help="per-user standard deviation (means)")] = None,
    mde: Annotated[
        float,
        typer.Option(help="minimum detectable effect: relative (0.1 = +10%) unless --absolute"),
    ] = ...,  # type: ignore[assignment]
    absolute: Annotated[
        bool, typer.Option("--absolute", help="--mde is an absolute difference (0.01 = +1 point)")
    ] = False,
    alpha: Annotated[float, typer.Option(help="family-wise significance level")] = 0.05,
    power: Annotated[float, typer.Option(help="probability of detecting the MDE")] = 0.8,
    arms: Annotated[int, typer.Option(help="variants including control")] = 2,
    adjustment: Annotated[
        Adjustment, typer.Option(help="split alpha across the arms-1 comparisons with control")
    ] = Adjustment.bonferroni,
    variance: Annotated[
        Variance, typer.Option(help="proportions: variance under H0")
    ] = Variance.pooled,
    test: Annotated[MeanTest, typer.Option(help="means: exact t or z approximation")] = MeanTest.t,
    traffic_per_day: Annotated[
        float | None,
        typer.Option("--traffic-per-day", help="eligible users per day across all arms"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Sample size per arm (and days to run) for a proportion (--rate) or a mean (--mean --sd)."""
    from marketops.ops.experiments import PlanInput, plan

    with user_errors():
        if (rate is None) == (mean is None):
            raise MarketopsError(
                "give exactly one baseline",
                [Problem("--rate/--mean", "pass --rate for a conversion rate or --mean with --sd")],
            )
        spec = PlanInput(
            kind="proportion" if rate is not None else "mean",
            baseline=rate if rate is not None else mean,  # type: ignore[arg-type]
            mde=mde,
            effect_type="absolute" if absolute else "relative",
            sd=sd,
            alpha=alpha,
            power=power,
            arms=arms,
            adjustment=adjustment.value,
            variance=variance.value,
            test=test.value,
            traffic_per_day=traffic_per_day,
        )
        result = plan(spec)
    if as_json:
        emit_json(result.as_dict())
        return
    r = result
    rows: list[list[Any]] = [
        ["formula", r.formula],
        [
            "baseline → target",
            f"{_num(r.baseline)} → {_num(r.target)} "
            f"({_pct(r.relative_effect)}, {r.absolute_effect:+.6g} absolute)",
        ],
        [
            "alpha",
            f"{r.alpha:g}"
            + (
                f" → {r.alpha_per_comparison:.4g} per comparison "
                f"({r.adjustment}, {r.comparisons} comparisons)"
                if r.comparisons > 1
                else ""
            ),
        ],
        ["power", f"{r.power:g}"],
        ["sample per arm", f"{r.n_per_arm:,}"],
        [f"total ({r.arms} arms)", f"{r.total_sample:,}"],
    ]
    if r.duration_days is not None:
        rows.append(["duration", f"{r.duration_days} days at {r.traffic_per_day:,.0f} users/day"])
    console.print(_table("Experiment plan", ["", "value"], rows))


def _parse_split(items: list[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    split: dict[str, float] = {}
    problems = []
    for item in ",".join(items).split(","):
        name, sep, weight = item.partition("=")
        try:
            split[name.strip()] = float(weight) if sep else math.nan
            if not sep or not name.strip():
                raise ValueError
        except ValueError:
            problems.append(
                Problem(
                    "--split",
                    f"{item!r} is not VARIANT=WEIGHT",
                    "e.g. --split control=50,treatment=50",
                )
            )
    if problems:
        raise MarketopsError("--split is not valid", problems)
    return split


def _parse_guardrails(items: list[str] | None) -> list[tuple[str, bool | None]] | None:
    if items is None:
        return None
    out: list[tuple[str, bool | None]] = []
    for item in items:
        name, _, direction = item.partition(":")
        if direction not in ("", "higher", "lower"):
            raise MarketopsError(
                "--guardrail is not valid",
                [
                    Problem(
                        "--guardrail",
                        f"{item!r}: direction must be `higher` or `lower`",
                        "e.g. --guardrail unsubscribe:lower",
                    )
                ],
            )
        out.append((name, None if not direction else direction == "higher"))
    return out


def _experiments_config(workspace: Path | None, needed: bool) -> Any:
    from marketops.workspace import ENV_WORKSPACE, SETTINGS_FILE, Workspace

    root = workspace or os.environ.get(ENV_WORKSPACE)
    if root is None and not Path(SETTINGS_FILE).exists():
        if needed:
            raise MarketopsError(
                "--experiment needs a workspace",
                [Problem("--workspace", "no workspace here", "pass --workspace or run inside one")],
            )
        return None
    return Workspace.load(root).extra("experiments.yml")


@sub.command("analyze")
def analyze_cmd(
    data_file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="CSV or JSON: per-variant counts or per-user rows", dir_okay=False
        ),
    ],
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment", "-e", help="key in experiments.yml: split, metrics and settings"
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    control: Annotated[str | None, typer.Option(help="control variant")] = None,
    split: Annotated[
        list[str] | None, typer.Option(help="planned split VARIANT=WEIGHT,... (default: equal)")
    ] = None,
    goal: Annotated[
        list[str] | None,
        typer.Option(help="goal metric (repeatable; default: every metric not a guardrail)"),
    ] = None,
    guardrail: Annotated[
        list[str] | None, typer.Option(help="guardrail metric NAME[:higher|:lower] (repeatable)")
    ] = None,
    correction: Annotated[
        Correction | None, typer.Option(help="across goal metrics: holm (FWER) or bh (FDR)")
    ] = None,
    difference: Annotated[
        Difference | None, typer.Option(help="which lift decides the p-value")
    ] = None,
    alpha: Annotated[float | None, typer.Option(help="significance level")] = None,
    sequential: Annotated[
        bool | None,
        typer.Option(
            "--sequential/--fixed",
            help="always-valid confidence sequences (safe to peek)",
            show_default=False,
        ),
    ] = None,
    tuning: Annotated[
        float | None, typer.Option(help="sequential: sample size where the interval is tightest")
    ] = None,
    srm_threshold: Annotated[
        float | None, typer.Option(help="flag sample-ratio mismatch below this p-value")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Lift with confidence intervals, p-values, SRM check and guardrails; exit 1 on blockers."""
    from marketops.ops.experiments import load_file
    from marketops.ops.experiments.usecases import Overrides, analyze_experiment

    with user_errors():
        config = _experiments_config(workspace, needed=experiment is not None)
        overrides = Overrides(
            control=control,
            split=_parse_split(split),
            goals=goal,
            guardrails=_parse_guardrails(guardrail),
            alpha=alpha,
            correction=correction.value if correction else None,
            difference=difference.value if difference else None,
            sequential=sequential,
            sequential_tuning=tuning,
            srm_threshold=srm_threshold,
        )
        data = load_file(data_file)
        result = analyze_experiment(data, config, experiment, overrides)
    if as_json:
        emit_json(result.as_dict())
    else:
        _render(result)
    if result.blockers:
        raise typer.Exit(1)


def _render(result: Any) -> None:
    srm = result.srm
    console.print(
        f"[bold]Method:[/] {escape(result.method)}; alpha {result.alpha:g}; "
        f"goal metrics: {escape(result.correction)}"
    )
    rows = [[v, f"{srm.observed[v]:,}", f"{srm.expected[v]:,.1f}"] for v in srm.observed]
    console.print(
        _table(
            f"Sample ratio (chi-square p = {_p(srm.p_value)}, flagged below {srm.threshold:g})",
            ["variant", "users", "expected"],
            rows,
        )
    )
    level = f"{(1 - result.alpha) * 100:g}% CI"
    rows = []
    for c in result.comparisons:
        rel = (
            f"{_pct(c.relative_lift, 1)} [{_pct(c.relative_ci[0], 1)}, {_pct(c.relative_ci[1], 1)}]"
        )
        ab = f"{_short(c.absolute_lift)} [{_short(c.absolute_ci[0])}, {_short(c.absolute_ci[1])}]"
        p = _p(c.p_value) + (f" ({_p(c.adjusted_p_value)})" if c.role == "goal" else "")
        rows.append(
            [
                f"{c.metric}{' (guardrail)' if c.role == 'guardrail' else ''}\n{c.variant}",
                f"{_short(c.control_mean)} → {_short(c.variant_mean)}",
                rel if not c.note else "",
                ab if not c.note else "",
                p,
                c.verdict + (f": {c.note}" if c.note else ""),
            ]
        )
    console.print(
        _table(
            f"Lift vs {result.control}",
            [
                "metric / variant",
                "mean",
                f"relative lift [{level}]",
                "absolute lift",
                "p (adj.)",
                "verdict",
            ],
            rows,
        )
    )
    for b in result.blockers:
        err_console.print(f"[bold red]blocker:[/] {escape(b)}")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Any:
    """Cells hold user data (tool, metric, variant names): never let Rich read them as markup."""
    return table(escape(title), columns, [[escape(str(c)) for c in r] for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(sub, name="experiment")
