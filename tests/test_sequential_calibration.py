"""The planned-n rows of the calibration benchmark at 500 trials (issue 17's CI version of
``bench_calibration_judge.py --designs``): a user who reads the status after every completed
pair from n = 3 to 20 and stops at the first final verdict, with the truth exactly on the
threshold, gets a false success and a false failure each ≤ α + 3 Monte Carlo se (4.59% at 500
trials) under every design; one public ``mlplan.judge`` call per trial replays the path.

Each row draws from its own fixed seed, so the rates are the same on every run. Marked slow:
about 40 judge calls a second replay a 20-pair path, so the four rows take about a minute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from test_calibration_small import _load

if TYPE_CHECKING:
    import benchmarks.bench_calibration_judge as bench
else:
    bench = _load()

TRIALS = 500


@pytest.mark.slow
@pytest.mark.parametrize("design", [name for name, d in bench.DESIGNS.items() if d])
def test_peeking_under_a_planned_n_keeps_both_errors_at_alpha(design: str) -> None:
    index = list(bench.DESIGNS).index(design)
    stops = bench.measure_design(design, 0.0, np.random.default_rng([17, index]), TRIALS)
    line, held = bench.design_row(design, 0.0, stops)
    assert held, line
