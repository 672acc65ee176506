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
    Sequential,
)

__all__ = ["Settings", "design_of", "guarded_metrics", "settings_for", "used_metrics"]


@dataclass(frozen=True)
class Settings:
    """The statistical settings in force for one hypothesis (its own over the experiment's)."""

    pair_by: str | None
    min_runs: int
    resampling: Resampling | None
    conditions: tuple[str, ...]
    runs: int | None = None  # a fixed horizon: the first N planned pair values decide
    pair_values: tuple[str, ...] | None = None  # canonical, in the planned order
    sequential: Sequential | None = None  # looks after every completed run (pair)

    @property
    def design(self) -> str:
        """The planned n in words: what makes a verdict confirmatory ("" when none)."""
        if self.sequential is not None:
            found = self.sequential
            if found.kind == "anytime":
                return "anytime-valid t" + (
                    f", up to {found.max_runs} runs" if found.max_runs is not None else ""
                )
            shape = "Pocock" if found.kind == "pocock" else "O'Brien–Fleming"
            return f"group-sequential ({shape}), looks at n = {self.min_runs}…{found.max_runs}"
        return "" if self.runs is None else f"fixed horizon, runs: {self.runs}"

    @property
    def ratio(self) -> float:
        return self.resampling.ratio if self.resampling is not None else 0.0


def settings_for(plan: Plan, hypothesis: Hypothesis) -> Settings:
    design = plan.experiment
    pair_by = hypothesis.pair_by if hypothesis.overrides_pair_by else design.pair_by
    runs, sequential = design_of(plan, hypothesis)
    return Settings(
        pair_by=pair_by,
        min_runs=hypothesis.min_runs or design.min_runs,
        resampling=hypothesis.resampling or design.resampling,
        conditions=tuple(design.conditions),
        runs=runs,
        pair_values=None
        if design.pair_values is None
        else tuple(canonical(str(v)) for v in design.pair_values),
        sequential=sequential,
    )


def design_of(plan: Plan, hypothesis: Hypothesis) -> tuple[int | None, Sequential | None]:
    """The hypothesis's planned n: its own (a fixed horizon or a sequential design) over the
    experiment's; a hypothesis that declares either ignores the experiment's other."""
    if hypothesis.runs is not None or hypothesis.sequential is not None:
        return hypothesis.runs, hypothesis.sequential
    return plan.experiment.runs, plan.experiment.sequential


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
