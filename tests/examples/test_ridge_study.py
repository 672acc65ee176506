"""Tests for the ridge example's computational core (examples/ridge/ridge_study.py).

Wherever possible the module's numbers are checked against an independent
computation written here from scratch (numpy least squares, closed forms,
scikit-learn's own GridSearchCV), not against the module's own helpers.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import sympy as sp
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, scale

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "ridge"))

if TYPE_CHECKING:  # mypy resolves modules from the repository root
    from examples.ridge import ridge_study as rs
else:
    import ridge_study as rs

METRIC_KEY = re.compile(r"^[a-z0-9_.]+$")


def _check_metrics(metrics: dict[str, float]) -> None:
    for key, value in metrics.items():
        assert METRIC_KEY.match(key), key
        assert isinstance(value, float), (key, type(value))
        assert math.isfinite(value), key


def _split_indices(seed: int) -> tuple[Any, Any]:
    """Train/test row indices of the study's split, computed independently."""
    idx_tr, idx_te = train_test_split(np.arange(506), test_size=0.3, random_state=seed)
    return idx_tr, idx_te


def _lstsq_with_intercept(x: Any, y: Any) -> tuple[float, Any]:
    design = np.column_stack([np.ones(len(x)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(coef[0]), coef[1:]


@pytest.fixture(scope="module")
def original() -> dict[str, float]:
    return rs.original_study()


@pytest.fixture(scope="module")
def comparison() -> dict[str, float]:
    return rs.compare_over_seeds()


# ---------------------------------------------------------------- data


def test_dataset_is_the_506_by_13_original() -> None:
    x, y, names = rs.load_boston()
    assert x.shape == (506, 13)
    assert y.shape == (506,)
    assert names == [
        "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE",
        "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT",
    ]  # fmt: skip
    first = [0.00632, 18.0, 2.31, 0.0, 0.538, 6.575, 65.2, 4.09, 1.0, 296.0, 15.3, 396.9, 4.98]
    np.testing.assert_allclose(x[0], first)
    assert y[0] == 24.0
    last = [0.04741, 0.0, 11.93, 0.0, 0.573, 6.03, 80.8, 2.505, 1.0, 273.0, 21.0, 396.9, 7.88]
    np.testing.assert_allclose(x[-1], last)
    assert y[-1] == 11.9
    assert y.mean() == pytest.approx(22.5328, abs=1e-4)
    assert x[:, names.index("TAX")].mean() == pytest.approx(408.2372, abs=1e-4)
    assert set(np.unique(x[:, names.index("CHAS")])) == {0.0, 1.0}


def test_load_boston_returns_copies() -> None:
    x, y, _ = rs.load_boston()
    x[:] = 0.0
    y[:] = 0.0
    x2, y2, _ = rs.load_boston()
    assert x2[0, 0] == 0.00632
    assert y2[0] == 24.0


def test_wrong_shape_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlxtend.data

    monkeypatch.setattr(
        mlxtend.data, "boston_housing_data", lambda: (np.zeros((500, 13)), np.zeros(500))
    )
    rs._load_checked.cache_clear()
    try:
        with pytest.raises(ValueError, match="506 rows x 13 features"):
            rs.load_boston()
    finally:
        rs._load_checked.cache_clear()


# ---------------------------------------------------------------- original study


def test_sklearn_ridge_matches_closed_form_on_centred_data() -> None:
    """(XᵀX + λI)⁻¹Xᵀy on centred training data equals the study's coefficients."""
    x, y, _ = rs.load_boston()
    idx_tr, _ = _split_indices(10)
    xs = scale(x)[idx_tr]
    xc, yc = xs - xs.mean(axis=0), y[idx_tr] - y[idx_tr].mean()
    lambdas = [0.0, 1.0, 7.0, 50.0, 199.0]
    trace = rs.ridge_trace(lambdas)
    for i, lam in enumerate(lambdas):
        beta = np.linalg.inv(xc.T @ xc + lam * np.eye(13)) @ xc.T @ yc
        np.testing.assert_allclose(trace.coefs[i], beta, rtol=0, atol=1e-10)
        # and the module's own closed form agrees
        np.testing.assert_allclose(rs.ridge_closed_form(xc, yc, lam), beta, rtol=0, atol=1e-10)


def test_original_study_reproduced(original: dict[str, float]) -> None:
    _check_metrics(original)
    assert original["best_lambda"] == 7.0
    assert original["test_mse_lambda_0"] == pytest.approx(29.3266, abs=1e-4)
    assert original["best_test_mse"] == pytest.approx(29.2549, abs=1e-4)
    # the dip is real but tiny: a quarter of a percent
    assert original["mse_reduction_pct"] == pytest.approx(0.2446, abs=1e-3)
    assert original["max_lambda_not_worse_than_ols"] == 17.0
    assert original["test_mse_lambda_max"] > 35.0
    assert rs.FEATURE_NAMES[int(original["most_shrunk_index"])] == "RAD"
    assert original["shrink_ratio.rad"] == pytest.approx(0.0666, abs=1e-3)
    assert original["shrink_ratio.age"] < 0  # AGE changes sign along the path


def test_original_lambda_0_is_ols_by_lstsq(original: dict[str, float]) -> None:
    """Independent OLS (with intercept) on the leaky-scaled data gives the λ = 0 MSE."""
    x, y, _ = rs.load_boston()
    idx_tr, idx_te = _split_indices(10)
    xs = scale(x)
    b0, beta = _lstsq_with_intercept(xs[idx_tr], y[idx_tr])
    mse = float(np.mean((y[idx_te] - b0 - xs[idx_te] @ beta) ** 2))
    assert original["test_mse_lambda_0"] == pytest.approx(mse, rel=1e-10)


def test_most_shrunk_feature_on_trace() -> None:
    trace = rs.ridge_trace()
    assert rs.most_shrunk_feature(trace) == "RAD"
    assert trace.coef_path("RAD")[0] == pytest.approx(2.6326, abs=1e-4)


def test_leak_only_acts_through_the_penalty(original: dict[str, float]) -> None:
    clean = rs.original_study_no_leak()
    _check_metrics(clean)
    # OLS predictions do not depend on the scaling, so λ = 0 is unaffected ...
    assert clean["test_mse_lambda_0"] == pytest.approx(original["test_mse_lambda_0"], rel=1e-10)
    # ... while the penalised fits move a little.
    assert 0 < clean["max_abs_test_mse_diff"] < 1.0
    assert clean["best_lambda"] == 8.0


# ---------------------------------------------------------------- baselines


@pytest.mark.parametrize("seed", [10, 0, 3])
def test_mean_predictor_by_hand(seed: int) -> None:
    _, y, _ = rs.load_boston()
    idx_tr, idx_te = _split_indices(seed)
    y_tr, y_te = y[idx_tr], y[idx_te]
    by_hand = sum((v - y_tr.mean()) ** 2 for v in y_te) / len(y_te)
    metrics = rs.mean_predictor(seed)
    _check_metrics(metrics)
    assert metrics["test_mse"] == pytest.approx(by_hand, rel=1e-12)
    # = test variance + squared shift between the training and test means
    shift = np.var(y_te) + (y_te.mean() - y_tr.mean()) ** 2
    assert metrics["test_mse"] == pytest.approx(shift, rel=1e-12)
    assert metrics["train_mean"] == pytest.approx(y_tr.mean())


def test_mean_predictor_default_is_original_split() -> None:
    assert rs.mean_predictor() == rs.mean_predictor(10)
    assert rs.mean_predictor()["test_mse"] == pytest.approx(101.1289, abs=1e-4)


@pytest.mark.parametrize("seed", [10, 5])
def test_ols_matches_lstsq(seed: int) -> None:
    x, y, _ = rs.load_boston()
    idx_tr, idx_te = _split_indices(seed)
    b0, beta = _lstsq_with_intercept(x[idx_tr], y[idx_tr])
    mse = float(np.mean((y[idx_te] - b0 - x[idx_te] @ beta) ** 2))
    metrics = rs.ols(seed)
    _check_metrics(metrics)
    assert metrics["test_mse"] == pytest.approx(mse, rel=1e-9)


# ---------------------------------------------------------------- cross-validation


def test_cv_curve_matches_gridsearchcv_pipeline() -> None:
    """The SVD shortcut equals GridSearchCV over Pipeline(StandardScaler, Ridge)."""
    seed = 10
    x, y, _ = rs.load_boston()
    idx_tr, _ = _split_indices(seed)
    lambdas = [float(v) for v in range(1, 21)]
    search = GridSearchCV(
        make_pipeline(StandardScaler(), Ridge()),
        {"ridge__alpha": lambdas},
        cv=KFold(5, shuffle=True, random_state=seed),
        scoring="neg_mean_squared_error",
    ).fit(x[idx_tr], y[idx_tr])
    expected = -search.cv_results_["mean_test_score"]
    np.testing.assert_allclose(rs.cv_curve(seed, lambdas), expected, rtol=1e-9)
    # the full-grid choice (λ = 9) lies inside 1..20, so GridSearchCV must agree
    chosen = rs.ridge_cv(seed)
    assert chosen["lambda"] == search.best_params_["ridge__alpha"] == 9.0
    assert chosen["cv_mse"] == pytest.approx(-search.best_score_, rel=1e-9)
    idx_te = _split_indices(seed)[1]
    test_mse = float(np.mean((y[idx_te] - search.predict(x[idx_te])) ** 2))
    assert chosen["test_mse"] == pytest.approx(test_mse, rel=1e-9)


def test_ridge_cv_metrics() -> None:
    metrics = rs.ridge_cv(10)
    _check_metrics(metrics)
    assert {"lambda", "cv_mse", "test_mse", "test_rmse", "test_r2", "train_mse"} <= set(metrics)
    assert metrics["lambda"] in rs.LAMBDA_GRID
    assert metrics["cv_mse"] <= metrics["cv_mse_lambda_0"]


def test_compare_over_seeds(comparison: dict[str, float]) -> None:
    _check_metrics(comparison)
    rows = rs.seed_results(rs.DEFAULT_SEEDS)
    diff = np.array([r["ols.test_mse"] - r["ridge_cv.test_mse"] for r in rows])
    assert comparison["n_seeds"] == 10.0
    assert comparison["diff.mean"] == pytest.approx(diff.mean(), rel=1e-12)
    assert comparison["ridge_wins"] == float(np.sum(diff > 0))
    assert comparison["diff.ci95_low"] < comparison["diff.mean"] < comparison["diff.ci95_high"]
    naive = comparison["diff.ci95_high"] - comparison["diff.ci95_low"]
    corrected = comparison["diff.ci95_high_corrected"] - comparison["diff.ci95_low_corrected"]
    assert corrected > naive
    # What the data says: CV-chosen ridge does not beat OLS on these splits.
    assert comparison["ridge_wins"] == 2.0
    assert comparison["diff.mean"] == pytest.approx(-0.1976, abs=1e-3)
    assert comparison["improvement_pct.ci95_high"] < 0.5
    # ... while both are far better than predicting the mean.
    assert comparison["ridge_vs_mean_improvement_pct.mean"] > 65.0


def test_compare_needs_two_seeds() -> None:
    with pytest.raises(ValueError, match="two seeds"):
        rs.compare_over_seeds([1])


def test_negative_lambda_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        rs.ridge_trace([-1.0])


def test_trace_is_cached_and_read_only() -> None:
    trace = rs.ridge_trace()
    assert rs.ridge_trace() is trace
    with pytest.raises(ValueError, match="read-only"):
        trace.coefs[0, 0] = 0.0


# ---------------------------------------------------------------- constrained view


def test_lagrange_solution_exact() -> None:
    sol = rs.lagrange_solution()
    assert sol["x"] == sp.Rational(1, 6)
    assert sol["y"] == sp.Rational(1, 3)
    assert sol["z"] == sp.Rational(1, 2)
    assert sol["f"] == sp.Rational(1, 432)
    assert sol["multiplier"] == sp.Rational(1, 72)
    assert sol["bordered_minor_3"] > 0
    assert sol["bordered_minor_4"] < 0  # second-order condition for a maximum
    # independent first-order check: ∇f = μ∇g at the point
    x, y, z = sp.symbols("x y z")
    f = x * y**2 * z**3
    point = {x: sol["x"], y: sol["y"], z: sol["z"]}
    assert [sp.diff(f, v).subs(point) for v in (x, y, z)] == [sp.Rational(1, 72)] * 3


def test_lagrange_point_is_the_maximum_on_the_simplex() -> None:
    floats = rs.lagrange_check()
    _check_metrics(floats)
    assert floats["f"] == pytest.approx(1 / 432)
    points = np.random.default_rng(0).dirichlet(np.ones(3), size=20_000)
    values = points[:, 0] * points[:, 1] ** 2 * points[:, 2] ** 3
    assert values.max() < 1 / 432


@pytest.mark.parametrize("lam", [1.0, 7.0, 50.0, 199.0])
def test_ridge_solves_the_constrained_problem(lam: float) -> None:
    metrics = rs.constrained_equivalence(lam)
    _check_metrics(metrics)
    assert metrics["max_abs_coef_diff"] < 1e-4
    assert metrics["dual_lambda"] == pytest.approx(lam, rel=1e-8)
    assert abs(metrics["constraint_slack"]) < 1e-8  # the constraint is active
    assert metrics["rss_constrained"] == pytest.approx(metrics["rss_ridge"], rel=1e-10)
    if "slsqp_multiplier" in metrics:
        assert metrics["slsqp_multiplier"] == pytest.approx(lam, rel=1e-4)


def test_no_feasible_point_beats_ridge() -> None:
    """Independent check: random β with ||β||² ≤ t never has a lower RSS."""
    lam = 7.0
    metrics = rs.constrained_equivalence(lam)
    x, y, _ = rs.load_boston()
    idx_tr, _ = _split_indices(10)
    xs = StandardScaler().fit_transform(x[idx_tr])
    xc, yc = xs - xs.mean(axis=0), y[idx_tr] - y[idx_tr].mean()
    beta = np.linalg.solve(xc.T @ xc + lam * np.eye(13), xc.T @ yc)
    assert float(beta @ beta) == pytest.approx(metrics["t"], rel=1e-10)
    rng = np.random.default_rng(1)
    candidates = beta + rng.normal(scale=0.3, size=(5_000, 13))
    norms = np.sum(candidates**2, axis=1)
    candidates = candidates * np.minimum(1.0, np.sqrt(metrics["t"] / norms))[:, None]
    rss = np.sum((yc[None, :] - candidates @ xc.T) ** 2, axis=1)
    assert rss.min() >= metrics["rss_ridge"] - 1e-9


def test_lambda_zero_constraint_inactive() -> None:
    metrics = rs.constrained_equivalence(0.0)
    assert metrics["dual_lambda"] == 0.0
    assert metrics["max_abs_coef_diff"] < 1e-4


# ---------------------------------------------------------------- determinism and plots


def test_determinism(comparison: dict[str, float]) -> None:
    assert rs.ridge_cv(3) == rs.ridge_cv(3)
    assert rs.constrained_equivalence(7.0) == rs.constrained_equivalence(7.0)
    assert rs.compare_over_seeds() == comparison


def test_plots_are_byte_stable(tmp_path: Path) -> None:
    for plot in (rs.plot_ridge_trace, rs.plot_test_mse):
        first = plot(tmp_path / "a" / f"{plot.__name__}.png")
        second = plot(tmp_path / "b" / f"{plot.__name__}.png")
        data = first.read_bytes()
        assert data.startswith(b"\x89PNG")
        assert data == second.read_bytes()


def test_command_cell_writes_metrics_and_params_where_mlplan_result_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python ridge_study.py split_ols seed=1`, as B-ols's command runs it in a cell: the
    result file holds the OLS figures of that split and the params the doc reads back."""
    result = tmp_path / "result.json"
    monkeypatch.setenv("MLPLAN_RESULT", str(result))
    assert rs.main(["split_ols", "seed=1"]) == 0
    written = json.loads(result.read_text(encoding="utf-8"))
    x, y, _ = rs.load_boston()
    idx_tr, idx_te = _split_indices(1)
    b0, beta = _lstsq_with_intercept(x[idx_tr], y[idx_tr])
    pred = b0 + x[idx_te] @ beta
    assert set(written["metrics"]) == {"test_mse", "test_rmse", "test_mse.top_quartile"}
    mse = float(np.mean((y[idx_te] - pred) ** 2))
    assert written["metrics"]["test_mse"] == pytest.approx(mse, rel=1e-9)
    # The dearest quarter: held-out tracts at or above the training MEDV's 75th percentile.
    top = y[idx_te] >= np.quantile(y[idx_tr], 0.75)
    top_mse = float(np.mean((y[idx_te][top] - pred[top]) ** 2))
    assert written["metrics"]["test_mse.top_quartile"] == pytest.approx(top_mse, rel=1e-9)
    n_top = float(np.count_nonzero(top))
    assert written["params"] == {"test_size": 0.3, "n_top_quartile": n_top}


def test_command_cell_refuses_an_unknown_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLPLAN_RESULT", str(tmp_path / "result.json"))
    assert rs.main(["split_nothing", "seed=1"]) == 2
    assert "usage: python ridge_study.py" in capsys.readouterr().out
    assert not (tmp_path / "result.json").exists()
