"""The words of a verdict: each check's one line, the headline reason, the warnings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import get_args

from mlplan._judge.evidence import Context, natural
from mlplan._judge.model import Check, Outcome, Status
from mlplan._judge.procedures import Test
from mlplan._judge.results import Result
from mlplan._judge.rules import rule_symbol
from mlplan._plan.models import (
    Decision,
)
from mlplan._text import number, plural

__all__ = [
    "closed_reason",
    "condition_warnings",
    "deciding_check",
    "explain",
    "headline",
    "reason_for",
    "replacement_lines",
]


def explain(check: Check, test: Test, level: float, failure_level: float, holm: str) -> str:
    """One line a reader can check: test, n, estimate and interval, threshold, correction."""
    rule = test.rule
    head = f"{check.description}: "
    if test.problem and not test.test:
        return head + test.problem
    symbol = rule_symbol(rule.above, rule.strict)
    limit = "" if check.limit is None else number(check.limit)
    parts = [f"{test.test}, n = {test.n}"] if test.test else []
    if check.estimate is not None and math.isfinite(check.estimate):
        resolution = rule.metric.resolution
        shown = f"{check.effect_label or rule.metric.key} = {number(check.estimate, resolution)}"
        if check.low is not None and check.high is not None:
            low, high = number(check.low, resolution), number(check.high, resolution)
            shown += f", {check.interval} [{low}, {high}]"
        parts.append(f"{shown}, needs {symbol} {limit}")
    elif check.estimate is not None:
        parts.append(f"{check.effect_label or rule.metric.key} is not a number")
    if test.problem:
        parts.append(test.problem)
    elif check.p_success is not None and check.p_failure is not None:
        parts.append(_p_values(check, level, failure_level, holm))
        if assumes := getattr(test.procedure, "assumes", ""):
            parts.append(assumes)
    return head + "; ".join(parts)


def _p_values(check: Check, level: float, failure_level: float, holm: str) -> str:
    """The two one-sided p-values and the level each was held to."""
    assert check.p_success is not None and check.p_failure is not None
    failing = f"held to {failure_level:.3g}" + (f", {holm}" if holm else "")
    return (
        f"p = {_p(check.p_success)} for success (held to {level:.3g}), "
        f"p = {_p(check.p_failure)} for failure ({failing})"
    )


def _p(value: float) -> str:
    return "< 0.0001" if value < 1e-4 else f"{value:.2g}"


def reason_for(status: Status, checks: Sequence[Check], missing_baselines: Sequence[str]) -> str:
    if status == "pending":
        return "no result yet"
    if status == "blocked":
        return f"no result for baseline {', '.join(missing_baselines)}"
    counts = {outcome: sum(c.outcome == outcome for c in checks) for outcome in get_args(Outcome)}
    if status == "succeeded":
        return "the check passes" if len(checks) == 1 else f"all {len(checks)} checks pass"
    shown = [f"{counts[o]} {o}" for o in ("fail", "unclear", "missing") if counts[o]]
    return f"{', '.join(shown)} of {plural(len(checks), 'check')}"


_SAID = {"pass": "passes", "fail": "fails", "unclear": "is unclear", "missing": "has no value"}


def headline(checks: Sequence[Check]) -> str:
    """The hypothesis's question (its first success criterion, the worst of its groups) and
    then what blocks it: a verdict's reason once named whichever check was closest, a timing
    guardrail say, instead of the question (issue 15)."""
    question = deciding_check([c for c in checks if c.criterion == 0])
    if question is None:
        return ""
    line = f"{question.description} {_SAID[question.outcome]}"
    failing = [c for c in checks if c.outcome == "fail" and c is not question]
    if failing:
        return line + _listed("; fails on: " if question.outcome != "fail" else "; also: ", failing)
    blocking = [c for c in checks if c.outcome != "pass" and c is not question]
    return line + (_listed("; also holding it back: ", blocking) if blocking else "")


def _listed(lead: str, checks: Sequence[Check]) -> str:
    shown = "; ".join(f"{c.description} {_SAID[c.outcome]}" for c in checks[:2])
    return lead + shown + (f" and {len(checks) - 2} more" if len(checks) > 2 else "")


def condition_warnings(ctx: Context) -> list[str]:
    """Runs that differ in a declared condition no criterion splits by are pooled: say so."""
    split = {c.for_each for c in ctx.hypothesis.success_criteria if c.for_each}
    runs = ctx.runs("hypothesis", ctx.hypothesis.id)
    warnings = []
    for condition in ctx.settings.conditions:
        values = {r.params[condition] for r in runs if condition in r.params}
        unsplit = [c.metric for c in ctx.hypothesis.success_criteria if c.for_each != condition]
        if len(values) > 1 and (condition not in split or unsplit):
            shown = ", ".join(sorted(values, key=natural))
            warnings.append(
                f"runs differ in condition {condition} ({shown}) but "
                + ("no criterion" if condition not in split else "not every criterion")
                + f" says for_each: {condition}; those checks pool the groups"
            )
    return warnings


def replacement_lines(results: Sequence[Result], subject: str) -> list[str]:
    return [
        f"run {r.run_id} replaced run {r.replaces}: {r.reason or 'no reason given'}"
        for r in results
        if r.subject == subject and r.kind == "hypothesis" and r.replaces
    ]


def deciding_check(checks: Sequence[Check]) -> Check | None:
    """The check that decided: a failing one, else an unclear or missing one, else the
    passing one with the least room; among for_each groups this names the worst group."""
    order = {"fail": 0, "missing": 1, "unclear": 2, "pass": 3}

    def room(check: Check) -> float:
        bound = check.low if check.above else check.high
        if bound is None or check.limit is None:
            return math.inf
        return (bound - check.limit) * (1 if check.above else -1)

    return min(checks, key=lambda c: (order[c.outcome], room(c)), default=None)


def closed_reason(closure: Decision, reason: str) -> str:
    return f"closed as {closure.closes} on {closure.date.isoformat()}; {reason}"
