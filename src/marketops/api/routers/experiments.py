"""Experiment planning and analysis over HTTP; the same use cases as `marketops experiment`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from marketops.api.deps import get_ctx, require_scope
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["experiments"])


class PlanRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"kind": "proportion", "baseline": 0.04, "mde": 0.1, "traffic_per_day": 5000}
        },
    )
    kind: Literal["proportion", "mean"]
    baseline: float = Field(description="conversion rate (0..1) or baseline mean")
    mde: float = Field(description="minimum detectable effect")
    effect_type: Literal["relative", "absolute"] = "relative"
    sd: float | None = Field(None, description="per-user standard deviation (means only)")
    alpha: float = 0.05
    power: float = 0.8
    arms: int = 2
    adjustment: Literal["bonferroni", "sidak", "none"] = "bonferroni"
    variance: Literal["pooled", "unpooled"] = "pooled"
    test: Literal["t", "z"] = "t"
    traffic_per_day: float | None = None


class Guardrail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    higher_is_better: bool | None = Field(None, description="default: from experiments.yml")


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "rows": [
                    {"variant": "control", "metric": "signup", "users": 10000, "sum": 500},
                    {"variant": "treatment", "metric": "signup", "users": 10050, "sum": 580},
                ],
                "correction": "holm",
            }
        },
    )
    rows: list[dict[str, Any]] = Field(
        min_length=1,
        description="per-variant counts {variant, metric, users, sum, "
        "sum_squares?} or per-user rows {variant, user_id?, <metric>: number, ...}",
    )
    experiment: str | None = Field(None, description="key in the workspace's experiments.yml")
    control: str | None = None
    split: dict[str, float] | None = Field(None, description="planned split; default equal")
    goals: list[str] | None = None
    guardrails: list[Guardrail] | None = None
    alpha: float | None = None
    correction: Literal["holm", "bh", "none"] | None = None
    difference: Literal["relative", "absolute"] | None = None
    sequential: bool | None = None
    sequential_tuning: float | None = None
    srm_threshold: float | None = None


@router.post("/experiments/plan", summary="Sample size per arm and duration of an experiment")
def post_plan(body: PlanRequest, _key: str = Depends(require_scope("read"))) -> dict[str, Any]:
    from marketops.ops.experiments import PlanInput, plan
    from marketops.ops.experiments.jsonsafe import clean_json

    return clean_json(plan(PlanInput(**body.model_dump())).as_dict())


@router.post(
    "/experiments/analyze",
    summary="Lift with CIs, p-values, SRM, guardrails and multiple-testing correction",
)
def post_analyze(
    body: AnalyzeRequest,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    from marketops.ops.experiments import from_records
    from marketops.ops.experiments.usecases import Overrides, analyze_experiment

    config = ctx.workspace.extra("experiments.yml")
    overrides = Overrides(
        control=body.control,
        split=body.split,
        goals=body.goals,
        guardrails=None
        if body.guardrails is None
        else [(g.name, g.higher_is_better) for g in body.guardrails],
        alpha=body.alpha,
        correction=body.correction,
        difference=body.difference,
        sequential=body.sequential,
        sequential_tuning=body.sequential_tuning,
        srm_threshold=body.srm_threshold,
    )
    data = from_records(body.rows, source="rows")
    return analyze_experiment(data, config, body.experiment, overrides).as_dict()
