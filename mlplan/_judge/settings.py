"""The statistical settings in force for one hypothesis (its own over the experiment's), and
the metrics its criteria and guardrails touch.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from mlplan._plan.keys import canonical
from mlplan._plan.models import (
    Guardrail,
    Hypothesis,
    Metric,
    Plan,
    Resampling,
)

__all__ = ["Settings", "guarded_metrics", "settings_for", "used_metrics"]


@dataclass(frozen=True)
class Settings:
    """The statistical settings in force for one hypothesis (its own over the experiment's)."""

    pair_by: str | None
    min_runs: int
    resampling: Resampling | None
    conditions: tuple[str, ...]
    runs: int | None = None  # a fixed horizon: the first N planned pair values decide
    pair_values: tuple[str, ...] | None = None  # canonical, in the planned order

    @property
    def ratio(self) -> float:
        return self.resampling.ratio if self.resampling is not None else 0.0


def settings_for(plan: Plan, hypothesis: Hypothesis) -> Settings:
    design = plan.experiment
    pair_by = hypothesis.pair_by if hypothesis.overrides_pair_by else design.pair_by
    return Settings(
        pair_by=pair_by,
        min_runs=hypothesis.min_runs or design.min_runs,
        resampling=hypothesis.resampling or design.resampling,
        conditions=tuple(design.conditions),
        runs=hypothesis.runs or design.runs,
        pair_values=None
        if design.pair_values is None
        else tuple(canonical(str(v)) for v in design.pair_values),
    )


def guarded_metrics(plan: Plan, hypothesis: Hypothesis, guardrail: Guardrail) -> list[Metric]:
    """Declared metrics matching the glob, except the ones the hypothesis sets out to move:
    a guardrail protects everything else, not the target it is allowed to trade against."""
    targets = {criterion.metric for criterion in hypothesis.success_criteria}
    return [
        metric
        for metric in plan.metrics
        if fnmatch.fnmatchcase(metric.key, guardrail.metrics) and metric.key not in targets
    ]


def used_metrics(plan: Plan, hypothesis: Hypothesis) -> list[Metric]:
    keys = {c.metric for c in hypothesis.success_criteria}
    keys |= {m.key for g in hypothesis.guardrails for m in guarded_metrics(plan, hypothesis, g)}
    return [m for m in plan.metrics if m.key in keys]
