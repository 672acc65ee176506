"""`mlplan status` stays quick on a small plan (issue 20): with a current local copy of the
results it imports neither MLflow nor scipy.stats (~0.5 s of CPU on its own), and the t family
the judge takes from scipy.special instead agrees with scipy.stats to the last bit.
benchmarks/bench_status.py measures the time itself."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

import mlplan
from mlplan._judge import stats as judge_stats

# B1 measured per seed (not exact), H1 paired with it on the seed, with an expected effect so
# that the status also plans runs (the noncentral t).
_EDITS = (
    ("      entry_point: churn_baselines:usage_drop\n      exact: true\n", ""),
    (
        "  data_motivation: Each churner costs 300 EUR a year.\n",
        "  data_motivation: Each churner costs 300 EUR a year.\n  pair_by: seed\n",
    ),
    (
        '{metric: recall, better_than: B1, by: "5%"}',
        '{metric: recall, better_than: B1, by: "5%", expected: "10%"}',
    ),
)

PROBE = """\
import json, sys
from mlplan._cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _paired_plan(make_plan: Callable[..., Path]) -> Path:
    plan = make_plan()
    text = plan.read_text()
    for old, new in _EDITS:
        assert old in text
        text = text.replace(old, new)
    plan.write_text(text)
    for seed, (b, h) in enumerate([(0.50, 0.58), (0.52, 0.57), (0.49, 0.60), (0.51, 0.55)]):
        mlplan.record_result(plan, baseline="B1", metrics={"recall": b}, params={"seed": seed})
        mlplan.record_result(plan, hypothesis="H1", metrics={"recall": h}, params={"seed": seed})
    return plan


def _fresh_status(plan: Path) -> tuple[dict[str, Any], str, str]:
    """`mlplan status PLAN` in a fresh interpreter: its exit code and modules, and its output."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "status", plan.name],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=plan.parent,
        check=False,
    )
    *lines, last = result.stderr.strip().splitlines()
    return json.loads(last), result.stdout, "\n".join(lines)


@pytest.mark.slow  # a real embedded store and two fresh interpreters: several seconds
def test_status_with_a_current_copy_imports_neither_mlflow_nor_scipy_stats(
    make_plan: Callable[..., Path],
) -> None:
    plan = _paired_plan(make_plan)
    # The first status reads the store (the probe sees MLflow: it is not blind to it) and
    # keeps the local copy...
    first, out, err = _fresh_status(plan)
    assert first["code"] == 0
    assert "mlflow" in first["modules"]
    assert "results read from the local copy" not in out + err
    # ...which the next one judges, without MLflow and without scipy.stats.
    report, out, err = _fresh_status(plan)
    assert report["code"] == 0
    assert "results read from the local copy" in out + err
    assert "H1" in out and "paired t on seed" in out
    modules = set(report["modules"])
    assert not {m for m in modules if m.split(".")[0] == "mlflow"}
    assert not {m for m in modules if m == "scipy.stats" or m.startswith("scipy.stats.")}
    # The probe is not blind: the verdicts were computed, on scipy.special.
    assert "scipy.special" in modules and "mlplan._judge.verdicts" in modules


# Small df (where the t family is far from the normal), large, infinite and invalid ones.
DF = [0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 9.0, 29.0, 100.0, 1e4, np.inf, 0.0, -1.0, np.nan]
X = [-np.inf, -1e3, -50.0, -3.0, -1.0, -1e-3, 0.0, 0.5, 1.96, 3.0, 50.0, 1e3, np.inf, np.nan]
Q = [0.0, 1e-12, 1e-4, 0.025, 0.2, 0.5, 0.8, 0.975, 1 - 1e-4, 1 - 1e-12, 1.0, -0.1, 1.1, np.nan]
NC = [-3.0, -0.5, 0.0, 0.5, 2.0, 5.0, 20.0, np.nan]


def _grid(*axes: list[float]) -> list[Any]:
    return [a.ravel() for a in np.meshgrid(*[np.asarray(axis) for axis in axes], indexing="ij")]


@pytest.mark.parametrize(
    ("ours", "theirs", "axes"),
    [
        (judge_stats.t_cdf, stats.t.cdf, (X, DF)),
        (judge_stats.t_sf, stats.t.sf, (X, DF)),
        (judge_stats.t_ppf, stats.t.ppf, (Q, DF)),
        (judge_stats.t_isf, stats.t.isf, (Q, DF)),
        (judge_stats.nct_sf, stats.nct.sf, (X, DF, NC)),
    ],
    ids=["t.cdf", "t.sf", "t.ppf", "t.isf", "nct.sf"],
)
def test_the_t_family_from_scipy_special_is_scipy_stats(
    ours: Callable[..., Any], theirs: Callable[..., Any], axes: tuple[list[float], ...]
) -> None:
    arguments = _grid(*axes)
    with np.errstate(all="ignore"):
        expected = np.asarray(theirs(*arguments), dtype=np.float64)
        got = ours(*arguments)
    assert isinstance(got, np.ndarray) and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # bit for bit, NaN where scipy says NaN
    # One value at a time, as the judge often asks: a numpy scalar, as scipy.stats returns.
    for values in list(zip(*arguments, strict=True))[::7]:
        with np.errstate(all="ignore"):
            one, reference = ours(*values), theirs(*values)
        assert np.ndim(one) == 0
        np.testing.assert_array_equal(one, reference)


def test_chi2_and_normal_quantities_are_scipy_stats() -> None:
    for df in [1, 2, 3, 4, 9, 29, 1000]:
        for q in [0.01, 0.35, 0.5, 0.975]:
            assert judge_stats.chi2_ppf(q, df) == stats.chi2.ppf(q, df)
    for x in [-np.inf, -8.0, -1.96, 0.0, 0.3, 1.96, 8.0, 40.0, np.inf]:
        assert judge_stats.norm_sf(x) == stats.norm.sf(x)
