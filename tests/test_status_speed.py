"""`mlplan status` stays quick on a small plan (issue 20): with a current local copy of the
results it imports neither MLflow nor scipy.stats (~0.5 s of CPU on its own); the t family
the judge takes from scipy.special instead agrees with scipy.stats to the last bit; and while
nothing the judge reads changed, plain status shows the verdicts it kept (no scipy at all),
which `status --check` never reads. benchmarks/bench_status.py measures the time itself."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import TODAY
from scipy import stats

import mlplan
from mlplan._judge import stats as judge_stats
from mlplan._judge.results import Result
from mlplan._judge.verdicts import judge
from mlplan._plan.load import load_plan
from mlplan._report.verdict_cache import VerdictCache, decoded, encoded, verdicts_key

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


def _edited_plan(make_plan: Callable[..., Path]) -> Path:
    plan = make_plan()
    text = plan.read_text()
    for old, new in _EDITS:
        assert old in text
        text = text.replace(old, new)
    plan.write_text(text)
    return plan


def _paired_plan(make_plan: Callable[..., Path]) -> Path:
    plan = _edited_plan(make_plan)
    for seed, (b, h) in enumerate([(0.50, 0.58), (0.52, 0.57), (0.49, 0.60), (0.51, 0.55)]):
        mlplan.record_result(plan, baseline="B1", metrics={"recall": b}, params={"seed": seed})
        mlplan.record_result(plan, hypothesis="H1", metrics={"recall": h}, params={"seed": seed})
    return plan


def _fresh_status(plan: Path, *extra: str) -> tuple[dict[str, Any], str, str]:
    """`mlplan status PLAN` in a fresh interpreter: its exit code and modules, and its output."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "status", plan.name, *extra],
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
    # The next status shows the verdicts it kept: the same output, without scipy at all.
    again, out_again, _ = _fresh_status(plan)
    assert again["code"] == 0
    assert out_again == out
    assert not {m for m in again["modules"] if m.split(".")[0] == "scipy"}


def _verdict_files(plan: Path) -> list[Path]:
    return sorted((plan.parent / ".mlplan" / "cache").glob("verdicts-*.json"))


def _json_status(plan: Path, *extra: str) -> dict[str, Any]:
    report, out, _ = _fresh_status(plan, "--json", *extra)
    document: dict[str, Any] = json.loads(out)
    document["code"] = report["code"]
    return document


@pytest.mark.slow  # a real embedded store and several fresh interpreters
def test_kept_verdicts_are_for_plain_status_only_and_for_the_same_inputs_only(
    make_plan: Callable[..., Path],
) -> None:
    plan = _paired_plan(make_plan)
    _fresh_status(plan)  # reads the store and keeps the local copy of the results
    honest = _json_status(plan, "--today", TODAY.isoformat())  # judges, and keeps the verdicts
    (kept,) = _verdict_files(plan)
    # A crafted file with the right key: plain status shows it (so it is what is read)...
    data = json.loads(kept.read_text())
    h1 = next(v for v in data["verdicts"] if v["hypothesis"] == "H1")
    assert h1["status"] != "failed"
    h1["status"] = "failed"
    kept.write_text(json.dumps(data))
    shown = _json_status(plan, "--today", TODAY.isoformat())
    assert [h["status"] for h in shown["hypotheses"] if h["hypothesis"] == "H1"] == ["failed"]
    # ...but `status --check` judges the store and never reads it,
    checked = _json_status(plan, "--check", "--today", TODAY.isoformat())
    assert checked["hypotheses"] == honest["hypotheses"]
    # another day is judged afresh (a deadline may pass),
    later = (TODAY + dt.timedelta(days=1)).isoformat()
    assert _json_status(plan, "--today", later)["hypotheses"] != shown["hypotheses"]
    # and so is an edited plan (a recorded decision, here).
    _json_status(plan, "--today", TODAY.isoformat())  # keep the crafted file once more
    kept.write_text(json.dumps(data))
    with plan.open("a") as text:
        text.write(
            "experiment_log:\n  decisions:\n"
            f"    - {{date: {TODAY.isoformat()}, hypothesis: H2, decision: Wait.}}\n"
        )
    edited = _json_status(plan, "--today", TODAY.isoformat())
    assert edited["code"] == 0
    h1_after = [h for h in edited["hypotheses"] if h["hypothesis"] == "H1"]
    assert h1_after == [h for h in honest["hypotheses"] if h["hypothesis"] == "H1"]


def _in_memory(values: list[tuple[float, float]]) -> list[Result]:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return [
        Result(
            run_id=f"{subject}-{seed}",
            kind=kind,  # type: ignore[arg-type]
            subject=subject,
            metrics={"recall": value},
            logged_at=start + dt.timedelta(minutes=seed),
            params={"seed": str(seed)},
        )
        for seed, pair in enumerate(values)
        for kind, subject, value in (("baseline", "B1", pair[0]), ("hypothesis", "H1", pair[1]))
    ]


@pytest.mark.parametrize(
    "values",
    [
        [(0.50, 0.58), (0.52, 0.57), (0.49, 0.60), (0.51, 0.55)],  # paired t decides
        [(0.50, 0.50), (0.50, 0.50), (0.50, 0.50)],  # no spread: decided by value
        [(0.5, math.nan), (0.52, 0.57), (0.49, 0.60)],  # a diverged run
        [(0.5, 0.6)],  # too few runs
    ],
    ids=["paired", "no-spread", "nan", "one-run"],
)
def test_kept_verdicts_come_back_equal(
    values: list[tuple[float, float]], make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    plan = _edited_plan(make_plan)
    loaded = load_plan(plan).plan
    results = _in_memory(values)
    verdicts = judge(loaded, results, TODAY)
    cache = VerdictCache(tmp_path / "cache", "here")
    key = verdicts_key(loaded, results, TODAY)
    cache.save(key, verdicts)
    back = cache.load(key)
    assert back is not None
    # Equal field by field (repr: NaN equals NaN there), with the types they had.
    assert [_shape(v) for v in back] == [_shape(v) for v in verdicts]
    # Another key, another day or other results: nothing.
    assert cache.load(verdicts_key(loaded, results, TODAY + dt.timedelta(days=1))) is None
    assert cache.load(verdicts_key(loaded, results[:-1], TODAY)) is None


def _shape(value: Any) -> Any:
    """A verdict as nested (type name, repr) pairs: the cache must give back what the judge made,
    value for value and type for type (repr, where NaN equals NaN)."""
    if hasattr(value, "__dataclass_fields__"):
        return type(value).__name__, {k: _shape(v) for k, v in vars(value).items()}
    if isinstance(value, tuple | list):
        return type(value).__name__, [_shape(v) for v in value]
    return type(value).__name__, repr(value)


def test_the_key_tells_an_explicit_null_from_nothing(make_plan: Callable[..., Path]) -> None:
    # `pair_by: null` on a hypothesis switches pairing off; no pair_by inherits the plan's.
    # Both load to the same values, so the key must also see which fields the file sets.
    plan = _edited_plan(make_plan)
    results = _in_memory([(0.50, 0.58), (0.52, 0.57), (0.49, 0.60)])
    inherits = load_plan(plan).plan
    text = plan.read_text()
    assert "      on_failure: {description: Try more features., then: H2}\n" in text
    plan.write_text(
        text.replace(
            "      on_failure: {description: Try more features., then: H2}\n",
            "      on_failure: {description: Try more features., then: H2}\n      pair_by: null\n",
        )
    )
    unpaired = load_plan(plan).plan
    assert judge(inherits, results, TODAY) != judge(unpaired, results, TODAY)
    assert verdicts_key(inherits, results, TODAY) != verdicts_key(unpaired, results, TODAY)


def test_a_damaged_or_foreign_file_is_not_read(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path, "here")
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    verdict = {"hypothesis": "H1", "status": "succeeded"}
    for text in (
        "{not json",
        "[]",
        json.dumps({"key": "k", "verdicts": 3}),
        json.dumps({"key": "k", "verdicts": [verdict]}),  # fields missing
        json.dumps({"key": "k", "verdicts": [{**verdict, "status": "great"}]}),
    ):
        cache.path.write_text(text)
        assert cache.load("k") is None
    with pytest.raises(TypeError):
        decoded({"x": 1}, Any)
    with pytest.raises(TypeError):
        encoded(object())


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
