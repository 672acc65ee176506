"""Deciding: outcomes per check (intersection–union for success, Holm for failure), levels
across hypotheses (Holm families, the fixed sequence), the status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from mlplan._judge import sequential as _seq
from mlplan._judge import stats as _stats
from mlplan._judge.evidence import Context
from mlplan._judge.explain import explain
from mlplan._judge.fingerprint import with_current_ids
from mlplan._judge.looks import designed_tests
from mlplan._judge.model import ALPHA, Check, Outcome, Status, Verdict
from mlplan._judge.procedures import Test
from mlplan._judge.results import Result, ResultKind
from mlplan._judge.rules import needed_baselines
from mlplan._judge.settings import settings_for
from mlplan._plan import graph
from mlplan._plan.models import (
    Hypothesis,
    Plan,
    Sequential,
)

__all__ = [
    "Needed",
    "Prepared",
    "amended_after_results",
    "confirmatory_map",
    "decide_checks",
    "deciding_look",
    "failure_levels",
    "graph_levels",
    "levels_across",
    "planning_level",
    "prepare",
    "status_of",
    "unplanned",
    "verdict_runs_needed",
]


def decide_checks(
    tests: Sequence[Test], level: float, failure_alpha: float = ALPHA, min_runs: int = 2
) -> list[Check]:
    """Outcomes for one hypothesis: success at ``level`` per check (intersection–union, no
    adjustment), failure Holm-adjusted across the statistical failure tests at
    ``failure_alpha`` (the hypothesis's share of α under ``multiplicity: graph``)."""
    family = [i for i, t in enumerate(tests) if t.decided is None]
    rejected, levels = _stats.holm_levels([tests[i].p_failure for i in family], failure_alpha)
    failure_level = dict(zip(family, map(float, levels), strict=True))
    fails = {i for i, r in zip(family, rejected, strict=True) if r}
    holm = f"Holm over {len(family)} failure tests" if len(family) > 1 else ""
    return [
        _check(test, level, failure_level.get(i, ALPHA), i in fails, holm, min_runs=min_runs)
        for i, test in enumerate(tests)
    ]


def _outcome(test: Test, level: float, failed: bool) -> Outcome:
    if test.decided is not None:
        return test.decided
    if test.value is None or (test.rule.baseline is not None and test.reference is None):
        return "missing"
    if test.problem or test.waiting:
        return "unclear"
    if test.p_success <= level:
        return "pass"
    return "fail" if failed else "unclear"


def _bounds(test: Test) -> tuple[float | None, float | None]:
    """The interval a reader sees: two-sided 95% (α/2 = 0.025 each side, unadjusted), as the
    check's own procedure draws it. It is a description, labelled as such: the decision is
    the p-values against their levels, which Holm may have lowered (issue 15: the shown
    interval once mixed a 2.5% bound on one side with a Holm bound on the other)."""
    if test.procedure is None or test.problem or test.decided is not None:
        return None, None
    low, high = test.procedure.interval(test, ALPHA, ALPHA)
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return low, high
    return _stats.clip(low, high, _effect_bounds(test))


def _effect_bounds(test: Test) -> tuple[float, float] | None:
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


def deciding_look(test: Test, level: float, failure_level: float, failed: bool) -> Test | None:
    """The first look of a sequential path at which a boundary was crossed: success at
    ``level``, failure at ``failure_level`` when Holm rejects it. The p-values along the path
    are running minima, so the first crossing is the decision and it stays (issue 17)."""
    for look in test.looks:
        if look.p_success <= level or (failed and look.p_failure <= failure_level):
            return look
    return None


def _check(
    test: Test, level: float, failure_level: float, failed: bool, holm: str, *, min_runs: int
) -> Check:
    decided_at = None
    if test.looks and (look := deciding_look(test, level, failure_level, failed)):
        test, decided_at = replace(look, looks=test.looks, notes=test.notes), look.n
    rule = test.rule
    refusal = getattr(test.procedure, "refusal", None)
    if refusal is not None and not test.problem and (why := refusal(test.n, level)):
        test = replace(test, problem=why)  # a lowered level the test cannot reach
    outcome = _outcome(test, level, failed)
    low, high = _bounds(test)
    tested = test.decided is None and not test.problem and test.procedure is not None
    needed, needed_reason = _runs_needed(test, level)
    needed = None if needed is None else max(needed, min_runs)
    value = test.effect
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
        point_keys=test.point_keys,
        paired=test.paired,
        runs_needed=needed,
        runs_needed_reason=needed_reason,
        interval=_interval_label(test) if low is not None and high is not None else "",
        p_success=test.p_success if tested else None,
        p_failure=test.p_failure if tested else None,
        level=level,
        failure_level=failure_level,
        criterion=rule.criterion,
        decided_at=decided_at,
        design=test.design,
    )
    explanation = explain(check, test, level, failure_level, holm)
    said = [test.problem] if test.problem else [test.waiting] if test.waiting else []
    if decided_at is not None:
        said.append(f"decided at n = {decided_at} (a sequential verdict stays)")
    note = "; ".join([*said, *test.notes])
    return replace(check, explanation=explanation, note=note)


def _interval_label(test: Test) -> str:
    """The interval's kind and the n it was taken at: a fixed horizon's t interval (provisional
    before N), a repeated CI, a confidence sequence; unlabelled with no planned n."""
    kind = test.interval_kind or "95% CI"
    if not test.design:
        return kind
    return f"{'provisional ' if test.waiting else ''}{kind} at n = {test.n}"


def _runs_needed(test: Test, level: float) -> tuple[int | None, str]:
    """Runs (pairs) for 80% power at the margin; exempt for exact and reported checks."""
    if test.decided is not None:
        return None, f"{test.test}: no runs needed"
    if test.power is None or test.procedure is None:
        if test.n >= 2 and test.effect is not None:
            return None, STATE_EXPECTED
        return None, "the spread is unknown: needs ≥ 2 runs (pairs)"
    ratio = test.power[3]
    needed = test.procedure.runs_needed(test, level)
    if needed is None:
        reason = "no n up to 100,000 has 80% power"
        if ratio:
            reason += " (a corrected resampled interval cannot shrink below √(n_test/n_train)·s)"
        return None, reason
    return needed, ""


def status_of(
    runs: int, missing_baselines: Sequence[str], checks: Sequence[Check], waiting: bool = False
) -> Status:
    """``waiting``: a check is short of its fixed horizon or waits for a declared slot, so
    the hypothesis is still running unless another check already failed."""
    if runs == 0:
        return "pending"
    if missing_baselines:
        return "blocked"
    outcomes = {check.outcome for check in checks}
    if "fail" in outcomes:
        return "failed"
    if outcomes == {"pass"}:
        return "succeeded"
    return "running" if waiting else "inconclusive"


@dataclass(frozen=True)
class Prepared:
    """A hypothesis's tests and evidence, before the levels across hypotheses are known."""

    ctx: Context
    tests: list[Test]
    runs: list[Result]
    missing: tuple[str, ...]

    @property
    def failure_p(self) -> float:
        """The hypothesis's failure p-value: Bonferroni over its statistical checks (it fails
        when any one does), the p that Holm across a family orders."""
        tested = [t.p_failure for t in self.tests if t.decided is None and not t.problem]
        if not self.runs or self.missing or not tested:
            return 1.0
        return min(1.0, len(tested) * min(tested))

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
                blocked = test.problem or (test.waiting and not test.looks)
                worst = max(worst, 1.0 if blocked else test.p_success)
        return worst


def prepare(
    plan: Plan, hypothesis: Hypothesis, evidence: Mapping[tuple[ResultKind, str], list[Result]]
) -> Prepared:
    ctx = Context(plan, hypothesis, settings_for(plan, hypothesis), evidence)
    runs = ctx.runs("hypothesis", hypothesis.id)
    missing = tuple(b for b in needed_baselines(hypothesis) if not ctx.runs("baseline", b))
    return Prepared(ctx, designed_tests(ctx), runs, missing)


def levels_across(plan: Plan, prepared: Sequence[Prepared]) -> dict[str, tuple[float, str]]:
    """Each hypothesis's level and how it was corrected across hypotheses."""
    design = plan.experiment
    levels = {p.ctx.hypothesis.id: (ALPHA, "") for p in prepared}
    if design.multiplicity == "graph":
        return graph_levels(plan, prepared)
    if design.multiplicity != "holm":
        return levels
    families: dict[str, list[Prepared]] = {}
    for p in prepared:
        if p.ctx.hypothesis.family is not None:
            families.setdefault(p.ctx.hypothesis.family, []).append(p)
    for name, members in families.items():
        _, found = _stats.holm_levels([m.success_p for m in members], ALPHA)
        for member, level in zip(members, found, strict=True):
            note = f"Holm across family {name} ({len(members)} hypotheses)"
            levels[member.ctx.hypothesis.id] = (float(level), note)
    return levels


def graph_levels(plan: Plan, prepared: Sequence[Prepared]) -> dict[str, tuple[float, str]]:
    """The graphical procedure of Bretz, Maurer, Brannath & Posch (2009, Stat. Med.
    28:586–604) on the decision graph: each confirmatory root starts with weight·α; a
    hypothesis that succeeds at its level passes all of it along its on_success step (past
    hypotheses already succeeded); on_failure children receive nothing and stay exploratory.
    Repeated until nothing more succeeds, which controls the family-wise error at α for any
    correlation (the weights sum to ≤ 1, each node passes on at most what it holds). A
    hypothesis no α reaches is judged at α for information and labelled exploratory."""
    by_id = {p.ctx.hypothesis.id: p for p in prepared}
    alpha = {
        hid: ALPHA * (by_id[hid].ctx.hypothesis.weight or 0.0)
        for hid in graph.roots(plan)
        if hid in by_id and not by_id[hid].ctx.hypothesis.exploratory
    }
    succeeded: set[str] = set()
    changed = True
    while changed:
        changed = False
        for hid, level in list(alpha.items()):
            if hid in succeeded or level <= 0 or by_id[hid].success_p > level:
                continue
            succeeded.add(hid)
            changed = True
            target = _next_open(plan, hid, succeeded, by_id)
            if target is not None:
                alpha[target] = alpha.get(target, 0.0) + level
    return {
        hid: (alpha[hid], f"graph: {alpha[hid] / ALPHA:.3g} of α")
        if alpha.get(hid, 0.0) > 0
        else (ALPHA, "graph: no α reached it (exploratory)")
        for hid in by_id
    }


def _next_open(
    plan: Plan, hid: str, succeeded: set[str], by_id: Mapping[str, Prepared]
) -> str | None:
    """Where a success's α goes: along on_success, past hypotheses already succeeded; None
    when the path ends (a terminal action) or meets a hypothesis declared exploratory."""
    seen = {hid}
    target = plan.hypothesis(hid).on_success.then
    while target is not None and target in by_id and target not in seen:
        if by_id[target].ctx.hypothesis.exploratory:
            return None
        if target not in succeeded:
            return target
        seen.add(target)
        target = plan.hypothesis(target).on_success.then
    return None


STATE_EXPECTED = (
    "state the expected effect: expected: on the criterion (e.g. expected: 5%), "
    "or experiment.power_at"
)


def planning_level(plan: Plan, hypothesis: Hypothesis, level: float) -> float:
    """The level runs are planned at: the one the hypothesis faces. In a Holm family of m it
    may be as low as α/m (where Holm starts); under graph its share of α; else α."""
    if plan.experiment.multiplicity == "holm" and hypothesis.family is not None:
        members = sum(h.family == hypothesis.family for h in plan.experiment.hypotheses)
        return min(level, ALPHA / members)
    return level


def failure_levels(
    plan: Plan, prepared: Sequence[Prepared], levels: Mapping[str, tuple[float, str]]
) -> dict[str, float]:
    """The level each hypothesis's failure tests are held to. Success is corrected across
    hypotheses; failure must be too, or a Holm family of five roots said "failed" about a
    true claim 12% of the time (issue 17). Within a Holm family, Holm over the members'
    failure p-values; under graph, the hypothesis's share of α; else α."""
    found = {p.ctx.hypothesis.id: ALPHA for p in prepared}
    design = plan.experiment
    if design.multiplicity == "graph":
        for hid, (level, note) in levels.items():
            if "no α" not in note:
                found[hid] = level
    if design.multiplicity != "holm":
        return found
    families: dict[str, list[Prepared]] = {}
    for p in prepared:
        if p.ctx.hypothesis.family is not None:
            families.setdefault(p.ctx.hypothesis.family, []).append(p)
    for members in families.values():
        _, held = _stats.holm_levels([m.failure_p for m in members], ALPHA)
        for member, level in zip(members, held, strict=True):
            found[member.ctx.hypothesis.id] = float(level)
    return found


@dataclass(frozen=True)
class Needed:
    """``runs``: the runs (pairs) to plan for (None with ``reason`` when unknown); under a
    sequential design the most it takes (max_runs), with its ``power`` there and the
    ``expected_n`` at which it decides, both at the expected effect."""

    runs: int | None
    reason: str = ""
    expected_n: float | None = None
    power: float | None = None


def verdict_runs_needed(
    checks: Sequence[Check],
    tests: Sequence[Test] = (),
    level: float = ALPHA,
    floor: int = 2,
    sequential: Sequential | None = None,
) -> Needed:
    """Runs (pairs) at which the hypothesis succeeds with 80% power: jointly over every check
    success needs (their powers multiply; the largest single n fell to 55% with three
    for_each groups, issue 17), at ``level``, never below ``floor`` (min_runs). None with a
    reason if any check's is unknown. The number is a total, the runs logged so far
    included: only their spread is used, never their effect. Counting a pilot's runs in the
    final test after sizing from their spread is not free: from a 3-run pilot it gave 4.9%
    false success (5-run: 3.9%) against 2.5% (benchmarks/README.md); a confirmatory test
    should take fresh runs (log the pilot under an exploratory hypothesis). Under a
    ``sequential`` design: its max_runs, with the power there and the expected n
    (``sequential.operating``)."""
    planned = [c for c in checks if c.test and not c.test.startswith(("exact", "reported"))]
    if not planned:
        return Needed(None, "no statistical check: exact or reported values need no more runs")
    unknown = [c for c in planned if c.runs_needed is None]
    if unknown:
        return Needed(None, f"{unknown[0].description}: {unknown[0].runs_needed_reason}")
    plans = [t.power for t in tests if t.decided is None and t.power is not None]
    if sequential is not None and plans:
        return _sequential_needed(sequential, plans, level, floor)
    if not plans:
        return Needed(max(floor, *(c.runs_needed or 0 for c in planned)))
    needed = _stats.joint_runs_needed(plans, level, floor)
    if needed is None:
        return Needed(None, "no n up to 100,000 has 80% power for every check together")
    return Needed(needed)


def _sequential_needed(
    design: Sequential,
    plans: Sequence[tuple[float, float, float | None, float]],
    level: float,
    floor: int,
) -> Needed:
    """A sequential design's max_runs (for the anytime-valid t without one, the n by which
    80% of paths have succeeded), its power there and its expected n, simulated at each
    check's expected effect over its sd's upper limit (the paths depend on that ratio alone).
    A check with no spread is decided at its first look and adds nothing."""
    if any(sd_b is not None or ratio for _, _, sd_b, ratio in plans):
        return Needed(None, "a sequential design covers one-sample and paired t checks only")
    deltas = tuple(effect / sd for effect, sd, _, _ in plans if sd > 0)
    found = _seq.operating(floor, design.max_runs, design.kind, level, deltas)
    if found is None:
        return Needed(
            None,
            f"the anytime-valid t reaches 80% power at no n up to {_seq.ANYTIME_HORIZON} "
            "at the expected effect",
        )
    reason = f"{found.power:.0%} power by n = {found.runs}, expected n {found.expected_n:.1f}"
    if found.power < _stats.POWER:
        reason += f": below {_stats.POWER:.0%}, plan a larger max_runs (before the first result)"
    return Needed(found.runs, reason, found.expected_n, found.power)


def amended_after_results(plan: Plan, verdicts: Mapping[str, Verdict]) -> set[str]:
    """Hypotheses whose criteria changed after results: recorded amendments, and changes the
    stamps show that no amendment records yet. An amendment a rename wrote only for the ids its
    stamps name (primary, the graph's edges, the family's members) changes no test: once the
    renamed ids are mapped its criteria are the same before and after."""
    recorded = {
        a.hypothesis
        for a in plan.experiment_log.amendments
        if with_current_ids(plan, a.criteria_before) != with_current_ids(plan, a.criteria_after)
    }
    return recorded | {hid for hid, verdict in verdicts.items() if verdict.amendment is not None}


def unplanned(plan: Plan, verdicts: Mapping[str, Verdict]) -> set[str]:
    """Hypotheses with statistical checks and no planned n (neither runs nor sequential): they
    are judged and shown, but exploratory, since stopping whenever the verdict looked good
    gave 11.8% false successes at a nominal 2.5% (issue 17). A hypothesis decided by value
    alone (exact metrics, reported figures) needs no n."""
    found = set()
    for hypothesis in plan.experiment.hypotheses:
        if settings_for(plan, hypothesis).design:
            continue
        checks = verdicts[hypothesis.id].checks
        by_value = bool(checks) and all(c.test.startswith(("exact", "reported")) for c in checks)
        if not by_value:
            found.add(hypothesis.id)
    return found


def confirmatory_map(plan: Plan, verdicts: Mapping[str, Verdict]) -> dict[str, bool]:
    """Fixed sequence along the decision graph: a hypothesis is confirmatory when it is a
    confirmatory root, or a confirmatory predecessor succeeded and its on_success leads here;
    reached after a non-success (or declared exploratory) it is exploratory. Along ONE root's
    chain, each hypothesis tested at full α in this order keeps the family-wise error ≤ α
    (the fixed-sequence procedure; Maurer, Hothorn & Lehmacher 1995; Westfall & Krishen
    2001). Several roots at full α do not: five gave P(any false success) 12.7% (issue 17).
    So with several roots only ``primary`` (and, under holm, its family) is a confirmatory
    root, or under ``multiplicity: graph`` the roots with a weight (their α is shared, see
    ``graph_levels``); ``validate`` requires one of these (``none`` declares no correction).
    A hypothesis whose criteria changed after its results (amended or not) is exploratory
    too: its test was not the one planned before the data (issue 15), and so is everything
    reached only through it; so is one with no planned n (``unplanned``, issue 17)."""
    hypotheses = {h.id: h for h in plan.experiment.hypotheses}
    changed = amended_after_results(plan, verdicts) | unplanned(plan, verdicts)
    parents = graph.parents(plan, "success")
    targets = graph.targets(plan)
    memo: dict[str, bool] = {}

    def visit(hid: str, trail: frozenset[str]) -> bool:
        if hid in memo:
            return memo[hid]
        if hypotheses[hid].exploratory or hid in changed or hid in trail:
            memo[hid] = False
            return False
        if plan.experiment.multiplicity == "none":
            memo[hid] = True
            return True
        if hid not in targets:
            memo[hid] = _confirmatory_root(plan, hypotheses[hid])
            return memo[hid]
        memo[hid] = any(
            verdicts[p].status_ignoring_deadline == "succeeded" and visit(p, trail | {hid})
            for p in parents[hid]
        )
        return memo[hid]

    return {hid: visit(hid, frozenset()) for hid in hypotheses}


def _confirmatory_root(plan: Plan, hypothesis: Hypothesis) -> bool:
    """A root is confirmatory when α is spent on it: every root when none is named primary
    (validate refuses several such roots), the primary (and its Holm family), or under graph
    a root with a weight."""
    design = plan.experiment
    if design.multiplicity == "graph":
        return bool(hypothesis.weight)
    if design.primary is None or hypothesis.id == design.primary:
        return True
    primary = next((h for h in design.hypotheses if h.id == design.primary), None)
    family = None if primary is None else primary.family
    return design.multiplicity == "holm" and family is not None and hypothesis.family == family
