"""How many runs a plan needs (mlplan._judge.stats): the search returns the smallest n whose
power reaches POWER, also when the normal-theory start misses it by more than its window (a
Nadeau–Bengio ratio near its ceiling, two checks that must pass together) and it bisects; the
Welch plan (an sd per side) and the pilot sd's upper confidence limit are checked by
simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mlplan._judge import stats
from mlplan._judge.stats import POWER, joint_runs_needed, power, runs_needed, sd_upper

ALPHA = 0.05


def test_near_the_ratios_ceiling_the_search_still_finds_the_smallest_n() -> None:
    # With n_test/n_train = 0.157 a 1-sd effect is barely reachable: the normal-theory start
    # (a couple of hundred runs) is dozens short, beyond the search's first window.
    ratio = 0.157
    n = runs_needed(1.0, 1.0, ALPHA, ratio=ratio)
    assert n is not None
    assert n > 200
    assert power(1.0, 1.0, n, ALPHA, ratio) >= POWER > power(1.0, 1.0, n - 1, ALPHA, ratio)


def test_welch_runs_per_side_are_the_smallest_n_and_reach_the_power_in_simulation() -> None:
    effect, sd_h, sd_b = 1.0, 1.0, 2.0
    n = runs_needed(effect, sd_h, ALPHA, sd_b=sd_b)
    assert n is not None
    achieved = stats._welch_power(effect, sd_h, sd_b, n, ALPHA)
    assert achieved >= POWER > stats._welch_power(effect, sd_h, sd_b, n - 1, ALPHA)
    # Simulated: a one-sided Welch test (scipy) with n runs on each side.
    rng = np.random.default_rng(20261207)
    trials = 4000
    hyp = rng.normal(effect, sd_h, size=(trials, n))
    ref = rng.normal(0.0, sd_b, size=(trials, n))
    p = scipy_stats.ttest_ind(hyp, ref, equal_var=False, alternative="greater", axis=1).pvalue
    assert abs(np.mean(p < ALPHA) - POWER) < 0.04  # ~3 standard errors at 4000 trials


def test_no_spread_on_either_side_needs_the_fewest_runs_a_test_takes() -> None:
    assert runs_needed(0.5, 0.0, ALPHA, sd_b=0.0) == 2
    assert runs_needed(0.5, 0.0, ALPHA) == 2
    assert runs_needed(0.0, 1.0, ALPHA) is None  # no effect to find
    assert runs_needed(0.5, -1.0, ALPHA) is None


def test_checks_that_must_pass_together_need_more_runs_than_each_alone() -> None:
    one = (0.05, 1.0, None, 0.0)  # a small effect: thousands of runs, beyond the window
    single = runs_needed(0.05, 1.0, ALPHA)
    both = joint_runs_needed([one, one], ALPHA)
    assert single is not None and both is not None
    assert both > single + 64
    assert power(0.05, 1.0, both, ALPHA) ** 2 >= POWER > power(0.05, 1.0, both - 1, ALPHA) ** 2


def test_a_check_without_spread_does_not_add_to_the_joint_runs() -> None:
    spread = (0.5, 1.0, None, 0.0)
    exact = (0.5, 0.0, None, 0.0)  # always passes once measured
    assert joint_runs_needed([spread, exact], ALPHA) == runs_needed(0.5, 1.0, ALPHA)
    assert joint_runs_needed([spread, exact], ALPHA, floor=200) == 200


def test_no_joint_runs_when_a_check_cannot_be_powered_or_there_is_none() -> None:
    assert joint_runs_needed([], ALPHA) is None
    unreachable = (0.05, 1.0, None, 0.25)  # the ratio caps its power below POWER
    assert runs_needed(0.05, 1.0, ALPHA, ratio=0.25) is None
    assert joint_runs_needed([(0.5, 1.0, None, 0.0), unreachable], ALPHA) is None


def test_joint_runs_are_none_when_together_they_never_reach_the_power() -> None:
    # Each alone reaches POWER (its ceiling is just above it), together never.
    ratio = 0.157
    assert runs_needed(1.0, 1.0, ALPHA, ratio=ratio) is not None
    assert joint_runs_needed([(1.0, 1.0, None, ratio)] * 2, ALPHA) is None


def test_welch_checks_join_by_their_own_power() -> None:
    welch = (1.0, 1.0, 2.0, 0.0)
    single = runs_needed(1.0, 1.0, ALPHA, sd_b=2.0)
    both = joint_runs_needed([welch, welch], ALPHA)
    assert single is not None and both is not None and both > single
    pair = stats._welch_power(1.0, 1.0, 2.0, both, ALPHA) ** 2
    fewer = stats._welch_power(1.0, 1.0, 2.0, both - 1, ALPHA) ** 2
    assert pair >= POWER > fewer


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_sd_upper_limit_covers_sigma_at_its_confidence_in_simulation(n: int) -> None:
    rng = np.random.default_rng(n)
    samples = rng.normal(0.0, 1.0, size=(20000, n)).std(axis=1, ddof=1)
    factor = sd_upper(1.0, n)  # the limit scales with the sample sd
    assert factor > 1.0
    covered = np.mean(samples * factor >= 1.0)
    assert abs(covered - stats.SD_CONFIDENCE) < 0.015  # ~4 standard errors at 20,000 draws


def test_an_sd_from_one_run_or_not_a_number_has_no_upper_limit() -> None:
    assert sd_upper(0.3, 1) == 0.3
    assert math.isnan(sd_upper(math.nan, 5))
