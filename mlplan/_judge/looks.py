"""A hypothesis's checks under its planned n (issue 17): the fixed horizon's waiting, a declared
slot with no result, and the path of looks of a sequential design.

A sequential check is judged on its path. The results are replayed in the order they were
logged: every time a run (pair) completes, at the later run's ``logged_at``, the check's own
procedure runs on what was known then, and its statistic at that n is held to the design's
boundary (``sequential``). The p-values carried are the running minimum of the looks'
repeated (group-sequential) or anytime-valid p-values, so a boundary once crossed stays
crossed: a verdict is sticky, and ``decide`` names the look at which it was reached.

A relative margin scales the baseline by 1 ± δ with the sign of its mean, and along a path
that sign is the one at the check's first look (issue 17): a look whose baseline interval
contains 0 is no look (``relative_problem``), but skipping such looks could carry the mean
across 0 to a later look whose interval excludes 0 on the other side, where the margin would
have turned around (``test_a_relative_margin_keeps_the_sign_of_its_first_look``). A metric
bounded on one side of 0 fixes the sign anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from mlplan._judge import sequential as _seq
from mlplan._judge.evidence import Context, check_key
from mlplan._judge.procedures import (
    AGAINST_CONSTANT,
    AGAINST_REPORTED,
    ONE_SAMPLE_T,
    PAIRED_T,
    Inputs,
    Procedure,
    Test,
    tests_for,
)
from mlplan._judge.results import Result, ResultKind
from mlplan._judge.rules import needed_baselines
from mlplan._plan.models import Sequential

__all__ = ["SequentialT", "designed_tests", "replaced_under", "slot_gap"]

# The tests whose null path is the one-sample t's (paired differences are one sample).
_COVERED = (ONE_SAMPLE_T, AGAINST_CONSTANT, AGAINST_REPORTED, PAIRED_T)


def designed_tests(ctx: Context) -> list[Test]:
    """The hypothesis's checks under its design: a declared slot with no result holds every
    statistical check back; a sequential design judges each on its path of looks."""
    current = tests_for(ctx)
    gap = slot_gap(ctx, ctx.evidence)
    design = ctx.settings.sequential
    if design is None:
        if gap and ctx.settings.runs is not None:
            return [_held(test, gap) for test in current]
        return current
    if rewritten := replaced_under(ctx):
        return [t if t.decided is not None else replace(t, problem=rewritten) for t in current]
    paths = _paths(ctx, design)
    return [_on_path(ctx, design, test, paths.get(_key(test), []), gap) for test in current]


def replaced_under(ctx: Context) -> str:
    """Why a sequential path cannot be judged: a result replaced another (``--replace``),
    which would rewrite looks already taken. "" when nothing was replaced. The journal refuses
    such a replacement before logging it; the judge refuses to decide on one that got through
    (one logged before the design was declared, or by another tool)."""
    subjects: list[tuple[ResultKind, str]] = [("hypothesis", ctx.hypothesis.id)]
    subjects += [("baseline", b) for b in needed_baselines(ctx.hypothesis)]
    for subject in subjects:
        for run in ctx.all_runs(*subject):
            if run.replaces:
                return (
                    f"{subject[1]} run {run.run_id} replaced run {run.replaces} under a "
                    "sequential design, which would rewrite looks already taken: log a new "
                    "run instead, or amend the design to runs: N"
                )
    return ""


def _held(test: Test, gap: str) -> Test:
    """A statistical check waits for the missing slot, whatever else it lacks."""
    return test if test.decided is not None else replace(test, waiting=gap)


def slot_gap(ctx: Context, evidence: Mapping[tuple[ResultKind, str], list[Result]]) -> str:
    """ "waiting for seed=3" when a declared pair value has no result while a later one does:
    a seed that went badly cannot be left out by not logging it (issue 17). "" otherwise."""
    planned, pair_by = ctx.settings.pair_values, ctx.settings.pair_by
    if planned is None or pair_by is None:
        return ""
    subjects: list[tuple[ResultKind, str]] = [("hypothesis", ctx.hypothesis.id)]
    subjects += [("baseline", b) for b in needed_baselines(ctx.hypothesis)]
    missing: list[str] = []
    for subject in subjects:
        runs = evidence.get(subject, [])
        if not runs or runs[0].reported:
            continue
        present = {r.params[pair_by] for r in runs if pair_by in r.params}
        last = max((planned.index(v) for v in present if v in planned), default=-1)
        missing += [v for v in planned[:last] if v not in present and v not in missing]
    if not missing:
        return ""
    shown = ", ".join(f"{pair_by}={v}" for v in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return f"waiting for {shown}{more}: a declared slot has no result (log it, failed or not)"


# ---------------------------------------------------------------------------- the path


Key = tuple[object, ...]
Progress = tuple[int, int, tuple[bool, ...]]


def _key(test: Test) -> Key:
    return check_key(test.rule, test.group)


def _paths(ctx: Context, design: Sequential) -> dict[Key, list[Test]]:
    """Each check's looks: the test as it stood whenever its n grew, replayed in logging
    order; a state with a declared slot missing is no look, and n beyond max_runs never is."""
    subjects: list[tuple[ResultKind, str]] = [("hypothesis", ctx.hypothesis.id)]
    subjects += [("baseline", b) for b in needed_baselines(ctx.hypothesis)]
    own = {subject: ctx.all_runs(*subject) for subject in subjects}
    times = sorted({r.logged_at for runs in own.values() for r in runs})
    cap = design.max_runs
    paths: dict[Key, list[Test]] = {}
    signs: dict[Key, float] = {}  # a relative margin's sign, fixed at the check's first look
    progress: Progress | None = None
    for when in times:
        known = {s: [r for r in runs if r.logged_at <= when] for s, runs in own.items()}
        if (now := _progress(ctx, known)) == progress or max(now[:2]) < ctx.settings.min_runs:
            continue  # no run of the hypothesis and no pair completed, or too few: no look
        progress = now
        evidence = {**ctx.evidence, **{s: runs for s, runs in known.items() if runs}}
        for s in own:
            if not known[s]:
                evidence.pop(s, None)
        then = Context(
            ctx.plan,
            ctx.hypothesis,
            ctx.settings,
            evidence,
            replay=True,
            reference_signs=dict(signs),
        )
        if slot_gap(then, evidence):
            continue
        for test in tests_for(then):
            path = paths.setdefault(_key(test), [])
            grew = not path or test.n > path[-1].n
            if grew and _is_look(then, test) and (cap is None or test.n <= cap):
                path.append(test)
                if test.rule.relative and test.reference is not None:
                    signs.setdefault(_key(test), 1.0 if test.reference.mean >= 0 else -1.0)
    return paths


def _progress(ctx: Context, known: Mapping[tuple[ResultKind, str], list[Result]]) -> Progress:
    """What can move a look: the hypothesis's runs, the pair values every measured baseline
    shares with them, and which baselines have a result at all."""
    mine = known[("hypothesis", ctx.hypothesis.id)]
    pair_by = ctx.settings.pair_by
    keys = {r.params.get(pair_by) for r in mine} if pair_by is not None else set()
    present = []
    for (kind, subject), runs in known.items():
        if kind != "baseline":
            continue
        present.append(bool(runs))
        measured = runs and not runs[0].reported and not ctx.plan.baseline(subject).exact
        if pair_by is not None and measured:
            keys &= {r.params.get(pair_by) for r in runs}
    return len(mine), len(keys), tuple(present)


def _is_look(ctx: Context, test: Test) -> bool:
    return (
        test.decided is None
        and not test.problem
        and test.estimate is not None
        and test.procedure in _COVERED
        and ctx.settings.ratio == 0
        and test.n >= ctx.settings.min_runs
    )


def _on_path(ctx: Context, design: Sequential, current: Test, path: list[Test], gap: str) -> Test:
    """The check as its design judges it: the last look, carrying the running minimum of the
    looks' p-values and the looks themselves; the current state's problem or gap, if any,
    waits (a look already decided stays decided)."""
    if current.decided is not None:
        return current
    if current.procedure is not None and current.procedure not in _COVERED:
        return replace(
            current,
            problem=f"a sequential design covers one-sample and paired t checks, not "
            f"{current.test or current.procedure.name}: declare runs: N instead",
        )
    if not path:
        return _held(current, gap) if gap else current
    procedure = SequentialT(path[-1].procedure, design, ctx.settings.min_runs)
    looks, best_s, best_f = [], 1.0, 1.0
    for look in path:
        p_s, p_f = procedure.p_values(look)
        best_s, best_f = min(best_s, p_s), min(best_f, p_f)
        looks.append(_as_look(look, procedure, best_s, best_f))
    last = looks[-1]
    waiting = gap or current.problem
    notes = last.notes
    if design.max_runs is not None and last.n >= design.max_runs:
        notes = (*notes, f"the design ends at max_runs: {design.max_runs}; later runs do not count")
    return replace(last, looks=tuple(looks), waiting=waiting, notes=notes)


def _as_look(look: Test, procedure: SequentialT, p_s: float, p_f: float) -> Test:
    return replace(
        look,
        p_success=p_s,
        p_failure=p_f,
        procedure=procedure,
        design=procedure.design_kind,
        test=f"{look.test}, {procedure.label}",
        interval_kind=procedure.interval_label,
    )


class SequentialT:
    """A t check under a sequential design: the inner procedure's estimate, held to the
    design's boundary (``sequential``); its interval is the repeated confidence interval
    (group-sequential) or the confidence sequence (anytime-valid) at the look's n."""

    name = "sequential t"

    def __init__(self, inner: Procedure | None, design: Sequential, min_runs: int) -> None:
        self.inner, self.design, self.min_runs = inner, design, min_runs

    def run(self, inputs: Inputs) -> Test:
        """Never run directly: a sequential check is its inner procedure's looks."""
        raise NotImplementedError

    @property
    def design_kind(self) -> str:
        return "anytime" if self.design.kind == "anytime" else "group"

    @property
    def label(self) -> str:
        if self.design.kind == "anytime":
            return f"anytime-valid (mixture LR, prior scale {_seq.PRIOR_SCALE:g})"
        shape = "Pocock" if self.design.kind == "pocock" else "O'Brien–Fleming"
        return f"group-sequential {shape}, looks {self.min_runs}…{self.design.max_runs}"

    @property
    def interval_label(self) -> str:
        if self.design.kind == "anytime":
            return "95% confidence sequence"
        return "95% repeated CI"

    def _boundary(self) -> _seq.Boundary:
        assert self.design.max_runs is not None and self.design.kind != "anytime"
        return _seq.group_boundary(self.min_runs, self.design.max_runs, self.design.kind)

    def _t(self, look: Test) -> float:
        estimate, limit = look.estimate, look.limit
        assert estimate is not None and limit is not None
        se = float(estimate.se)
        if not se > 0:
            return math.nan
        sign = 1.0 if look.rule.above else -1.0
        return sign * (float(estimate.value) - limit) / se

    def p_values(self, look: Test) -> tuple[float, float]:
        """The look's repeated p-values for success and failure (one-sided each: the
        estimate must lie on the side a rejection claims)."""
        t, n = self._t(look), look.n
        if math.isnan(t):
            return 1.0, 1.0
        if self.design.kind == "anytime":
            p = _seq.anytime_p(t, n)
            return (p, 1.0) if t > 0 else (1.0, p) if t < 0 else (1.0, 1.0)
        boundary = self._boundary()
        return _seq.repeated_p(boundary, t, n), _seq.repeated_p(boundary, -t, n)

    def interval(
        self, test: Test, low_alpha: float, high_alpha: float
    ) -> tuple[float | None, float | None]:
        estimate = test.estimate
        if estimate is None or estimate.n < 2:
            return None, None
        value, se = float(estimate.value), float(estimate.se)
        return value - self._width(low_alpha, test.n) * se, value + self._width(
            high_alpha, test.n
        ) * se

    def _width(self, alpha: float, n: int) -> float:
        if self.design.kind == "anytime":
            # The sequence at 1/α covers both sides with probability ≥ 1 − α ≥ 1 − 2α.
            return _seq.confidence_sequence_t(alpha, n)
        return _seq.t_critical(self._boundary(), alpha, n)

    def runs_needed(self, test: Test, level: float) -> int | None:
        return None if self.inner is None else self.inner.runs_needed(test, level)
