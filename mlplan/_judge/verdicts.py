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
successes (fixed sequence); ``multiplicity: holm`` makes a declared family one Holm family;
with several roots, ``primary`` names the confirmatory one or ``multiplicity: graph`` shares α
by weights (Bretz et al. 2009).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from mlplan._judge.decide import (
    Needed,
    Prepared,
    amended_after_results,
    confirmatory_map,
    decide_checks,
    failure_levels,
    levels_across,
    planning_level,
    prepare,
    status_of,
    unplanned,
    verdict_runs_needed,
)
from mlplan._judge.evidence import (
    aggregate,
    altered,
    baseline_values,
    gather,
    plan_figures,
    replaced_runs,
    subject_values,
)
from mlplan._judge.explain import (
    closed_reason,
    condition_warnings,
    deciding_check,
    headline,
    reason_for,
    replacement_lines,
)
from mlplan._judge.fingerprint import (
    FINGERPRINT_VERSION,
    criteria_fingerprint,
    criteria_text,
    fingerprint_as,
    v1_text,
    with_current_ids,
)
from mlplan._judge.model import (
    ALPHA,
    CONFIDENCE,
    UNRESOLVED,
    Aggregate,
    Amendment,
    Check,
    CheckKind,
    Outcome,
    Status,
    Verdict,
)
from mlplan._judge.procedures import Test
from mlplan._judge.results import Result
from mlplan._judge.rules import needed_baselines
from mlplan._plan import graph
from mlplan._plan.keys import canonical
from mlplan._plan.models import (
    TERMINAL_ACTIONS,
    Decision,
    Hypothesis,
    NextStep,
    Plan,
)

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
    # A rename changes the ids a stamp names, not the test: the same criteria once mapped.
    if first.criteria_fingerprint == current or with_current_ids(plan, first.criteria) == text:
        return None
    return Amendment(
        first.criteria_fingerprint,
        criteria_fingerprint(plan, hypothesis),
        first.criteria,
        criteria_text(plan, hypothesis) if text != v1_text(hypothesis) else text,
        first.logged_at,
    )


def _honoured(plan: Plan, results: Sequence[Result]) -> list[Result]:
    """The replacements the judge counted; a hand-set tag it ignored is not one."""
    gone = replaced_runs(results, plan)
    return [r for r in results if r.replaces in gone]


def _split_then(step: NextStep | None) -> tuple[str | None, str | None]:
    if step is None or step.then is None:
        return None, None
    if step.then in TERMINAL_ACTIONS:
        return None, step.then
    return step.then, None


def _pairs(pair_by: str | None, runs: Sequence[Result]) -> int:
    """How many pair values the hypothesis has results for (the horizon counts these)."""
    if pair_by is None:
        return len(runs)
    return len({canonical(str(r.params[pair_by])) for r in runs if pair_by in r.params})


def _short_of_horizon(planned: int | None, tests: Sequence[Test], runs: int) -> str:
    """A check that cannot be judged yet (a baseline's interval still spans 0, say) short of a
    fixed horizon is still running: the horizon decides, and more runs may settle it (found
    when a loaded machine made LightTrack's fps baseline too noisy at n = 3)."""
    if planned is None or runs >= planned or not any(t.problem for t in tests):
        return ""
    return f"running ({runs} of {planned}): the horizon decides at runs: {planned}"


def _verdict(
    prepared: Prepared,
    results: Sequence[Result],
    today: dt.date,
    level: tuple[float, str],
    failure_alpha: float = ALPHA,
) -> Verdict:
    ctx = prepared.ctx
    hypothesis = ctx.hypothesis
    min_runs = ctx.settings.min_runs
    checks = tuple(decide_checks(prepared.tests, level[0], failure_alpha, min_runs))
    runs = prepared.runs
    waiting = next((t.waiting for t in prepared.tests if t.waiting), "") or _short_of_horizon(
        ctx.settings.runs, prepared.tests, _pairs(ctx.settings.pair_by, prepared.runs)
    )
    judged = status_of(len(runs), prepared.missing, checks, bool(waiting))
    deadline = hypothesis.timebox.deadline
    closure = _closure(ctx.plan, hypothesis.id)
    overdue = judged in UNRESOLVED and today > deadline and closure is None
    reason = waiting if judged == "running" else reason_for(judged, checks, prepared.missing)
    worst = deciding_check(checks)
    if judged in ("failed", "inconclusive") and (line := headline(checks)):
        reason += f"; {line}"
    if (decided_at := _decided_at(judged, checks)) is not None:
        reason += f" (decided at n = {decided_at}, by a sequential design; it stays)"
    step = {"succeeded": hypothesis.on_success, "failed": hypothesis.on_failure}.get(judged)
    next_hypothesis, next_action = _split_then(step)
    planned_at = planning_level(ctx.plan, hypothesis, level[0])
    needed = (
        verdict_runs_needed(checks, prepared.tests, planned_at, min_runs, ctx.settings.sequential)
        if runs
        else Needed(None, "no result yet")
    )
    aside = [
        line
        for kind, subject in (("hypothesis", hypothesis.id), *_baselines_of(prepared))
        for line in ctx.set_aside(kind, subject)  # type: ignore[arg-type]
    ]
    tested = (line for t in prepared.tests for line in t.unmatched)
    unmatched = tuple(dict.fromkeys([*tested, *aside]))
    return Verdict(
        hypothesis=hypothesis.id,
        status="overdue" if overdue else judged,
        status_ignoring_deadline=judged,
        reason=closed_reason(closure, reason)
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
        runs_needed=needed.runs,
        runs_needed_reason=needed.reason,
        expected_runs=needed.expected_n,
        design_power=needed.power,
        unmatched=unmatched,
        replacements=tuple(replacement_lines(_honoured(ctx.plan, results), hypothesis.id)),
        warnings=tuple(condition_warnings(ctx)),
        closed=closure.closes if closure else None,
        closed_on=closure.date if closure else None,
        design=ctx.settings.design,
        decided_at=decided_at,
    )


def _decided_at(status: Status, checks: Sequence[Check]) -> int | None:
    """The n at which a sequential verdict was reached: the last check to pass (success needs
    them all) or the first to fail."""
    if status == "succeeded" and all(c.decided_at is not None for c in checks if c.p_success):
        found = [c.decided_at for c in checks if c.decided_at is not None]
        return max(found) if found else None
    if status == "failed":
        found = [c.decided_at for c in checks if c.outcome == "fail" and c.decided_at is not None]
        return min(found) if found else None
    return None


def _baselines_of(prepared: Prepared) -> list[tuple[str, str]]:
    return [("baseline", b) for b in needed_baselines(prepared.ctx.hypothesis)]


def _closure(plan: Plan, hypothesis: str) -> Decision | None:
    """The last recorded decision that closes the hypothesis, if any: a team that gives up on
    a question (or replaces it) says so once, and its deadline stops counting (issue 14)."""
    closing = [d for d in plan.experiment_log.decisions if d.hypothesis == hypothesis and d.closes]
    return closing[-1] if closing else None


def judge(plan: Plan, results: Sequence[Result], today: dt.date) -> list[Verdict]:
    """A verdict for every hypothesis, in plan order.

    Results for subjects the plan does not know are ignored. Verdicts always use the plan's
    current criteria; if they changed since the first result, ``Verdict.amendment`` says so.
    """
    changed = altered(plan, results)  # values no write takes: changed in the store since
    results = [result for result in results if result.run_id not in changed]
    evidence = gather([*results, *plan_figures(plan, results)], plan)
    own: dict[str, list[Result]] = defaultdict(list)  # every hypothesis's raw results
    for result in results:
        if result.kind == "hypothesis":
            own[result.subject].append(result)
    prepared = [prepare(plan, h, evidence) for h in plan.experiment.hypotheses]
    levels = levels_across(plan, prepared)
    failing = failure_levels(plan, prepared, levels)
    verdicts = {
        p.ctx.hypothesis.id: _verdict(
            p,
            own[p.ctx.hypothesis.id],
            today,
            levels[p.ctx.hypothesis.id],
            failing[p.ctx.hypothesis.id],
        )
        for p in prepared
    }
    confirmatory = confirmatory_map(plan, verdicts)
    amended = amended_after_results(plan, verdicts)
    no_n = unplanned(plan, verdicts)
    return [
        _labelled(verdicts[h.id], confirmatory[h.id], h.id in amended, h.id in no_n)
        for h in plan.experiment.hypotheses
    ]


def _labelled(verdict: Verdict, confirmatory: bool, amended: bool, no_n: bool) -> Verdict:
    label = "confirmatory" if confirmatory else "exploratory"
    if amended:
        label += " (criteria changed after results)"
    elif no_n:
        label += " (no planned n)"
    if verdict.design:
        label = f"{verdict.design}; {label}"
    explanation = f"{verdict.explanation}; {label}" if verdict.explanation else label
    return replace(verdict, confirmatory=confirmatory, explanation=explanation)


def active_hypotheses(plan: Plan, verdicts: Sequence[Verdict]) -> list[str]:
    """The hypotheses to work on now, in plan order.

    Walk the decision graph from its roots (hypotheses no step leads to), following each
    final verdict's next step; the hypotheses reached that have no final verdict are active.
    A terminal action ends its path. A hypothesis without a verdict counts as unresolved; a
    closed one is not active.
    """
    by_id = {verdict.hypothesis: verdict for verdict in verdicts}

    def next_on_path(hypothesis: str) -> list[str]:
        verdict = by_id.get(hypothesis)
        return [verdict.next_hypothesis] if verdict and verdict.next_hypothesis else []

    reached = graph.reachable(graph.roots(plan), next_on_path)
    return [
        h.id
        for h in plan.experiment.hypotheses
        if h.id in reached and not (h.id in by_id and by_id[h.id].settled)
    ]
