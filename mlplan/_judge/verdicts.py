"""Verdicts: every hypothesis judged against its success criteria, baselines and guardrails.

The judge is pure. It reads a ``Plan`` and plain ``Result`` values and is told the date, so it
never touches MLflow or the clock and the same inputs always give the same verdicts. Its
statistics live in ``stats`` (scipy.stats); this module decides what to test.

How a verdict is reached, in order:

1. ``pending``: the hypothesis has no result. A renderer can still show the thresholds.
2. ``blocked``: it has results, but a baseline it needs has none.
3. Otherwise every check is a pair of one-sided tests at α = 0.025: success ("the effect is
   beyond the threshold") and failure ("it is short of it"). A hypothesis succeeds when every
   check passes, an intersection–union test that needs no adjustment (Berger 1982,
   Technometrics 24:295–300); it fails when a failure test rejects, Holm-adjusted (Holm 1979)
   across all of its failure tests so that more checks do not mean more false failures.
   Anything else is ``inconclusive``; a guardrail metric without a value is ``missing``.
4. ``overdue`` replaces pending, blocked and inconclusive once ``today`` is past the deadline,
   unless a recorded decision closed the hypothesis (abandoned or superseded).

What each check compares (issue 7): with ``pair_by``, a paired t-test on the matched keys
(Nadeau–Bengio corrected for overlapping resamples); without it, Welch's test, so the
baseline's spread counts; an ``exact`` baseline is a constant; an ``exact`` metric is decided
per result by its value; reported figures are point values, "reported, no interval". A check
with fewer than ``min_runs`` runs (or pairs) decides nothing. Relative margins are tested on
h − (1 ± δ)·b. Along the decision graph a hypothesis is confirmatory only when reached through
successes (fixed sequence); ``multiplicity: holm`` makes a declared family one Holm family.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Literal, get_args

import numpy as np

from mlplan._judge import stats as _stats
from mlplan._judge.results import Result, ResultKind
from mlplan._plan.models import (
    TERMINAL_ACTIONS,
    Closure,
    Criterion,
    Decision,
    Guardrail,
    Hypothesis,
    Margin,
    Metric,
    NextStep,
    Plan,
    Resampling,
)
from mlplan._text import number, plural

__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "FINGERPRINT_VERSION",
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
    "fingerprint_as",
    "judge",
    "subject_values",
]

Status = Literal["pending", "blocked", "succeeded", "failed", "inconclusive", "overdue"]
Outcome = Literal["pass", "fail", "unclear", "missing"]
CheckKind = Literal["criterion", "guardrail"]

ALPHA = _stats.ALPHA
CONFIDENCE = 1 - 2 * ALPHA
FINGERPRINT_VERSION = "v2"
# Statuses that a deadline can overtake: the ones without a verdict.
_UNRESOLVED: tuple[Status, ...] = ("pending", "blocked", "inconclusive")


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
    ``limit``: ``estimate`` is its value, ``low``/``high`` the one-sided bounds that decided it
    (success side at the hypothesis's level, failure side Holm-adjusted). ``threshold`` is the
    same limit in the metric's unit (e.g. 1.05 × B1's mean), for readers and plots.
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
    paired: bool = False
    explanation: str = ""
    runs_needed: int | None = None
    runs_needed_reason: str = ""

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

    @property
    def final(self) -> bool:
        return self.status in ("succeeded", "failed")

    @property
    def settled(self) -> bool:
        """Final, or closed by a recorded decision: nothing more is run for it."""
        return self.final or self.closed is not None


# ---------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class _Settings:
    """The statistical settings in force for one hypothesis (its own over the experiment's)."""

    pair_by: str | None
    min_runs: int
    resampling: Resampling | None
    conditions: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.resampling.ratio if self.resampling is not None else 0.0


def _settings(plan: Plan, hypothesis: Hypothesis) -> _Settings:
    design = plan.experiment
    pair_by = hypothesis.pair_by if hypothesis.overrides_pair_by else design.pair_by
    return _Settings(
        pair_by=pair_by,
        min_runs=hypothesis.min_runs or design.min_runs,
        resampling=hypothesis.resampling or design.resampling,
        conditions=tuple(design.conditions),
    )


# ---------------------------------------------------------------------------- evidence


def aggregate(
    values: Sequence[float], reported: bool = False, bounds: tuple[float, float] | None = None
) -> Aggregate:
    """The mean of ``values`` and, with two or more, its 95% Student t interval."""
    if not values:
        raise ValueError("cannot aggregate no values")
    values = _ordered(values)
    mean = _mean(values)
    if len(values) == 1 or _magnitude_problem(values) or not all(map(math.isfinite, values)):
        return Aggregate(mean, None, None, len(values), reported)
    # The interval is laid around the mean that is shown, with a half-width ≥ 0: built from
    # numpy's mean instead, seven copies of one value once gave a low end one ulp above it.
    half = float(_stats.half_width(_stats.one_sample(values), ALPHA))
    low, high = _stats.clip(mean - half, mean + half, bounds)
    return Aggregate(mean, low, high, len(values), reported)


def _mean(values: Sequence[float]) -> float:
    """The mean without overflow: values near the float range's top are summed scaled down."""
    if not all(map(math.isfinite, values)):
        with np.errstate(all="ignore"):
            return float(np.mean(values))  # NaN or ±inf, as the runs say
    top = max(map(abs, values))
    if top <= _stats.LARGEST:
        return math.fsum(values) / len(values)
    return top * (math.fsum(v / top for v in values) / len(values))


def _magnitude_problem(*groups: Sequence[float]) -> str:
    """Why values too large for the t statistics cannot be tested, or "" when they can."""
    top = max((abs(v) for group in groups for v in group if math.isfinite(v)), default=0.0)
    if top <= _stats.LARGEST:
        return ""
    return (
        f"a value of magnitude {top:.3g} is beyond ±{_stats.LARGEST:.0e}, where the t statistics "
        "overflow; log the metric in larger units"
    )


def _replaced(results: Sequence[Result]) -> set[str]:
    named = {r.replaces for r in results if r.replaces}
    return named | {r.run_id for r in results if r.replaced_by}


def _identity(result: Result) -> tuple[object, ...]:
    # Items in stored order: a store returns one run's params and metrics in a fixed order,
    # and sorting them for 10,000 results was the judge's largest cost.
    return (
        result.kind,
        result.subject,
        result.reported,
        result.note,
        tuple(result.params.items()),
        tuple(result.metrics.items()),
    )


def _live(results: Sequence[Result]) -> list[Result]:
    """Results that count: replaced ones dropped, identical ones (same subject, params, note
    and values: a result logged twice) counted once."""
    gone = _replaced(results)
    seen: set[tuple[object, ...]] = set()
    kept = []
    for result in sorted(results, key=attrgetter("logged_at", "run_id")):
        identity = _identity(result)
        if result.run_id in gone or identity in seen:
            continue
        seen.add(identity)
        kept.append(result)
    return kept


def _judged_runs(results: Sequence[Result]) -> list[Result]:
    """Measured results if there are any, else the reported ones: never a mix."""
    measured = [result for result in results if not result.reported]
    return measured or list(results)


def _gather(results: Sequence[Result]) -> dict[tuple[ResultKind, str], list[Result]]:
    grouped: dict[tuple[ResultKind, str], list[Result]] = {}
    for result in _live(results):
        grouped.setdefault((result.kind, result.subject), []).append(result)
    return {subject: _judged_runs(runs) for subject, runs in grouped.items()}


def _metric_aggregates(runs: Sequence[Result], plan: Plan | None) -> dict[str, Aggregate]:
    keys = dict.fromkeys(key for result in runs for key in result.metrics)
    reported = bool(runs) and runs[0].reported
    bounds = {m.key: m.bounds for m in plan.metrics} if plan is not None else {}
    return {
        key: aggregate(
            [r.metrics[key] for r in runs if key in r.metrics], reported, bounds.get(key)
        )
        for key in keys
    }


def subject_values(
    results: Sequence[Result], kind: ResultKind, subject: str
) -> dict[str, Aggregate]:
    """Each metric of one hypothesis or baseline, aggregated (mean and 95% interval)."""
    runs = _gather(results).get((kind, subject), [])
    return _metric_aggregates(runs, None)


def baseline_values(plan: Plan, results: Sequence[Result]) -> dict[str, dict[str, Aggregate]]:
    """Every plan baseline with results, mapped to its aggregated metrics."""
    found = _gather(results)
    return {
        baseline.id: _metric_aggregates(found[("baseline", baseline.id)], plan)
        for baseline in plan.experiment.baselines
        if ("baseline", baseline.id) in found
    }


# ---------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class _Rule:
    """What one check demands, on the effect h − scale·b (or on h alone without a baseline).

    ``above``: the good side is above ``offset``. ``relative`` is the signed fraction of the
    baseline that moves the limit (+δ to beat by δ, −δ to trail by at most δ); ``offset`` the
    signed absolute amount, or the threshold itself for an absolute criterion.
    """

    kind: CheckKind
    metric: Metric
    description: str
    above: bool
    offset: float
    relative: float = 0.0
    strict: bool = False
    baseline: str | None = None
    margin: Margin | None = None
    for_each: str | None = None
    superior: bool = True

    def scale(self, reference_mean: float) -> float:
        """The multiplier of b: 1 + s·δ·sign(b̄), mirrored for lower-is-better metrics."""
        sign = 1.0 if self.above else -1.0
        return 1.0 + sign * self.relative * (1.0 if reference_mean >= 0 else -1.0)


def _symbol(above: bool, strict: bool) -> str:
    return (">" if strict else "≥") if above else ("<" if strict else "≤")


def _absolute_rule(criterion: Criterion, metric: Metric) -> _Rule:
    above = criterion.at_least is not None
    threshold = criterion.at_least if above else criterion.at_most
    assert threshold is not None  # the model allows exactly one threshold
    text = f"{criterion.metric} {_symbol(above, False)} {threshold:.5g}"
    return _Rule("criterion", metric, text, above, threshold, for_each=criterion.for_each)


def _comparison_rule(
    kind: CheckKind, metric: Metric, baseline: str, margin: Margin | None, superior: bool
) -> _Rule:
    """better_than (``superior``) or non-inferiority (no_worse_than, guardrails)."""
    above = metric.direction == "higher"
    amount = margin.value if margin is not None else 0.0
    toward = 1.0 if superior else -1.0  # beat by the margin, or trail by at most it
    relative = margin is not None and margin.relative
    offset = 0.0 if relative else (1.0 if above else -1.0) * toward * amount
    strict = superior and amount == 0
    sign = "+" if (above == superior) else "−"
    shown = f" {sign} {margin}" if amount else ""
    text = f"{metric.key} {_symbol(above, strict)} {baseline}{shown}"
    return _Rule(
        kind,
        metric,
        text,
        above,
        offset,
        relative=toward * amount if relative else 0.0,
        strict=strict,
        baseline=baseline,
        margin=margin,
        superior=superior,
    )


def _criterion_rules(plan: Plan, criterion: Criterion) -> list[_Rule]:
    metric = plan.metric(criterion.metric)
    if criterion.baselines_named is None:
        return [_absolute_rule(criterion, metric)]
    superior = criterion.better_than is not None
    return [
        replace(
            _comparison_rule("criterion", metric, b, criterion.by, superior),
            for_each=criterion.for_each,
        )
        for b in criterion.baselines_named
    ]


def _guarded_metrics(plan: Plan, hypothesis: Hypothesis, guardrail: Guardrail) -> list[Metric]:
    """Declared metrics matching the glob, except the ones the hypothesis sets out to move:
    a guardrail protects everything else, not the target it is allowed to trade against."""
    targets = {criterion.metric for criterion in hypothesis.success_criteria}
    return [
        metric
        for metric in plan.metrics
        if fnmatch.fnmatchcase(metric.key, guardrail.metrics) and metric.key not in targets
    ]


def _rules(plan: Plan, hypothesis: Hypothesis) -> Iterator[_Rule]:
    for criterion in hypothesis.success_criteria:
        yield from _criterion_rules(plan, criterion)
    for guardrail in hypothesis.guardrails:
        for metric in _guarded_metrics(plan, hypothesis, guardrail):
            yield _comparison_rule(
                "guardrail", metric, guardrail.against, guardrail.max_drop, superior=False
            )


# ---------------------------------------------------------------------------- tests


@dataclass(frozen=True)
class _Test:
    """A check before the levels are known: the estimate and both one-sided p-values.

    ``decided`` is set for deterministic checks (exact metrics, reported figures), which
    take no part in Holm's family; ``problem`` for checks that cannot decide (too few runs).
    """

    rule: _Rule
    group: str
    value: Aggregate | None
    reference: Aggregate | None
    description: str = ""
    test: str = ""
    n: int = 0
    effect_label: str = ""
    estimate: _stats.Estimate | None = None
    limit: float | None = None
    threshold: float | None = None
    p_success: float = 1.0
    p_failure: float = 1.0
    decided: Outcome | None = None
    problem: str = ""
    notes: tuple[str, ...] = ()
    points: tuple[float, ...] = ()
    reference_points: tuple[float, ...] = ()
    paired: bool = False
    power: tuple[float, float, float | None, float] | None = None  # effect, sd, sd_b, ratio
    unmatched: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Context:
    plan: Plan
    hypothesis: Hypothesis
    settings: _Settings
    evidence: Mapping[tuple[ResultKind, str], list[Result]]

    def runs(self, kind: ResultKind, subject: str) -> list[Result]:
        return self.evidence.get((kind, subject), [])


def _ordered(values: Sequence[float]) -> tuple[float, ...]:
    """Points in a canonical order, so that the order of the runs never shows (NaN last)."""
    return tuple(np.sort(np.asarray(values, dtype=np.float64)).tolist())


def _with_metric(runs: Sequence[Result], metric: str) -> list[Result]:
    return [r for r in runs if metric in r.metrics]


def _values(runs: Sequence[Result], metric: str) -> list[float]:
    # Sorted: floating-point sums then never depend on the order the runs came in.
    return list(_ordered([r.metrics[metric] for r in runs]))


def _p_values(estimate: _stats.Estimate, limit: float, rule: _Rule) -> tuple[float, float]:
    success = float(_stats.success_p(estimate, limit, rule.above, rule.strict))
    failure = float(_stats.failure_p(estimate, limit, rule.above, rule.strict))
    return success, failure


def _admits(rule: _Rule, effect: float, limit: float) -> bool:
    # Written so that NaN is never admitted: a diverged run fails its check.
    if rule.above:
        return effect > limit if rule.strict else effect >= limit
    return effect < limit if rule.strict else effect <= limit


def _power_effect(ctx: _Context, rule: _Rule, reference_mean: float) -> float | None:
    """The true distance beyond the limit that runs_needed plans for: the margin, or the
    plan's power_at when there is none (relative to the baseline or the threshold)."""
    margin = rule.margin if rule.margin is not None and rule.margin.value else None
    margin = margin or ctx.plan.experiment.power_at
    if margin is None:
        return None
    reference = reference_mean if rule.baseline is not None else rule.offset
    amount = margin.allowance(reference)
    return amount if amount > 0 else None


def _deterministic(
    rule: _Rule, effects: Sequence[float], limit: float, test: str
) -> tuple[Outcome, str]:
    admitted = [_admits(rule, e, limit) for e in effects]
    outcome: Outcome = "pass" if all(admitted) else "fail"
    return outcome, test


def _absolute_test(ctx: _Context, rule: _Rule, runs: list[Result], group: str) -> _Test:
    key = rule.metric.key
    values = _values(runs, key)
    value = aggregate(values, runs[0].reported, rule.metric.bounds) if values else None
    base = _Test(
        rule,
        group,
        value,
        None,
        effect_label=f"mean {key}",
        limit=rule.offset,
        threshold=rule.offset,
        points=_ordered(values),
    )
    if not values:
        return replace(base, problem=f"no value for {key} in {ctx.hypothesis.id}'s results")
    if runs[0].reported or rule.metric.exact:
        return _point_test(base, rule, values, rule.offset, reported=runs[0].reported)
    if problem := _magnitude_problem(values):
        return replace(base, problem=problem)
    estimate = _stats.one_sample(values, ctx.settings.ratio)
    test = _test_name("one-sample t", ctx.settings)
    base = replace(base, test=test, n=len(values), estimate=estimate)
    if len(values) < ctx.settings.min_runs:
        return replace(base, problem=f"n = {len(values)}; needs ≥ {ctx.settings.min_runs}")
    success, failure = _p_values(estimate, rule.offset, rule)
    sd = float(np.std(values, ddof=1))
    return replace(
        base,
        p_success=success,
        p_failure=failure,
        power=_power_tuple(ctx, rule, 0.0, sd, None),
    )


def _power_tuple(
    ctx: _Context, rule: _Rule, reference_mean: float, sd: float, sd_b: float | None
) -> tuple[float, float, float | None, float] | None:
    effect = _power_effect(ctx, rule, reference_mean)
    return None if effect is None else (effect, sd, sd_b, ctx.settings.ratio)


def _test_name(name: str, settings: _Settings) -> str:
    if settings.resampling is None:
        return name
    return f"{name}, {settings.resampling.name}"


def _point_test(
    base: _Test, rule: _Rule, effects: Sequence[float], limit: float, *, reported: bool
) -> _Test:
    """Reported figures (as one point value) or an exact metric (every result by its value)."""
    if reported:
        point = math.fsum(effects) / len(effects)
        outcome: Outcome = "pass" if _admits(rule, point, limit) else "fail"
        note = "judged on reported figures: a point value, no interval"
        return replace(
            base, test="reported, no interval", n=len(effects), decided=outcome, notes=(note,)
        )
    outcome, test = _deterministic(rule, effects, limit, "exact, per result")
    note = "exact metric: the claim covers the evaluated set only"
    return replace(base, test=test, n=len(effects), decided=outcome, notes=(note,))


def _group_filter(runs: Sequence[Result], rule: _Rule, group_value: str | None) -> list[Result]:
    """A baseline's runs for one for_each group, when the baseline's runs carry the condition;
    otherwise all of them (one baseline for every group)."""
    if rule.for_each is None or group_value is None:
        return list(runs)
    if not any(rule.for_each in r.params for r in runs):
        return list(runs)
    return [r for r in runs if r.params.get(rule.for_each) == group_value]


def _first_by_key(runs: Sequence[Result], key: str) -> dict[str, Result]:
    """The first run per key; ``runs`` come in logging order (see ``_live``).

    The first, not the latest: a second run for seed 3 that slipped past the journal's check
    (a training script's ``start_run``, two writers in the same instant) must not displace the
    first one, or re-running seed 3 until it wins would work. Only an explicit replacement
    (``--replace RUN --reason``), which marks the old run, takes a key's place."""
    keyed: dict[str, Result] = {}
    for run in runs:
        if key in run.params:
            keyed.setdefault(run.params[key], run)
    return keyed


def _unmatched(
    subject: str, runs: Sequence[Result], key: str, other: str, other_keys: set[str]
) -> list[str]:
    lines = []
    for run in runs:
        value = run.params.get(key)
        if value is None:
            lines.append(f"{subject} run {run.run_id}: no {key} param")
        elif value not in other_keys:
            lines.append(f"{subject} run {run.run_id} ({key}={value}): no {other} run with it")
    return lines


def _comparison_test(
    ctx: _Context, rule: _Rule, runs: list[Result], group: str, group_value: str | None
) -> _Test:
    key = rule.metric.key
    assert rule.baseline is not None
    baseline = ctx.plan.baseline(rule.baseline)
    b_runs = _with_metric(
        _group_filter(ctx.runs("baseline", rule.baseline), rule, group_value), key
    )
    h_values, b_values = _values(runs, key), _values(b_runs, key)
    bounds = rule.metric.bounds
    value = aggregate(h_values, runs[0].reported, bounds) if h_values else None
    reference = aggregate(b_values, b_runs[0].reported, bounds) if b_values else None
    base = _Test(rule, group, value, reference)
    if reference is None:
        known = ctx.runs("baseline", rule.baseline)
        why = "has no result" if not known else f"has no value for {key}"
        return replace(base, problem=f"{rule.baseline} {why}" + (f" in {group}" if group else ""))
    scale = rule.scale(reference.mean)
    limit = rule.offset
    threshold = scale * reference.mean + limit
    label = _effect_label(key, rule.baseline, scale)
    description = _with_numbers(rule, reference.mean, threshold)
    base = replace(
        base, effect_label=label, limit=limit, threshold=threshold, description=description
    )
    if not h_values:
        return replace(base, problem=f"no value for {key} in {ctx.hypothesis.id}'s results")
    if rule.relative and (problem := _relative_problem(rule.baseline, reference, baseline.exact)):
        return replace(base, problem=problem, points=_ordered(h_values))
    if runs[0].reported or b_runs[0].reported or rule.metric.exact:
        effects = [h - scale * reference.mean for h in h_values]
        reported = runs[0].reported or b_runs[0].reported
        return replace(
            _point_test(base, rule, effects, limit, reported=reported), points=_ordered(effects)
        )
    if problem := _magnitude_problem(h_values, b_values):
        return replace(base, problem=problem, points=_ordered(h_values))
    if baseline.exact:
        return _against_constant(ctx, base, rule, h_values, scale * reference.mean)
    if ctx.settings.pair_by is not None:
        return _paired_test(ctx, base, rule, runs, b_runs, scale=scale)
    return _welch_test(ctx, base, rule, h_values, b_values, scale=scale)


def _with_numbers(rule: _Rule, reference: float, threshold: float) -> str:
    """E.g. ``test_mse ≤ 19 (OLS 20 − 5%)``: the rule with the numbers it stands for."""
    shown = f"{rule.baseline} {reference:.5g}"
    symbol = _symbol(rule.above, rule.strict)
    amount = rule.margin.value if rule.margin is not None else 0.0
    if rule.kind == "guardrail":
        worse = "drop" if rule.above else "rise"
        explanation = f"{shown}, {rule.margin} {worse} allowed"
    elif not amount:
        explanation = f"{'better than' if rule.strict else 'no worse than'} {shown}"
    else:
        sign = "+" if rule.above == rule.superior else "−"
        explanation = f"{shown} {sign} {rule.margin}"
    return f"{rule.metric.key} {symbol} {threshold:.5g} ({explanation})"


def _effect_label(metric: str, baseline: str, scale: float) -> str:
    factor = "" if scale == 1 else f"{scale:.4g}·"
    return f"{metric} − {factor}{baseline}"


def _relative_problem(baseline: str, reference: Aggregate, exact: bool) -> str:
    """A percentage of a baseline means nothing when the baseline may be 0."""
    if exact or reference.low is None or reference.high is None:
        if reference.mean == 0:
            return f"{baseline} is 0: a relative margin of it cannot be judged"
        return ""
    if reference.low <= 0 <= reference.high:
        return (
            f"{baseline}'s 95% interval [{reference.low:.4g}, {reference.high:.4g}] contains 0: "
            "a relative margin of it cannot be judged"
        )
    return ""


def _against_constant(
    ctx: _Context, base: _Test, rule: _Rule, h_values: list[float], constant: float
) -> _Test:
    """An exact baseline is a known constant: a one-sample t on the hypothesis's runs."""
    effects = [h - constant for h in h_values]
    estimate = _stats.one_sample(effects, ctx.settings.ratio)
    test = _test_name(f"one-sample t vs exact {rule.baseline}", ctx.settings)
    base = replace(base, test=test, n=len(effects), estimate=estimate, points=_ordered(effects))
    if len(effects) < ctx.settings.min_runs:
        return replace(base, problem=f"n = {len(effects)}; needs ≥ {ctx.settings.min_runs}")
    assert base.limit is not None and base.reference is not None
    success, failure = _p_values(estimate, base.limit, rule)
    sd = float(np.std(effects, ddof=1))
    return replace(
        base,
        p_success=success,
        p_failure=failure,
        power=_power_tuple(ctx, rule, base.reference.mean, sd, None),
    )


def _paired_test(
    ctx: _Context,
    base: _Test,
    rule: _Rule,
    runs: list[Result],
    b_runs: list[Result],
    *,
    scale: float,
) -> _Test:
    pair_by = ctx.settings.pair_by
    assert pair_by is not None and rule.baseline is not None
    key = rule.metric.key
    mine, theirs = _first_by_key(runs, pair_by), _first_by_key(b_runs, pair_by)
    # In the hypothesis's logging order: deterministic, whatever order the results came in.
    matched = [k for k in mine if k in theirs]
    unmatched = _unmatched(ctx.hypothesis.id, runs, pair_by, rule.baseline, set(theirs))
    unmatched += _unmatched(rule.baseline, b_runs, pair_by, ctx.hypothesis.id, set(mine))
    unmatched += _superseded(ctx.hypothesis.id, runs, pair_by, mine)
    unmatched += _superseded(rule.baseline, b_runs, pair_by, theirs)
    h = [mine[k].metrics[key] for k in matched]
    b = [theirs[k].metrics[key] for k in matched]
    differences = [x - scale * y for x, y in zip(h, b, strict=True)]
    test = _test_name(f"paired t on {pair_by}", ctx.settings)
    base = replace(
        base,
        test=test,
        n=len(matched),
        points=tuple(differences),
        paired=True,
        unmatched=tuple(unmatched),
    )
    if len(matched) < ctx.settings.min_runs:
        noun = "matched pair" if len(matched) == 1 else "matched pairs"
        return replace(
            base, problem=f"n = {len(matched)} {noun} ({pair_by}); needs ≥ {ctx.settings.min_runs}"
        )
    estimate = _stats.paired(h, b, scale, ctx.settings.ratio)
    assert base.limit is not None and base.reference is not None
    success, failure = _p_values(estimate, base.limit, rule)
    sd = float(np.std(differences, ddof=1))
    return replace(
        base,
        estimate=estimate,
        p_success=success,
        p_failure=failure,
        power=_power_tuple(ctx, rule, base.reference.mean, sd, None),
    )


def _superseded(
    subject: str, runs: Sequence[Result], key: str, kept: Mapping[str, Result]
) -> list[str]:
    """Runs that share a key with an earlier one (logged past the journal's check): only the
    first counts, and the doc says which were set aside."""
    return [
        f"{subject} run {run.run_id} ({key}={run.params[key]}): an earlier result has the same "
        f"{key} (run {kept[run.params[key]].run_id}); only that one is used unless it is "
        "replaced (--replace RUN --reason TEXT)"
        for run in runs
        if key in run.params and kept[run.params[key]] is not run
    ]


def _natural(key: str) -> tuple[int, float, str]:
    try:
        return 0, float(key), key
    except ValueError:
        return 1, 0.0, key


def _welch_test(
    ctx: _Context, base: _Test, rule: _Rule, h: list[float], b: list[float], *, scale: float
) -> _Test:
    base = replace(base, test="Welch t", n=len(h), points=_ordered(h), reference_points=_ordered(b))
    need = ctx.settings.min_runs
    if len(b) < need:
        return replace(
            base,
            problem=f"{rule.baseline}: {len(b)} run{'s' * (len(b) != 1)}; needs ≥ {need} or exact",
        )
    if len(h) < need:
        return replace(base, problem=f"n = {len(h)}; needs ≥ {need}")
    estimate = _stats.welch(h, b, scale)
    assert base.limit is not None and base.reference is not None
    success, failure = _p_values(estimate, base.limit, rule)
    sd_h, sd_b = float(np.std(h, ddof=1)), abs(scale) * float(np.std(b, ddof=1))
    return replace(
        base,
        estimate=estimate,
        p_success=success,
        p_failure=failure,
        power=_power_tuple(ctx, rule, base.reference.mean, sd_h, sd_b),
    )


def _groups(
    ctx: _Context, rule: _Rule, runs: list[Result]
) -> Iterator[tuple[str, str | None, list[Result]]]:
    """(label, value, runs) per for_each group, or one unnamed group of every run."""
    if rule.for_each is None:
        yield "", None, runs
        return
    values = sorted(
        {r.params[rule.for_each] for r in runs if rule.for_each in r.params}, key=_natural
    )
    for value in values:
        chosen = [r for r in runs if r.params.get(rule.for_each) == value]
        yield f"{rule.for_each}={value}", value, chosen


def _tests(ctx: _Context) -> list[_Test]:
    mine = ctx.runs("hypothesis", ctx.hypothesis.id)
    tests = []
    for rule in _rules(ctx.plan, ctx.hypothesis):
        runs = _with_metric(mine, rule.metric.key)
        groups = list(_groups(ctx, rule, runs)) or [("", None, [])]
        for label, value, chosen in groups:
            if rule.baseline is None:
                tests.append(
                    _absolute_test(ctx, rule, chosen, label)
                    if chosen
                    else _Test(rule, label, None, None, problem=_no_value(ctx, rule))
                )
            else:
                tests.append(_comparison_test(ctx, rule, chosen, label, value))
    return tests


def _no_value(ctx: _Context, rule: _Rule) -> str:
    return f"no value for {rule.metric.key} in {ctx.hypothesis.id}'s results"


# ---------------------------------------------------------------------------- deciding


def _decide(tests: Sequence[_Test], level: float) -> list[Check]:
    """Outcomes for one hypothesis: success at ``level`` per check (intersection–union, no
    adjustment), failure Holm-adjusted across the statistical failure tests."""
    family = [i for i, t in enumerate(tests) if t.decided is None]
    rejected, levels = _stats.holm_levels([tests[i].p_failure for i in family], ALPHA)
    failure_level = dict(zip(family, map(float, levels), strict=True))
    fails = {i for i, r in zip(family, rejected, strict=True) if r}
    holm = f"Holm over {len(family)} failure tests" if len(family) > 1 else ""
    return [
        _check(test, level, failure_level.get(i, ALPHA), i in fails, holm)
        for i, test in enumerate(tests)
    ]


def _outcome(test: _Test, level: float, failed: bool) -> Outcome:
    if test.decided is not None:
        return test.decided
    if test.value is None or (test.rule.baseline is not None and test.reference is None):
        return "missing"
    if test.problem:
        return "unclear"
    if test.p_success <= level:
        return "pass"
    return "fail" if failed else "unclear"


def _bounds(test: _Test, level: float, failure_level: float) -> tuple[float | None, float | None]:
    estimate = test.estimate
    if estimate is None or test.problem or test.decided is not None or estimate.n < 2:
        return None, None
    low_alpha, high_alpha = (level, failure_level) if test.rule.above else (failure_level, level)
    low = float(_stats.lower_bound(estimate, low_alpha))
    high = float(_stats.upper_bound(estimate, high_alpha))
    if not (math.isfinite(low) and math.isfinite(high)):
        return low, high
    return _stats.clip(low, high, _effect_bounds(test))


def _effect_bounds(test: _Test) -> tuple[float, float] | None:
    """The range the effect can take: the metric's bounds for a mean, their width either way
    for a plain difference; none for a scaled difference."""
    bounds = test.rule.metric.bounds
    if bounds is None:
        return None
    if test.rule.baseline is None:
        return bounds
    if test.rule.relative == 0:
        width = bounds[1] - bounds[0]
        return -width, width
    return None


def _check(test: _Test, level: float, failure_level: float, failed: bool, holm: str) -> Check:
    rule = test.rule
    outcome = _outcome(test, level, failed)
    low, high = _bounds(test, level, failure_level)
    needed, needed_reason = _runs_needed(test, level)
    value = float(test.estimate.value) if test.estimate is not None else None
    if test.decided is not None and test.points:
        value = math.fsum(test.points) / len(test.points)
    description = (test.description or rule.description) + (
        f" [{test.group}]" if test.group else ""
    )
    check = Check(
        kind=rule.kind,
        metric=rule.metric.key,
        description=description,
        baseline=rule.baseline,
        threshold=test.threshold,
        value=test.value,
        outcome=outcome,
        reference=test.reference,
        group=test.group,
        test=test.test,
        n=test.n,
        effect_label=test.effect_label,
        estimate=value,
        low=low,
        high=high,
        limit=test.limit,
        above=rule.above,
        points=test.points,
        reference_points=test.reference_points,
        paired=test.paired,
        runs_needed=needed,
        runs_needed_reason=needed_reason,
    )
    explanation = _explain(check, test, level, failure_level, holm)
    note = "; ".join([*([test.problem] if test.problem else []), *test.notes])
    return replace(check, explanation=explanation, note=note)


def _explain(check: Check, test: _Test, level: float, failure_level: float, holm: str) -> str:
    """One line a reader can check: test, n, estimate and interval, threshold, correction."""
    rule = test.rule
    head = f"{check.description}: "
    if test.problem and not test.test:
        return head + test.problem
    symbol = _symbol(rule.above, rule.strict)
    limit = "" if check.limit is None else number(check.limit)
    parts = [f"{test.test}, n = {test.n}"] if test.test else []
    if check.estimate is not None and math.isfinite(check.estimate):
        resolution = rule.metric.resolution
        shown = f"{check.effect_label or rule.metric.key} = {number(check.estimate, resolution)}"
        if check.low is not None and check.high is not None:
            shown += f" [{number(check.low, resolution)}, {number(check.high, resolution)}]"
        parts.append(f"{shown}, needs {symbol} {limit}")
    elif check.estimate is not None:
        parts.append(f"{check.effect_label or rule.metric.key} is not a number")
    if test.problem:
        parts.append(test.problem)
    elif test.decided is None:
        correction = f"α = {level:.3g} to pass"
        if holm:
            correction += f", {failure_level:.3g} to fail ({holm})"
        parts.append(correction)
    return head + "; ".join(parts)


def _runs_needed(test: _Test, level: float) -> tuple[int | None, str]:
    """Runs (pairs) for 80% power at the margin; exempt for exact and reported checks."""
    if test.decided is not None:
        return None, f"{test.test}: no runs needed"
    if test.power is None:
        if test.n >= 2 and test.estimate is not None:
            return None, "the margin is 0 and the plan sets no power_at"
        return None, "the spread is unknown: needs ≥ 2 runs (pairs)"
    effect, sd, sd_b, ratio = test.power
    needed = _stats.runs_needed(effect, sd, level, ratio=ratio, sd_b=sd_b)
    if needed is None:
        reason = "no n up to 100,000 has 80% power"
        if ratio:
            reason += " (a corrected resampled interval cannot shrink below √(n_test/n_train)·s)"
        return None, reason
    return needed, ""


# ---------------------------------------------------------------------------- frozen criteria


def _v1_text(hypothesis: Hypothesis) -> str:
    """The criteria as the first fingerprint version saw them (results logged before v2)."""
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


def _used_metrics(plan: Plan, hypothesis: Hypothesis) -> list[Metric]:
    keys = {c.metric for c in hypothesis.success_criteria}
    keys |= {m.key for g in hypothesis.guardrails for m in _guarded_metrics(plan, hypothesis, g)}
    return [m for m in plan.metrics if m.key in keys]


def criteria_text(plan: Plan, hypothesis: Hypothesis) -> str:
    """Everything that decides the hypothesis's verdict, as canonical one-line JSON: criteria,
    guardrails, the metrics' directions, bounds and exactness, the baselines' exactness, and
    the statistical settings. Unset fields are left out, so a new optional field does not
    change the text of plans that do not use it."""
    settings = _settings(plan, hypothesis)
    metrics = {
        m.key: {"direction": m.direction, "bounds": m.bounds, "exact": m.exact}
        for m in _used_metrics(plan, hypothesis)
    }
    design = plan.experiment
    document = {
        "version": FINGERPRINT_VERSION,
        "success_criteria": [
            c.model_dump(mode="json", exclude_none=True) for c in hypothesis.success_criteria
        ],
        "guardrails": [g.model_dump(mode="json", exclude_none=True) for g in hypothesis.guardrails],
        "metrics": metrics,
        "exact_baselines": sorted(b.id for b in design.baselines if b.exact),
        "pair_by": settings.pair_by,
        "min_runs": settings.min_runs,
        "resampling": None
        if settings.resampling is None
        else settings.resampling.model_dump(mode="json", exclude_none=True),
        "conditions": list(settings.conditions),
        "exploratory": hypothesis.exploratory,
        "multiplicity": design.multiplicity,
        "family": hypothesis.family,
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def criteria_fingerprint(plan: Plan, hypothesis: Hypothesis) -> str:
    """A short versioned hash of ``criteria_text``, e.g. ``v2:3f9a…``."""
    digest = hashlib.sha256(criteria_text(plan, hypothesis).encode("utf-8")).hexdigest()[:12]
    return f"{FINGERPRINT_VERSION}:{digest}"


def fingerprint_as(stamp: str, plan: Plan, hypothesis: Hypothesis) -> tuple[str, str]:
    """The current criteria's fingerprint and text under the stamp's own version: results
    logged before versioning are compared by the first version's rules, so a plan that did
    not change is not flagged merely because the fingerprint grew."""
    if stamp.startswith(f"{FINGERPRINT_VERSION}:"):
        return criteria_fingerprint(plan, hypothesis), criteria_text(plan, hypothesis)
    text = _v1_text(hypothesis)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], text


def _amendment(plan: Plan, hypothesis: Hypothesis, results: Sequence[Result]) -> Amendment | None:
    stamped = [
        result
        for result in results
        if (result.kind, result.subject) == ("hypothesis", hypothesis.id)
        and result.criteria_fingerprint
    ]
    if not stamped:
        return None
    first = min(stamped, key=lambda result: result.logged_at)
    current, text = fingerprint_as(first.criteria_fingerprint, plan, hypothesis)
    if first.criteria_fingerprint == current:
        return None
    return Amendment(
        first.criteria_fingerprint,
        criteria_fingerprint(plan, hypothesis),
        first.criteria,
        criteria_text(plan, hypothesis) if text != _v1_text(hypothesis) else text,
        first.logged_at,
    )


# ---------------------------------------------------------------------------- verdicts


def _needed_baselines(hypothesis: Hypothesis) -> list[str]:
    named = [*hypothesis.baselines]
    named += [b for c in hypothesis.success_criteria for b in c.baselines_named or []]
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
    return f"{', '.join(shown)} of {plural(len(checks), 'check')}"


def _split_then(step: NextStep | None) -> tuple[str | None, str | None]:
    if step is None or step.then is None:
        return None, None
    if step.then in TERMINAL_ACTIONS:
        return None, step.then
    return step.then, None


@dataclass(frozen=True)
class _Prepared:
    """A hypothesis's tests and evidence, before the levels across hypotheses are known."""

    ctx: _Context
    tests: list[_Test]
    runs: list[Result]
    missing: tuple[str, ...]

    @property
    def success_p(self) -> float:
        """The intersection–union p-value: the largest of its checks' (Berger 1982)."""
        if not self.runs or self.missing or not self.tests:
            return 1.0
        worst = 0.0
        for test in self.tests:
            if test.decided is not None:
                worst = max(worst, 0.0 if test.decided == "pass" else 1.0)
            else:
                worst = max(worst, 1.0 if test.problem else test.p_success)
        return worst


def _prepare(
    plan: Plan, hypothesis: Hypothesis, evidence: Mapping[tuple[ResultKind, str], list[Result]]
) -> _Prepared:
    ctx = _Context(plan, hypothesis, _settings(plan, hypothesis), evidence)
    runs = ctx.runs("hypothesis", hypothesis.id)
    missing = tuple(b for b in _needed_baselines(hypothesis) if not ctx.runs("baseline", b))
    return _Prepared(ctx, _tests(ctx), runs, missing)


def _levels(plan: Plan, prepared: Sequence[_Prepared]) -> dict[str, tuple[float, str]]:
    """Each hypothesis's level and how it was corrected across hypotheses."""
    design = plan.experiment
    levels = {p.ctx.hypothesis.id: (ALPHA, "") for p in prepared}
    if design.multiplicity != "holm":
        return levels
    families: dict[str, list[_Prepared]] = {}
    for p in prepared:
        if p.ctx.hypothesis.family is not None:
            families.setdefault(p.ctx.hypothesis.family, []).append(p)
    for name, members in families.items():
        _, found = _stats.holm_levels([m.success_p for m in members], ALPHA)
        for member, level in zip(members, found, strict=True):
            note = f"Holm across family {name} ({len(members)} hypotheses)"
            levels[member.ctx.hypothesis.id] = (float(level), note)
    return levels


def _condition_warnings(ctx: _Context) -> list[str]:
    """Runs that differ in a declared condition no criterion splits by are pooled: say so."""
    split = {c.for_each for c in ctx.hypothesis.success_criteria if c.for_each}
    runs = ctx.runs("hypothesis", ctx.hypothesis.id)
    warnings = []
    for condition in ctx.settings.conditions:
        values = {r.params[condition] for r in runs if condition in r.params}
        unsplit = [c.metric for c in ctx.hypothesis.success_criteria if c.for_each != condition]
        if len(values) > 1 and (condition not in split or unsplit):
            shown = ", ".join(sorted(values, key=_natural))
            warnings.append(
                f"runs differ in condition {condition} ({shown}) but "
                + ("no criterion" if condition not in split else "not every criterion")
                + f" says for_each: {condition}; those checks pool the groups"
            )
    return warnings


def _replacement_lines(results: Sequence[Result], subject: str) -> list[str]:
    return [
        f"run {r.run_id} replaced run {r.replaces}: {r.reason or 'no reason given'}"
        for r in results
        if r.subject == subject and r.kind == "hypothesis" and r.replaces
    ]


def _verdict_runs_needed(checks: Sequence[Check]) -> tuple[int | None, str]:
    """The largest number over the statistical checks; None with a reason if any is unknown."""
    planned = [c for c in checks if c.test and not c.test.startswith(("exact", "reported"))]
    if not planned:
        return None, "no statistical check: exact or reported values need no more runs"
    unknown = [c for c in planned if c.runs_needed is None]
    if unknown:
        return None, f"{unknown[0].description}: {unknown[0].runs_needed_reason}"
    return max(c.runs_needed or 0 for c in planned), ""


def _worst(checks: Sequence[Check]) -> Check | None:
    """The check that decided: a failing one, else an unclear or missing one, else the
    passing one with the least room; among for_each groups this names the worst group."""
    order = {"fail": 0, "missing": 1, "unclear": 2, "pass": 3}

    def room(check: Check) -> float:
        bound = check.low if check.above else check.high
        if bound is None or check.limit is None:
            return math.inf
        return (bound - check.limit) * (1 if check.above else -1)

    return min(checks, key=lambda c: (order[c.outcome], room(c)), default=None)


def _verdict(
    prepared: _Prepared, results: Sequence[Result], today: dt.date, level: tuple[float, str]
) -> Verdict:
    ctx = prepared.ctx
    hypothesis = ctx.hypothesis
    checks = tuple(_decide(prepared.tests, level[0]))
    runs = prepared.runs
    judged = _status_of(len(runs), prepared.missing, checks)
    deadline = hypothesis.timebox.deadline
    closure = _closure(ctx.plan, hypothesis.id)
    overdue = judged in _UNRESOLVED and today > deadline and closure is None
    reason = _reason(judged, checks, prepared.missing)
    worst = _worst(checks)
    if worst is not None and judged in ("failed", "inconclusive"):
        reason += f"; decided by {worst.description}"
    step = {"succeeded": hypothesis.on_success, "failed": hypothesis.on_failure}.get(judged)
    next_hypothesis, next_action = _split_then(step)
    needed, needed_reason = _verdict_runs_needed(checks) if runs else (None, "no result yet")
    unmatched = tuple(dict.fromkeys(line for t in prepared.tests for line in t.unmatched))
    return Verdict(
        hypothesis=hypothesis.id,
        status="overdue" if overdue else judged,
        status_ignoring_deadline=judged,
        reason=_closed_reason(closure, reason)
        if closure
        else (f"deadline {deadline.isoformat()} passed; {reason}" if overdue else reason),
        checks=checks,
        runs=len(runs),
        reported=bool(runs) and runs[0].reported,
        missing_baselines=prepared.missing,
        next_step=step,
        next_hypothesis=next_hypothesis,
        next_action=next_action,
        deadline=deadline,
        days_left=(deadline - today).days,
        amendment=_amendment(ctx.plan, hypothesis, results),
        level=level[0],
        correction=level[1],
        explanation=worst.explanation if worst is not None else "",
        runs_needed=needed,
        runs_needed_reason=needed_reason,
        unmatched=unmatched,
        replacements=tuple(_replacement_lines(results, hypothesis.id)),
        warnings=tuple(_condition_warnings(ctx)),
        closed=closure.closes if closure else None,
        closed_on=closure.date if closure else None,
    )


def _closure(plan: Plan, hypothesis: str) -> Decision | None:
    """The last recorded decision that closes the hypothesis, if any: a team that gives up on
    a question (or replaces it) says so once, and its deadline stops counting (issue 14)."""
    closing = [d for d in plan.experiment_log.decisions if d.hypothesis == hypothesis and d.closes]
    return closing[-1] if closing else None


def _closed_reason(closure: Decision, reason: str) -> str:
    return f"closed as {closure.closes} on {closure.date.isoformat()}; {reason}"


def _confirmatory(plan: Plan, verdicts: Mapping[str, Verdict]) -> dict[str, bool]:
    """Fixed sequence along the decision graph: a hypothesis is confirmatory when it is a
    root, or a confirmatory predecessor succeeded and its on_success leads here; reached
    after a non-success (or declared exploratory) it is exploratory. Each hypothesis tested
    at full α in this order keeps the family-wise error ≤ α (the fixed-sequence procedure;
    Maurer, Hothorn & Lehmacher 1995; Westfall & Krishen 2001)."""
    hypotheses = {h.id: h for h in plan.experiment.hypotheses}
    parents: dict[str, list[str]] = {h: [] for h in hypotheses}
    targets: set[str] = set()
    for h in plan.experiment.hypotheses:
        for step in (h.on_success, h.on_failure):
            if step.then in hypotheses:
                targets.add(step.then)
        if h.on_success.then in hypotheses:
            parents[h.on_success.then].append(h.id)
    memo: dict[str, bool] = {}

    def visit(hid: str, trail: frozenset[str]) -> bool:
        if hid in memo:
            return memo[hid]
        if hypotheses[hid].exploratory or hid in trail:
            memo[hid] = False
            return False
        if plan.experiment.multiplicity == "none" or hid not in targets:
            memo[hid] = True
            return True
        memo[hid] = any(
            verdicts[p].status_ignoring_deadline == "succeeded" and visit(p, trail | {hid})
            for p in parents[hid]
        )
        return memo[hid]

    return {hid: visit(hid, frozenset()) for hid in hypotheses}


def judge(plan: Plan, results: Sequence[Result], today: dt.date) -> list[Verdict]:
    """A verdict for every hypothesis, in plan order.

    Results for subjects the plan does not know are ignored. Verdicts always use the plan's
    current criteria; if they changed since the first result, ``Verdict.amendment`` says so.
    """
    evidence = _gather(results)
    own: dict[str, list[Result]] = defaultdict(list)  # every hypothesis's raw results
    for result in results:
        if result.kind == "hypothesis":
            own[result.subject].append(result)
    prepared = [_prepare(plan, h, evidence) for h in plan.experiment.hypotheses]
    levels = _levels(plan, prepared)
    verdicts = {
        p.ctx.hypothesis.id: _verdict(
            p, own[p.ctx.hypothesis.id], today, levels[p.ctx.hypothesis.id]
        )
        for p in prepared
    }
    confirmatory = _confirmatory(plan, verdicts)
    return [_labelled(verdicts[h.id], confirmatory[h.id]) for h in plan.experiment.hypotheses]


def _labelled(verdict: Verdict, confirmatory: bool) -> Verdict:
    label = "confirmatory" if confirmatory else "exploratory"
    explanation = f"{verdict.explanation}; {label}" if verdict.explanation else label
    return replace(verdict, confirmatory=confirmatory, explanation=explanation)


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
    A terminal action ends its path. A hypothesis without a verdict counts as unresolved; a
    closed one is not active.
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
        if h.id in reached and not (h.id in by_id and by_id[h.id].settled)
    ]
