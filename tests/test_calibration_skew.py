"""The skew cells of the calibration benchmark at CI size (issue 17, item 5): 500 trials of
``bench_calibration_judge.py --only skew`` per cell, each from a fixed seed, so the rates are the
same on every run. One public ``mlplan.judge`` call per trial (~1 ms), about 3 s in all.

Lognormal runs, lower is better, ``at_most: 1``, each test on its own null (the benchmark's
``skew_cell``). The bounds come from the trial count: α + 3 Monte Carlo se (4.59% at 500
trials, one-sided α = 0.025, Student 1908) for a row held to α, and the same bound as a floor
for the cell benchmarks/README.md reports *above* α (the t on strongly skewed runs), so a
judge that quietly changed either direction would fail here.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pytest
from test_calibration_small import _load

if TYPE_CHECKING:
    import benchmarks.bench_calibration_judge as bench
else:
    bench = _load()

TRIALS = 500
LOG_SD = {0.78: 0.25, 1.75: 0.5, 6.18: 1.0}  # skewness of LogNormal(0, s) → s


def _tally(test: str, skewness: float, n: int, seed: int) -> bench.Tally:
    cell = (bench.skew_cell, (test, LOG_SD[skewness], n))
    tally: bench.Tally = bench.measure_built(
        *cell, rng=np.random.default_rng([17, seed]), trials=TRIALS
    )
    return tally


def _limit() -> float:
    return bench.ALPHA + 3 * bench.se(bench.ALPHA, TRIALS)


@pytest.mark.slow
@pytest.mark.parametrize(("skewness", "n"), [(1.75, 5), (6.18, 3)])
def test_a_log_check_on_lognormal_runs_keeps_both_errors_at_alpha(skewness: float, n: int) -> None:
    tally = _tally("log", skewness, n, seed=n)
    assert set(tally.tests) == {"one-sample t on log latency"}
    assert set(tally.ns) == {n}
    rates = {s: tally.rate(s) for s in ("succeeded", "failed")}
    assert max(rates.values()) <= _limit(), rates


@pytest.mark.slow
@pytest.mark.parametrize("n", [5, 10])
def test_the_t_on_strongly_skewed_runs_succeeds_falsely_above_alpha(n: int) -> None:
    # The documented direction (benchmarks/README.md, "Skew"): right skew with success on the
    # low side makes the one-sided t liberal, beyond Monte Carlo error of α.
    tally = _tally("t", 6.18, n, seed=100 + n)
    assert set(tally.tests) == {"one-sample t"}
    assert tally.rate("succeeded") > _limit()


@pytest.mark.slow
def test_the_sign_flip_test_is_refused_where_two_to_the_minus_n_exceeds_alpha() -> None:
    assert bench.refused(_tally("sign_flip", 1.75, 5, seed=5))  # 2⁻⁵ = 3.1% > 2.5%
    assert not bench.refused(_tally("sign_flip", 1.75, 6, seed=6))  # 2⁻⁶ = 1.6%


@pytest.mark.slow
def test_a_row_s_figures_do_not_depend_on_the_number_of_workers() -> None:
    jobs = [
        bench.Job(bench.measure_built, (bench.skew_cell, ("t", 0.5, n)), [1, n], 40)
        for n in (3, 5, 10)
    ]
    jobs.append(bench.Job(bench.measure_design, ("runs: 20 (fixed horizon)", 0.0), [1, 0], 4, 20))

    def outcomes(workers: int) -> list[Counter[str]]:
        return [r.statuses for r in bench.fan_out(jobs, workers)]

    alone = outcomes(1)
    assert outcomes(2) == alone
    assert sum(alone[0].values()) == 40
