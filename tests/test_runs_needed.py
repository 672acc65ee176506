"""runs_needed delivers what it says (issue 17, item 3): it plans for the effect the plan
expects, with the sd's upper confidence limit, jointly over every check success needs, at the
level the hypothesis faces, never below min_runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats
from test_verdict_statistics import hyp, plan_of, run, seeds, verdict

import mlplan

B = [0.5, 0.6, 0.7]
H = [0.525, 0.61, 0.735]  # paired differences 0.025, 0.01, 0.035


def _paired(**criterion: Any) -> dict[str, Any]:
    return hyp(criteria=[{"metric": "acc", "better_than": "B1", **criterion}])


def _results() -> list[mlplan.Result]:
    return [*seeds("B1", B), *seeds("H1", H)]


def _sd_upper(values: list[float]) -> float:
    n = len(values)
    return float(np.std(values, ddof=1) * np.sqrt((n - 1) / stats.chi2.ppf(0.35, n - 1)))


def _power(effect: float, sd: float, n: int, alpha: float = 0.025) -> float:
    critical = stats.t.ppf(1 - alpha, n - 1)
    return float(stats.nct.sf(critical, n - 1, effect / (sd / np.sqrt(n))))


def test_without_an_expected_effect_it_asks_for_one_instead_of_assuming_the_margin() -> None:
    found = verdict(plan_of(_paired(by=0.02), pair_by="seed"), _results())
    assert found.runs_needed is None
    assert "state the expected effect" in found.runs_needed_reason


def test_it_plans_for_the_expected_effect_with_the_sds_upper_limit() -> None:
    found = verdict(plan_of(_paired(by=0.01, expected=0.02), pair_by="seed"), _results())
    needed = found.runs_needed
    assert needed is not None
    sd = _sd_upper(list(np.subtract(H, B)))
    assert _power(0.02, sd, needed) >= 0.8 > _power(0.02, sd, needed - 1)


def test_power_at_is_the_experiments_expected_effect() -> None:
    plan = plan_of(_paired(by=0.01), pair_by="seed", power_at=0.02)
    assert (
        verdict(plan, _results()).runs_needed
        == verdict(plan_of(_paired(by=0.01, expected=0.02), pair_by="seed"), _results()).runs_needed
    )


def test_it_is_never_below_min_runs() -> None:
    plan = plan_of(_paired(expected=5.0), pair_by="seed", min_runs=4)
    results = [*seeds("B1", [0.5, 0.6, 0.7, 0.8]), *seeds("H1", [0.6, 0.7, 0.8, 0.91])]
    found = verdict(plan, results)
    assert found.runs_needed == 4
    assert all(c.runs_needed == 4 for c in found.checks)


def test_it_plans_jointly_over_every_check_success_needs() -> None:
    criteria = [{"metric": "acc", "better_than": "B1", "for_each": "ds", "expected": 0.02}]
    plan = plan_of(hyp(criteria=criteria), pair_by="seed", conditions=["ds"])
    results = []
    for ds, shift in (("a", 0.0), ("b", 0.003), ("c", -0.002)):
        for i, (b, h) in enumerate(zip(B, H, strict=True)):
            results += [run("B1", {"acc": b}, kind="baseline", seed=i, ds=ds)]
            results += [run("H1", {"acc": h + shift * i}, seed=i, ds=ds)]
    found = verdict(plan, results)
    assert found.runs_needed is not None and len(found.checks) == 3
    singles = [c.runs_needed for c in found.checks]
    assert all(n is not None for n in singles)
    assert found.runs_needed > max(n for n in singles if n is not None)
    sds = [_sd_upper(list(c.points)) for c in found.checks]

    def together(n: int) -> float:
        return float(np.prod([_power(0.02, sd, n) for sd in sds]))

    assert together(found.runs_needed) >= 0.8 > together(found.runs_needed - 1)


def test_it_plans_at_the_level_a_holm_family_starts_at() -> None:
    alone = verdict(plan_of(_paired(expected=0.02), pair_by="seed"), _results())
    family = plan_of(
        {**_paired(expected=0.02), "family": "F"},
        {**_paired(expected=0.02), "id": "H2", "family": "F"},
        {**_paired(expected=0.02), "id": "H3", "family": "F"},
        pair_by="seed",
        multiplicity="holm",
    )
    held = verdict(family, _results())
    assert alone.runs_needed is not None and held.runs_needed is not None
    sd = _sd_upper(list(np.subtract(H, B)))
    assert _power(0.02, sd, held.runs_needed, 0.025 / 3) >= 0.8
    assert held.runs_needed > alone.runs_needed


def test_restating_the_expected_effect_after_results_is_no_change_of_criteria() -> None:
    from mlplan._judge.fingerprint import criteria_fingerprint

    one = plan_of(_paired(expected=0.02), pair_by="seed")
    two = plan_of(_paired(expected=0.05), pair_by="seed")
    assert criteria_fingerprint(one, one.hypothesis("H1")) == criteria_fingerprint(
        two, two.hypothesis("H1")
    )


# ---------------------------------------------------------------------------- sequential designs


def _simulated(delta: float, first: int, last: int, trials: int = 4000) -> tuple[float, float]:
    """Power and mean decision n of a Pocock design, simulated afresh with ttest_1samp."""
    from mlplan._judge import sequential as seq

    boundary = seq.group_boundary(first, last, "pocock")
    critical = boundary.critical(0.025)
    x = np.random.default_rng(11).standard_normal((trials, last)) + delta
    stop = np.full(trials, float(last))
    crossed = np.zeros(trials, dtype=bool)
    for n in range(first, last + 1):
        p = stats.ttest_1samp(x[:, :n], 0.0, axis=1, alternative="greater").pvalue
        now = ~crossed & (stats.norm.isf(p) * boundary.weight(n) >= critical)
        stop[now], crossed = n, crossed | now
    return float(crossed.mean()), float(stop.mean())


@pytest.mark.slow
def test_under_a_group_sequential_design_it_reports_max_runs_its_power_and_expected_n() -> None:
    plan = plan_of(_paired(expected=0.02), pair_by="seed", sequential={"max_runs": 20})
    found = verdict(plan, _results())
    assert found.runs_needed == 20  # the design's max_runs, not a fixed n
    assert found.expected_runs is not None and found.design_power is not None
    delta = 0.02 / _sd_upper(list(np.subtract(H, B)))
    power, mean_n = _simulated(delta, 3, 20)
    assert abs(found.design_power - power) < 4 * np.sqrt(power * (1 - power) / 4000) + 0.01
    assert abs(found.expected_runs - mean_n) < 0.35
    assert f"expected n {found.expected_runs:.1f}" in found.runs_needed_reason


def test_a_larger_expected_effect_is_expected_to_decide_sooner() -> None:
    small = plan_of(_paired(expected=0.01), pair_by="seed", sequential={"max_runs": None})
    large = plan_of(_paired(expected=0.04), pair_by="seed", sequential={"max_runs": None})
    a, b = verdict(small, _results()), verdict(large, _results())
    assert a.expected_runs is not None and b.expected_runs is not None
    assert a.runs_needed is not None and b.runs_needed is not None
    assert b.expected_runs < a.expected_runs and b.runs_needed < a.runs_needed


def test_the_anytime_valid_t_plans_the_n_of_80_percent_power() -> None:
    plan = plan_of(_paired(expected=0.02), pair_by="seed", sequential={"max_runs": None})
    found = verdict(plan, _results())
    fixed = verdict(plan_of(_paired(expected=0.02), pair_by="seed", runs=3), _results())
    assert found.runs_needed is not None and fixed.runs_needed is not None
    assert found.runs_needed > fixed.runs_needed  # its stated cost: less power per run
    assert found.design_power is not None and 0.8 <= found.design_power < 0.85
    assert found.expected_runs is not None and 6 <= found.expected_runs < found.runs_needed


def test_a_single_look_has_the_fixed_n_power() -> None:
    # One look at n = 5 is the fixed-n t test: its power is the noncentral t's.
    from mlplan._judge import sequential as seq

    found = seq.operating(5, 5, "pocock", 0.025, (1.2,))
    assert found is not None and found.expected_n == 5
    assert abs(found.power - _power(1.2, 1.0, 5)) < 0.015


def test_a_design_whose_max_runs_is_too_few_says_so() -> None:
    capped = {"max_runs": 8, "boundary": "anytime"}
    plan = plan_of(_paired(expected=0.01), pair_by="seed", sequential=capped)
    found = verdict(plan, _results())
    assert found.runs_needed == 8 and found.design_power is not None
    assert found.design_power < 0.5  # nothing decided before n = 6, and a small effect
    assert "plan a larger max_runs" in found.runs_needed_reason
