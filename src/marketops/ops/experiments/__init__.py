"""Experiment planning and analysis. The public face; the work is in the modules named below,
imported on first use (`marketops._lazy`: SciPy is not loaded for `marketops validate`)."""

from __future__ import annotations

from marketops._lazy import exports

__getattr__, __dir__, __all__ = exports(
    __name__,
    {
        "analysis": ["AnalysisResult", "AnalysisSettings", "Comparison", "MetricRole", "analyze"],
        "inputs": [
            "ExperimentData",
            "from_count_rows",
            "from_records",
            "from_user_frame",
            "load_file",
        ],
        "kpis": [
            "ExperimentRecord",
            "cost_per_experiment",
            "experiment_capacity_per_month",
            "experiments_per_month_meeting_power",
        ],
        "planning": ["Plan", "PlanInput", "plan"],
        "statistics": [
            "Effect",
            "SampleStat",
            "SrmResult",
            "adjust_p_values",
            "compare",
            "srm_check",
        ],
    },
)
