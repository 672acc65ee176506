"""A small calibration of the public judge, run by CI: benchmarks/bench_calibration_judge.py at
500 trials per row instead of 10,000 (issue 15: "CI runs a small version").

Each row is drawn from its own fixed numpy seed, so the rates are the same on every run: the
test is deterministic and cannot make the fast tier flaky. The bounds are the benchmark's own,
which widen with fewer trials: α + 3 Monte Carlo se = 4.59% at 500 trials for error rows (truth
on the threshold, one-sided α = 0.025 per side, Student 1908), the noncentral-t power − 3 se
for the power row. A judge that drifted from a calibrated test would show as a rate at 2–20
times α (the issue's table), well past these bounds.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pytest
from helpers import REPO

TRIALS = 500


def _load() -> ModuleType:
    """The benchmark script as a module: benchmarks/ is not a package on sys.path."""
    name = "bench_calibration_judge"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import benchmarks.bench_calibration_judge as bench
else:
    bench = _load()


# Each row: how to build it, its own seed, and the test every trial must have taken.
ROWS: dict[str, tuple[Callable[[], bench.Cell], int, str]] = {
    "reported constant, n = 3": (
        lambda: bench.reported_constant(3),
        1,
        "one-sample t of H1 vs reported B1",
    ),
    "pooled conditions, n = 5": (
        lambda: bench.pooled_conditions(5),
        2,
        "paired t on seed, pooled over lam",
    ),
    "quantised, p = 0.81 vs 0.80": (
        lambda: bench.quantised(3, 0.80),
        3,
        "one-sample t vs exact B1",
    ),
    "paired t power, 10 pairs": (lambda: bench.paired_power(10), 4, "paired t on seed"),
}


@pytest.mark.parametrize("row", list(ROWS))
def test_a_row_meets_its_pass_criterion(row: str) -> None:
    build, seed, test = ROWS[row]
    cell = build()
    tally = bench.measure(cell, np.random.default_rng(seed), TRIALS)
    assert set(tally.tests) == {test}  # every trial took the path the row is about
    assert set(tally.ns) == {cell.n}  # every run counted: none lost, none collapsed
    criterion, held = bench.criterion_of(cell, tally)
    rates = {s: tally.rate(s) for s in ("succeeded", "failed", "inconclusive")}
    assert held, f"{row}: {rates} not {criterion}"


def test_missing_pair_keys_decide_nothing_and_say_so() -> None:
    cell = bench.missing_key(5)
    tally = bench.measure(cell, np.random.default_rng(5), 50)
    assert tally.rate("inconclusive") == 1.0
    (note,) = tally.notes
    assert note.startswith("pairing by seed is declared, but # runs have no seed (B1 run #")
    assert "--param seed=VALUE" in note and "pair_by: null" in note


def test_resampling_without_pairing_is_refused_by_validate() -> None:
    assert "the resampling correction needs per-split differences" in bench.refused_by_validate()


# Issue 17 at 500 trials (slow tier): runs_needed from a 3-run pilot, five roots under primary
# and graph, and transform: log on strongly skewed (lognormal) runs.


@pytest.mark.slow
def test_runs_needed_from_a_pilot_of_three_reaches_its_power() -> None:
    found = bench.pilot_row(3, 1.0, np.random.default_rng(17), TRIALS)
    assert found.unknown == 0.0
    # Targets (issue 17): mean achieved power ≥ 78% with mean N ≤ 2.5× the oracle's; the
    # bound allows 3 Monte Carlo se of a mean power (sd of achieved power ≤ 0.3).
    assert found.mean_power >= 0.78 - 3 * 0.3 / TRIALS**0.5
    assert found.mean_n <= 2.5 * found.oracle


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["primary", "graph"])
def test_five_roots_keep_the_family_wise_error(rule: str) -> None:
    line = bench.roots_row(rule, np.random.default_rng(18), TRIALS)
    assert line.endswith("| yes |"), line


@pytest.mark.slow
def test_a_log_check_is_the_exact_t_on_lognormal_runs() -> None:
    # On lognormal runs the log is normal, so the judge's verdict must be scipy's one-sided t
    # on the logs in every trial: exact, whatever the Monte Carlo rate of one seed shows.
    from scipy import stats

    cell = bench.skew_cell("log", 1.0, 5)
    rng = np.random.default_rng(19)
    for _ in range(TRIALS // 5):
        results = cell.draw(rng)
        verdict = bench.h1(cell.plan, results)
        (check,) = verdict.checks
        assert check.test == "one-sample t on log latency"
        logs = np.log([r.metrics["latency"] for r in results if r.subject == "H1"])
        p = stats.ttest_1samp(logs, 0.0, alternative="less").pvalue
        assert check.p_success == pytest.approx(p)
