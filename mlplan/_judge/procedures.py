"""The statistical procedures: one per test, each turning a rule's runs into a ``Test``."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from mlplan._judge import stats as _stats
from mlplan._judge.evidence import (
    Context,
    aggregate,
    first_by_key,
    group_filter,
    groups_of,
    magnitude_problem,
    ordered,
    unmatched_lines,
    values_of,
    with_metric,
)
from mlplan._judge.model import Aggregate, Outcome
from mlplan._judge.results import Result
from mlplan._judge.rules import Rule, admits, effect_label, rules_for, with_numbers
from mlplan._judge.settings import Settings
from mlplan._plan.models import ReportedFigure

__all__ = [
    "AGAINST_CONSTANT",
    "AGAINST_REPORTED",
    "ONE_SAMPLE_T",
    "PAIRED_T",
    "POINT_VALUE",
    "WELCH_SUMMARY",
    "WELCH_T",
    "Inputs",
    "Procedure",
    "Test",
    "choose",
    "no_value",
    "p_values",
    "power_tuple",
    "relative_problem",
    "test_name",
    "tests_for",
]


@dataclass(frozen=True)
class Test:
    """A check before the levels are known: the effect, both one-sided p-values, and the
    procedure that computed them (which alone knows how to draw its interval and plan its n).

    ``decided`` is set for deterministic checks (exact metrics, reported figures), which
    take no part in Holm's family; ``problem`` for checks that cannot decide (too few runs).
    """

    rule: Rule
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
    point_keys: tuple[str, ...] = ()  # paired: each point's pair-key value, for the plots
    paired: bool = False
    power: tuple[float, float, float | None, float] | None = None  # effect, sd, sd_b, ratio
    unmatched: tuple[str, ...] = ()
    procedure: Procedure | None = None
    # The planned n (issue 17). ``waiting``: why the check cannot decide yet though it was
    # tested (short of a fixed horizon: "running (3 of 5)"; a declared slot with no result);
    # its interval is then provisional. ``looks``: a sequential design's path, one Test per
    # completed run (pair), each with the running minimum of the repeated p-values.
    waiting: str = ""
    interval_kind: str = ""
    looks: tuple[Test, ...] = ()
    design: str = ""

    @property
    def effect(self) -> float | None:
        """The estimated effect, or None before a procedure computed one."""
        return None if self.estimate is None else float(self.estimate.value)


@dataclass(frozen=True)
class Inputs:
    """What a procedure is given: the rule, the check so far (``base``: labels, limit,
    threshold), and the runs on each side with their values of the rule's metric."""

    ctx: Context
    rule: Rule
    base: Test
    runs: list[Result]
    b_runs: list[Result]
    h_values: list[float]
    b_values: list[float]
    scale: float = 1.0
    reference_mean: float = 0.0

    @property
    def reported(self) -> bool:
        return self.runs[0].reported or bool(self.b_runs and self.b_runs[0].reported)


class Procedure(Protocol):
    """One statistical test behind a check. ``run`` turns the inputs into a ``Test`` (effect,
    p-values for success and failure); ``interval`` gives the bounds a decision at those levels
    used; ``runs_needed`` the n at which the test has 80% power. Adding a test is one class
    and one line of ``choose``: nothing downstream assumes Student's t."""

    name: str

    def run(self, inputs: Inputs) -> Test: ...

    def interval(
        self, test: Test, low_alpha: float, high_alpha: float
    ) -> tuple[float | None, float | None]: ...

    def runs_needed(self, test: Test, level: float) -> int | None: ...


def choose(inputs: Inputs) -> Procedure:
    """The test a check declared (``test: sign_flip`` or ``trimmed``) around the one its
    design calls for (``_design_choice``)."""
    chosen = _design_choice(inputs)
    if inputs.rule.test == "sign_flip":
        return _SignFlip(chosen)
    if inputs.rule.test == "trimmed":
        return _Trimmed(chosen)
    return chosen


def _design_choice(inputs: Inputs) -> Procedure:
    """The one rule that picks a check's test. An exact metric is decided per result; a
    criterion without a baseline is a one-sample t (a point value on reported figures);
    reported figures on both sides are compared as point values; a measured side against a
    reported figure is a one-sample t against it as a constant; an exact baseline is a
    constant; with ``pair_by`` the runs are paired; otherwise Welch, so the baseline's spread
    counts."""
    h_reported = inputs.runs[0].reported
    b_reported = bool(inputs.b_runs) and inputs.b_runs[0].reported
    if inputs.rule.metric.exact:
        return POINT_VALUE
    if inputs.rule.baseline is None:
        return POINT_VALUE if h_reported else ONE_SAMPLE_T
    if h_reported and b_reported:
        return POINT_VALUE
    if b_reported and _summary(inputs) is not None:
        return WELCH_SUMMARY
    if h_reported or b_reported:
        return AGAINST_REPORTED
    if inputs.ctx.plan.baseline(inputs.rule.baseline).exact:
        return AGAINST_CONSTANT
    if inputs.ctx.settings.pair_by is not None:
        return PAIRED_T
    return WELCH_T


def p_values(estimate: _stats.Estimate, limit: float, rule: Rule) -> tuple[float, float]:
    success = float(_stats.success_p(estimate, limit, rule.above, rule.strict))
    failure = float(_stats.failure_p(estimate, limit, rule.above, rule.strict))
    return success, failure


def _power_effect(ctx: Context, rule: Rule, reference_mean: float) -> float | None:
    """The true distance beyond the limit that runs_needed plans for: the criterion's
    ``expected`` effect, else the plan's ``power_at`` (relative to the baseline or the
    threshold). A criterion's margin is no expected effect: planning for a true effect just
    at limit + margin assumed one nobody stated (issue 17); without one the verdict says
    "state the expected effect". A guardrail plans for no true drop: its allowed drop."""
    if rule.kind == "guardrail":
        margin = rule.margin if rule.margin is not None and rule.margin.value else None
        margin = margin or ctx.plan.experiment.power_at
    else:
        margin = rule.expected or ctx.plan.experiment.power_at
    if margin is None:
        return None
    if rule.transform == "log":  # on the log scale: the ratio the expected effect implies
        if margin.relative:
            return math.log1p(margin.value)
        threshold = math.exp(rule.offset)
        return math.log1p(margin.value / threshold) if rule.baseline is None else None
    reference = reference_mean if rule.baseline is not None else rule.offset
    amount = margin.allowance(reference)
    return amount if amount > 0 else None


def power_tuple(
    ctx: Context,
    rule: Rule,
    reference_mean: float,
    sd: float,
    sd_b: float | None,
    *,
    runs: tuple[int, int] | None = None,
) -> tuple[float, float, float | None, float] | None:
    """What runs_needed plans with: the expected effect, and the sds as their 65% upper
    confidence limits from the ``runs`` (n, n_b) they were estimated on (``stats.sd_upper``)."""
    effect = _power_effect(ctx, rule, reference_mean)
    if effect is None:
        return None
    if runs is not None:
        sd = _stats.sd_upper(sd, runs[0])
        sd_b = None if sd_b is None else _stats.sd_upper(sd_b, runs[1])
    return effect, sd, sd_b, ctx.settings.ratio


def test_name(name: str, settings: Settings) -> str:
    if settings.resampling is None:
        return name
    return f"{name}, {settings.resampling.name}"


def _no_spread(rule: Rule, tested: Test, sd: float, sd_b: float | None) -> str:
    """Why runs that do not vary (beyond the metric's grain, or beyond float rounding of
    their values) cannot be tested: their spread is rounding, not sampling. Three runs of
    accuracy on 100 examples at 0.81 are not an exact 0.81, and deciding them as exact gave
    7.9% false successes at n = 3 (issue 15)."""
    grain = rule.metric.resolution or 0.0
    spread = sd if sd_b is None else math.hypot(sd, sd_b)
    if math.isnan(spread):  # left to the test: a diverged run fails its check
        return ""
    if (step := rule.metric.step) and _all_equal_on(step, tested):
        return (
            f"every one of the {tested.n} runs has the same value on the metric's step {step:g}: "
            "more runs, or declare it exact"
        )
    values = [abs(v) for v in (*tested.points, *tested.reference_points) if math.isfinite(v)]
    noise = 1e-12 * max(values, default=0.0)  # the 12 significant digits `admits` keeps
    n = tested.n
    if not spread > max(grain, noise):
        if grain:
            return (
                f"spread {spread:.3g} below the metric's grain {grain:g} in {n} runs: "
                "more runs, or declare it exact"
            )
        return f"no spread in {n} runs: more runs, or declare the metric exact"
    return ""


def _horizon_problem(inputs: Inputs) -> str:
    planned = inputs.ctx.settings.runs
    if planned is not None and inputs.ctx.settings.pair_by is None:
        return f"runs: {planned} needs a pair key (pair_by): the horizon counts pair values"
    return ""


def _short_of_horizon(inputs: Inputs, tested: Test) -> str:
    """A fixed horizon decides once, at N: an interim look decides nothing, and is shown as
    running, its interval provisional (issue 17)."""
    planned = inputs.ctx.settings.runs
    if planned is None or tested.n >= planned:
        return ""
    return f"running ({tested.n} of {planned}): the horizon decides at runs: {planned}"


def _all_equal_on(step: float, tested: Test) -> bool:
    """On a value grid (accuracy on 100 examples), a spread below the step is real when the
    values differ: only values that are all equal on the grid carry no spread to test."""
    return all(
        len({round(v / step) for v in group if math.isfinite(v)}) <= 1
        for group in (tested.points, tested.reference_points)
    )


def _too_few(base: Test, n: int, need: int) -> Test | None:
    return replace(base, problem=f"n = {n}; needs ≥ {need}") if n < need else None


# ---------------------------------------------------------------------------- the procedures


class _PointValue:
    """Reported figures (one point value: their mean) or an exact metric (every result by its
    value): decided by comparison, no interval, no runs needed."""

    name = "point value"

    def run(self, inputs: Inputs) -> Test:
        rule, limit = inputs.rule, inputs.base.limit
        assert limit is not None
        effects = [h - inputs.scale * inputs.reference_mean for h in inputs.h_values]
        tested = replace(inputs.base, n=len(effects), procedure=self)
        if inputs.rule.baseline is not None:
            tested = replace(tested, points=ordered(effects))
        if inputs.reported:
            point = math.fsum(effects) / len(effects)
            outcome: Outcome = "pass" if admits(rule, point, limit) else "fail"
            note = "judged on reported figures: a point value, no interval"
            return replace(tested, test="reported, no interval", decided=outcome, notes=(note,))
        outcome = "pass" if all(admits(rule, e, limit) for e in effects) else "fail"
        note = "exact metric: the claim covers the evaluated set only"
        return replace(tested, test="exact, per result", decided=outcome, notes=(note,))

    def interval(
        self, test: Test, low_alpha: float, high_alpha: float
    ) -> tuple[float | None, float | None]:
        return None, None

    def runs_needed(self, test: Test, level: float) -> int | None:
        return None


class _StudentT:
    """What every t procedure shares: one-sided bounds from Student's t (``stats``) and the
    noncentral-t power of Colas et al. (2018) for runs_needed."""

    name = "t"
    # What the test takes for granted, said in every check it decides (issue 17, item 5).
    assumes = "the t assumes near-normal values: skew at small n breaks it (README)"

    def interval(
        self, test: Test, low_alpha: float, high_alpha: float
    ) -> tuple[float | None, float | None]:
        estimate = test.estimate
        if estimate is None or estimate.n < 2:
            return None, None
        low = float(_stats.lower_bound(estimate, low_alpha))
        return low, float(_stats.upper_bound(estimate, high_alpha))

    def runs_needed(self, test: Test, level: float) -> int | None:
        assert test.power is not None
        effect, sd, sd_b, ratio = test.power
        return _stats.runs_needed(effect, sd, level, ratio=ratio, sd_b=sd_b)

    def _decided(
        self, inputs: Inputs, tested: Test, estimate: _stats.Estimate, sd: float, sd_b: float | None
    ) -> Test:
        assert tested.limit is not None
        if problem := _no_spread(inputs.rule, tested, sd, sd_b) or _horizon_problem(inputs):
            return replace(tested, problem=problem)
        replay = inputs.ctx.replay
        success, failure = (1.0, 1.0) if replay else p_values(estimate, tested.limit, inputs.rule)
        n_b = len(tested.reference_points) or tested.n
        runs = (tested.n, n_b)
        power = power_tuple(inputs.ctx, inputs.rule, inputs.reference_mean, sd, sd_b, runs=runs)
        found = replace(
            tested, estimate=estimate, p_success=success, p_failure=failure, power=power
        )
        if inputs.ctx.settings.runs is not None:
            found = replace(found, design="fixed", waiting=_short_of_horizon(inputs, found))
        return found


class _OneSampleT(_StudentT):
    """The mean of the hypothesis's runs against an absolute threshold (Student 1908)."""

    name = "one-sample t"

    def run(self, inputs: Inputs) -> Test:
        ctx, values = inputs.ctx, inputs.h_values
        estimate = _stats.one_sample(values, ctx.settings.ratio)
        tested = replace(
            inputs.base,
            test=test_name(self.name, ctx.settings),
            n=len(values),
            estimate=estimate,
            procedure=self,
        )
        if short := _too_few(tested, len(values), ctx.settings.min_runs):
            return short
        return self._decided(inputs, tested, estimate, float(np.std(values, ddof=1)), None)


class _AgainstConstant(_StudentT):
    """An exact baseline is a known constant: a one-sample t on h − scale·b."""

    name = "one-sample t vs exact baseline"

    def run(self, inputs: Inputs) -> Test:
        ctx = inputs.ctx
        effects = [h - inputs.scale * inputs.reference_mean for h in inputs.h_values]
        estimate = _stats.one_sample(effects, ctx.settings.ratio)
        tested = replace(
            inputs.base,
            test=test_name(f"one-sample t vs exact {inputs.rule.baseline}", ctx.settings),
            n=len(effects),
            estimate=estimate,
            points=ordered(effects),
            procedure=self,
        )
        if short := _too_few(tested, len(effects), ctx.settings.min_runs):
            return short
        return self._decided(inputs, tested, estimate, float(np.std(effects, ddof=1)), None)


class _AgainstReported(_StudentT):
    """A measured side against a reported figure (a paper's number): the figure is taken as a
    constant and the measured runs are tested against it by a one-sample t, with min_runs like
    any other sample. A point comparison here once gave 48% false successes whatever n was:
    one run's noise decided it (issue 15). The figure's own uncertainty is not counted."""

    name = "one-sample t vs a reported figure"

    def run(self, inputs: Inputs) -> Test:
        ctx, rule, scale = inputs.ctx, inputs.rule, inputs.scale
        if inputs.runs[0].reported:  # the baseline was measured: e_i = c_h − scale·b_i
            constant = math.fsum(inputs.h_values) / len(inputs.h_values)
            effects = [constant - scale * b for b in inputs.b_values]
            figure, measured = ctx.hypothesis.id, rule.baseline
        else:
            effects = [h - scale * inputs.reference_mean for h in inputs.h_values]
            figure, measured = str(rule.baseline), ctx.hypothesis.id
        estimate = _stats.one_sample(effects, ctx.settings.ratio)
        note = f"{figure}'s reported figure taken as a constant: its own uncertainty ignored"
        tested = replace(
            inputs.base,
            test=test_name(f"one-sample t of {measured} vs reported {figure}", ctx.settings),
            n=len(effects),
            estimate=estimate,
            points=ordered(effects),
            notes=(note,),
            procedure=self,
        )
        if short := _too_few(tested, len(effects), ctx.settings.min_runs):
            return short
        return self._decided(inputs, tested, estimate, float(np.std(effects, ddof=1)), None)


def _summary(inputs: Inputs) -> ReportedFigure | None:
    """The baseline's reported figure for the rule's metric, when the plan gives its sd and n."""
    assert inputs.rule.baseline is not None
    reported = inputs.ctx.plan.baseline(inputs.rule.baseline).reported
    figure = None if reported is None else reported.metrics.get(inputs.rule.metric.key)
    logged = any(run.run_id != f"plan:{inputs.rule.baseline}" for run in inputs.b_runs)
    return figure if figure is not None and figure.sd is not None and not logged else None


class _WelchSummary(_StudentT):
    """The hypothesis's runs against a reported mean with its sd over n runs (a paper's
    "0.81 ± 0.02, 5 seeds"): Welch's t from summary statistics (Welch 1947), so the figure's
    own uncertainty counts, as scipy.stats.ttest_ind_from_stats does."""

    name = "Welch t vs reported summary"

    def run(self, inputs: Inputs) -> Test:
        ctx, figure = inputs.ctx, _summary(inputs)
        assert figure is not None and figure.sd is not None and figure.n is not None
        h = inputs.h_values
        estimate = _stats.welch_summary(h, figure.value, figure.sd, figure.n, inputs.scale)
        baseline = inputs.rule.baseline
        tested = replace(
            inputs.base,
            test=f"Welch t vs {baseline}'s reported {figure.value:g} ± {figure.sd:g} "
            f"(n = {figure.n})",
            n=len(h),
            estimate=estimate,
            points=ordered(h),
            notes=(f"{baseline}'s reported figure with its sd over {figure.n} runs",),
            procedure=self,
        )
        if short := _too_few(tested, len(h), ctx.settings.min_runs):
            return short
        sd_b = abs(inputs.scale) * figure.sd * math.sqrt(len(h) / figure.n)
        return self._decided(inputs, tested, estimate, float(np.std(h, ddof=1)), sd_b)


class _PairedT(_StudentT):
    """Paired t on the runs matched by the pair key (the first run per slot on each side).

    The pair key is the unit (in ML a seed fixes the split and the initialisation, so runs
    that share it are correlated): when the runs also differ in declared conditions the rule
    does not split by (no ``for_each``), each key's differences are first averaged over the
    conditions, matched slot by slot, and the t is taken over keys. Pairing runs of different
    conditions under one key gave 38.7% false successes (issue 15)."""

    name = "paired t"

    def run(self, inputs: Inputs) -> Test:
        ctx, rule = inputs.ctx, inputs.rule
        pair_by = ctx.settings.pair_by
        assert pair_by is not None and rule.baseline is not None
        if keyless := _keyless(inputs, pair_by):
            return replace(
                inputs.base,
                test=test_name(f"paired t on {pair_by}", ctx.settings),
                problem=_keyless_problem(pair_by, keyless),
                procedure=self,
            )
        pooled = _pooled_conditions(inputs)
        pairs, unmatched = _pairs(inputs, pair_by, _carried_conditions(inputs))
        h = [x for x, _ in pairs.values()]
        b = [y for _, y in pairs.values()]
        differences = [x - inputs.scale * y for x, y in zip(h, b, strict=True)]
        crossed = bool(pooled) and _required(_cells(inputs.runs, pair_by, pooled)) is not None
        over = f", pooled over {', '.join(pooled)}" if crossed else ""
        tested = replace(
            inputs.base,
            test=test_name(f"paired t on {pair_by}{over}", ctx.settings),
            n=len(pairs),
            points=tuple(differences),
            point_keys=tuple(pairs),
            paired=True,
            unmatched=tuple(unmatched),
            procedure=self,
        )
        if len(pairs) < ctx.settings.min_runs:
            noun = "matched pair" if len(pairs) == 1 else "matched pairs"
            need = ctx.settings.min_runs
            return replace(tested, problem=f"n = {len(pairs)} {noun} ({pair_by}); needs ≥ {need}")
        estimate = _stats.paired(h, b, inputs.scale, ctx.settings.ratio)
        return self._decided(inputs, tested, estimate, float(np.std(differences, ddof=1)), None)


def _keyless(inputs: Inputs, pair_by: str, *, measured_only: bool = False) -> str:
    """The runs that cannot take their place because they carry no pair key, in words. With
    ``measured_only`` only the sample a one-sample test takes (a constant, an exact or a
    reported figure, needs no key)."""
    hypothesis, baseline = inputs.ctx.hypothesis.id, inputs.rule.baseline
    sides = [(hypothesis, inputs.runs), (baseline, inputs.b_runs)]
    if measured_only:
        sides = [sides[1] if inputs.runs[0].reported else sides[0]]
    named = [
        f"{subject} run {run.run_id}"
        for subject, runs in sides
        for run in runs
        if pair_by not in run.params
    ]
    if not named:
        return ""
    shown = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    runs = "1 run has" if len(named) == 1 else f"{len(named)} runs have"
    return f"{runs} no {pair_by} ({shown})"


def _pooled_conditions(inputs: Inputs) -> list[str]:
    """Declared conditions the hypothesis's runs differ in and the rule does not split by."""
    return [
        c for c in _carried_conditions(inputs) if len({r.params.get(c) for r in inputs.runs}) > 1
    ]


def _carried_conditions(inputs: Inputs) -> list[str]:
    """Declared conditions (but the rule's own for_each) the hypothesis's runs carry: pairs are
    matched on them too, so a run at lam=1 is never paired with a baseline run at lam=7."""
    return [
        condition
        for condition in inputs.ctx.settings.conditions
        if condition != inputs.rule.for_each and any(condition in r.params for r in inputs.runs)
    ]


def _pairs(
    inputs: Inputs, pair_by: str, pooled: list[str]
) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Per pair key (in the hypothesis's logging order): the hypothesis's and the baseline's
    values, each averaged over the pooled conditions' slots; and the lines for what could not
    be used."""
    if not pooled:
        mine, theirs = first_by_key(inputs.runs, pair_by), first_by_key(inputs.b_runs, pair_by)
        key = inputs.rule.metric.key
        pairs = {k: (mine[k].metrics[key], theirs[k].metrics[key]) for k in mine if k in theirs}
        return pairs, _unpaired(inputs, pair_by, mine, theirs)
    return _pooled_pairs(inputs, pair_by, pooled)


Cell = tuple[str | None, ...]


def _cells(runs: list[Result], pair_by: str, names: list[str]) -> dict[str, dict[Cell, Result]]:
    """Per pair key (in logging order), its runs by their values of ``names``."""
    found: dict[str, dict[Cell, Result]] = {}
    for run in runs:
        cell = tuple(run.params.get(name) for name in names)
        found.setdefault(run.params[pair_by], {}).setdefault(cell, run)
    return found


def _required(cells: dict[str, dict[Cell, Result]]) -> list[Cell] | None:
    """The cells every key must have: all of them when the conditions are crossed with the
    key (some key ran several); None when they are nested in it (one cell per key, e.g. one
    held-out family per seed), where each key's own cell is its value."""
    if all(len(found) <= 1 for found in cells.values()):
        return None
    every = {cell for found in cells.values() for cell in found}
    return sorted(every, key=lambda cell: tuple(map(str, cell)))


def _partner(runs: list[Result], names: list[str], cell: Cell) -> Result | None:
    """The baseline's run for a cell: the first whose condition values match the cell's, a
    condition it does not carry matching any (one baseline run for every value)."""
    for run in runs:
        if all(
            name not in run.params or run.params[name] == value
            for name, value in zip(names, cell, strict=True)
        ):
            return run
    return None


def _pooled_pairs(
    inputs: Inputs, pair_by: str, pooled: list[str]
) -> tuple[dict[str, tuple[float, float]], list[str]]:
    metric, hypothesis = inputs.rule.metric.key, inputs.ctx.hypothesis.id
    baseline = str(inputs.rule.baseline)
    mine = _cells(inputs.runs, pair_by, pooled)
    required = _required(mine)
    theirs: dict[str, list[Result]] = {}
    for run in inputs.b_runs:
        theirs.setdefault(run.params[pair_by], []).append(run)
    pairs: dict[str, tuple[float, float]] = {}
    lines: list[str] = []
    for key, found in mine.items():
        cells = list(found) if required is None else required
        partners = [_partner(theirs.get(key, []), pooled, cell) for cell in cells]
        missing = [
            f"{hypothesis} has no result for {_cell_text(pooled, c)}"
            for c in cells
            if c not in found
        ]
        missing += [
            f"{baseline} has no result for {_cell_text(pooled, c)}"
            for c, b_run in zip(cells, partners, strict=True)
            if b_run is None
        ]
        if missing:
            lines.append(f"{pair_by}={key} not used: " + "; ".join(missing))
            continue
        h_values = [found[c].metrics[metric] for c in cells]
        b_values = [b.metrics[metric] for b in partners if b is not None]
        pairs[key] = (math.fsum(h_values) / len(h_values), math.fsum(b_values) / len(b_values))
    return pairs, lines


def _cell_text(names: list[str], values: tuple[str | None, ...]) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip(names, values, strict=True))


def _unpaired(
    inputs: Inputs, pair_by: str, mine: dict[str, Result], theirs: dict[str, Result]
) -> list[str]:
    """Runs the pairing could not use: no key, no partner, or a later run for a taken key."""
    hypothesis, baseline = inputs.ctx.hypothesis.id, inputs.rule.baseline
    assert baseline is not None
    lines = unmatched_lines(hypothesis, inputs.runs, pair_by, baseline, set(theirs))
    lines += unmatched_lines(baseline, inputs.b_runs, pair_by, hypothesis, set(mine))
    return lines


class _WelchT(_StudentT):
    """Welch's unequal-variance t on the two groups of runs (Welch 1947)."""

    name = "Welch t"

    def run(self, inputs: Inputs) -> Test:
        h, b, rule = inputs.h_values, inputs.b_values, inputs.rule
        tested = replace(
            inputs.base,
            test=test_name(self.name, inputs.ctx.settings),
            n=len(h),
            points=ordered(h),
            reference_points=ordered(b),
            procedure=self,
        )
        if inputs.ctx.settings.resampling is not None:
            # validate refuses such a plan; a Plan built in code reaches here (18.7% false
            # successes uncorrected): the correction needs per-split differences.
            return replace(
                tested,
                test=self.name,
                problem="overlapping resamples need a pair key (pair_by) to be corrected",
            )
        need = inputs.ctx.settings.min_runs
        if len(b) < need:
            runs = f"{len(b)} run{'s' * (len(b) != 1)}"
            return replace(tested, problem=f"{rule.baseline}: {runs}; needs ≥ {need} or exact")
        if short := _too_few(tested, len(h), need):
            return short
        estimate = _stats.welch(h, b, inputs.scale)
        sd_h, sd_b = float(np.std(h, ddof=1)), abs(inputs.scale) * float(np.std(b, ddof=1))
        return self._decided(inputs, tested, estimate, sd_h, sd_b)


class _Declared(_StudentT):
    """A test the plan declared for a check (issue 17, item 5), run on the sample the design's
    own procedure (``inner``) forms: one sample of runs, or the differences of pairs. Unpaired
    and reported comparisons have no such sample and are refused."""

    name = "declared"
    label = ""

    def __init__(self, inner: Procedure) -> None:
        self.inner = inner

    def _sample(self, inputs: Inputs, tested: Test) -> list[float] | None:
        if self.inner is ONE_SAMPLE_T:
            return list(inputs.h_values)
        if self.inner is AGAINST_CONSTANT:
            return [h - inputs.scale * inputs.reference_mean for h in inputs.h_values]
        if self.inner is PAIRED_T:
            return list(tested.points)
        return None

    def run(self, inputs: Inputs) -> Test:
        tested = self.inner.run(inputs)
        if tested.decided is not None:
            return tested
        name = f"{self.label}, {tested.test}" if tested.test else self.label
        tested = replace(tested, test=name, procedure=self)
        sample = self._sample(inputs, tested)
        if sample is None:
            return replace(
                tested,
                problem=f"{self.label} needs one sample or pairs (pair_by), not {tested.test}",
            )
        if tested.problem or tested.estimate is None:
            return tested
        if inputs.ctx.settings.resampling is not None:
            return replace(tested, problem=f"{self.label} has no resampling correction")
        return self._tested(inputs, tested, sample)

    def _tested(self, inputs: Inputs, tested: Test, sample: list[float]) -> Test:
        raise NotImplementedError


class _Trimmed(_Declared):
    """Yuen's 20%-trimmed mean t (``stats.trimmed``): a claim on the trimmed mean, robust to
    a seed that collapsed now and then; at n < 5 nothing is trimmed."""

    label = "Yuen 20%-trimmed t"
    assumes = "a claim on the 20%-trimmed mean, robust to a few outlying runs"

    def _tested(self, inputs: Inputs, tested: Test, sample: list[float]) -> Test:
        assert tested.limit is not None
        estimate = _stats.trimmed(sample)
        success, failure = p_values(estimate, tested.limit, inputs.rule)
        return replace(tested, estimate=estimate, p_success=success, p_failure=failure)


class _SignFlip(_Declared):
    """The exact sign-flip test (``stats.sign_flip_p``): no normality, but symmetry about the
    limit under H0, and its smallest p-value is 2^-n: refused where that exceeds α."""

    label = "sign-flip test"
    assumes = "exact if the values are symmetric about the limit (their centre, not mean)"

    def refusal(self, n: int, level: float) -> str:
        """Why the test cannot decide at ``level`` (the one the check faces, Holm's or the
        graph's share included): its smallest p-value 2^-n is above it."""
        if 2.0**-n <= level:
            return ""
        need = math.ceil(math.log2(1 / level))
        return (
            f"the sign-flip test's smallest p-value at n = {n} is 2^-{n} = {2.0**-n:.3g}, "
            f"above the level {level:.3g}: it needs n ≥ {need}"
        )

    def _tested(self, inputs: Inputs, tested: Test, sample: list[float]) -> Test:
        assert tested.limit is not None
        n = len(sample)
        if problem := self.refusal(n, _stats.ALPHA):
            return replace(tested, problem=problem)
        success, failure = _stats.sign_flip_p(sample, tested.limit, inputs.rule.above)
        return replace(tested, p_success=float(success), p_failure=float(failure))

    def interval(
        self, test: Test, low_alpha: float, high_alpha: float
    ) -> tuple[float | None, float | None]:
        return None, None  # the t interval would not be this test's

    def runs_needed(self, test: Test, level: float) -> int | None:
        needed = super().runs_needed(test, level)
        floor = math.ceil(math.log2(1 / level))  # 2^-n ≤ level
        return None if needed is None else max(needed, floor)


def _on_log_scale(inputs: Inputs) -> Test:
    """``transform: log``: the check on the logarithm of a positive metric, a claim on the
    geometric mean (with a baseline, on the geometric-mean ratio h/b against 1 ± δ). Where a
    t on raw per-seed values fails under right skew (MSE, latency), the log often makes them
    near-normal; the claim changes with it, which is why it is declared before data."""
    rule, key = inputs.rule, inputs.rule.metric.key
    values = [*inputs.h_values, *inputs.b_values]
    if any(not v > 0 for v in values if math.isfinite(v)):
        low = min(v for v in values if math.isfinite(v))
        problem = f"transform: log needs positive values of {key}; one is {low:g}"
        return replace(inputs.base, problem=problem, points=ordered(inputs.h_values))
    if rule.baseline is None:
        limit = math.log(rule.offset) if rule.offset > 0 else math.nan
        label = f"mean log {key}"
    else:
        scale = rule.scale(inputs.reference_mean)
        limit = math.log(scale) if scale > 0 else math.nan
        label = f"log({key}/{rule.baseline})"
    if not math.isfinite(limit):
        return replace(inputs.base, problem="transform: log needs a positive threshold")
    metric = rule.metric.model_copy(update={"bounds": None, "resolution": None, "step": None})
    logged = replace(rule, metric=metric, offset=limit, relative=0.0)
    log_runs = [_log_result(r, key) for r in inputs.runs]
    log_b_runs = [_log_result(r, key) for r in inputs.b_runs]
    h, b = [math.log(v) for v in inputs.h_values], [math.log(v) for v in inputs.b_values]
    base = replace(inputs.base, rule=logged, limit=limit, effect_label=label)
    reference = math.fsum(b) / len(b) if b else 0.0
    scale = 1.0 if rule.baseline is not None else 0.0
    moved = Inputs(inputs.ctx, logged, base, log_runs, log_b_runs, h, b, scale, reference)
    tested = _run(moved, choose(moved), h, b)
    note = "log scale: a claim on the geometric mean" + (" ratio" if rule.baseline else "")
    return replace(
        tested,
        test=f"{tested.test} on log {key}" if tested.test else tested.test,
        notes=(*tested.notes, note),
    )


def _log_result(result: Result, key: str) -> Result:
    value = result.metrics.get(key)
    if value is None or not value > 0:
        return result
    return replace(result, metrics={**result.metrics, key: math.log(value)})


POINT_VALUE: Procedure = _PointValue()
ONE_SAMPLE_T: Procedure = _OneSampleT()
AGAINST_CONSTANT: Procedure = _AgainstConstant()
AGAINST_REPORTED: Procedure = _AgainstReported()
WELCH_SUMMARY: Procedure = _WelchSummary()
# The tests on one sample of runs: with a pair key, the key is their unit (see _run).
_SAMPLE_TESTS = (ONE_SAMPLE_T, AGAINST_CONSTANT, AGAINST_REPORTED, WELCH_SUMMARY)
PAIRED_T: Procedure = _PairedT()
WELCH_T: Procedure = _WelchT()


# ---------------------------------------------------------------------------- checks


def _absolute_test(ctx: Context, rule: Rule, runs: list[Result], group: str) -> Test:
    key = rule.metric.key
    values = values_of(runs, key)
    value = aggregate(values, runs[0].reported, rule.metric.bounds) if values else None
    base = Test(
        rule,
        group,
        value,
        None,
        effect_label=f"mean {key}",
        limit=rule.offset,
        threshold=rule.offset,
        points=ordered(values),
    )
    if not values:
        return replace(base, problem=f"no value for {key} in {ctx.hypothesis.id}'s results")
    inputs = Inputs(ctx, rule, base, runs, [], values, [], scale=0.0)
    if rule.transform == "log":
        return _on_log_scale(inputs)
    return _run(inputs, choose(inputs), values)


def _run(inputs: Inputs, procedure: Procedure, *groups: list[float]) -> Test:
    """Run the chosen procedure, unless the values are too large for a t statistic. With a
    pair key declared, every sample test takes the pair key as its unit, as the paired test
    does: one value per key, averaged over the conditions the rule pools (slots of one seed are
    correlated; counting them as independent runs gave 20% false successes)."""
    if procedure is not POINT_VALUE and (problem := magnitude_problem(*groups)):
        points = inputs.base.points or ordered(inputs.h_values)
        return replace(inputs.base, problem=problem, points=points)
    pair_by = inputs.ctx.settings.pair_by
    if getattr(procedure, "inner", procedure) in _SAMPLE_TESTS and pair_by is not None:
        if keyless := _keyless(inputs, pair_by, measured_only=True):
            return replace(inputs.base, problem=_keyless_problem(pair_by, keyless))
        pooled = _pooled_conditions(inputs)
        if pooled:
            units, lines = _per_key(inputs, pair_by, pooled)
            if not (units.b_values if inputs.runs[0].reported else units.h_values):
                need = f"no {pair_by} has a result in every condition ({', '.join(pooled)})"
                return replace(inputs.base, problem=need, unmatched=tuple(lines))
            tested = procedure.run(units)
            crossed = _required(_cells(inputs.runs, pair_by, pooled)) is not None
            over = f", one value per {pair_by} pooled over {', '.join(pooled)}" if crossed else ""
            return replace(tested, test=tested.test + over, unmatched=(*tested.unmatched, *lines))
    return procedure.run(inputs)


def _keyless_problem(pair_by: str, keyless: str) -> str:
    return (
        f"pairing by {pair_by} is declared, but {keyless}: log them with --param "
        f"{pair_by}=VALUE (or --replace them), or set pair_by: null"
    )


def _per_key(inputs: Inputs, pair_by: str, pooled: list[str]) -> tuple[Inputs, list[str]]:
    """The inputs with the measured sample's values replaced by one mean per pair key over the
    pooled conditions' cells; keys missing a cell are left out and named. (The other side is
    a constant: an exact or reported figure.)"""
    metric = inputs.rule.metric.key
    if inputs.runs[0].reported:  # a reported hypothesis: the baseline's runs are the sample
        b_values, lines = _key_means(
            inputs.b_runs, metric, pair_by, pooled, str(inputs.rule.baseline)
        )
        return replace(inputs, b_values=b_values), lines
    h_values, lines = _key_means(inputs.runs, metric, pair_by, pooled, inputs.ctx.hypothesis.id)
    return replace(inputs, h_values=h_values), lines


def _key_means(
    runs: list[Result], metric: str, pair_by: str, pooled: list[str], subject: str
) -> tuple[list[float], list[str]]:
    """One mean per pair key over its cells (all of them when crossed; see ``_required``)."""
    cells = _cells(runs, pair_by, pooled)
    required = _required(cells)
    values, lines = [], []
    for key, found in cells.items():
        missing = [] if required is None else [c for c in required if c not in found]
        if missing:
            shown = "; ".join(_cell_text(pooled, cell) for cell in missing)
            lines.append(f"{pair_by}={key} not used: {subject} has no result for {shown}")
            continue
        values.append(math.fsum(r.metrics[metric] for r in found.values()) / len(found))
    return values, lines


def _comparison_test(
    ctx: Context, rule: Rule, runs: list[Result], group: str, group_value: str | None
) -> Test:
    key = rule.metric.key
    assert rule.baseline is not None
    baseline = ctx.plan.baseline(rule.baseline)
    b_runs = with_metric(group_filter(ctx.runs("baseline", rule.baseline), rule, group_value), key)
    h_values, b_values = values_of(runs, key), values_of(b_runs, key)
    bounds = rule.metric.bounds
    value = aggregate(h_values, runs[0].reported, bounds) if h_values else None
    reference = aggregate(b_values, b_runs[0].reported, bounds) if b_values else None
    base = Test(rule, group, value, reference)
    if reference is None:
        known = ctx.runs("baseline", rule.baseline)
        why = "has no result" if not known else f"has no value for {key}"
        return replace(base, problem=f"{rule.baseline} {why}" + (f" in {group}" if group else ""))
    scale = rule.scale(ctx.scale_sign(rule, group, reference.mean))
    threshold = scale * reference.mean + rule.offset
    base = replace(
        base,
        effect_label=effect_label(key, rule.baseline, scale),
        limit=rule.offset,
        threshold=threshold,
        description=with_numbers(rule, reference.mean, threshold),
    )
    if not h_values:
        return replace(base, problem=f"no value for {key} in {ctx.hypothesis.id}'s results")
    if rule.relative and (problem := relative_problem(rule.baseline, reference, baseline.exact)):
        return replace(base, problem=problem, points=ordered(h_values))
    inputs = Inputs(ctx, rule, base, runs, b_runs, h_values, b_values, scale, reference.mean)
    if rule.transform == "log":
        return _on_log_scale(inputs)
    return _run(inputs, choose(inputs), h_values, b_values)


def relative_problem(baseline: str, reference: Aggregate, exact: bool) -> str:
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


def tests_for(ctx: Context) -> list[Test]:
    mine = ctx.runs("hypothesis", ctx.hypothesis.id)
    tests = []
    for rule in rules_for(ctx.plan, ctx.hypothesis):
        runs = with_metric(mine, rule.metric.key)
        groups = list(groups_of(ctx, rule, runs)) or [("", None, [])]
        for label, value, chosen in groups:
            if rule.baseline is None:
                tests.append(
                    _absolute_test(ctx, rule, chosen, label)
                    if chosen
                    else Test(rule, label, None, None, problem=no_value(ctx, rule))
                )
            else:
                tests.append(_comparison_test(ctx, rule, chosen, label, value))
    return tests


def no_value(ctx: Context, rule: Rule) -> str:
    return f"no value for {rule.metric.key} in {ctx.hypothesis.id}'s results"
