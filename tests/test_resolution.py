"""A metric's resolution: status and the doc show no digit below what the computation
guarantees (issue 9: a golden doc pinned SLSQP noise at 1e-8 and failed on new wheels), while
verdicts keep deciding on the full values."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_judge import JUDGED_ON, PROPERTY, base, hyp, make_plan, metric, result

from mlplan._judge.verdicts import judge
from mlplan._report.rows import log_rows, status_rows
from mlplan._text import number
from mlplan.errors import PlanError


@pytest.mark.parametrize(
    ("value", "resolution", "shown"),
    [
        (3.45e-09, 1e-6, "0 ± 1e-06"),  # solver noise under a 1e-6 tolerance
        (-1.32e-14, 1e-9, "0 ± 1e-09"),  # rounding noise, of either sign
        (0.0596561234, 1e-6, "0.05966"),  # well above: four significant digits, as always
        (2.31e-06, 1e-6, "2e-06"),  # just above: the digit at the resolution, none below
        (-0.000123456, 1e-6, "-0.000123"),  # the last digit shown is the 1e-6 one
        (123.456, None, "123.5"),  # no resolution: four significant digits
        (math.inf, 1e-6, "inf"),
        (-0.0, None, "0"),  # a negated zero difference reads "needs < 0", not "< -0"
    ],
)
def test_numbers_are_shown_down_to_the_resolution(
    value: float, resolution: float | None, shown: str
) -> None:
    assert number(value, resolution) == shown


@PROPERTY
@given(
    value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    exponent=st.integers(min_value=-12, max_value=2),
)
def test_what_is_shown_is_within_the_resolution_of_the_value(value: float, exponent: int) -> None:
    resolution = 10.0**exponent
    shown = number(value, resolution)
    if abs(value) < resolution:
        assert shown == f"0 ± {resolution:g}"
        return
    # Read back, the text is the value up to its last shown digit, never finer than the
    # resolution: the error is at most half a unit of the resolution or of the 4th digit.
    error = abs(float(shown) - value)
    assert error <= max(resolution, abs(value) * 5e-4) * (1 + 1e-9)
    assert "e" in shown or len(shown.lstrip("-").replace(".", "").lstrip("0")) <= 4


def _plan(resolution: float | None) -> Any:
    extra = {} if resolution is None else {"resolution": resolution}
    return make_plan(
        hyp(criteria=[{"metric": "err", "at_most": 1e-6}]),
        metrics=({**metric("err", "lower"), **extra},),
    )


def test_status_and_the_log_show_noise_as_zero_within_the_resolution() -> None:
    results = [result("H1", {"err": 3.45e-09}), base("B1", {"err": 0.06})]
    plan = _plan(1e-6)
    [verdict] = judge(plan, results, JUDGED_ON)
    [row] = status_rows([verdict])
    assert verdict.status == "succeeded"
    assert "err = 0 ± 1e-06" in " ".join(row.evidence)
    assert "3.45" not in " ".join(row.evidence)
    logged = {r.subject: r.metrics for r in log_rows(plan, results)}
    assert logged == {"H1": "err = 0 ± 1e-06", "B1": "err = 0.06"}


def test_without_a_resolution_every_significant_digit_is_shown() -> None:
    results = [result("H1", {"err": 3.45e-09})]
    [verdict] = judge(_plan(None), results, JUDGED_ON)
    assert "err = 3.45e-09" in " ".join(status_rows([verdict])[0].evidence)


@pytest.mark.parametrize("value", [1.5e-6, 9e-7])
def test_the_verdict_decides_on_the_full_value_not_the_shown_one(value: float) -> None:
    # 1.5e-6 is shown "2e-06" and fails "≤ 1e-6"; 9e-7 is shown "0 ± 1e-06" and passes.
    # Rounding for the reader must not move a result across the threshold.
    results = [result("H1", {"err": value}), base("B1", {"err": 0.06})]
    [with_resolution] = judge(_plan(1e-6), results, JUDGED_ON)
    [without] = judge(_plan(None), results, JUDGED_ON)
    assert with_resolution.status == without.status
    assert with_resolution.status == ("failed" if value > 1e-6 else "succeeded")


@pytest.mark.parametrize("resolution", [0, -1e-6, float("nan"), float("inf")])
def test_a_resolution_must_be_a_positive_finite_number(resolution: float) -> None:
    with pytest.raises((PlanError, ValueError)):
        _plan(resolution)
