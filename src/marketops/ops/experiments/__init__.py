"""Experiment planning and analysis. The public face; the work is in the modules named below."""

from marketops.ops.experiments.analysis import (
    AnalysisResult,
    AnalysisSettings,
    Comparison,
    MetricRole,
    analyze,
)
from marketops.ops.experiments.inputs import (
    ExperimentData,
    from_count_rows,
    from_records,
    from_user_frame,
    load_file,
)
from marketops.ops.experiments.kpis import (
    ExperimentRecord,
    cost_per_experiment,
    experiment_capacity_per_month,
    experiments_per_month_meeting_power,
)
from marketops.ops.experiments.planning import Plan, PlanInput, plan
from marketops.ops.experiments.statistics import (
    Effect,
    SampleStat,
    SrmResult,
    adjust_p_values,
    compare,
    srm_check,
)

__all__ = [
    "AnalysisResult",
    "AnalysisSettings",
    "Comparison",
    "Effect",
    "ExperimentData",
    "ExperimentRecord",
    "MetricRole",
    "Plan",
    "PlanInput",
    "SampleStat",
    "SrmResult",
    "adjust_p_values",
    "analyze",
    "compare",
    "cost_per_experiment",
    "experiment_capacity_per_month",
    "experiments_per_month_meeting_power",
    "from_count_rows",
    "from_records",
    "from_user_frame",
    "load_file",
    "plan",
    "srm_check",
]
