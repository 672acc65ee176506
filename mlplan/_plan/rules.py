"""Rules that look across a whole plan: unique ids, references that resolve, no cycles.

Each check yields :class:`Finding`s (route, message, hint); the loader locates each in the
file and turns it into a :class:`~mlplan.errors.Problem`. They run only on a plan that already
has the right shape.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterator
from typing import Any, NamedTuple

from mlplan._plan import graph
from mlplan._plan.amendments import amendment_findings
from mlplan._plan.keys import CELL_WORDS, canonical, key_problem, placeholder_problem
from mlplan._plan.models import (
    TERMINAL_ACTIONS,
    Baseline,
    Criterion,
    Guardrail,
    Hypothesis,
    Plan,
)
from mlplan._text import did_you_mean
from mlplan.errors import Route

__all__ = ["Finding", "find_problems", "find_warnings", "reference_problems"]


class Finding(NamedTuple):
    """A problem found in a plan's values, not yet located in its file."""

    route: Route
    message: str
    hint: str


HYPOTHESES = ("experiment", "hypotheses")
BASELINES = ("experiment", "baselines")


def reference_problems(plan: Plan) -> list[Finding]:
    """The checks that every id a plan uses names something it has: the judge looks ids up
    and would stop with a bug on a missing one. For a plan not loaded from a file (one rebuilt
    from stamped criteria); a loaded plan passed them in ``find_problems``."""
    checks = (_unique_ids, _hypothesis_references, _next_step_targets, _next_step_cycles)
    return [finding for check in checks for finding in check(plan)]


def find_problems(plan: Plan) -> list[Finding]:
    checks = (
        _unique_ids,
        _unique_metric_keys,
        _storable_metric_keys,
        _goal_references,
        _hypothesis_references,
        _next_step_targets,
        _next_step_cycles,
        _log_references,
        _amendments,
        _resampling_needs_pairing,
        _design_fields,
        _run_declarations,
    )
    found = [finding for check in checks for finding in check(plan)]
    if not found:  # the graph must resolve before its roots can be counted
        found += [*_roots_share_alpha(plan), *_declared_tests(plan)]
    return found


def _roots_share_alpha(plan: Plan) -> Iterator[Finding]:
    """Several confirmatory roots each at full α would make P(any false success) grow with
    their number (12.7% for five roots, issue 17): one must be named ``primary`` or they share
    α by declared weights (``multiplicity: graph``). ``none`` declares no correction at all."""
    design = plan.experiment
    ids = [h.id for h in design.hypotheses]
    roots = graph.roots(plan)
    confirmatory = [r for r in roots if not plan.hypothesis(r).exploratory]
    if design.primary is not None and design.primary not in ids:
        yield Finding(
            (*EXPERIMENT, "primary"),
            f"primary: {design.primary!r} is not a hypothesis",
            did_you_mean(design.primary, ids),
        )
    elif design.primary is not None and design.primary not in roots:
        yield Finding(
            (*EXPERIMENT, "primary"),
            f"primary: {design.primary} is reached from another hypothesis: it is no root",
            f"name a root: {', '.join(roots)}",
        )
    if design.multiplicity == "graph":
        yield from _graph_weights(plan, confirmatory)
        return
    families = {plan.hypothesis(r).family for r in confirmatory}
    one_family = design.multiplicity == "holm" and len(families) == 1 and None not in families
    if len(confirmatory) > 1 and design.primary is None and design.multiplicity != "none":
        if one_family:  # one Holm family shares α among them
            return
        second = ids.index(confirmatory[1])
        yield Finding(
            (*HYPOTHESES, second, "id"),
            f"{len(confirmatory)} confirmatory root hypotheses ({', '.join(confirmatory)}) "
            "would each be tested at full α",
            "name the one that is confirmatory (experiment.primary: "
            f"{confirmatory[0]}), or share α: multiplicity: graph with a weight per root, "
            "or mark the others exploratory: true",
        )


def _graph_weights(plan: Plan, confirmatory: list[str]) -> Iterator[Finding]:
    """Under ``graph`` every confirmatory root declares its share of α, the shares sum to at
    most 1 (the rest is the reserve a root added later draws on), and only roots have one."""
    total = 0.0
    for index, hypothesis in enumerate(plan.experiment.hypotheses):
        route = (*HYPOTHESES, index)
        if hypothesis.id in confirmatory:
            if hypothesis.weight is None:
                yield Finding(
                    (*route, "id"),
                    f"{hypothesis.id} is a root under multiplicity: graph but has no weight",
                    "give it its share of α, e.g. weight: 0.5 (the weights sum to ≤ 1)",
                )
            total += hypothesis.weight or 0.0
        elif hypothesis.weight is not None:
            yield Finding(
                (*route, "weight"),
                f"{hypothesis.id} is not a confirmatory root: its α comes along on_success edges",
                "remove its weight",
            )
    if total > 1 + 1e-9:
        yield Finding(
            (*EXPERIMENT, "hypotheses"),
            f"the roots' weights sum to {total:g}, more than 1",
            "lower them so that they sum to at most 1 (what is left is a reserve)",
        )


def _declared_tests(plan: Plan) -> Iterator[Finding]:
    """``transform: log`` tests a ratio: an absolute margin has no meaning on the log scale."""
    for index, hypothesis in enumerate(plan.experiment.hypotheses):
        for c, criterion in enumerate(hypothesis.success_criteria):
            route = (*HYPOTHESES, index, "success_criteria", c)
            if criterion.transform == "log" and criterion.by and not criterion.by.relative:
                yield Finding(
                    (*route, "by"),
                    "transform: log tests the geometric-mean ratio: an absolute margin "
                    f"({criterion.by}) has no meaning on it",
                    "give the margin as a percentage, e.g. by: 10%",
                )


EXPERIMENT = ("experiment",)


def _design_fields(plan: Plan) -> Iterator[Finding]:
    """The planned slots (pair_values, condition_values) and horizon (runs) hold together."""
    yield from _pair_values(plan)
    yield from _reported_metrics(plan)
    yield from _condition_values(plan)
    yield from _horizons(plan)
    yield from _sequential_designs(plan)


def _sequential_designs(plan: Plan) -> Iterator[Finding]:
    """A sequential design is one planned n: not beside a fixed horizon, within the planned
    pair values, and only for the tests its boundaries are tabulated for (one-sample and
    paired t). Welch's df and the resampling correction change the t's null path, so those
    checks need a fixed horizon (issue 17)."""
    design = plan.experiment
    places: list[tuple[Route, Hypothesis | None]] = [(EXPERIMENT, None)]
    places += [((*HYPOTHESES, i), h) for i, h in enumerate(design.hypotheses)]
    planned = len(design.pair_values) if design.pair_values is not None else None
    for route, hypothesis in places:
        owner = design if hypothesis is None else hypothesis
        found = owner.sequential
        if found is None:
            continue
        where = (*route, "sequential")
        if owner.runs is not None:
            yield Finding(
                where,
                "runs and sequential are both set: a hypothesis has one planned n",
                "keep runs: N (a fixed horizon) or sequential, not both",
            )
        min_runs = (hypothesis.min_runs if hypothesis else None) or design.min_runs
        if found.max_runs is not None and found.max_runs < min_runs:
            yield Finding(
                (*where, "max_runs"),
                f"max_runs: {found.max_runs} is below min_runs ({min_runs}): no look could decide",
                f"plan at least {min_runs} runs, or lower min_runs",
            )
        if found.max_runs is not None and planned is not None and found.max_runs > planned:
            yield Finding(
                (*where, "max_runs"),
                f"max_runs: {found.max_runs} is more than the {planned} pair_values planned",
                "plan more pair_values, or a lower max_runs",
            )
        users = [hypothesis] if hypothesis else [h for h in design.hypotheses if _inherits(h)]
        for user in users:
            if why := _not_sequential(plan, user):
                yield Finding(
                    where,
                    f"{user.id}: {why}, which a sequential design does not cover",
                    "declare a fixed horizon instead (runs: N), or pair the runs (pair_by)",
                )


def _inherits(hypothesis: Hypothesis) -> bool:
    return hypothesis.runs is None and hypothesis.sequential is None


def _not_sequential(plan: Plan, hypothesis: Hypothesis) -> str:
    """Why a hypothesis's checks cannot be looked at sequentially ("" when they can)."""
    design = plan.experiment
    if hypothesis.resampling or design.resampling:
        return "its runs are overlapping resamples (a corrected t)"
    pair_by = hypothesis.pair_by if hypothesis.overrides_pair_by else design.pair_by
    if pair_by is not None:
        return ""
    # A measured baseline, or a reported one with its sd: either is compared by Welch's t.
    measured = {
        b.id
        for b in design.baselines
        if not b.exact
        and (b.reported is None or any(f.sd is not None for f in b.reported.metrics.values()))
    }
    named = [b for c in hypothesis.success_criteria for b in c.baselines_named or []]
    named += [g.against for g in hypothesis.guardrails]
    unpaired = [b for b in named if b in measured]
    if unpaired:
        return f"it compares unpaired runs with {unpaired[0]} (Welch's t)"
    return ""


def _run_declarations(plan: Plan) -> Iterator[Finding]:
    """A subject that says how it runs can be run: its command's {names} are its cell's params,
    and the values of its pair key and conditions are planned (the matrix is stated up front)."""
    design = plan.experiment
    subjects: list[tuple[Route, str, Hypothesis | Baseline]] = [
        ((*BASELINES, i), "baseline", b) for i, b in enumerate(design.baselines)
    ]
    subjects += [((*HYPOTHESES, i), "hypothesis", h) for i, h in enumerate(design.hypotheses)]
    for route, kind, subject in subjects:
        if subject.entry_point is None and subject.command is None:
            continue
        keys = plan.key_params(kind, subject.id)
        if isinstance(subject, Hypothesis) and subject.condition_values is not None:
            # Its cells carry only the conditions it varies, and a null value none at all.
            own = subject.condition_values
            keys = [k for k in keys if k not in design.conditions or None not in own.get(k, [None])]
        for index, word in enumerate(subject.command or []):
            problem = placeholder_problem(word, [*keys, *CELL_WORDS])
            if problem is not None:
                yield Finding(
                    (*route, "command", index),
                    problem,
                    "use the pair key or a condition, e.g. --seed {seed}",
                )
        yield from _planned_values(plan, route, kind, subject)


def _planned_values(
    plan: Plan, route: Route, kind: str, subject: Hypothesis | Baseline
) -> Iterator[Finding]:
    design = plan.experiment
    where = (*route, "command" if subject.command is not None else "entry_point")
    # A baseline without planned pair values runs once (a rule scored on one test set); a
    # hypothesis that pairs needs its values: its cells are the pair key's values.
    pairs = isinstance(subject, Hypothesis) and (
        subject.pair_by if subject.overrides_pair_by else design.pair_by
    )
    if pairs and design.pair_values is None:
        yield Finding(
            where,
            f"{subject.id} runs once per value of its pair key, but no pair_values are planned",
            "list them in experiment.pair_values, e.g. pair_values: [0, 1, 2, 3, 4]",
        )
    # A baseline that does not carry a condition serves every value of it; a hypothesis
    # that runs is measured in each condition, so its values must be planned.
    planned: dict[str, Any] = dict(design.condition_values or {})
    if isinstance(subject, Hypothesis) and subject.condition_values is not None:
        planned = dict.fromkeys(design.conditions)  # its own values replace the experiment's
    missing = [c for c in design.conditions if c not in planned]
    if missing and isinstance(subject, Hypothesis):
        yield Finding(
            where,
            f"{subject.id} runs once per condition, but no values are planned for "
            + ", ".join(repr(c) for c in missing),
            "list them in experiment.condition_values, e.g. {lam: [0.1, 1, 10]}, or in the "
            "hypothesis's own condition_values ({} when it varies none)",
        )


def _reported_metrics(plan: Plan) -> Iterator[Finding]:
    declared = [m.key for m in plan.metrics]
    for index, baseline in enumerate(plan.experiment.baselines):
        for key in baseline.reported.metrics if baseline.reported else {}:
            if key not in declared:
                yield Finding(
                    (*BASELINES, index, "reported", "metrics", key),
                    f"{key!r} is not a declared metric",
                    did_you_mean(key, declared) or "declare it under metrics",
                )


def _pair_values(plan: Plan) -> Iterator[Finding]:
    design = plan.experiment
    if design.pair_values is None:
        return
    if design.pair_by is None and not any(h.pair_by for h in design.hypotheses):
        yield Finding(
            (*EXPERIMENT, "pair_values"),
            "pair_values are declared but nothing pairs by them",
            "name the run param they are values of: pair_by: seed",
        )
    yield from _repeated(design.pair_values, (*EXPERIMENT, "pair_values"))


def _repeated(values: list[str | int | float], route: Route) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        written = canonical(str(value))
        if written in seen:
            yield Finding(
                (*route, index),
                f"{value!r} is the same value as item {seen[written]} ({values[seen[written]]!r})",
                "each planned value once: 0 and '0', 1e-3 and 0.001 are one slot",
            )
        seen.setdefault(written, index)


def _condition_values(plan: Plan) -> Iterator[Finding]:
    design = plan.experiment
    places: list[tuple[Route, dict[str, list[Any]]]] = [
        ((*EXPERIMENT, "condition_values"), dict(design.condition_values or {}))
    ]
    places += [
        ((*HYPOTHESES, i, "condition_values"), dict(h.condition_values))
        for i, h in enumerate(design.hypotheses)
        if h.condition_values is not None
    ]
    for where, planned in places:
        yield from _planned_conditions(plan, where, planned)
    for i, hypothesis in enumerate(design.hypotheses):
        yield from _nulls(plan, hypothesis, (*HYPOTHESES, i, "condition_values"))


def _nulls(plan: Plan, hypothesis: Hypothesis, route: Route) -> Iterator[Finding]:
    """A null condition value (a cell without the condition) only where cells are not
    paired: a result without lam for seed 3 would take seed 3's slot from those with lam."""
    exact = {metric.key for metric in plan.metrics if metric.exact}
    pair_by = hypothesis.pair_by if hypothesis.overrides_pair_by else plan.experiment.pair_by
    if pair_by is None or all(key in exact for key in hypothesis.metrics):
        return
    for name, values in (hypothesis.condition_values or {}).items():
        for index, value in enumerate(values):
            if value is None:
                yield Finding(
                    (*route, name, index),
                    f"a cell without {name!r} would share its {pair_by}'s slot with the cells "
                    f"at {name}'s values",
                    "null is for a hypothesis run once per condition (exact metrics, or "
                    "pair_by: null); give the check its own hypothesis",
                )


def _planned_conditions(
    plan: Plan, where: Route, planned: dict[str, list[Any]]
) -> Iterator[Finding]:
    design = plan.experiment
    for name, values in planned.items():
        route = (*where, name)
        if name not in design.conditions:
            yield Finding(
                route,
                f"{name!r} is not a declared condition",
                did_you_mean(name, design.conditions) or "add it to experiment.conditions",
            )
        if not values:
            yield Finding(route, f"no values planned for {name!r}", "list its values, or drop it")
        yield from _repeated(values, route)


def _horizons(plan: Plan) -> Iterator[Finding]:
    design = plan.experiment
    planned = len(design.pair_values) if design.pair_values is not None else None
    places: list[tuple[Route, int | None, int]] = [(EXPERIMENT, design.runs, design.min_runs)]
    places += [
        ((*HYPOTHESES, i), h.runs, h.min_runs or design.min_runs)
        for i, h in enumerate(design.hypotheses)
    ]
    for route, runs, min_runs in places:
        if runs is None:
            continue
        if not _pairs_somewhere(plan, route):
            yield Finding(
                (*route, "runs"),
                f"runs: {runs} needs a pair key: a fixed horizon counts pair values",
                "set pair_by (e.g. pair_by: seed), and best pair_values too",
            )
        if runs < min_runs:
            yield Finding(
                (*route, "runs"),
                f"runs: {runs} is below min_runs ({min_runs}): no check could decide",
                f"plan at least {min_runs} runs, or lower min_runs",
            )
        if planned is not None and runs > planned:
            yield Finding(
                (*route, "runs"),
                f"runs: {runs} is more than the {planned} pair_values planned",
                "plan more pair_values, or fewer runs",
            )


def _pairs_somewhere(plan: Plan, route: Route) -> bool:
    """Whether the experiment (or the hypothesis at ``route``) has a pair key in force."""
    design = plan.experiment
    if len(route) == 1:  # the experiment's runs: every hypothesis that uses it must pair
        return all(
            (h.pair_by if h.overrides_pair_by else design.pair_by) is not None
            for h in design.hypotheses
            if h.runs is None
        )
    hypothesis = design.hypotheses[int(route[-1])]
    return (hypothesis.pair_by if hypothesis.overrides_pair_by else design.pair_by) is not None


def _resampling_needs_pairing(plan: Plan) -> Iterator[Finding]:
    """Overlapping resamples are corrected on per-split differences (Nadeau & Bengio 2003): a
    comparison with a measured baseline and no pair key would fall back to Welch's test, which
    has no such correction (18.5% false successes where 2.5% was meant, issue 15)."""
    design = plan.experiment
    exact = {b.id for b in design.baselines if b.exact}
    for index, hypothesis in enumerate(design.hypotheses):
        pair_by = hypothesis.pair_by if hypothesis.overrides_pair_by else design.pair_by
        if pair_by is not None or (hypothesis.resampling or design.resampling) is None:
            continue
        named = [b for c in hypothesis.success_criteria for b in c.baselines_named or []]
        named += [g.against for g in hypothesis.guardrails]
        if any(b not in exact for b in named):
            route = (
                (*HYPOTHESES, index, "resampling")
                if hypothesis.resampling
                else (
                    *HYPOTHESES,
                    index,
                )
            )
            yield Finding(
                route,
                f"{hypothesis.id} compares overlapping resamples with a measured baseline but "
                "pairs nothing: the resampling correction needs per-split differences",
                "set pair_by to the param that names the split (e.g. pair_by: seed)",
            )


def _unique_ids(plan: Plan) -> Iterator[Finding]:
    ids = [(BASELINES, i, b.id) for i, b in enumerate(plan.experiment.baselines)]
    ids += [(HYPOTHESES, i, h.id) for i, h in enumerate(plan.experiment.hypotheses)]
    counts = Counter(identifier for _, _, identifier in ids)
    seen: set[str] = set()
    for section, index, identifier in ids:
        if counts[identifier] > 1 and identifier in seen:
            yield Finding(
                (*section, index, "id"),
                f"the id {identifier!r} is used more than once",
                "hypothesis and baseline ids must all be different",
            )
        seen.add(identifier)


def _unique_metric_keys(plan: Plan) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, metric in enumerate(plan.metrics):
        if metric.key in seen:
            yield Finding(
                ("metrics", index, "key"),
                f"the metric {metric.key!r} is declared twice",
                "declare each metric once",
            )
        seen.add(metric.key)


def _storable_metric_keys(plan: Plan) -> Iterator[Finding]:
    # Caught here, not at the first log-result: MLflow would refuse every result for it.
    for index, metric in enumerate(plan.metrics):
        problem = key_problem(metric.key)
        if problem is not None:
            yield Finding(
                ("metrics", index, "key"),
                f"MLflow cannot store the metric key {metric.key!r}: {problem}",
                "use a key like recall or f1.total",
            )


def _metric_pattern(pattern: str, plan: Plan, path: Route) -> Iterator[Finding]:
    keys = [metric.key for metric in plan.metrics]
    if not [key for key in keys if fnmatch.fnmatchcase(key, pattern)]:  # keys are case-sensitive
        yield Finding(
            path,
            f"the pattern {pattern!r} matches no declared metric",
            f"declared metrics: {', '.join(keys)}",
        )


def _goal_references(plan: Plan) -> Iterator[Finding]:
    keys = {metric.key for metric in plan.metrics}
    for index, goal in enumerate(plan.goals.metrics):
        path: Route = ("goals", "metrics", index)
        if goal.metric is not None and goal.metric not in keys:
            yield Finding(
                (*path, "metric"),
                f"unknown metric {goal.metric!r}",
                did_you_mean(goal.metric, sorted(keys)),
            )
        if goal.guardrail is not None:
            yield from _metric_pattern(
                goal.guardrail.metrics, plan, (*path, "guardrail", "metrics")
            )


def _hypothesis_references(plan: Plan) -> Iterator[Finding]:
    keys = {metric.key for metric in plan.metrics}
    baselines = {baseline.id for baseline in plan.experiment.baselines}
    for index, hypothesis in enumerate(plan.experiment.hypotheses):
        path = (*HYPOTHESES, index)
        for m, key in enumerate(hypothesis.metrics):
            if key not in keys:
                yield Finding(
                    (*path, "metrics", m),
                    f"unknown metric {key!r}",
                    did_you_mean(key, sorted(keys)),
                )
        for b, baseline in enumerate(hypothesis.baselines):
            if baseline not in baselines:
                yield Finding(
                    (*path, "baselines", b),
                    f"unknown baseline {baseline!r}",
                    did_you_mean(baseline, sorted(baselines)),
                )
        for c, criterion in enumerate(hypothesis.success_criteria):
            yield from _criterion_references(criterion, hypothesis, (*path, "success_criteria", c))
            yield from _condition_reference(criterion, plan, (*path, "success_criteria", c))
        for g, guardrail in enumerate(hypothesis.guardrails):
            yield from _guardrail_references(guardrail, hypothesis, plan, (*path, "guardrails", g))


def _criterion_references(
    criterion: Criterion, hypothesis: Hypothesis, path: Route
) -> Iterator[Finding]:
    if criterion.metric not in hypothesis.metrics:
        yield Finding(
            (*path, "metric"),
            f"the criterion judges {criterion.metric!r}, which is not among "
            f"{hypothesis.id}'s metrics",
            f"add it to metrics or use one of: {', '.join(hypothesis.metrics)}",
        )
    field = "better_than" if criterion.better_than is not None else "no_worse_than"
    for b, baseline in enumerate(criterion.baselines_named or []):
        if baseline not in hypothesis.baselines:
            yield Finding(
                (*path, field, b),
                f"{baseline!r} is not one of {hypothesis.id}'s baselines",
                did_you_mean(baseline, sorted(hypothesis.baselines)),
            )


def _condition_reference(criterion: Criterion, plan: Plan, path: Route) -> Iterator[Finding]:
    conditions = plan.experiment.conditions
    if criterion.for_each is not None and criterion.for_each not in conditions:
        yield Finding(
            (*path, "for_each"),
            f"for_each: {criterion.for_each!r} is not a declared condition",
            "declare it in experiment.conditions; "
            + did_you_mean(criterion.for_each, sorted(conditions)),
        )


def find_warnings(plan: Plan) -> list[Finding]:
    """Statistical advice that does not make a plan invalid."""
    return [*_relative_margins(plan), *_unplanned_n(plan), *_thresholds_beyond_bounds(plan)]


def _thresholds_beyond_bounds(plan: Plan) -> Iterator[Finding]:
    """A threshold no run can meet: at_least above the metric's upper bound (accuracy ≥
    1.0025 on [0, 1], a new user's slip), or at its bound for a sampled metric, whose mean
    would have to lie beyond every value a run can take. The plan stays valid (the check is
    simply never met), so it is a warning; ``--strict`` makes it an error."""
    for index, hypothesis in enumerate(plan.experiment.hypotheses):
        for c, criterion in enumerate(hypothesis.success_criteria):
            metric = next((m for m in plan.metrics if m.key == criterion.metric), None)
            if metric is None or metric.bounds is None:
                continue
            low, high = metric.bounds
            for side, threshold, bound in (
                ("at_least", criterion.at_least, high),
                ("at_most", criterion.at_most, low),
            ):
                if threshold is None or not _beyond(side, threshold, bound, metric.exact):
                    continue
                yield Finding(
                    (*HYPOTHESES, index, "success_criteria", c, side),
                    f"{side}: {threshold:g} can never be met: {metric.key!r} is bounded by "
                    f"{bound:g}",
                    f"check the threshold against bounds [{low:g}, {high:g}] (a fraction "
                    "written as a percentage?)",
                )


def _beyond(side: str, threshold: float, bound: float, exact: bool) -> bool:
    # An exact metric may sit on its bound (a check of value 1.0 ≥ 1.0 is met); a sampled
    # metric's mean is shown above a threshold only if some run lies above it.
    if side == "at_least":
        return threshold > bound or (threshold == bound and not exact)
    return threshold < bound or (threshold == bound and not exact)


def _unplanned_n(plan: Plan) -> Iterator[Finding]:
    """A hypothesis that looks confirmatory (not declared exploratory, a criterion on a
    sampled metric) with no planned n: it is judged, but as exploratory, since reading the
    status after every run and stopping at the first success gave 11.8% false successes at
    a nominal 2.5% (issue 17). Metrics declared exact are decided by value and need no n."""
    design = plan.experiment
    exact = {m.key for m in plan.metrics if m.exact}
    for index, hypothesis in enumerate(design.hypotheses):
        if hypothesis.exploratory or hypothesis.runs is not None or hypothesis.sequential:
            continue
        if design.runs is not None or design.sequential is not None:
            continue
        if all(c.metric in exact for c in hypothesis.success_criteria):
            continue
        yield Finding(
            (*HYPOTHESES, index),
            f"{hypothesis.id} is exploratory (no planned n): add runs: N or sequential: "
            "{max_runs: N}",
            "fix the number of runs before the first result (here or on the experiment): "
            "runs: 5 with pair_by: seed, or sequential: {max_runs: 20} to look after every "
            "run; or declare exploratory: true. (Results logged as reported figures are "
            "judged by value and need no n.)",
        )


def _relative_margins(plan: Plan) -> Iterator[Finding]:
    # A percentage of a baseline that can be 0 or change sign is no margin at all: "50%
    # better than 0" passes with 1e-9. Bounds starting at ≥ 0 rule that out.
    for index, hypothesis in enumerate(plan.experiment.hypotheses):
        path = (*HYPOTHESES, index)
        margins = [
            (("success_criteria", c, "by"), criterion.metric, criterion.by)
            for c, criterion in enumerate(hypothesis.success_criteria)
        ]
        margins += [
            (("guardrails", g, "max_drop"), metric.key, guardrail.max_drop)
            for g, guardrail in enumerate(hypothesis.guardrails)
            for metric in plan.metrics
            if fnmatch.fnmatchcase(metric.key, guardrail.metrics)
        ]
        warned: set[Route] = set()
        for steps, key, margin in margins:
            bounds = next((m.bounds for m in plan.metrics if m.key == key), None)
            if margin is None or not margin.relative or (bounds is not None and bounds[0] >= 0):
                continue
            if steps in warned:
                continue
            warned.add(steps)
            yield Finding(
                (*path, *steps),
                f"a relative margin ({margin}) on {key!r}, whose values may be 0 or negative",
                f"declare bounds: [0, ...] on metric {key!r} if it cannot go below 0, "
                "or use an absolute margin",
            )


def _guardrail_references(
    guardrail: Guardrail, hypothesis: Hypothesis, plan: Plan, path: Route
) -> Iterator[Finding]:
    if guardrail.against not in hypothesis.baselines:
        yield Finding(
            (*path, "against"),
            f"{guardrail.against!r} is not one of {hypothesis.id}'s baselines",
            did_you_mean(guardrail.against, sorted(hypothesis.baselines)),
        )
    yield from _metric_pattern(guardrail.metrics, plan, (*path, "metrics"))


def _next_steps(hypothesis: Hypothesis) -> Iterator[tuple[str, str | None]]:
    yield "on_success", hypothesis.on_success.then
    yield "on_failure", hypothesis.on_failure.then


def _next_step_targets(plan: Plan) -> Iterator[Finding]:
    hypotheses = {h.id for h in plan.experiment.hypotheses}
    valid = sorted(hypotheses) + list(TERMINAL_ACTIONS)
    for index, hypothesis in enumerate(plan.experiment.hypotheses):
        for outcome, target in _next_steps(hypothesis):
            path = (*HYPOTHESES, index, outcome, "then")
            if target is None or target in TERMINAL_ACTIONS or target in hypotheses:
                continue
            yield Finding(
                path,
                f"{target!r} is neither a hypothesis nor a terminal action",
                did_you_mean(target, sorted(valid)),
            )


def _next_step_cycles(plan: Plan) -> Iterator[Finding]:
    index_of = {h.id: i for i, h in enumerate(plan.experiment.hypotheses)}
    for closer, cycle in graph.cycles(plan):
        yield Finding(
            (*HYPOTHESES, index_of[closer.source], f"on_{closer.outcome}", "then"),
            f"the next steps form a cycle: {' → '.join(cycle)}",
            "the decision graph must end in ship, stop, collect-data or redesign",
        )


def _amendments(plan: Plan) -> Iterator[Finding]:
    for route, message, hint in amendment_findings(plan):
        yield Finding(route, message, hint)


def _log_references(plan: Plan) -> Iterator[Finding]:
    hypotheses = {h.id for h in plan.experiment.hypotheses}
    log = plan.experiment_log
    mentioned = [("entries", i, entry.hypothesis) for i, entry in enumerate(log.entries)]
    mentioned += [("decisions", i, decision.hypothesis) for i, decision in enumerate(log.decisions)]
    mentioned += [("amendments", i, amended.hypothesis) for i, amended in enumerate(log.amendments)]
    mentioned += [("renames", i, renamed.hypothesis) for i, renamed in enumerate(log.renames)]
    for section, index, hypothesis in mentioned:
        if hypothesis is not None and hypothesis not in hypotheses:
            yield Finding(
                ("experiment_log", section, index, "hypothesis"),
                f"unknown hypothesis {hypothesis!r}",
                did_you_mean(hypothesis, sorted(hypotheses)),
            )
    seen: set[str] = set()
    for index, renamed in enumerate(log.renames):
        if renamed.renamed_from in seen:
            yield Finding(
                ("experiment_log", "renames", index, "renamed_from"),
                f"{renamed.renamed_from!r} is renamed twice; its results can count for one "
                "hypothesis only",
                "keep the first rename; a later one renames the hypothesis's new id",
            )
        seen.add(renamed.renamed_from)
        if renamed.renamed_from in hypotheses:
            # Its results would count for two hypotheses, or silently for the wrong one.
            yield Finding(
                ("experiment_log", "renames", index, "renamed_from"),
                f"{renamed.renamed_from!r} was renamed to {renamed.hypothesis!r}, yet the plan "
                "has a hypothesis with that id again",
                "give the new hypothesis an id never used before",
            )
