"""Verdicts: every hypothesis judged against its success criteria, baselines and guardrails.

The judge is pure. It reads a ``Plan`` and plain ``Result`` values and is told the date, so it
never touches MLflow or the clock and the same inputs always give the same verdicts.

How a verdict is reached, in order:

1. ``pending``: the hypothesis has no result. A renderer can still show the thresholds.
2. ``blocked``: it has results, but a baseline it needs (listed in ``baselines``, named by a
   criterion or guarded against) has none, so no verdict is given yet, not even a failure.
3. Otherwise every check is judged. Any clear fail gives ``failed``; all passing gives
   ``succeeded``; anything else (an unclear or a missing check) gives ``inconclusive``.
   A guardrail metric without a value is ``missing``: the safety it guards was not shown, so
   the hypothesis cannot succeed, but nothing was seen to fail either.
4. ``overdue`` replaces pending, blocked and inconclusive once ``today`` is past the deadline.

Runs of one subject (seeds, say) are aggregated per metric into a mean and a 95% Student t
interval. A check passes when the whole interval is on the good side of its threshold and fails
when the whole interval is on the bad side. Baselines are compared through their mean.
Measured and reported figures are never mixed: a subject with any measured result is judged on
its measured results alone, otherwise on its reported ones, and then says so.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Literal, get_args

from mlplan._models import (
    TERMINAL_ACTIONS,
    Criterion,
    Guardrail,
    Hypothesis,
    Margin,
    Metric,
    NextStep,
    Plan,
)
from mlplan._results import Result, ResultKind

__all__ = [
    "CONFIDENCE",
    "Aggregate",
    "Amendment",
    "Check",
    "CheckKind",
    "Outcome",
    "Status",
    "Verdict",
    "active_hypotheses",
    "aggregate",
    "baseline_values",
    "criteria_fingerprint",
    "criteria_text",
    "judge",
    "subject_values",
    "t_quantile",
]

Status = Literal["pending", "blocked", "succeeded", "failed", "inconclusive", "overdue"]
Outcome = Literal["pass", "fail", "unclear", "missing"]
CheckKind = Literal["criterion", "guardrail"]
Direction = Literal["higher", "lower"]

CONFIDENCE = 0.95
# Statuses that a deadline can overtake: the ones without a verdict.
_UNRESOLVED: tuple[Status, ...] = ("pending", "blocked", "inconclusive")
# Above this many degrees of freedom the Cornish–Fisher expansion is exact to ~1e-8 and
# cheaper than the exact series, whose length grows with the degrees of freedom.
_EXACT_T_MAX_DF = 100


@dataclass(frozen=True)
class Aggregate:
    """One metric over one subject's runs.

    ``low`` and ``high`` bound the 95% confidence interval of the mean; both are None for a
    single run, which is judged on its value alone. ``reported`` is True when the runs are
    reported figures rather than measured ones.
    """

    mean: float
    low: float | None
    high: float | None
    runs: int
    reported: bool = False


@dataclass(frozen=True)
class Check:
    """One comparison behind a verdict.

    ``description`` is the rule with its numbers, e.g. ``test_mse ≤ 20.235 (OLS 21.3 − 5%)``;
    ``threshold`` is the number the value is held against (None when it cannot be computed),
    ``reference`` the baseline's aggregate it was derived from, ``note`` what the reader
    should know about the evidence (a single run, reported figures, what is missing).
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

    @property
    def delta(self) -> float | None:
        """The hypothesis's mean minus the baseline's mean, when both are known."""
        if self.value is None or self.reference is None:
            return None
        return self.value.mean - self.reference.mean


@dataclass(frozen=True)
class Amendment:
    """The criteria changed after results were logged against older ones.

    ``since`` is when the first result was logged under ``old_criteria``. The verdict is
    judged on the current criteria; the amendment is there so the change is always shown.
    """

    old_fingerprint: str
    new_fingerprint: str
    old_criteria: str
    new_criteria: str
    since: dt.datetime


@dataclass(frozen=True)
class Verdict:
    """What the results say about one hypothesis, and what the plan says happens next.

    ``status_ignoring_deadline`` is the status had there been no timebox; it differs from
    ``status`` only when that is ``overdue``. ``next_step`` is the plan's ``on_success`` or
    ``on_failure`` for a final verdict; its ``then`` is split into ``next_hypothesis`` (an id)
    or ``next_action`` (a terminal action). ``days_left`` is negative past the deadline.
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

    @property
    def final(self) -> bool:
        return self.status in ("succeeded", "failed")


@dataclass(frozen=True)
class _Evidence:
    """What one subject's results say: measured ones if there are any, else reported ones."""

    runs: int
    reported: bool
    metrics: Mapping[str, Aggregate]


@dataclass(frozen=True)
class _Bound:
    """A value must lie above (or below) ``threshold``; strictly when beating with no margin."""

    threshold: float
    above: bool
    strict: bool

    @property
    def symbol(self) -> str:
        if self.above:
            return ">" if self.strict else "≥"
        return "<" if self.strict else "≤"

    def admits(self, value: float) -> bool:
        # Written so that NaN is never admitted: a diverged run fails its check.
        if self.above:
            return value > self.threshold if self.strict else value >= self.threshold
        return value < self.threshold if self.strict else value <= self.threshold


# ---------------------------------------------------------------------------- statistics


@lru_cache(maxsize=512)
def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom.

    Exact (by bisection on the closed-form distribution) up to 100 degrees of freedom,
    Cornish–Fisher above, where its error is below 1e-7 for the usual levels.
    """
    if not 0 < p < 1 or df < 1:
        raise ValueError(f"need 0 < p < 1 and df ≥ 1, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if df > _EXACT_T_MAX_DF:
        return _cornish_fisher_t(p, df)
    return _bisect_increasing(lambda t: 0.5 + 0.5 * _t_central_mass(t, df), p)


def _t_central_mass(t: float, df: int) -> float:
    """P(|T| ≤ t) for integer ``df``, Abramowitz & Stegun 26.7.3 (odd) and 26.7.4 (even)."""
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    first = 2 if df % 2 == 0 else 3
    term = total = 1.0
    for k in range(first, df, 2):
        term *= cos2 * (k - 1) / k
        total += term
    if df % 2 == 0:
        return math.sin(theta) * total
    if df == 1:
        return 2 * theta / math.pi
    return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)


def _cornish_fisher_t(p: float, df: int) -> float:
    """Abramowitz & Stegun 26.7.5: the normal quantile corrected in powers of 1/df."""
    z = NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _bisect_increasing(function: Callable[[float], float], target: float) -> float:
    """The x ≥ 0 where an increasing ``function`` reaches ``target`` (it starts below it)."""
    low, high = 0.0, 1.0
    while function(high) < target:
        low, high = high, high * 2
    for _ in range(100):  # halves the bracket far past double precision
        middle = (low + high) / 2
        low, high = (middle, high) if function(middle) < target else (low, middle)
    return (low + high) / 2


def aggregate(values: Sequence[float], reported: bool = False) -> Aggregate:
    """The mean of ``values`` and, with two or more, its 95% Student t confidence interval.

    ``math.fsum`` keeps the result independent of the order of the runs.
    """
    if not values:
        raise ValueError("cannot aggregate no values")
    runs = len(values)
    mean = math.fsum(values) / runs
    if runs == 1:
        return Aggregate(mean, None, None, 1, reported)
    spread = math.sqrt(math.fsum((value - mean) ** 2 for value in values) / (runs - 1))
    half_width = t_quantile((1 + CONFIDENCE) / 2, runs - 1) * spread / math.sqrt(runs)
    return Aggregate(mean, mean - half_width, mean + half_width, runs, reported)


# ---------------------------------------------------------------------------- evidence


def _evidence(results: Sequence[Result]) -> _Evidence:
    measured = [result for result in results if not result.reported]
    judged = measured or list(results)
    reported = not measured
    keys = dict.fromkeys(key for result in judged for key in result.metrics)
    metrics = {
        key: aggregate([r.metrics[key] for r in judged if key in r.metrics], reported)
        for key in keys
    }
    return _Evidence(len(judged), reported, metrics)


def _gather(results: Sequence[Result]) -> dict[tuple[ResultKind, str], _Evidence]:
    grouped: dict[tuple[ResultKind, str], list[Result]] = {}
    for result in results:
        grouped.setdefault((result.kind, result.subject), []).append(result)
    return {subject: _evidence(runs) for subject, runs in grouped.items()}


def subject_values(
    results: Sequence[Result], kind: ResultKind, subject: str
) -> dict[str, Aggregate]:
    """Each metric of one hypothesis or baseline, aggregated as the judge sees it.

    Empty when the subject has no result. Measured results win over reported ones.
    """
    runs = [result for result in results if (result.kind, result.subject) == (kind, subject)]
    return dict(_evidence(runs).metrics) if runs else {}


def baseline_values(plan: Plan, results: Sequence[Result]) -> dict[str, dict[str, Aggregate]]:
    """Every plan baseline with results, mapped to its aggregated metrics.

    The judge compares hypotheses with each baseline's *mean*: a baseline's spread widens
    nothing, so that a threshold stays one number a reader can check.
    """
    found = _gather(results)
    return {
        baseline.id: dict(found[("baseline", baseline.id)].metrics)
        for baseline in plan.experiment.baselines
        if ("baseline", baseline.id) in found
    }


# ---------------------------------------------------------------------------- checks


def _number(value: float) -> str:
    return f"{value:.5g}"


def _outcome(bound: _Bound, value: Aggregate) -> Outcome:
    """Pass when the whole interval is admitted, fail when none of it is, else unclear."""
    low = value.mean if value.low is None else value.low
    high = value.mean if value.high is None else value.high
    worst, best = (low, high) if bound.above else (high, low)
    if bound.admits(worst):
        return "pass"
    if not bound.admits(best):
        return "fail"
    return "unclear"


def _beat_bound(reference: float, margin: Margin | None, direction: Direction) -> _Bound:
    """Better than ``reference`` by at least the margin; strictly better when it is zero."""
    allowance = margin.allowance(reference) if margin is not None else 0.0
    higher = direction == "higher"
    threshold = reference + allowance if higher else reference - allowance
    return _Bound(threshold, above=higher, strict=allowance == 0)


def _guard_bound(reference: float, max_drop: Margin, direction: Direction) -> _Bound:
    """No worse than ``reference`` by more than ``max_drop``, in the metric's direction."""
    allowance = max_drop.allowance(reference)
    higher = direction == "higher"
    threshold = reference - allowance if higher else reference + allowance
    return _Bound(threshold, above=higher, strict=False)


def _value_note(subject: str, metric: str, value: Aggregate | None) -> list[str]:
    if value is None:
        return [f"no value for {metric} in {subject}'s results"]
    notes = [f"{value.runs} runs: mean ± 95% CI"] if value.runs > 1 else []
    notes += ["1 run: judged on its value alone"] if value.runs == 1 else []
    return notes + (["judged on reported figures"] if value.reported else [])


def _reference_note(baseline: str, reference: Aggregate) -> list[str]:
    notes = [f"{baseline}: mean of {reference.runs} runs"] if reference.runs > 1 else []
    return notes + ([f"{baseline}: reported figures"] if reference.reported else [])


@dataclass(frozen=True)
class _Subject:
    """The hypothesis being judged, with everything the checks read."""

    plan: Plan
    hypothesis: Hypothesis
    evidence: Mapping[tuple[ResultKind, str], _Evidence]

    def value(self, metric: str) -> Aggregate | None:
        found = self.evidence.get(("hypothesis", self.hypothesis.id))
        return found.metrics.get(metric) if found else None

    def reference(self, baseline: str, metric: str) -> tuple[Aggregate | None, str]:
        """The baseline's aggregate, or None and why it is missing."""
        found = self.evidence.get(("baseline", baseline))
        if found is None:
            return None, f"{baseline} has no result"
        if metric not in found.metrics:
            return None, f"{baseline} has no value for {metric}"
        return found.metrics[metric], ""


def _check(
    subject: _Subject,
    kind: CheckKind,
    metric: str,
    bound: _Bound | None,
    description: str,
    *,
    baseline: str | None = None,
    reference: Aggregate | None = None,
    problem: str = "",
) -> Check:
    """The hypothesis's value held against ``bound``; missing when either is unknown."""
    value = subject.value(metric)
    notes = [problem] if problem else []
    notes += _value_note(subject.hypothesis.id, metric, value)
    if baseline is not None and reference is not None:
        notes += _reference_note(baseline, reference)
    outcome: Outcome = "missing" if value is None or bound is None else _outcome(bound, value)
    return Check(
        kind=kind,
        metric=metric,
        description=description,
        baseline=baseline,
        threshold=None if bound is None else bound.threshold,
        value=value,
        outcome=outcome,
        reference=reference,
        note="; ".join(notes),
    )


def _absolute_check(subject: _Subject, criterion: Criterion) -> Check:
    if criterion.at_least is not None:
        bound = _Bound(criterion.at_least, above=True, strict=False)
    else:
        assert criterion.at_most is not None  # the model allows exactly one threshold
        bound = _Bound(criterion.at_most, above=False, strict=False)
    description = f"{criterion.metric} {bound.symbol} {_number(bound.threshold)}"
    return _check(subject, "criterion", criterion.metric, bound, description)


def _against_baseline(
    subject: _Subject,
    kind: CheckKind,
    metric: str,
    baseline: str,
    *,
    make: Callable[[float], tuple[_Bound, str]],
    unknown: str,
) -> Check:
    """A check whose threshold comes from a baseline's mean; missing if that mean is unknown.

    ``make`` turns the baseline's mean into the bound and the text after the threshold;
    ``unknown`` describes the rule when there is no number to show.
    """
    reference, problem = subject.reference(baseline, metric)
    if reference is None:
        return _check(subject, kind, metric, None, unknown, baseline=baseline, problem=problem)
    bound, explanation = make(reference.mean)
    description = f"{metric} {bound.symbol} {_number(bound.threshold)} ({explanation})"
    return _check(subject, kind, metric, bound, description, baseline=baseline, reference=reference)


def _beat_check(subject: _Subject, criterion: Criterion, baseline: str) -> Check:
    direction = subject.plan.metric(criterion.metric).direction
    margin = criterion.by

    def make(reference: float) -> tuple[_Bound, str]:
        bound = _beat_bound(reference, margin, direction)
        shown = f"{baseline} {_number(reference)}"
        if bound.strict:  # no margin to show, or one worth nothing here
            return bound, f"better than {shown}"
        return bound, f"{shown} {'+' if direction == 'higher' else '−'} {margin}"

    by = f" by {margin}" if margin is not None else ""
    unknown = f"{criterion.metric} better than {baseline}{by} ({direction} is better)"
    return _against_baseline(
        subject, "criterion", criterion.metric, baseline, make=make, unknown=unknown
    )


def _criterion_checks(subject: _Subject, criterion: Criterion) -> list[Check]:
    if criterion.better_than is None:
        return [_absolute_check(subject, criterion)]
    # One check per baseline: every baseline named must be beaten.
    return [_beat_check(subject, criterion, baseline) for baseline in criterion.better_than]


def _guard_check(subject: _Subject, guardrail: Guardrail, metric: Metric) -> Check:
    baseline, drop = guardrail.against, guardrail.max_drop
    worse = "drop" if metric.direction == "higher" else "rise"

    def make(reference: float) -> tuple[_Bound, str]:
        bound = _guard_bound(reference, drop, metric.direction)
        return bound, f"{baseline} {_number(reference)}, {drop} {worse} allowed"

    unknown = f"{metric.key} no worse than {baseline} by more than {drop}"
    return _against_baseline(subject, "guardrail", metric.key, baseline, make=make, unknown=unknown)


def _guarded_metrics(plan: Plan, hypothesis: Hypothesis, guardrail: Guardrail) -> list[Metric]:
    """Declared metrics matching the glob, except the ones the hypothesis sets out to move:
    a guardrail protects everything else, not the target it is allowed to trade against."""
    targets = {criterion.metric for criterion in hypothesis.success_criteria}
    return [
        metric
        for metric in plan.metrics
        if fnmatch.fnmatchcase(metric.key, guardrail.metrics) and metric.key not in targets
    ]


def _checks(subject: _Subject) -> Iterator[Check]:
    hypothesis = subject.hypothesis
    for criterion in hypothesis.success_criteria:
        yield from _criterion_checks(subject, criterion)
    for guardrail in hypothesis.guardrails:
        for metric in _guarded_metrics(subject.plan, hypothesis, guardrail):
            yield _guard_check(subject, guardrail, metric)


# ---------------------------------------------------------------------------- frozen criteria


def criteria_text(hypothesis: Hypothesis) -> str:
    """The success criteria and guardrails as canonical one-line JSON.

    Unset fields are left out, so adding an optional field to the schema later does not
    change the text (nor the fingerprint) of criteria that do not use it.
    """
    document = {
        "success_criteria": [
            criterion.model_dump(mode="json", exclude_none=True)
            for criterion in hypothesis.success_criteria
        ],
        "guardrails": [
            guardrail.model_dump(mode="json", exclude_none=True)
            for guardrail in hypothesis.guardrails
        ],
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def criteria_fingerprint(hypothesis: Hypothesis) -> str:
    """A short stable hash of ``criteria_text``: equal exactly when the criteria are equal."""
    return hashlib.sha256(criteria_text(hypothesis).encode("utf-8")).hexdigest()[:12]


def _amendment(hypothesis: Hypothesis, results: Sequence[Result]) -> Amendment | None:
    """Compare the criteria stamped on the hypothesis's first result with the current ones.

    Results without a stamp (typed-in reported figures, say) cannot tell, so they are skipped.
    """
    stamped = [
        result
        for result in results
        if (result.kind, result.subject) == ("hypothesis", hypothesis.id)
        and result.criteria_fingerprint
    ]
    if not stamped:
        return None
    first = min(stamped, key=lambda result: result.logged_at)
    current = criteria_fingerprint(hypothesis)
    if first.criteria_fingerprint == current:
        return None
    return Amendment(
        first.criteria_fingerprint,
        current,
        first.criteria,
        criteria_text(hypothesis),
        first.logged_at,
    )


# ---------------------------------------------------------------------------- verdicts


def _needed_baselines(hypothesis: Hypothesis) -> list[str]:
    named = [*hypothesis.baselines]
    named += [b for criterion in hypothesis.success_criteria for b in criterion.better_than or []]
    named += [guardrail.against for guardrail in hypothesis.guardrails]
    return list(dict.fromkeys(named))


def _status_of(runs: int, missing_baselines: Sequence[str], checks: Sequence[Check]) -> Status:
    if runs == 0:
        return "pending"
    if missing_baselines:
        return "blocked"
    outcomes = {check.outcome for check in checks}
    if "fail" in outcomes:
        return "failed"
    return "succeeded" if outcomes == {"pass"} else "inconclusive"


def _reason(status: Status, checks: Sequence[Check], missing_baselines: Sequence[str]) -> str:
    if status == "pending":
        return "no result yet"
    if status == "blocked":
        return f"no result for baseline {', '.join(missing_baselines)}"
    counts = {outcome: sum(c.outcome == outcome for c in checks) for outcome in get_args(Outcome)}
    if status == "succeeded":
        return "the check passes" if len(checks) == 1 else f"all {len(checks)} checks pass"
    shown = [f"{counts[o]} {o}" for o in ("fail", "unclear", "missing") if counts[o]]
    return f"{', '.join(shown)} of {len(checks)} checks"


def _split_then(step: NextStep | None) -> tuple[str | None, str | None]:
    """The step's target as (next hypothesis, next action); at most one is set."""
    if step is None or step.then is None:
        return None, None
    if step.then in TERMINAL_ACTIONS:
        return None, step.then
    return step.then, None


def _verdict(subject: _Subject, results: Sequence[Result], today: dt.date) -> Verdict:
    hypothesis = subject.hypothesis
    found = subject.evidence.get(("hypothesis", hypothesis.id))
    checks = tuple(_checks(subject))
    missing = tuple(
        b for b in _needed_baselines(hypothesis) if ("baseline", b) not in subject.evidence
    )
    judged = _status_of(found.runs if found else 0, missing, checks)
    deadline = hypothesis.timebox.deadline
    overdue = judged in _UNRESOLVED and today > deadline
    reason = _reason(judged, checks, missing)
    step = {"succeeded": hypothesis.on_success, "failed": hypothesis.on_failure}.get(judged)
    next_hypothesis, next_action = _split_then(step)
    return Verdict(
        hypothesis=hypothesis.id,
        status="overdue" if overdue else judged,
        status_ignoring_deadline=judged,
        reason=f"deadline {deadline.isoformat()} passed; {reason}" if overdue else reason,
        checks=checks,
        runs=found.runs if found else 0,
        reported=found.reported if found else False,
        missing_baselines=missing,
        next_step=step,
        next_hypothesis=next_hypothesis,
        next_action=next_action,
        deadline=deadline,
        days_left=(deadline - today).days,
        amendment=_amendment(hypothesis, results),
    )


def judge(plan: Plan, results: Sequence[Result], today: dt.date) -> list[Verdict]:
    """A verdict for every hypothesis, in plan order.

    Results for subjects the plan does not know are ignored. Verdicts always use the plan's
    current criteria; if they changed since the first result, ``Verdict.amendment`` says so.
    """
    evidence = _gather(results)
    return [
        _verdict(_Subject(plan, hypothesis, evidence), results, today)
        for hypothesis in plan.experiment.hypotheses
    ]


def _roots(plan: Plan) -> list[str]:
    targets = {
        step.then
        for hypothesis in plan.experiment.hypotheses
        for step in (hypothesis.on_success, hypothesis.on_failure)
    }
    return [h.id for h in plan.experiment.hypotheses if h.id not in targets]


def active_hypotheses(plan: Plan, verdicts: Sequence[Verdict]) -> list[str]:
    """The hypotheses to work on now, in plan order.

    Walk the decision graph from its roots (hypotheses no step leads to), following each
    final verdict's next step; the hypotheses reached that have no final verdict are active.
    A terminal action ends its path. A hypothesis without a verdict counts as unresolved.
    """
    by_id = {verdict.hypothesis: verdict for verdict in verdicts}
    reached: set[str] = set()
    frontier = _roots(plan)
    while frontier:
        current = frontier.pop()
        if current in reached:
            continue
        reached.add(current)
        verdict = by_id.get(current)
        if verdict is not None and verdict.next_hypothesis is not None:
            frontier.append(verdict.next_hypothesis)
    return [
        h.id
        for h in plan.experiment.hypotheses
        if h.id in reached and not (h.id in by_id and by_id[h.id].final)
    ]
