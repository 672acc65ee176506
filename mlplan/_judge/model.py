"""What a verdict is: its statuses, the checks behind it, and the aggregates it shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from mlplan._judge import stats as _stats
from mlplan._plan.models import (
    Closure,
    NextStep,
)

__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "UNRESOLVED",
    "Aggregate",
    "Amendment",
    "Check",
    "CheckKind",
    "Outcome",
    "Status",
    "Verdict",
]


Status = Literal["pending", "blocked", "running", "succeeded", "failed", "inconclusive", "overdue"]


Outcome = Literal["pass", "fail", "unclear", "missing"]


CheckKind = Literal["criterion", "guardrail"]


ALPHA = _stats.ALPHA


CONFIDENCE = 1 - 2 * ALPHA


# Statuses that a deadline can overtake: the ones without a verdict.
UNRESOLVED: tuple[Status, ...] = ("pending", "blocked", "running", "inconclusive")


@dataclass(frozen=True)
class Aggregate:
    """One metric over one subject's runs: the mean and its 95% Student t interval (None for
    a single run), cut to the metric's bounds. ``reported``: the runs are reported figures."""

    mean: float
    low: float | None
    high: float | None
    runs: int
    reported: bool = False


@dataclass(frozen=True)
class Check:
    """One comparison behind a verdict.

    ``description`` is the rule, e.g. ``acc ≥ B1 + 5%``. The test is on an *effect*
    (``effect_label``: the mean, the paired difference h − 1.05·B1, ...) held against
    ``limit``: ``estimate`` is its value and ``low``/``high`` its two-sided interval, of the
    kind ``interval`` names ("95% CI": Student's t at a fixed n). What decided the check is
    ``p_success`` against ``level`` and ``p_failure`` against ``failure_level`` (Holm-adjusted
    across the hypothesis's failure tests): one-sided p-values, absent for checks decided by
    value. ``threshold`` is the same limit in the metric's unit (e.g. 1.05 × B1's mean).
    ``points`` are what the test saw (per-pair differences, or the hypothesis's runs) and
    ``reference_points`` the baseline's runs when unpaired. ``explanation`` is one line:
    test, n, interval, threshold, correction.
    """

    kind: CheckKind
    metric: str
    description: str
    baseline: str | None
    threshold: float | None
    value: Aggregate | None
    outcome: Outcome
    reference: Aggregate | None = None
    note: str = ""
    group: str = ""
    test: str = ""
    n: int = 0
    effect_label: str = ""
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    limit: float | None = None
    above: bool = True
    points: tuple[float, ...] = ()
    reference_points: tuple[float, ...] = ()
    # Paired: each point's pair-key value (seed 0, 1, ...), so a plot's x-axis can name it.
    point_keys: tuple[str, ...] = ()
    paired: bool = False
    explanation: str = ""
    runs_needed: int | None = None
    runs_needed_reason: str = ""
    interval: str = ""
    p_success: float | None = None
    p_failure: float | None = None
    level: float = ALPHA
    failure_level: float = ALPHA
    criterion: int | None = None  # the success criterion it tests (None: a guardrail)
    decided_at: int | None = None  # a sequential design: the n of the look that decided
    design: str = ""  # "fixed", "group" or "anytime" (issue 17); "" without a planned n

    @property
    def delta(self) -> float | None:
        """The hypothesis's mean minus the baseline's mean, when both are known."""
        if self.value is None or self.reference is None:
            return None
        return self.value.mean - self.reference.mean


@dataclass(frozen=True)
class Amendment:
    """The criteria changed after results were logged against older ones."""

    old_fingerprint: str
    new_fingerprint: str
    old_criteria: str
    new_criteria: str
    since: dt.datetime


@dataclass(frozen=True)
class Verdict:
    """What the results say about one hypothesis, and what the plan says happens next.

    ``confirmatory`` is False for a hypothesis declared exploratory or reached after a
    non-success along the decision graph. ``runs_needed`` is the number of runs (pairs) per
    check at which the tests have 80% power; ``runs_needed_reason`` says why it is None.
    Under a sequential design ``runs_needed`` is the design's max_runs (the anytime-valid t
    without one: the n by which it reaches 80% power), ``design_power`` its power there and
    ``expected_runs`` the n at which it is expected to decide, at the expected effect.
    ``unmatched`` lists runs a paired test could not use, ``replacements`` results that
    replaced others, ``warnings`` anything else a reader must know (pooled conditions).
    """

    hypothesis: str
    status: Status
    status_ignoring_deadline: Status
    reason: str
    checks: tuple[Check, ...]
    runs: int
    reported: bool
    missing_baselines: tuple[str, ...]
    next_step: NextStep | None
    next_hypothesis: str | None
    next_action: str | None
    deadline: dt.date
    days_left: int
    amendment: Amendment | None
    confirmatory: bool = True
    level: float = ALPHA
    correction: str = ""
    explanation: str = ""
    runs_needed: int | None = None
    runs_needed_reason: str = ""
    unmatched: tuple[str, ...] = ()
    replacements: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    closed: Closure | None = None
    closed_on: dt.date | None = None
    design: str = ""  # the planned n in words; "" when none (then never confirmatory)
    decided_at: int | None = None  # a sequential design: the n at which the verdict was reached
    expected_runs: float | None = None  # a sequential design: E[n at the decision], expected effect
    design_power: float | None = None  # a sequential design: P(success by runs_needed), the same

    @property
    def final(self) -> bool:
        return self.status in ("succeeded", "failed")

    @property
    def settled(self) -> bool:
        """Final, or closed by a recorded decision: nothing more is run for it."""
        return self.final or self.closed is not None
