"""The statistics of verdicts (issue 7), through the public API: mlplan.judge on Results.

Every case in the issue's first list is a regression test here. Intervals are checked against
scipy.stats.ttest_rel / ttest_ind / ttest_1samp computed independently, not retyped formulas.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import mlplan
from mlplan._cli import main
from mlplan._plan.models import Plan
from mlplan._plan.rules import find_problems, find_warnings

START = dt.date(2024, 1, 1)
JUDGED_ON = dt.date(2024, 1, 5)
LOGGED = dt.datetime(2024, 1, 2, 12, 0, tzinfo=dt.UTC)
_ids = itertools.count()
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def hyp(
    hid: str = "H1", criteria: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    criteria = criteria or [{"metric": "acc", "at_least": 0.5}]
    guardrails = extra.pop("guardrails", [])
    return {
        "id": hid,
        "statement": f"{hid} helps",
        "method": "try it",
        "metrics": sorted({c["metric"] for c in criteria}),
        "baselines": extra.pop("baselines", ["B1"]),
        "success_criteria": criteria,
        "guardrails": guardrails,
        "timebox": {"days": 10, "start": START.isoformat()},
        "on_success": {"description": "go on", "then": extra.pop("success", "ship")},
        "on_failure": {"description": "stop", "then": extra.pop("failure", "stop")},
        **extra,
    }


def plan_of(
    *hypotheses: dict[str, Any],
    metrics: list[dict[str, Any]] | None = None,
    baselines: list[dict[str, Any]] | None = None,
    **design: Any,
) -> Plan:
    metrics = metrics or [{"key": "acc", "direction": "higher"}]
    document = {
        "schema_version": 1,
        "id": "stats-test",
        "title": "Stats test",
        "problem": {"statement": "p", "audience": "a", "why_now": "n"},
        "goals": {"software": ["m"], "metrics": [{"statement": "better"}]},
        "metrics": [{"description": "a metric", **m} for m in metrics],
        "experiment": {
            "data_motivation": "worth it",
            **design,
            "baselines": baselines or [{"id": "B1", "description": "baseline"}],
            "hypotheses": list(hypotheses) or [hyp()],
        },
        "software_design": {"crawl": "c", "walk": "w", "run": "r"},
        "considerations": {
            "launch_criteria": ["x"],
            "what_could_go_wrong": {
                "products_affected": "n",
                "customer_impact": "n",
                "monitoring": "n",
                "rollback": "n",
            },
            "security": "n",
            "privacy": "n",
        },
    }
    plan = Plan.model_validate(document)
    assert find_problems(plan) == []
    return plan


def run(
    subject: str,
    metrics: dict[str, float],
    *,
    kind: str = "hypothesis",
    reported: bool = False,
    **params: Any,
) -> mlplan.Result:
    return mlplan.Result(
        run_id=f"r{next(_ids)}",
        kind="baseline" if kind == "baseline" else "hypothesis",
        subject=subject,
        metrics=metrics,
        logged_at=LOGGED,
        reported=reported,
        source="a paper" if reported else "",
        params={k: str(v) for k, v in params.items()},
    )


def seeds(
    subject: str, values: list[float], key: str = "acc", **options: Any
) -> list[mlplan.Result]:
    kind = "baseline" if subject.startswith("B") else "hypothesis"
    return [run(subject, {key: v}, kind=kind, seed=i, **options) for i, v in enumerate(values)]


def verdict(plan: Plan, results: list[mlplan.Result], hid: str = "H1") -> mlplan.Verdict:
    return next(v for v in mlplan.judge(plan, results, JUDGED_ON) if v.hypothesis == hid)


BY_5 = [{"metric": "acc", "better_than": "B1", "by": "5%"}]
BOUNDED = [{"key": "acc", "direction": "higher", "bounds": [0, 1]}]


# ---------------------------------------------------------------------------- issue, case 1


def test_a_baseline_spread_wide_is_not_a_known_constant() -> None:
    # B1 = 0.70, 0.90, 0.80; H1 = 0.845, 0.846, 0.847; better by 5% → Welch, p ≈ 0.93.
    plan = plan_of(hyp(criteria=BY_5), metrics=BOUNDED)
    results = [*seeds("B1", [0.70, 0.90, 0.80]), *seeds("H1", [0.845, 0.846, 0.847])]
    found = verdict(plan, results)
    assert found.status == "inconclusive"
    (check,) = found.checks
    assert check.test == "Welch t"
    reference = stats.ttest_ind(
        [0.845, 0.846, 0.847],
        [1.05 * v for v in (0.70, 0.90, 0.80)],
        equal_var=False,
        alternative="greater",
    )
    assert reference.pvalue > 0.4  # scipy agrees: nowhere near evidence


def test_a_method_ahead_on_every_seed_succeeds_when_paired() -> None:
    # +0.10 on every seed while the seeds spread by 0.2: paired by seed, this is clear.
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]), pair_by="seed")
    base = [0.5, 0.7, 0.6, 0.55, 0.65]
    ahead = [b + 0.1 + 0.001 * i for i, b in enumerate(base)]
    found = verdict(plan, [*seeds("B1", base), *seeds("H1", ahead)])
    assert found.status == "succeeded"
    assert found.checks[0].test.startswith("paired t") and found.checks[0].n == 5
    unpaired = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]))
    assert verdict(unpaired, [*seeds("B1", base), *seeds("H1", ahead)]).status == "inconclusive"


def test_the_paired_interval_is_scipys() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]), pair_by="seed")
    h, b = [0.61, 0.72, 0.58, 0.69], [0.60, 0.69, 0.57, 0.66]
    (check,) = verdict(plan, [*seeds("B1", b), *seeds("H1", h)]).checks
    interval = stats.ttest_rel(h, b).confidence_interval(0.95)
    assert check.low == pytest.approx(interval.low)
    assert check.estimate == pytest.approx(np.mean(np.subtract(h, b)))
    # Only one check: the failure side is not adjusted, so the interval is scipy's 95%.
    assert check.high == pytest.approx(interval.high)


def test_the_welch_interval_is_scipys() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1", "by": 0.01}]))
    h, b = [0.61, 0.72, 0.58, 0.69, 0.7], [0.60, 0.5, 0.57]
    (check,) = verdict(plan, [*seeds("B1", b), *seeds("H1", h)]).checks
    interval = stats.ttest_ind(h, b, equal_var=False).confidence_interval(0.95)
    assert [check.low, check.high] == pytest.approx(
        [interval.low, interval.high],
    )
    assert check.limit == pytest.approx(0.01)


def test_unmatched_runs_are_listed_and_not_used() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]), pair_by="seed")
    results = [
        *seeds("B1", [0.5, 0.6, 0.7]),
        *seeds("H1", [0.6, 0.7, 0.8, 0.9]),  # seed 3 has no baseline
    ]
    found = verdict(plan, results)
    assert found.checks[0].n == 3
    assert any("seed=3" in line for line in found.unmatched)


def test_declared_pairing_with_runs_that_lack_the_key_decides_nothing_and_names_them() -> None:
    # Issue 15: such runs were dropped silently, and a plan whose baseline runs all lacked the
    # key never decided (100% inconclusive at +3 sd) without saying why.
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]), pair_by="seed")
    keyless = run("H1", {"acc": 0.99})
    found = verdict(plan, [*seeds("B1", [0.5, 0.6, 0.7]), *seeds("H1", [0.8, 0.9, 1.0]), keyless])
    assert found.status == "inconclusive"
    note = found.checks[0].note
    assert f"pairing by seed is declared, but 1 run has no seed (H1 run {keyless.run_id})" in note
    assert "--param seed=VALUE" in note and "pair_by: null" in note


# ---------------------------------------------------------------------------- issue, case 2


def test_equal_values_are_separate_results() -> None:
    # Five seeds that scored the same are five results, not one (issue 15: collapsing equal
    # values cut the power from 37% to 0.3%); with no spread they decide nothing, and say so.
    plan = plan_of(hyp(criteria=[{"metric": "acc", "at_least": 0.8}]))
    same = [run("H1", {"acc": 0.9}) for _ in range(5)]
    found = verdict(plan, [*same, *seeds("B1", [0.5])])
    assert found.runs == 5 and found.checks[0].n == 5
    assert found.status == "inconclusive"
    assert "no spread in 5 runs" in found.checks[0].note


def test_a_slot_is_the_same_however_its_values_were_written() -> None:
    # An int 0 from YAML and "0.0" typed by hand, 1e-3 and "0.001": one slot each, the first
    # result counts and the later one is set aside by name.
    plan = plan_of(hyp(criteria=[{"metric": "acc", "at_least": 0.5}]), pair_by="seed")
    first = [run("H1", {"acc": v}, seed=s) for s, v in ((0, 0.7), ("1e-3", 0.8), (2, 0.75))]
    later = [run("H1", {"acc": 0.1}, seed="0.0"), run("H1", {"acc": 0.1}, seed="0.001")]
    found = verdict(plan, [*first, *later, run("B1", {"acc": 0.5}, kind="baseline")])
    assert found.checks[0].n == 3
    assert {line.split(" run ")[1].split(" ")[0] for line in found.unmatched} == {
        r.run_id for r in later
    }


def test_conditions_are_pooled_per_pair_key() -> None:
    # Issue 15: with conditions [lam] and pair_by seed, pairs once crossed conditions (the
    # first run of a seed from any lam): 38.7% false successes. Now each seed's differences
    # are averaged over lam, slot by slot, and the t is over seeds.
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1"}]), pair_by="seed", conditions=["lam"]
    )
    h = {0: (0.71, 0.62), 1: (0.74, 0.60), 2: (0.70, 0.66), 3: (0.73, 0.61)}
    b = {0: (0.69, 0.61), 1: (0.70, 0.62), 2: (0.69, 0.63), 3: (0.70, 0.60)}
    results = [
        run(subject, {"acc": values[i]}, kind=kind, seed=seed, lam=lam)
        for subject, kind, table in (("H1", "hypothesis", h), ("B1", "baseline", b))
        for seed, values in table.items()
        for i, lam in enumerate((1, 7))
    ]
    (check,) = verdict(plan, results).checks
    assert check.test == "paired t on seed, pooled over lam"
    assert check.n == 4
    per_seed = [np.mean(h[s]) - np.mean(b[s]) for s in range(4)]
    low, high = stats.ttest_1samp(per_seed, 0.0).confidence_interval(0.95)
    assert [check.estimate, check.low, check.high] == pytest.approx([np.mean(per_seed), low, high])
    # A seed without every condition is left out, and the doc says which slot is missing.
    incomplete = [
        r for r in results if not (r.subject == "H1" and r.params == {"seed": "3", "lam": "7"})
    ]
    found = verdict(plan, incomplete)
    assert found.checks[0].n == 3
    assert "seed=3 not used: H1 has no result for lam=7" in found.unmatched


def test_overlapping_splits_get_the_nadeau_bengio_correction() -> None:
    # Ten 70/30 splits: the naive paired t calls this a success, the corrected one cannot.
    rng = np.random.default_rng(4)
    b = rng.normal(20, 3, 10)
    h = b * (1 - 0.012) + rng.normal(0, 0.15, 10)  # ~1.2% lower MSE, small spread
    criteria = [{"metric": "mse", "better_than": "B1", "by": "1%"}]
    metrics = [{"key": "mse", "direction": "lower", "bounds": [0, 1000]}]
    naive = plan_of(hyp(criteria=criteria), metrics=metrics, pair_by="split")
    corrected = plan_of(
        hyp(criteria=criteria), metrics=metrics, pair_by="split", resampling={"test_fraction": 0.3}
    )
    results = [
        *[run("B1", {"mse": v}, kind="baseline", split=i) for i, v in enumerate(b)],
        *[run("H1", {"mse": v}, split=i) for i, v in enumerate(h)],
    ]
    plain, fixed = verdict(naive, results).checks[0], verdict(corrected, results).checks[0]
    assert "Nadeau–Bengio" in fixed.test
    assert fixed.high is not None and fixed.estimate is not None
    assert plain.high is not None and plain.estimate is not None
    # The corrected standard error is √((1/J + 3/7)/(1/J)) = 2.3 times the naive one.
    assert (fixed.high - fixed.estimate) / (plain.high - plain.estimate) == pytest.approx(
        np.sqrt((1 / 10 + 0.3 / 0.7) / (1 / 10)), rel=1e-6
    )


# ---------------------------------------------------------------------------- issue, case 3


def test_conditions_are_not_pooled_and_the_worst_group_is_named() -> None:
    plan = plan_of(
        hyp(criteria=[{"metric": "err", "at_most": 1e-6, "for_each": "lam"}]),
        metrics=[{"key": "err", "direction": "lower", "exact": True}],
        conditions=["lam"],
    )
    results = [run("H1", {"err": 1e-9}, lam=i) for i in range(19)]
    results.append(run("H1", {"err": 3e-6}, lam=19))
    found = verdict(plan, [*results, *seeds("B1", [0.1], key="err")])
    assert found.status == "failed"
    assert len(found.checks) == 20
    assert "lam=19" in found.reason
    pooled = plan_of(
        hyp(criteria=[{"metric": "err", "at_most": 1e-6}]),
        metrics=[{"key": "err", "direction": "lower"}],
        conditions=["lam"],
    )
    warned = verdict(pooled, [*results, *seeds("B1", [0.1], key="err")])
    assert any("condition lam" in warning for warning in warned.warnings)


def test_undeclared_params_do_not_warn() -> None:
    plan = plan_of(hyp(), conditions=["lam"])
    results = [run("H1", {"acc": 0.9 + i / 100}, lr=i) for i in range(3)]
    assert verdict(plan, [*results, *seeds("B1", [0.5])]).warnings == ()


# ---------------------------------------------------------------------------- issue, case 4


def test_one_run_does_not_decide() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "at_least": 0.84}]))
    found = verdict(plan, [*seeds("B1", [0.80]), *seeds("H1", [0.8401])])
    assert found.status == "inconclusive"
    assert "n = 1; needs ≥ 3" in found.checks[0].explanation


def test_a_baseline_with_one_run_needs_more_or_exact() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]))
    results = [*seeds("B1", [0.80]), *seeds("H1", [0.9, 0.91, 0.92])]
    assert "B1: 1 run; needs ≥ 3 or exact" in verdict(plan, results).checks[0].note
    exact = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1"}]),
        baselines=[{"id": "B1", "description": "a rule", "exact": True}],
    )
    found = verdict(exact, results)
    assert found.status == "succeeded"
    assert "exact B1" in found.checks[0].test


def test_reported_figures_are_point_values_exempt_from_min_runs() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]))
    results = [
        run("B1", {"acc": 0.8}, kind="baseline", reported=True),
        run("H1", {"acc": 0.82}, reported=True),
    ]
    found = verdict(plan, results)
    assert found.status == "succeeded" and found.reported
    assert found.checks[0].test == "reported, no interval"
    assert "reported, no interval" in found.explanation
    assert found.runs_needed is None


def test_a_measured_hypothesis_against_a_reported_figure_is_a_one_sample_t() -> None:
    # Issue 15: "we beat the paper's number" was a point comparison, so one run's noise decided
    # it (48% false successes at any n). The figure is now a constant the runs are tested on.
    plan = plan_of(hyp(criteria=BY_5))
    h = [0.86, 0.83, 0.88, 0.85]
    results = [run("B1", {"acc": 0.8}, kind="baseline", reported=True), *seeds("H1", h)]
    found = verdict(plan, results)
    (check,) = found.checks
    assert check.test == "one-sample t of H1 vs reported B1"
    assert "B1's reported figure taken as a constant: its own uncertainty ignored" in check.note
    assert check.n == 4
    threshold = 1.05 * 0.8
    expected = stats.ttest_1samp(h, threshold, alternative="greater").pvalue
    low, _ = stats.ttest_1samp(np.array(h) - threshold, 0.0).confidence_interval(0.95)
    assert check.low == pytest.approx(low)
    assert found.status == ("succeeded" if expected <= 0.025 else "inconclusive")


def test_a_measured_side_against_a_reported_figure_needs_min_runs() -> None:
    plan = plan_of(hyp(criteria=BY_5))
    one_run = [run("B1", {"acc": 0.5}, kind="baseline", reported=True), *seeds("H1", [0.99])]
    found = verdict(plan, one_run)
    assert found.status == "inconclusive"
    assert "n = 1; needs ≥ 3" in found.checks[0].note


def test_a_reported_hypothesis_against_measured_baseline_runs_tests_the_baseline() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]))
    b = [0.70, 0.71, 0.69, 0.70, 0.72]
    results = [run("H1", {"acc": 0.9}, reported=True), *seeds("B1", b)]
    found = verdict(plan, results)
    (check,) = found.checks
    assert check.test == "one-sample t of B1 vs reported H1"
    assert check.n == 5
    assert check.estimate == pytest.approx(0.9 - np.mean(b))
    assert found.status == "succeeded"


# ---------------------------------------------------------------------------- issue, case 5


def test_a_relative_margin_counts_the_baselines_uncertainty() -> None:
    plan = plan_of(hyp(criteria=BY_5), pair_by="seed")
    b = [0.70, 0.72, 0.71, 0.69]
    # beats b·1.05 by about 0.004 on every seed (a little spread: no spread decides nothing)
    h = [1.05 * v + 0.004 + e for v, e in zip(b, [0.001, -0.001, 0.0005, 0.0], strict=True)]
    (check,) = verdict(plan, [*seeds("B1", b), *seeds("H1", h)]).checks
    assert check.effect_label == "acc − 1.05·B1"
    expected = stats.ttest_1samp(np.subtract(h, np.multiply(1.05, b)), 0, alternative="greater")
    assert check.outcome == ("pass" if expected.pvalue <= 0.025 else "unclear")


def test_a_relative_margin_of_a_baseline_near_zero_is_inconclusive() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1", "by": "50%"}]))
    results = [*seeds("B1", [-0.01, 0.0, 0.01]), *seeds("H1", [0.5, 0.51, 0.52])]
    found = verdict(plan, results)
    assert found.status == "inconclusive"
    assert "contains 0" in found.checks[0].note


def test_non_inferiority_is_a_success_criterion() -> None:
    plan = plan_of(
        hyp(criteria=[{"metric": "mse", "no_worse_than": "B1", "by": "5%"}]),
        metrics=[{"key": "mse", "direction": "lower", "bounds": [0, 100]}],
        pair_by="seed",
    )
    b = [20.0, 22.0, 25.0, 19.0, 30.0]
    slightly_worse = [v * 1.01 for v in b]
    much_worse = [v * 1.2 for v in b]
    assert verdict(plan, [*seeds("B1", b, "mse"), *seeds("H1", slightly_worse, "mse")]).status == (
        "succeeded"
    )
    assert verdict(plan, [*seeds("B1", b, "mse"), *seeds("H1", much_worse, "mse")]).status == (
        "failed"
    )


def test_validate_warns_about_a_confirmatory_looking_hypothesis_with_no_planned_n() -> None:
    # Judged, but exploratory: stopping at the first success gave 11.8% at 2.5% (issue 17).
    def warned(plan: Plan) -> list[str]:
        return [m for _, m, _ in find_warnings(plan) if "no planned n" in m]

    assert warned(plan_of(hyp(criteria=BY_5))) == [
        "H1 is exploratory (no planned n): add runs: N or sequential: {max_runs: N}"
    ]
    (route, _, hint) = find_warnings(plan_of(hyp(criteria=BY_5)))[-1]
    assert route == ("experiment", "hypotheses", 0) and "exploratory: true" in hint
    assert not warned(plan_of(hyp(criteria=BY_5), pair_by="seed", runs=3))
    assert not warned(plan_of(hyp(criteria=BY_5, runs=3), pair_by="seed"))
    assert not warned(plan_of(hyp(criteria=BY_5), pair_by="seed", sequential={"max_runs": 9}))
    assert not warned(plan_of(hyp(criteria=BY_5, exploratory=True)))
    exact = [{"key": "acc", "direction": "higher", "exact": True}]
    assert not warned(plan_of(hyp(criteria=BY_5), metrics=exact))
    # A warning, not an error: the plan stays valid.
    assert not find_problems(plan_of(hyp(criteria=BY_5)))


def test_validate_warns_on_a_relative_margin_without_nonnegative_bounds() -> None:
    loose = plan_of(hyp(criteria=BY_5), pair_by="seed", runs=3)
    bounded = plan_of(hyp(criteria=BY_5), metrics=BOUNDED, pair_by="seed", runs=3)
    assert [message for _, message, _ in find_warnings(loose)] == [
        "a relative margin (5%) on 'acc', whose values may be 0 or negative"
    ]
    assert find_warnings(bounded) == []


def test_validate_warns_on_a_threshold_no_run_can_meet() -> None:
    def warned(criterion: dict[str, Any], exact: bool = False) -> list[tuple[Any, str]]:
        metrics = [{**BOUNDED[0], "exact": exact}]
        plan = plan_of(hyp(criteria=[criterion]), metrics=metrics, pair_by="seed", runs=3)
        return [(route[-1], m) for route, m, _ in find_warnings(plan) if "never be met" in m]

    assert warned({"metric": "acc", "at_least": 1.0025}) == [
        ("at_least", "at_least: 1.0025 can never be met: 'acc' is bounded by 1")
    ]
    assert warned({"metric": "acc", "at_most": -0.5}) == [
        ("at_most", "at_most: -0.5 can never be met: 'acc' is bounded by 0")
    ]
    # On the bound: a sampled mean cannot be shown above it; an exact value can sit on it.
    assert len(warned({"metric": "acc", "at_least": 1})) == 1
    assert warned({"metric": "acc", "at_least": 1}, exact=True) == []
    assert warned({"metric": "acc", "at_least": 0.99}) == []
    assert warned({"metric": "acc", "at_most": 0.01}) == []


# ---------------------------------------------------------------------------- issue, case 6


def many_guardrails(count: int) -> Plan:
    metrics = [{"key": "acc", "direction": "higher"}]
    metrics += [{"key": f"recall.{i}", "direction": "higher"} for i in range(count)]
    return plan_of(
        hyp(guardrails=[{"metrics": "recall.*", "against": "B1", "max_drop": 0.05}]),
        metrics=metrics,
        pair_by="seed",
    )


def test_guardrail_failures_are_holm_adjusted() -> None:
    plan = many_guardrails(12)
    rng = np.random.default_rng(0)
    results = []
    for seed in range(5):
        values = {f"recall.{i}": 0.8 for i in range(12)}
        results.append(run("B1", {"acc": 0.4, **values}, kind="baseline", seed=seed))
        # Each guardrail sits near its limit: an unadjusted test would fail some by chance.
        noisy = {k: v - 0.05 + rng.normal(0, 0.02) for k, v in values.items()}
        results.append(run("H1", {"acc": 0.9 + seed / 1000, **noisy}, seed=seed))
    found = verdict(plan, results)
    guards = [c for c in found.checks if c.kind == "guardrail"]
    assert len(guards) == 12
    assert all("Holm over 13 failure tests" in c.explanation for c in guards)  # + acc
    for check in guards:
        p = stats.ttest_1samp(np.asarray(check.points) + 0.05, 0, alternative="less").pvalue
        if check.outcome == "fail":
            assert p <= 0.025  # Holm never rejects what an unadjusted test keeps


def test_eight_criteria_need_every_one_and_adjust_nothing_for_success() -> None:
    metrics = [{"key": f"m{i}", "direction": "higher"} for i in range(8)]
    plan = plan_of(
        hyp(criteria=[{"metric": f"m{i}", "at_least": 0.5} for i in range(8)]),
        metrics=metrics,
    )
    results = [run("H1", {f"m{i}": 0.9 + s / 100 for i in range(8)}, seed=s) for s in range(3)]
    found = verdict(plan, [*results, run("B1", {"m0": 0.1}, kind="baseline")])
    assert found.status == "succeeded"
    assert all("for success (held to 0.025)" in c.explanation for c in found.checks)
    assert {c.level for c in found.checks} == {0.025}


def test_a_path_of_hypotheses_is_a_fixed_sequence() -> None:
    chain = [
        hyp("H1", success="H2", failure="H3"),
        hyp("H2"),
        hyp("H3"),
    ]
    plan = plan_of(*chain, pair_by="seed", runs=3)  # a planned n: confirmatory (issue 17)
    good = [0.9, 0.91, 0.92]
    bad = [0.1, 0.11, 0.12]
    results = [*seeds("B1", [0.5]), *seeds("H1", good), *seeds("H2", good), *seeds("H3", good)]
    by_id = {v.hypothesis: v for v in mlplan.judge(plan, results, JUDGED_ON)}
    assert by_id["H1"].confirmatory and by_id["H2"].confirmatory
    assert not by_id["H3"].confirmatory  # reached only after a non-success
    failed_first = [*seeds("B1", [0.5]), *seeds("H1", bad), *seeds("H2", good)]
    by_id = {v.hypothesis: v for v in mlplan.judge(plan, failed_first, JUDGED_ON)}
    assert not by_id["H2"].confirmatory
    assert by_id["H2"].status == "succeeded"  # its own verdict does not depend on H1's
    assert by_id["H2"].explanation.endswith("exploratory")


def test_a_verdict_never_flips_because_an_unrelated_hypothesis_got_runs() -> None:
    plan = plan_of(hyp("H1"), hyp("H2"), multiplicity="none")
    mine = [*seeds("B1", [0.5]), *seeds("H1", [0.6, 0.55, 0.5])]
    before = verdict(plan, mine)
    after = verdict(plan, [*mine, *seeds("H2", [0.9, 0.91, 0.95])])
    assert before == after


def test_holm_across_a_declared_family() -> None:
    alternatives = [hyp(h, family="alt") for h in ("H1", "H2", "H3")]
    holm = plan_of(*alternatives, multiplicity="holm")
    none = plan_of(*alternatives, multiplicity="none")
    # Each alternative alone clears α = 0.025 but not α/3.
    values = [0.5 + d for d in (0.021, 0.02, 0.032)]
    results = [*seeds("B1", [0.1])]
    for h in ("H1", "H2", "H3"):
        results += seeds(h, values)
    p = stats.ttest_1samp(values, 0.5, alternative="greater").pvalue
    assert 0.025 / 3 < p <= 0.025
    assert {v.status for v in mlplan.judge(none, results, JUDGED_ON)} == {"succeeded"}
    held = mlplan.judge(holm, results, JUDGED_ON)
    assert {v.status for v in held} == {"inconclusive"}
    assert all("Holm across family alt" in v.correction for v in held)


def test_exploratory_hypotheses_are_never_confirmatory() -> None:
    plan = plan_of(hyp(exploratory=True))
    found = verdict(plan, [*seeds("B1", [0.5]), *seeds("H1", [0.9, 0.91, 0.92])])
    assert (found.status, found.confirmatory) == ("succeeded", False)


# ---------------------------------------------------------------------------- issue, case 7


def test_intervals_stay_inside_the_bounds() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "at_least": 0.9}]), metrics=BOUNDED)
    found = verdict(plan, [*seeds("B1", [0.5]), *seeds("H1", [0.948, 0.999, 1.0])])
    check = found.checks[0]
    assert check.high is not None and check.high <= 1.0
    assert check.value is not None and check.value.high is not None and check.value.high <= 1.0


# ---------------------------------------------------------------------------- runs needed


def test_runs_needed_follows_the_noncentral_t() -> None:
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1", "by": 0.02, "expected": 0.02}]),
        pair_by="seed",
    )
    b = [0.5, 0.6, 0.7]
    h = [0.525, 0.61, 0.735]
    found = verdict(plan, [*seeds("B1", b), *seeds("H1", h)])
    needed = found.runs_needed
    assert needed is not None
    # Planned with the sd's 65% upper confidence limit (issue 17): the chi-square pivot.
    sd = np.std(np.subtract(h, b), ddof=1) * np.sqrt(2 / stats.chi2.ppf(0.35, 2))

    def power(n: int) -> float:
        critical = stats.t.ppf(0.975, n - 1)
        return float(stats.nct.sf(critical, n - 1, 0.02 / (sd / np.sqrt(n))))

    assert power(needed) >= 0.8 > power(needed - 1)


def test_runs_needed_is_none_with_a_reason_without_spread_or_margin() -> None:
    plan = plan_of(hyp())
    one = verdict(plan, [*seeds("B1", [0.5]), *seeds("H1", [0.9])])
    assert one.runs_needed is None and "spread is unknown" in one.runs_needed_reason
    three = verdict(plan, [*seeds("B1", [0.5]), *seeds("H1", [0.6, 0.55, 0.5])])
    assert three.runs_needed is None and "state the expected effect" in three.runs_needed_reason
    planned = plan_of(hyp(), power_at=0.05)
    assert verdict(planned, [*seeds("B1", [0.5]), *seeds("H1", [0.6, 0.55, 0.5])]).runs_needed


# ---------------------------------------------------------------------------- fingerprints


def test_the_fingerprint_covers_every_verdict_setting() -> None:
    base = plan_of(hyp(criteria=BY_5))
    variants = [
        plan_of(hyp(criteria=BY_5), pair_by="seed"),
        plan_of(hyp(criteria=BY_5), min_runs=5),
        plan_of(hyp(criteria=BY_5), resampling={"folds": 5, "repeats": 2}, pair_by="fold"),
        plan_of(hyp(criteria=BY_5), conditions=["lam"]),
        plan_of(hyp(criteria=BY_5), multiplicity="none"),
        plan_of(hyp(criteria=BY_5, exploratory=True)),
        plan_of(hyp(criteria=BY_5), metrics=BOUNDED),
        plan_of(hyp(criteria=BY_5), metrics=[{"key": "acc", "direction": "lower"}]),
        plan_of(hyp(criteria=BY_5), metrics=[{"key": "acc", "direction": "higher", "exact": True}]),
        plan_of(hyp(criteria=BY_5), baselines=[{"id": "B1", "description": "d", "exact": True}]),
    ]
    first = base.experiment.hypotheses[0]
    prints = {mlplan._judge.criteria_fingerprint(p, p.experiment.hypotheses[0]) for p in variants}
    assert len(prints) == len(variants)
    assert mlplan._judge.criteria_fingerprint(base, first) not in prints


def test_an_old_unversioned_stamp_is_compared_by_the_old_rules() -> None:
    plan = plan_of(hyp(criteria=BY_5))
    hypothesis = plan.experiment.hypotheses[0]
    old_text = mlplan._judge.fingerprint.v1_text(hypothesis)
    import hashlib

    old_print = hashlib.sha256(old_text.encode()).hexdigest()[:12]
    results = [
        *seeds("B1", [0.5]),
        mlplan.Result(
            "r-old",
            "hypothesis",
            "H1",
            {"acc": 0.9},
            LOGGED,
            criteria_fingerprint=old_print,
            criteria=old_text,
        ),
    ]
    assert verdict(plan, results).amendment is None
    moved = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1", "by": "6%"}]))
    assert verdict(moved, results).amendment is not None


# ---------------------------------------------------------------------------- replacements


def test_a_replaced_result_no_longer_counts_and_the_replacement_shows() -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "at_least": 0.5}]))
    first = run("H1", {"acc": 0.1}, seed=0)
    second = mlplan.Result(
        "r-new",
        "hypothesis",
        "H1",
        {"acc": 0.9},
        LOGGED,
        params={"seed": "0"},
        replaces=first.run_id,
        reason="the first run used the wrong data",
    )
    found = verdict(plan, [first, second, *seeds("B1", [0.5])])
    assert found.runs == 1
    assert found.replacements == (
        f"run r-new replaced run {first.run_id}: the first run used the wrong data",
    )


# ---------------------------------------------------------------------------- properties


@PROPERTY
@given(
    st.lists(st.floats(0.0, 1.0), min_size=3, max_size=8),
    st.floats(-0.2, 0.2),
    st.floats(0.0, 0.05),
)
def test_paired_decisions_match_scipys_one_sided_tests(
    baseline: list[float], shift: float, margin: float
) -> None:
    rng = np.random.default_rng(len(baseline))
    h = [b + shift + rng.normal(0, 0.05) for b in baseline]
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1", "by": margin}]), pair_by="seed"
    )
    (check,) = verdict(plan, [*seeds("B1", baseline), *seeds("H1", h)]).checks
    differences = np.subtract(h, baseline) - margin
    if np.std(differences) == 0:
        return
    above = stats.ttest_1samp(differences, 0, alternative="greater").pvalue
    below = stats.ttest_1samp(differences, 0, alternative="less").pvalue
    expected = "pass" if above <= 0.025 else "fail" if below <= 0.025 else "unclear"
    assert check.outcome == expected


@PROPERTY
@given(st.lists(st.floats(0.1, 0.9), min_size=3, max_size=6), st.sampled_from(["5%", 0.02]))
def test_success_and_failure_never_both(values: list[float], by: str | float) -> None:
    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1", "by": by}]))
    found = verdict(plan, [*seeds("B1", [0.5, 0.52, 0.48]), *seeds("H1", values)])
    (check,) = found.checks
    if check.low is not None and check.high is not None:
        assert check.low <= check.high
    assert found.status in ("succeeded", "failed", "inconclusive")


# ---------------------------------------------------------------------------- _stats layer


@PROPERTY
@given(st.lists(st.floats(0.0, 0.1), min_size=1, max_size=6))
def test_holm_is_closed_testing_with_bonferroni(p: list[float]) -> None:
    # Holm's procedure equals the closed test of Bonferroni intersections (Marcus, Peritz &
    # Gabriel 1976): H_i is rejected iff every subset containing i has min p ≤ α/|subset|.
    from mlplan._judge import stats as _stats

    m = len(p)
    subsets = [[j for j in range(m) if mask >> j & 1] for mask in range(1, 2**m)]
    expected = [
        all(min(p[j] for j in s) <= 0.025 / len(s) for s in subsets if i in s) for i in range(m)
    ]
    assert list(_stats.holm(p)) == expected


@PROPERTY
@given(st.floats(0.05, 2.0), st.floats(0.2, 3.0), st.sampled_from([0.0, 0.3 / 0.7]))
def test_runs_needed_is_the_smallest_n_with_enough_power(
    effect: float, sd: float, ratio: float
) -> None:
    from mlplan._judge import stats as _stats

    def power(n: int) -> float:
        noncentrality = effect / (sd * np.sqrt(1 / n + ratio))
        return float(stats.nct.sf(stats.t.ppf(0.975, n - 1), n - 1, noncentrality))

    needed = _stats.runs_needed(effect, sd, 0.025, ratio=ratio)
    if needed is None:
        assert power(100_000) < 0.8
        return
    assert power(needed) >= 0.8
    assert needed == 2 or power(needed - 1) < 0.8


def test_a_rerun_of_a_seed_that_slipped_past_the_journal_never_displaces_the_first() -> None:
    """A training script's start_run (or two writers in one instant) can log seed 0 twice:
    the judge keeps the first result, so re-running a seed until it wins changes nothing."""
    import dataclasses

    plan = plan_of(hyp(criteria=[{"metric": "acc", "better_than": "B1"}]), pair_by="seed")
    first = seeds("H1", [0.50, 0.61, 0.72])
    rerun = dataclasses.replace(
        run("H1", {"acc": 0.99}, seed=0), logged_at=LOGGED + dt.timedelta(hours=1)
    )
    baseline = seeds("B1", [0.55, 0.60, 0.70])
    without, with_rerun = (
        verdict(plan, [*baseline, *first]),
        verdict(plan, [*baseline, *first, rerun]),
    )
    assert with_rerun.checks[0].n == 3
    assert with_rerun.checks[0].estimate == pytest.approx(without.checks[0].estimate)
    assert with_rerun.status == without.status
    assert any(rerun.run_id in line and "earlier result" in line for line in with_rerun.unmatched)


# ---------------------------------------------------------------------------- issue 15, item 5


def test_runs_that_do_not_vary_decide_nothing() -> None:
    # Accuracy on 100 examples: three runs at 0.81 are not an exact 0.81 (7.9% false
    # successes when zero spread was decided as exact, issue 15).
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1", "by": 0.01}]),
        metrics=[{"key": "acc", "direction": "higher", "bounds": [0, 1], "step": 0.01}],
        pair_by="seed",
    )
    found = verdict(plan, [*seeds("B1", [0.80, 0.80, 0.80]), *seeds("H1", [0.81, 0.81, 0.81])])
    assert found.status == "inconclusive"
    assert "every one of the 3 runs has the same value on the metric's step 0.01" in (
        found.checks[0].note
    )
    plain = plan_of(hyp(criteria=[{"metric": "acc", "at_least": 0.5}]))
    found = verdict(plain, [run("B1", {"acc": 0.5}, kind="baseline"), *seeds("H1", [0.9] * 3)])
    assert "no spread in 3 runs: more runs, or declare the metric exact" in found.checks[0].note
    assert found.status == "inconclusive"


def test_a_spread_below_the_resolution_decides_nothing() -> None:
    metric = {"key": "err", "direction": "lower", "resolution": 1e-6}
    plan = plan_of(hyp(criteria=[{"metric": "err", "at_most": 1e-3}]), metrics=[metric])
    b1 = run("B1", {"err": 1.0}, kind="baseline")
    found = verdict(plan, [b1, *seeds("H1", [1e-9, 2e-9, 3e-9], key="err")])
    assert found.status == "inconclusive"
    assert "below the metric's grain 1e-06" in found.checks[0].note
    spread = verdict(plan, [b1, *seeds("H1", [1e-5, 5e-5, 9e-5], key="err")])
    assert spread.status == "succeeded"


@pytest.mark.parametrize(("h", "b"), [(0.81, 0.80), (0.31, 0.30), (0.71, 0.70), (1.13, 1.12)])
def test_exact_values_are_compared_on_their_grain_not_their_float_digits(
    h: float, b: float
) -> None:
    # 0.81 − 0.80 is 0.010000000000000009 and 0.31 − 0.30 is 0.009999999999999953: the same
    # effect must get the same verdict.
    criteria = [{"metric": "acc", "better_than": "B1", "by": 0.01}]
    for grain in ({}, {"step": 0.01}):
        metrics = [{"key": "acc", "direction": "higher", "exact": True, **grain}]
        plan = plan_of(hyp(criteria=criteria), metrics=metrics)
        found = verdict(plan, [run("B1", {"acc": b}, kind="baseline"), run("H1", {"acc": h})])
        assert found.status == "succeeded", (h, b, grain)


def test_the_grain_is_frozen_but_old_stamps_keep_their_fingerprint() -> None:
    from mlplan._judge.fingerprint import criteria_fingerprint

    plain = plan_of(hyp(), metrics=[{"key": "acc", "direction": "higher"}])
    gridded = plan_of(hyp(), metrics=[{"key": "acc", "direction": "higher", "step": 0.01}])
    first = (plain.experiment.hypotheses[0], gridded.experiment.hypotheses[0])
    assert criteria_fingerprint(plain, first[0]) != criteria_fingerprint(gridded, first[1])
    v2 = [criteria_fingerprint(p, h, "v2") for p, h in zip((plain, gridded), first, strict=True)]
    assert v2[0] == v2[1]


# ---------------------------------------------------------------------------- issue 15, item 7


def test_a_check_shows_a_labelled_95_interval_and_both_p_values_with_their_levels() -> None:
    plan = plan_of(
        hyp(
            criteria=BY_5,
            guardrails=[{"metrics": "lat*", "against": "B1", "max_drop": 0.5}],
        ),
        metrics=[
            {"key": "acc", "direction": "higher"},
            {"key": "latency", "direction": "lower"},
        ],
        pair_by="seed",
    )
    b = [0.70, 0.72, 0.71, 0.69, 0.70]
    h = [0.76, 0.75, 0.77, 0.74, 0.76]
    lat_b, lat_h = [10.0, 11.0, 10.5, 9.5, 10.0], [10.2, 11.1, 10.4, 10.0, 10.1]
    results = [
        *(
            run("B1", {"acc": x, "latency": y}, kind="baseline", seed=i)
            for i, (x, y) in enumerate(zip(b, lat_b, strict=True))
        ),
        *(
            run("H1", {"acc": x, "latency": y}, seed=i)
            for i, (x, y) in enumerate(zip(h, lat_h, strict=True))
        ),
    ]
    found = verdict(plan, results)
    acc = next(c for c in found.checks if c.metric == "acc")
    differences = np.subtract(h, np.multiply(1.05, b))
    expected = stats.ttest_1samp(differences, 0.0)
    low, high = expected.confidence_interval(0.95)
    assert acc.interval == "95% CI"
    assert [acc.low, acc.high] == pytest.approx([low, high])
    greater = stats.ttest_1samp(differences, 0.0, alternative="greater").pvalue
    less = stats.ttest_1samp(differences, 0.0, alternative="less").pvalue
    assert [acc.p_success, acc.p_failure] == pytest.approx([greater, less])
    assert acc.level == 0.025
    # Holm over the two failure tests: the latency guardrail has the smaller p, so it is held
    # to 0.025/2; the procedure stops there and the acc check is held to that level too.
    assert acc.failure_level == pytest.approx(0.0125)
    assert ", 95% CI [" in acc.explanation
    assert "for success (held to 0.025)" in acc.explanation
    assert "Holm over 2 failure tests" in acc.explanation


def test_the_headline_names_the_question_then_what_blocks_it() -> None:
    # The reason once named whichever check was closest to its limit (a timing guardrail)
    # instead of the hypothesis's question.
    plan = plan_of(
        hyp(
            criteria=[{"metric": "acc", "better_than": "B1", "by": 0.05}],
            guardrails=[{"metrics": "time", "against": "B1", "max_drop": 0.2}],
        ),
        metrics=[
            {"key": "acc", "direction": "higher"},
            {"key": "time", "direction": "lower"},
        ],
        pair_by="seed",
    )
    b = [(0.70, 5.0), (0.72, 5.1), (0.71, 4.9)]
    h = [(0.80, 5.0), (0.70, 5.6), (0.76, 4.8)]
    results = [
        *(run("B1", {"acc": a, "time": s}, kind="baseline", seed=i) for i, (a, s) in enumerate(b)),
        *(run("H1", {"acc": a, "time": s}, seed=i) for i, (a, s) in enumerate(h)),
    ]
    found = verdict(plan, results)
    assert found.status == "inconclusive"
    question = found.checks[0].description
    assert f"; {question} is unclear; also holding it back: " in found.reason
    assert "time ≤" in found.reason.split("holding it back: ")[1]


def test_status_json_follows_its_documented_schema(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    jsonschema = pytest.importorskip("jsonschema")

    plan = make_plan()
    for seed, (base, ours) in enumerate([(0.59, 0.66), (0.60, 0.665), (0.61, 0.67)]):
        mlplan.record_result(plan, baseline="B1", metrics={"recall": base}, params={"seed": seed})
        metrics = {"recall": ours, "recall.loyal": 0.9 + seed / 100}
        mlplan.record_result(plan, hypothesis="H1", metrics=metrics, params={"seed": seed})
    assert main(["status", str(plan), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    schema = json.loads((REPO / "docs" / "status.schema.json").read_text("utf-8"))
    jsonschema.validate(document, schema)
    (check, *_) = document["hypotheses"][0]["checks"]
    assert check["interval"] == "95% CI" and check["p_success"] is not None


def test_resampling_without_a_pair_key_is_refused_at_validate() -> None:
    # The Welch path had no Nadeau–Bengio correction: 18.5% false successes (issue 15).
    document = plan_of(hyp(criteria=BY_5)).model_dump(mode="json", exclude_unset=True)
    document["experiment"]["resampling"] = {"test_fraction": 0.3}
    found = find_problems(Plan.model_validate(document))
    assert [f.message for f in found] == [
        "H1 compares overlapping resamples with a measured baseline but pairs nothing: "
        "the resampling correction needs per-split differences"
    ]
    document["experiment"]["baselines"][0]["exact"] = True  # a constant: nothing to pair
    assert find_problems(Plan.model_validate(document)) == []


# ---------------------------------------------------------------------------- issue 15, item 2


def _design(**design: Any) -> list[str]:
    document = plan_of(hyp(criteria=BY_5)).model_dump(mode="json", exclude_unset=True)
    document["experiment"].update(design)
    return [f.message for f in find_problems(Plan.model_validate(document))]


def test_the_design_fields_are_checked() -> None:
    assert _design(pair_by="seed", pair_values=[0, 1, 2, 3], runs=3) == []
    assert _design(pair_values=[0, 1, 2]) == ["pair_values are declared but nothing pairs by them"]
    assert _design(pair_by="seed", pair_values=[0, 1, "0", 2]) == [
        "'0' is the same value as item 0 (0)"
    ]
    assert _design(pair_by="seed", pair_values=[1e-3, "0.001"]) == [
        "'0.001' is the same value as item 0 (0.001)"
    ]
    assert _design(conditions=["lam"], condition_values={"lr": [1]}) == [
        "'lr' is not a declared condition"
    ]
    assert _design(pair_by="seed", runs=2) == [
        "runs: 2 is below min_runs (3): no check could decide"
    ]
    assert _design(pair_by="seed", pair_values=[0, 1, 2], runs=5) == [
        "runs: 5 is more than the 3 pair_values planned"
    ]
    assert _design(sequential={"max_runs": 20}) == [
        "H1: it compares unpaired runs with B1 (Welch's t), which a sequential design does "
        "not cover"
    ]


def test_a_fixed_horizon_decides_on_its_first_planned_slots_only() -> None:
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1"}]),
        pair_by="seed",
        pair_values=[0, 1, 2, 3, 4, 5],
        runs=4,
    )
    b = [0.50, 0.52, 0.51, 0.49, 0.50, 0.51]
    good = [0.60, 0.63, 0.61, 0.62]
    # Seeds 4 and 5 are beyond the horizon: a bad run there changes nothing.
    late = [run("H1", {"acc": 0.0}, seed=4), run("H1", {"acc": 0.0}, seed=5)]
    found = verdict(plan, [*seeds("B1", b), *seeds("H1", good), *late])
    assert (found.status, found.checks[0].n) == ("succeeded", 4)
    early = verdict(plan, [*seeds("B1", b), *seeds("H1", good[:3])])
    assert early.status == "running"  # issue 17: short of the horizon, not inconclusive
    assert "running (3 of 4): the horizon decides at runs: 4" in early.checks[0].note


def test_changing_the_design_after_results_changes_the_fingerprint() -> None:
    base = plan_of(hyp(criteria=BY_5), pair_by="seed", pair_values=[0, 1, 2, 3], runs=3)
    variants = [
        plan_of(hyp(criteria=BY_5), pair_by="seed", pair_values=[0, 1, 2, 4], runs=3),
        plan_of(hyp(criteria=BY_5), pair_by="seed", pair_values=[0, 1, 2, 3], runs=4),
        plan_of(hyp(criteria=BY_5), pair_by="seed", pair_values=[0, 1, 2, 3]),
    ]
    prints = {
        mlplan._judge.criteria_fingerprint(p, p.experiment.hypotheses[0]) for p in [base, *variants]
    }
    assert len(prints) == 4
    same = plan_of(hyp(criteria=BY_5), pair_by="seed", pair_values=["0", 1.0, "2", 3], runs=3)
    assert mlplan._judge.criteria_fingerprint(
        same, same.experiment.hypotheses[0]
    ) == mlplan._judge.criteria_fingerprint(base, base.experiment.hypotheses[0])


# ---------------------------------------------------------------------------- issue 15, item 3


def _paper(**figure: Any) -> list[dict[str, Any]]:
    reported = {"source": "Smith 2024, Table 2", "metrics": {"acc": {"value": 0.8, **figure}}}
    return [{"id": "B1", "description": "the paper's model", "reported": reported}]


def test_a_baseline_the_plan_reports_is_a_constant_without_its_spread() -> None:
    plan = plan_of(hyp(criteria=BY_5), baselines=_paper())
    h = [0.86, 0.85, 0.87, 0.88]
    found = verdict(plan, seeds("H1", h))  # nothing logged for B1: the plan's figure counts
    (check,) = found.checks
    assert check.test == "one-sample t of H1 vs reported B1"
    assert check.reference is not None and check.reference.reported
    expected = stats.ttest_1samp(h, 1.05 * 0.8, alternative="greater").pvalue
    assert check.p_success == pytest.approx(expected)


def test_a_reported_figure_with_its_sd_and_n_is_a_welch_test_from_summary_statistics() -> None:
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1"}]), baselines=_paper(sd=0.02, n=5)
    )
    h = [0.83, 0.82, 0.84, 0.81, 0.835]
    (check,) = verdict(plan, seeds("H1", h)).checks
    assert check.test == "Welch t vs B1's reported 0.8 ± 0.02 (n = 5)"
    expected = stats.ttest_ind_from_stats(
        np.mean(h), np.std(h, ddof=1), len(h), 0.8, 0.02, 5, equal_var=False, alternative="greater"
    )
    assert check.p_success == pytest.approx(expected.pvalue)
    # A sample with exactly the reported summary, for scipy's interval from raw data.
    z = np.array([-1.2, -0.4, 0.1, 0.5, 1.0])
    b = 0.8 + 0.02 * (z - z.mean()) / z.std(ddof=1)
    low, high = stats.ttest_ind(h, b, equal_var=False).confidence_interval(0.95)
    assert [check.low, check.high] == pytest.approx([low, high])


def test_the_plans_reported_figures_are_frozen_and_checked() -> None:
    first = plan_of(hyp(criteria=BY_5), baselines=_paper())
    corrected = plan_of(hyp(criteria=BY_5), baselines=_paper(sd=0.02, n=5))
    assert mlplan._judge.criteria_fingerprint(
        first, first.experiment.hypotheses[0]
    ) != mlplan._judge.criteria_fingerprint(corrected, corrected.experiment.hypotheses[0])
    with pytest.raises(ValueError, match="give sd and n together"):
        plan_of(hyp(criteria=BY_5), baselines=_paper(sd=0.02))
    document = first.model_dump(mode="json", exclude_unset=True)
    document["experiment"]["baselines"][0]["reported"]["metrics"]["acc2"] = {"value": 1.0}
    assert [f.message for f in find_problems(Plan.model_validate(document))] == [
        "'acc2' is not a declared metric"
    ]


def test_pairs_never_cross_conditions_even_when_the_hypothesis_ran_one() -> None:
    # Found by the calibration benchmark: H1 ran lam=1 only, B1 both lams; each H1 run was
    # paired with B1's first run of the seed, whatever its lam (+0.30 where it is −0.10).
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1"}]), pair_by="seed", conditions=["lam"]
    )
    b7 = [run("B1", {"acc": 0.50 + s / 100}, kind="baseline", seed=s, lam=7) for s in range(5)]
    b1 = [run("B1", {"acc": 0.90 + s / 100}, kind="baseline", seed=s, lam=1) for s in range(5)]
    h = [run("H1", {"acc": 0.80 + s / 100 + s * s / 1e4}, seed=s, lam=1) for s in range(5)]
    found = verdict(plan, [*b7, *b1, *h])
    (check,) = found.checks
    assert check.estimate == pytest.approx(-0.10 + np.mean([s * s / 1e4 for s in range(5)]))
    assert found.status != "succeeded"


# ---------------------------------------------------------------------------- found in review


def test_every_sample_test_takes_the_pair_key_as_its_unit() -> None:
    # Slots of one seed counted as independent runs: 20% false successes (a review of issue 15).
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "at_least": 0.0}]), pair_by="seed", conditions=["lam"]
    )
    values = {s: (0.1 * s - 0.2, 0.1 * s - 0.15) for s in range(5)}
    results = [
        run("H1", {"acc": v[i]}, seed=s, lam=lam)
        for s, v in values.items()
        for i, lam in enumerate((1, 7))
    ]
    (check,) = verdict(plan, [*results, run("B1", {"acc": 0.0}, kind="baseline")]).checks
    assert check.n == 5
    assert check.test == "one-sample t, one value per seed pooled over lam"
    per_seed = [np.mean(v) for v in values.values()]
    assert check.p_success == pytest.approx(
        stats.ttest_1samp(per_seed, 0.0, alternative="greater").pvalue
    )


def test_a_fixed_horizon_needs_a_pair_key_and_names_runs_without_one() -> None:
    assert _design(runs=3) == ["runs: 3 needs a pair key: a fixed horizon counts pair values"]
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1"}]),
        pair_by="seed",
        pair_values=[0, 1, 2],
        runs=3,
    )
    keyless = run("H1", {"acc": 0.1})
    found = verdict(plan, [*seeds("B1", [0.5, 0.6, 0.7]), *seeds("H1", [0.8, 0.92, 0.99]), keyless])
    assert found.status == "inconclusive"
    assert keyless.run_id in found.checks[0].note


@pytest.mark.parametrize(
    "added",
    [
        {"runs": 4},
        {"metric": {"resolution": 0.5}},
        {"family": "F"},
        {"resampling": {"folds": 5, "repeats": 1}},
    ],
    ids=["runs", "resolution", "family", "resampling"],
)
def test_the_criteria_as_stamped_are_rebuilt_exactly(added: dict[str, Any]) -> None:
    # judge_under rebuilds the plan from a stamp: a setting added since must not leak in.
    from mlplan._judge.fingerprint import criteria_text, plan_with_criteria

    criteria = [{"metric": "acc", "better_than": "B1"}]
    metric = {"key": "acc", "direction": "higher", **added.pop("metric", {})}
    family = {"family": added.pop("family")} if "family" in added else {}
    before = plan_of(
        hyp(criteria=criteria), hyp("H2", criteria=criteria), pair_by="seed", primary="H1"
    )
    design: dict[str, Any] = {"pair_by": "seed", "primary": "H1", **added}
    if family:
        design["multiplicity"] = "holm"
    after = plan_of(
        hyp(criteria=criteria, **family),
        hyp("H2", criteria=criteria, **family),
        metrics=[metric],
        **design,
    )
    stamp = criteria_text(before, before.experiment.hypotheses[0])
    rebuilt = plan_with_criteria(after, "H1", stamp)
    assert rebuilt is not None
    assert criteria_text(rebuilt, rebuilt.experiment.hypotheses[0]) == stamp
    results = [*seeds("B1", [0.5, 0.52, 0.51, 0.49]), *seeds("H1", [0.6, 0.63, 0.61, 0.64])]
    assert verdict(rebuilt, results).status == verdict(before, results).status == "succeeded"


def test_a_condition_nested_in_the_pair_key_keeps_one_value_per_key() -> None:
    # One held-out family per seed (the GCN study): nothing to pool, each seed is a unit; a
    # baseline run that does not carry the condition serves every value of it.
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1"}]),
        pair_by="seed",
        conditions=["family"],
    )
    families = ["classic", "header", "receipt", "memo"]
    h = [run("H1", {"acc": 0.6 + s / 50}, seed=s, family=f) for s, f in enumerate(families)]
    b = [run("B1", {"acc": 0.5 + s / 100}, kind="baseline", seed=s) for s in range(4)]
    (check,) = verdict(plan, [*h, *b]).checks
    assert (check.n, check.test) == (4, "paired t on seed")
