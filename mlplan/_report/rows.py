"""What ``status`` and the rendered log say about each hypothesis, as plain data.

Built from verdicts alone, so the table, the JSON and the Markdown all say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from mlplan._judge.results import Result
from mlplan._judge.verdicts import Check, Verdict
from mlplan._plan.keys import canonical
from mlplan._plan.models import Plan
from mlplan._report.export import counted_state
from mlplan._text import number, plural

__all__ = [
    "LogRow",
    "StatusRow",
    "attention",
    "log_rows",
    "orphans",
    "status_rows",
]


@dataclass(frozen=True)
class StatusRow:
    hypothesis: str
    status: str
    evidence: tuple[str, ...]
    timebox: str
    next_step: str
    amendment: str
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        verdict = self.verdict
        return {
            "hypothesis": self.hypothesis,
            "status": verdict.status,
            "reason": verdict.reason,
            "runs": verdict.runs,
            "reported": verdict.reported,
            "deadline": verdict.deadline.isoformat(),
            "days_left": verdict.days_left,
            "next_hypothesis": verdict.next_hypothesis,
            "next_action": verdict.next_action,
            "next_step": verdict.next_step.description if verdict.next_step else None,
            "checks": [_check_dict(check) for check in verdict.checks],
            "amendment": _amendment_dict(verdict),
            "confirmatory": verdict.confirmatory,
            "level": verdict.level,
            "correction": verdict.correction,
            "explanation": verdict.explanation,
            "runs_needed": verdict.runs_needed,
            "runs_needed_reason": verdict.runs_needed_reason or None,
            "design": verdict.design or None,
            "decided_at": verdict.decided_at,
            "expected_runs": verdict.expected_runs,
            "design_power": verdict.design_power,
            "unmatched": list(verdict.unmatched),
            "replacements": list(verdict.replacements),
            "warnings": list(verdict.warnings),
            "closed": verdict.closed,
            "closed_on": verdict.closed_on.isoformat() if verdict.closed_on else None,
        }


def _check_line(check: Check) -> str:
    """The check's one-line explanation: test, n, interval, threshold, correction."""
    mark = {"pass": "✓", "fail": "✗", "unclear": "?", "missing": "…"}[check.outcome]
    return f"{mark} {check.explanation or check.description}"


def _verdict_lines(verdict: Verdict) -> list[str]:
    """What a reader needs beside the checks: confirmatory or not, runs needed, deviations."""
    if verdict.runs == 0:
        return []
    label = "confirmatory" if verdict.confirmatory else "exploratory"
    lines = [
        f"{label}, α = {verdict.level:.3g}"
        + (f" ({verdict.correction})" if verdict.correction else "")
    ]
    if verdict.runs_needed is not None:
        lines.append(f"runs needed for 80% power: {verdict.runs_needed}")
    else:
        lines.append(f"runs needed: unknown ({verdict.runs_needed_reason})")
    lines += [f"⚠ {warning}" for warning in verdict.warnings]
    lines += [f"unmatched: {line}" for line in verdict.unmatched]
    lines += [f"replaced: {line}" for line in verdict.replacements]
    return lines


def _check_dict(check: Check) -> dict[str, Any]:
    value = check.value
    return {
        "kind": check.kind,
        "metric": check.metric,
        "description": check.description,
        "baseline": check.baseline,
        "threshold": check.threshold,
        "outcome": check.outcome,
        "group": check.group or None,
        "test": check.test,
        "n": check.n,
        "effect": check.effect_label or None,
        "estimate": check.estimate,
        "low": check.low,
        "high": check.high,
        "interval": check.interval or None,
        "limit": check.limit,
        "p_success": check.p_success,
        "p_failure": check.p_failure,
        "level": check.level,
        "failure_level": check.failure_level,
        "explanation": check.explanation,
        "note": check.note,
        "runs_needed": check.runs_needed,
        "design": check.design or None,
        "decided_at": check.decided_at,
        "value": None
        if value is None
        else {
            "mean": value.mean,
            "low": value.low,
            "high": value.high,
            "runs": value.runs,
            "reported": value.reported,
        },
    }


def _amendment_dict(verdict: Verdict) -> dict[str, Any] | None:
    amendment = verdict.amendment
    if amendment is None:
        return None
    return {
        "old_fingerprint": amendment.old_fingerprint,
        "new_fingerprint": amendment.new_fingerprint,
        "old_criteria": amendment.old_criteria,
        "new_criteria": amendment.new_criteria,
        "since": amendment.since.isoformat(),
    }


def _timebox_text(verdict: Verdict) -> str:
    if verdict.status in ("succeeded", "failed"):
        return f"done (deadline {verdict.deadline})"
    if verdict.closed_on is not None:
        return f"closed {verdict.closed_on} (deadline {verdict.deadline})"
    if verdict.days_left < 0:
        return f"{plural(-verdict.days_left, 'day')} overdue"
    return f"{plural(verdict.days_left, 'day')} left"


def _next_text(verdict: Verdict) -> str:
    if verdict.next_step is None:
        return "—"
    target = verdict.next_hypothesis or verdict.next_action
    return f"{verdict.next_step.description}" + (f" → {target}" if target else "")


def status_rows(verdicts: list[Verdict]) -> list[StatusRow]:
    return [
        StatusRow(
            hypothesis=v.hypothesis,
            status=v.status
            + (" (on reported figures)" if v.reported else "")
            + (f", closed ({v.closed})" if v.closed else ""),
            evidence=(
                tuple(_check_line(check) for check in v.checks) + tuple(_verdict_lines(v))
                if v.runs
                else ()
            ),
            timebox=_timebox_text(v),
            next_step=_next_text(v),
            amendment=(
                f"criteria amended since {v.amendment.since:%Y-%m-%d}: "
                f"{v.amendment.old_fingerprint} → {v.amendment.new_fingerprint}"
                if v.amendment
                else ""
            ),
            verdict=v,
        )
        for v in verdicts
    ]


def attention(plan: Plan, verdicts: list[Verdict]) -> list[str]:
    """Why `status --check` fails: overdue hypotheses, failures with no recorded decision."""
    decided = {decision.hypothesis for decision in plan.experiment_log.decisions}
    reasons = []
    for verdict in verdicts:
        if verdict.status == "overdue":
            reasons.append(f"{verdict.hypothesis} is overdue (deadline {verdict.deadline})")
        if verdict.status == "failed" and verdict.hypothesis not in decided:
            reasons.append(
                f"{verdict.hypothesis} failed and no decision is recorded in "
                "experiment_log.decisions"
            )
    return reasons


def orphans(plan: Plan, results: list[Result]) -> list[str]:
    """Results for ids the plan no longer has (renamed or removed): they count for nothing, so
    a gate fails on them (a hypothesis renamed by hand leaves its failures behind)."""
    known = {("hypothesis", h.id) for h in plan.experiment.hypotheses}
    known |= {("baseline", b.id) for b in plan.experiment.baselines}
    lost: dict[tuple[str, str], int] = {}
    for result in results:
        if (result.kind, result.subject) not in known:
            lost[result.kind, result.subject] = lost.get((result.kind, result.subject), 0) + 1
    return [
        f"{plural(count, 'result')} for {kind} {subject!r}, which the plan no longer has, "
        "count for nothing; rename it back"
        + (
            f", then rename it with `mlplan amend PLAN {subject} --rename NEW --reason TEXT`"
            if kind == "hypothesis"
            else ", or log them again under the new id"
        )
        for (kind, subject), count in sorted(lost.items())
    ]


@dataclass(frozen=True)
class LogRow:
    """One result as the experiment log shows it. ``key`` is its slot (pair key and condition
    values, e.g. ``seed=3``); ``deltas`` compare it with each baseline: with the baseline's
    result in the same slot when the hypothesis is paired, else with the baseline's mean (and
    say which)."""

    date: str
    run_id: str
    subject: str
    kind: str
    metrics: str
    deltas: str
    source: str
    note: str
    key: str = ""


def _delta(value: float, reference: float) -> str:
    if reference == 0:
        return f"{value - reference:+.4g}"
    return f"{(value - reference) / abs(reference):+.1%}"


def _slot_text(plan: Plan, result: Result) -> str:
    names = plan.key_params(result.kind, result.subject)
    return ", ".join(f"{name}={result.params[name]}" for name in names if name in result.params)


def _pair_key(plan: Plan, hypothesis: str) -> str | None:
    """The param that pairs the hypothesis's results with its baselines' (None: unpaired)."""
    own = plan.hypothesis(hypothesis)
    return own.pair_by if own.overrides_pair_by else plan.experiment.pair_by


def _reference(
    plan: Plan, result: Result, runs: list[Result]
) -> tuple[str, dict[str, float]] | None:
    """What a hypothesis's result is compared with among a baseline's counted runs: the run in
    its slot (same pair key, and the same value of each condition both carry) when paired, as
    the paired test pairs them; else the mean of the runs in its conditions (of all of them
    when the baseline carries none). None when the baseline has no run to compare with."""
    pair_by = _pair_key(plan, result.subject)
    conditions = [
        c
        for c in plan.experiment.conditions
        if c in result.params and any(c in run.params for run in runs)
    ]
    peers = [
        run
        for run in runs
        if all(run.params.get(c, result.params[c]) == result.params[c] for c in conditions)
    ]
    if pair_by is not None and pair_by in result.params and any(pair_by in r.params for r in runs):
        partner = next((r for r in peers if r.params.get(pair_by) == result.params[pair_by]), None)
        if partner is None:
            return None
        return f"paired: same {pair_by}", dict(partner.metrics)
    if not peers:
        return None
    means = {
        key: math.fsum(values) / len(values)
        for key in {k for run in peers for k in run.metrics}
        if (values := [run.metrics[key] for run in peers if key in run.metrics])
    }
    where = ", ".join(f"{c}={result.params[c]}" for c in conditions)
    if len(peers) == 1:
        return f"unpaired: its run{' at ' + where if where else ''}", means
    return f"unpaired: mean of {plural(len(peers), 'run')}{' at ' + where if where else ''}", means


def _deltas(plan: Plan, result: Result, counted: dict[str, list[Result]]) -> str:
    hypotheses = {h.id: h for h in plan.experiment.hypotheses}
    if result.kind != "hypothesis" or result.subject not in hypotheses:
        return "—"  # a baseline, or a result for a hypothesis the plan no longer has
    parts = []
    for baseline in hypotheses[result.subject].baselines:
        reference = _reference(plan, result, counted.get(baseline, []))
        if reference is None:
            if counted.get(baseline):
                parts.append(f"vs {baseline}: no result in this slot")
            continue
        how, values = reference
        shown = [
            f"{key} {_delta(value, values[key])}"
            for key, value in sorted(result.metrics.items())
            if key in values and math.isfinite(value) and math.isfinite(values[key])
        ]
        if shown:
            parts.append(f"vs {baseline} ({how}): " + ", ".join(shown))
    return "; ".join(parts) or "—"


def _counted_baselines(plan: Plan, results: list[Result]) -> dict[str, list[Result]]:
    """Each baseline's runs that count (neither replaced nor a later duplicate of a slot), in
    logging order, with params read as the judge reads them; the plan's reported figures when
    nothing was logged."""
    from mlplan._judge.evidence import plan_figures

    state = counted_state(results, plan)
    runs: dict[str, list[Result]] = {}
    figures = [r for r in plan_figures(plan, results) if r.run_id not in state]
    for result in sorted([*results, *figures], key=lambda r: (r.logged_at, r.run_id)):
        if result.kind == "baseline" and state.get(result.run_id, "counted") == "counted":
            params = {k: canonical(v) for k, v in result.params.items()}
            runs.setdefault(result.subject, []).append(replace(result, params=params))
    # Measured results if a baseline has any, else its reported ones: never a mix (the judge's
    # rule, mlplan._judge.evidence).
    return {b: [r for r in rs if not r.reported] or rs for b, rs in runs.items()}


def log_rows(plan: Plan, results: list[Result]) -> list[LogRow]:
    """Every result, baselines first, then hypotheses, each in plan order and by time."""
    counted = _counted_baselines(plan, results)
    resolutions = {m.key: m.resolution for m in plan.metrics}
    order = {("baseline", b.id): i for i, b in enumerate(plan.experiment.baselines)}
    order.update(
        {("hypothesis", h.id): len(order) + i for i, h in enumerate(plan.experiment.hypotheses)}
    )
    ranked = sorted(
        results, key=lambda r: (order.get((r.kind, r.subject), 10**6), r.logged_at, r.run_id)
    )
    return [
        LogRow(
            date=f"{r.logged_at:%Y-%m-%d}",
            run_id=r.run_id,
            subject=r.subject,
            kind=r.kind,
            metrics=", ".join(
                f"{k} = {number(v, resolutions.get(k))}" for k, v in sorted(r.metrics.items())
            ),
            deltas=_deltas(plan, _canonical(r), counted),
            source=f"reported: {r.source}" if r.reported else "measured",
            note=r.note,
            key=_slot_text(plan, r) if r.subject in _known(plan, r.kind) else "",
        )
        for r in ranked
    ]


def _canonical(result: Result) -> Result:
    return replace(result, params={k: canonical(v) for k, v in result.params.items()})


def _known(plan: Plan, kind: str) -> set[str]:
    subjects = plan.experiment.hypotheses if kind == "hypothesis" else plan.experiment.baselines
    return {s.id for s in subjects}
