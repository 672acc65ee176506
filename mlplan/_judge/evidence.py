"""The evidence a verdict rests on: which results count (replacements, the first per key),
grouped per subject, and their aggregates.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter

import numpy as np

from mlplan._judge import stats as _stats
from mlplan._judge.model import ALPHA, Aggregate
from mlplan._judge.results import Result, ResultKind
from mlplan._judge.rules import Rule
from mlplan._judge.settings import Settings
from mlplan._plan.keys import canonical, exact, slot_value_problem, value_problem
from mlplan._plan.models import (
    Hypothesis,
    Plan,
)

__all__ = [
    "Context",
    "aggregate",
    "altered",
    "baseline_values",
    "check_key",
    "first_by_key",
    "gather",
    "group_filter",
    "groups_of",
    "live_results",
    "magnitude_problem",
    "mean_of",
    "metric_aggregates",
    "natural",
    "one_per_slot",
    "ordered",
    "plan_figures",
    "replaced_runs",
    "replacement_problems",
    "slot_names",
    "slot_of",
    "slot_order",
    "slot_winner",
    "subject_values",
    "unmatched_lines",
    "values_of",
    "with_metric",
]


def aggregate(
    values: Sequence[float], reported: bool = False, bounds: tuple[float, float] | None = None
) -> Aggregate:
    """The mean of ``values`` and, with two or more, its 95% Student t interval."""
    if not values:
        raise ValueError("cannot aggregate no values")
    values = ordered(values)
    mean = mean_of(values)
    if len(values) == 1 or magnitude_problem(values) or not all(map(math.isfinite, values)):
        return Aggregate(mean, None, None, len(values), reported)
    # The interval is laid around the mean that is shown, with a half-width ≥ 0: built from
    # numpy's mean instead, seven copies of one value once gave a low end one ulp above it.
    half = float(_stats.half_width(_stats.one_sample(values), ALPHA))
    low, high = _stats.clip(mean - half, mean + half, bounds)
    return Aggregate(mean, low, high, len(values), reported)


def mean_of(values: Sequence[float]) -> float:
    """The mean without overflow: values near the float range's top are summed scaled down."""
    if not all(map(math.isfinite, values)):
        with np.errstate(all="ignore"):
            return float(np.mean(values))  # NaN or ±inf, as the runs say
    top = max(map(abs, values))
    if top <= _stats.LARGEST:
        return math.fsum(values) / len(values)
    return top * (math.fsum(v / top for v in values) / len(values))


def magnitude_problem(*groups: Sequence[float]) -> str:
    """Why values too large for the t statistics cannot be tested, or "" when they can."""
    top = max((abs(v) for group in groups for v in group if math.isfinite(v)), default=0.0)
    if top <= _stats.LARGEST:
        return ""
    return (
        f"a value of magnitude {top:.3g} is beyond ±{_stats.LARGEST:.0e}, where the t statistics "
        "overflow; log the metric in larger units"
    )


def replaced_runs(results: Sequence[Result], plan: Plan | None = None) -> set[str]:
    """The runs a replacement took the place of. Only what ``--replace`` writes counts: the
    replacing run, of the same kind and subject, names the run (``mlplan.replaces``) and why
    (``mlplan.reason``); a ``replaced_by`` tag alone (anyone can set one in MLflow's UI)
    drops nothing (``replacement_problems`` fails the gate on it). With ``plan``, the
    replacing run must also hold the same slot."""
    by_id = {r.run_id: r for r in results}
    gone = {
        r.replaces
        for r in results
        if r.replaces in by_id and _replacing(by_id[r.replaces], r, _slot_keys(plan, r)) is None
    }
    # A run set aside as a duplicate of a replaced run leaves with it: the replacement is the
    # slot's result (else readers counted the duplicate after `--replace`).
    return gone | {r.run_id for r in results if r.duplicate_of in gone}


def live_results(results: Sequence[Result], plan: Plan | None = None) -> list[Result]:
    """``results`` without the replaced runs (and their duplicates): what a slot holds."""
    gone = replaced_runs(results, plan)
    return [r for r in results if r.run_id not in gone]


def _slot_keys(plan: Plan | None, result: Result) -> list[str] | None:
    return None if plan is None else plan.key_params(result.kind, result.subject)


def _replacing(old: Result, new: Result, keys: Sequence[str] | None) -> str | None:
    """Why ``new`` cannot have replaced ``old`` (None: it did, as ``--replace`` writes it).
    With ``keys`` (the plan's slot params) the slot must be the same one too."""
    if new.replaces != old.run_id:
        return f"run {new.run_id} does not name it as the run it replaced"
    if (new.kind, new.subject) != (old.kind, old.subject):
        return f"run {new.run_id} is a result of {new.kind} {new.subject}, not of {old.subject}"
    if not new.reason.strip():
        return f"run {new.run_id} gives no reason for the replacement"
    if old.replaced_by and old.replaced_by != new.run_id:
        return f"run {old.run_id} is tagged as replaced by {old.replaced_by} instead"
    # A run whose value names no slot (seed=nan) had none to keep: its replacement names one.
    slot = [k for k in keys or () if _param(old, k) != _param(new, k) and _in_a_slot(old, k)]
    if slot:
        return f"run {new.run_id} has another {slot[0]} ({_param(new, slot[0])})"
    return None


def _in_a_slot(result: Result, key: str) -> bool:
    value = result.params.get(key)
    return value is None or slot_value_problem(value) is None


def _param(result: Result, key: str) -> str | None:
    value = result.params.get(key)
    return None if value is None else canonical(value)


def replacement_problems(plan: Plan, results: Sequence[Result]) -> list[str]:
    """Replacement tags on the runs that ``--replace`` did not write (issue 16, attacks 7, 8):
    a ``replaced_by`` naming a run that is absent or did not replace it, a ``replaces`` on a
    run of another subject or slot, or with no reason. The judge ignores each; a gate must
    fail on it, naming the run."""
    by_id = {r.run_id: r for r in results}

    def why_not(old: Result | None, new: Result | None) -> str | None:
        if old is None or new is None:
            return "which is not among the plan's results"
        return _replacing(old, new, plan.key_params(old.kind, old.subject))

    problems = []
    for run in results:
        if run.replaced_by:
            why = why_not(run, by_id.get(run.replaced_by))
            if why is not None:
                problems.append(_forged(run, "replaced_by", run.replaced_by, why))
        named = by_id.get(run.replaces)
        if run.replaces and (named is None or named.replaced_by != run.run_id):
            # (a pair tagged both ways was judged above, from the replaced run's side)
            why = why_not(named, run)
            if why is not None:
                problems.append(_forged(run, "replaces", run.replaces, why))
    return problems


def _forged(run: Result, tag: str, named: str, why: str) -> str:
    return (
        f"{run.subject} run {run.run_id} is tagged mlplan.{tag}={named}, {why}: the tag was "
        "not written by mlplan and is ignored; remove it in MLflow, or replace the result "
        "with `mlplan log-result --replace RUN --reason TEXT`"
    )


def _canonical_params(result: Result) -> Result:
    params = {key: canonical(value) for key, value in result.params.items()}
    return result if params == result.params else replace(result, params=params)


def _live(results: Sequence[Result], plan: Plan | None = None) -> list[Result]:
    """Results that count, in logging order: replaced ones dropped. Equal values are not the
    same result: five seeds that scored the same are five results (collapsing them once cut
    the power from 37% to 0.3%, issue 15); a retried write is recognised by its submission id
    when it is logged, not by its values here."""
    gone = replaced_runs(results, plan)
    return [
        _canonical_params(result)
        for result in sorted(results, key=attrgetter("logged_at", "run_id"))
        if result.run_id not in gone
    ]


def _judged_runs(results: Sequence[Result]) -> list[Result]:
    """Measured results if there are any, else the reported ones: never a mix."""
    measured = [result for result in results if not result.reported]
    return measured or list(results)


_SOURCE_DAY = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # a plan's figures predate every run


def plan_figures(plan: Plan, results: Sequence[Result]) -> list[Result]:
    """A baseline the plan declares as reported (a paper's table) is a result like any other,
    unless results were logged for it: then those are its evidence."""
    logged = {r.subject for r in results if r.kind == "baseline"}
    return [
        Result(
            run_id=f"plan:{baseline.id}",
            kind="baseline",
            subject=baseline.id,
            metrics={key: figure.value for key, figure in baseline.reported.metrics.items()},
            logged_at=_SOURCE_DAY,
            reported=True,
            source=baseline.reported.source,
        )
        for baseline in plan.experiment.baselines
        if baseline.reported is not None and baseline.id not in logged
    ]


def altered(plan: Plan, results: Sequence[Result]) -> dict[str, str]:
    """The results whose stored values no write path takes (run id -> why): a declared
    metric outside its bounds or not finite, or a slot named by no value (seed=nan, seed=).
    Every write refuses them, so such a value was changed in the store afterwards (a plain
    MlflowClient().log_metric on a finished run once made a mean recall of 82 out of three
    0.5s), or came by a path that once let it through. The judge counts none of them, and the
    gate fails naming each; read here, once, so every reader agrees."""
    found: dict[str, str] = {}
    # One replaced as advised is no longer counted either way: nothing left to name.
    gone = replaced_runs(results, plan)
    for result in results:
        if result.run_id in gone:
            continue
        problem = _metric_problem(plan, result) or _slot_problem(plan, result)
        if problem:
            found[result.run_id] = (
                f"run {result.run_id} ({result.kind} {result.subject}) has {problem}: changed "
                f"after it was logged? It is not counted; log the result again (--replace "
                f"{result.run_id} --reason TEXT{_with_its_slot(plan, result)})"
            )
    return found


def _with_its_slot(plan: Plan, result: Result) -> str:
    """How a result whose value names no slot is logged again: with the value it meant."""
    keys = [k for k in plan.key_params(result.kind, result.subject) if not _in_a_slot(result, k)]
    return "".join(f" -p {key}=VALUE" for key in keys)


def _metric_problem(plan: Plan, result: Result) -> str:
    bounds = {metric.key: metric.bounds for metric in plan.metrics}
    for key, value in sorted(result.metrics.items()):
        problem = value_problem(value, bounds[key]) if key in bounds else ""
        if problem:
            return f"{key} = {exact(value)}, {problem}"
    return ""


def _slot_problem(plan: Plan, result: Result) -> str:
    for key in plan.key_params(result.kind, result.subject):
        value = result.params.get(key)
        problem = None if value is None else slot_value_problem(value)
        if problem:
            return f"{key} = {value!r}, which names no slot ({problem})"
    return ""


def gather(
    results: Sequence[Result], plan: Plan | None = None
) -> dict[tuple[ResultKind, str], list[Result]]:
    """Each subject's results that count; with ``plan``, a replacement holds its slot."""
    grouped: dict[tuple[ResultKind, str], list[Result]] = {}
    for result in _live(results, plan):
        grouped.setdefault((result.kind, result.subject), []).append(result)
    return {subject: _judged_runs(runs) for subject, runs in grouped.items()}


def metric_aggregates(runs: Sequence[Result], plan: Plan | None) -> dict[str, Aggregate]:
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
    runs = gather(results).get((kind, subject), [])
    return metric_aggregates(runs, None)


def baseline_values(plan: Plan, results: Sequence[Result]) -> dict[str, dict[str, Aggregate]]:
    """Every plan baseline with results, mapped to its aggregated metrics."""
    found = gather(results, plan)
    return {
        baseline.id: metric_aggregates(
            one_per_slot(found[("baseline", baseline.id)], _baseline_slot(plan, baseline.id))[0],
            plan,
        )
        for baseline in plan.experiment.baselines
        if ("baseline", baseline.id) in found
    }


def _baseline_slot(plan: Plan, baseline: str) -> list[str]:
    return slot_names(plan, "baseline", baseline)


def slot_names(plan: Plan, kind: ResultKind, subject: str) -> list[str]:
    """The params that name a result's slot, the pair key first (see ``slot_of``), or none
    when the plan pairs nothing (conditions alone do not make a slot: five runs of one
    condition are five results)."""
    names = plan.key_params(kind, subject)
    return names if set(names) - set(plan.experiment.conditions) else []


def check_key(rule: Rule, group: str) -> tuple[object, ...]:
    """One check of a hypothesis, the same at every look of its path."""
    return (rule.kind, rule.criterion, rule.metric.key, rule.baseline, rule.description, group)


@dataclass(frozen=True)
class Context:
    plan: Plan
    hypothesis: Hypothesis
    settings: Settings
    evidence: Mapping[tuple[ResultKind, str], list[Result]]
    # A sequential path's replay (``looks``) needs each look's estimate only: its fixed-n
    # p-values are replaced by the design's, so they are not computed.
    replay: bool = False
    # A sequential path's relative margins: the sign of the baseline's mean at each check's
    # first look (by ``check_key``), which later looks scale by (issue 17).
    reference_signs: Mapping[tuple[object, ...], float] | None = None

    def scale_sign(self, rule: Rule, group: str, reference_mean: float) -> float:
        """What a relative margin scales by the sign of: the sign fixed at the first look of
        a sequential path, else the baseline's mean now."""
        fixed = (
            None
            if self.reference_signs is None
            else self.reference_signs.get(check_key(rule, group))
        )
        return reference_mean if fixed is None else fixed

    def runs(self, kind: ResultKind, subject: str) -> list[Result]:
        """The subject's results, one per slot when the hypothesis pairs (see ``one_per_slot``),
        and only those in the horizon's pair values when it has a fixed horizon."""
        kept = one_per_slot(self.all_runs(kind, subject), self.slot_names)[0]
        horizon = self.horizon
        if horizon is None or self.settings.pair_by is None:
            return kept
        key = self.settings.pair_by
        # A run without the key stays, so that the test names it instead of losing it.
        return [r for r in kept if key not in r.params or r.params[key] in horizon]

    @property
    def horizon(self) -> frozenset[str] | None:
        """The pair values a fixed horizon (``runs: N``) admits: the first N planned ones, or,
        with none planned, the first N the hypothesis logged. Results beyond them do not count:
        running more seeds until the verdict looks good changes nothing."""
        settings = self.settings
        if settings.runs is None or settings.pair_by is None:
            return None
        if settings.pair_values is not None:
            return frozenset(settings.pair_values[: settings.runs])
        own = one_per_slot(self.all_runs("hypothesis", self.hypothesis.id), self.slot_names)[0]
        logged = dict.fromkeys(
            r.params[settings.pair_by] for r in own if settings.pair_by in r.params
        )
        return frozenset(list(logged)[: settings.runs])

    def all_runs(self, kind: ResultKind, subject: str) -> list[Result]:
        return self.evidence.get((kind, subject), [])

    @property
    def slot_names(self) -> tuple[str, ...]:
        """The params that name a result's place in the design: the pair key and the declared
        conditions. Without a pair key every run is its own slot."""
        if self.settings.pair_by is None:
            return ()
        return (self.settings.pair_by, *self.settings.conditions)

    def set_aside(self, kind: ResultKind, subject: str) -> list[str]:
        return one_per_slot(self.all_runs(kind, subject), self.slot_names)[1]


def slot_order(result: Result) -> tuple[int, str]:
    """Which of two results of one slot came first: the one that became a result first (its
    run finished: MLflow's end time, or the logging time for a result that has none), then the
    smaller run id. The end, not the start: a training run that started first but finished
    last must not take a slot whose writer was already told it counted. Writers and readers
    use this one order, so they agree on the result that counts (see ``slot_winner``)."""
    finished = result.finished_ms or int(result.logged_at.timestamp() * 1000)
    return finished, result.run_id


def slot_winner(runs: Sequence[Result]) -> Result:
    """The one result of a slot that counts. A result whose writer was told it counts
    (``settled``) keeps the slot: a run that reaches the store later (attached with --run-id,
    a slow write, a writer whose clock runs behind) never displaces it, whatever its times.
    Otherwise the earliest (``slot_order``). Left out either way: a run its writer tagged as
    a duplicate of another run that is here and not itself tagged. A tag only confirms the
    rule, except where the writer could not see an earlier run in time (a server writes no
    conditional create): the earliest counts when tagging failed."""
    here = {run.run_id: run for run in runs}
    untagged = {run.run_id for run in runs if not run.duplicate_of}

    def deferred(run: Result) -> bool:
        return run.duplicate_of in untagged and run.duplicate_of in here

    candidates = [run for run in runs if not deferred(run)] or list(runs)
    told = [run for run in candidates if run.settled]
    return min(told or candidates, key=slot_order)


def slot_of(params: Mapping[str, str], names: Sequence[str]) -> tuple[str | None, ...] | None:
    """The slot ``params`` name: the canonical values of ``names`` (the pair key first, then
    the conditions; None for one missing), or None without the pair key (every such run is
    its own slot). Writers settling a slot and readers judging it both ask this."""
    if not names or names[0] not in params:
        return None
    return tuple(None if params.get(name) is None else canonical(params[name]) for name in names)


def one_per_slot(runs: Sequence[Result], names: Sequence[str]) -> tuple[list[Result], list[str]]:
    """One result per slot (pair key value and condition values), for every test, and a line
    for each one set aside. The first (``slot_winner``), not the latest: a second run for seed 3
    (a training script's ``start_run``, two writers in the same instant) must not displace the
    first one, or re-running seed 3 until it wins would work. Only an explicit replacement
    (``--replace RUN --reason``) takes a slot's place. Runs without the pair key are kept here;
    the paired test refuses them by name."""
    if not names:
        return list(runs), []
    slots: dict[tuple[str | None, ...], list[Result]] = {}
    for run in runs:
        slot = slot_of(run.params, names)
        if slot is not None:
            slots.setdefault(slot, []).append(run)
    winners = {slot: slot_winner(members) for slot, members in slots.items()}
    chosen, lines = [], []
    for run in runs:
        slot = slot_of(run.params, names)
        if slot is None:
            chosen.append(run)
            continue
        first = winners[slot]
        if first is run:
            chosen.append(run)
            continue
        shown = ", ".join(f"{n}={v}" for n, v in zip(names, slot, strict=True) if v is not None)
        lines.append(
            f"{run.subject} run {run.run_id} ({shown}): an earlier result has the same slot "
            f"(run {first.run_id}); only that one is used unless it is replaced "
            "(--replace RUN --reason TEXT)"
        )
    return chosen, lines


def ordered(values: Sequence[float]) -> tuple[float, ...]:
    """Points in a canonical order, so that the order of the runs never shows (NaN last)."""
    return tuple(np.sort(np.asarray(values, dtype=np.float64)).tolist())


def with_metric(runs: Sequence[Result], metric: str) -> list[Result]:
    return [r for r in runs if metric in r.metrics]


def values_of(runs: Sequence[Result], metric: str) -> list[float]:
    # Sorted: floating-point sums then never depend on the order the runs came in.
    return list(ordered([r.metrics[metric] for r in runs]))


def group_filter(runs: Sequence[Result], rule: Rule, group_value: str | None) -> list[Result]:
    """A baseline's runs for one for_each group, when the baseline's runs carry the condition;
    otherwise all of them (one baseline for every group)."""
    if rule.for_each is None or group_value is None:
        return list(runs)
    if not any(rule.for_each in r.params for r in runs):
        return list(runs)
    return [r for r in runs if r.params.get(rule.for_each) == group_value]


def first_by_key(runs: Sequence[Result], key: str) -> dict[str, Result]:
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


def unmatched_lines(
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


def natural(key: str) -> tuple[int, float, str]:
    try:
        return 0, float(key), key
    except ValueError:
        return 1, 0.0, key


def groups_of(
    ctx: Context, rule: Rule, runs: list[Result]
) -> Iterator[tuple[str, str | None, list[Result]]]:
    """(label, value, runs) per for_each group, or one unnamed group of every run."""
    if rule.for_each is None:
        yield "", None, runs
        return
    values = sorted(
        {r.params[rule.for_each] for r in runs if rule.for_each in r.params}, key=natural
    )
    for value in values:
        chosen = [r for r in runs if r.params.get(rule.for_each) == value]
        yield f"{rule.for_each}={value}", value, chosen
