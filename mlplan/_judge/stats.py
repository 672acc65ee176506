"""The statistics behind verdicts, in one module, on scipy.stats.

Every function works on numpy arrays with the runs along the last axis, so the judge calls it
with one sample and the calibration benchmark with ten thousand at once: the benchmark checks
the very code that decides verdicts.

Conventions. A check asks whether an *effect* (a mean, a mean paired difference, a difference
of means) lies beyond a *limit*. Success and failure are each a one-sided test at level
``ALPHA`` = 0.025, the two sides of a 95% interval: success rejects "effect on the bad side of
the limit", failure rejects "effect on the good side".

scipy is imported inside the functions that need it: ``mlplan --help`` and ``validate`` never
compute a verdict and must not pay for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALPHA",
    "LARGEST",
    "POWER",
    "Estimate",
    "bouckaert_frank_ratio",
    "clip",
    "failure_p",
    "half_width",
    "holm",
    "holm_levels",
    "joint_runs_needed",
    "lower_bound",
    "nadeau_bengio_ratio",
    "one_sample",
    "paired",
    "power",
    "runs_needed",
    "sd_upper",
    "sign_flip_p",
    "success_p",
    "trimmed",
    "upper_bound",
    "welch",
    "welch_summary",
]

Array = npt.NDArray[np.float64]
ALPHA = 0.025
POWER = 0.8
# runs_needed searches up to this many runs; beyond it "no n suffices" in practice.
_MAX_RUNS = 100_000
# A variance sums squares: past this magnitude they can overflow the float range (about
# 1.8e308, so 1e154 squared already does), and every t statistic built on them is undefined.
# The judge reports such values as beyond its reach rather than testing them.
LARGEST = 1e150


# The t family through scipy.special, not scipy.stats: importing scipy.stats costs ~0.5 s of CPU
# (its ~130 distribution classes parse their docstrings at import), more than the rest of a
# `mlplan status` on a small plan; scipy.special is the part of it these few functions need.
# They are the very functions scipy.stats.t and .nct call (t._cdf is special.stdtr, t._sf is
# stdtr(df, -x), t._ppf is stdtrit, t._isf is -stdtrit, nct._sf is the ufunc _nct_sf where
# scipy.special has it (else scipy.stats.nct itself, on scipy < 1.12); chi2._ppf is
# 2·gammaincinv(df/2, q), norm._sf is ndtr(-x)),
# wrapped in what scipy.stats adds around them: NaN outside the parameter space (df > 0) and
# the ends of the support at q = 0 and q = 1. tests/test_status_speed.py checks every one
# against scipy.stats over a grid that includes small df and the edges.


def _special() -> Any:
    from scipy import special

    return special


def _floats(*values: Any) -> list[Array]:
    return [np.asarray(value, dtype=np.float64) for value in values]


def _scalar_if(result: Array) -> Any:
    # As scipy.stats: 0-d results come back as numpy scalars, arrays as arrays.
    return result[()] if result.ndim == 0 else result


def t_cdf(x: Any, df: Any) -> Any:
    """P(T_df ≤ x), Student's t (as scipy.stats.t.cdf)."""
    x_arr, df_arr = _floats(x, df)
    with np.errstate(invalid="ignore"):
        result = np.where(df_arr > 0, _special().stdtr(df_arr, x_arr), np.nan)
    return _scalar_if(np.asarray(result, dtype=np.float64))


def t_sf(x: Any, df: Any) -> Any:
    """P(T_df > x) (as scipy.stats.t.sf)."""
    return t_cdf(-np.asarray(x, dtype=np.float64), df)


def t_ppf(q: Any, df: Any) -> Any:
    """The q-quantile of Student's t (as scipy.stats.t.ppf): −inf at q = 0, inf at q = 1."""
    q_arr, df_arr = _floats(q, df)
    with np.errstate(invalid="ignore"):
        inner = _special().stdtrit(df_arr, np.clip(q_arr, 0.0, 1.0))
        result = np.where(q_arr == 0, -np.inf, np.where(q_arr == 1, np.inf, inner))
        valid = (df_arr > 0) & (q_arr >= 0) & (q_arr <= 1)
    return _scalar_if(np.asarray(np.where(valid, result, np.nan), dtype=np.float64))


def t_isf(q: Any, df: Any) -> Any:
    """The x with P(T_df > x) = q (as scipy.stats.t.isf)."""
    return _scalar_if(-np.asarray(t_ppf(q, df), dtype=np.float64))


def nct_sf(x: Any, df: Any, nc: Any) -> Any:
    """P(T > x) for the noncentral t with df and noncentrality nc (as scipy.stats.nct.sf)."""
    x_arr, df_arr, nc_arr = _floats(x, df, nc)
    special = _special()
    with np.errstate(invalid="ignore", over="ignore"):
        if hasattr(special._ufuncs, "_nct_sf"):
            inner = np.clip(special._ufuncs._nct_sf(x_arr, df_arr, nc_arr), 0.0, 1.0)
        else:  # older scipy keeps the ufunc inside scipy.stats (_boost): pay its import there
            from scipy.stats import nct

            inner = nct.sf(x_arr, df_arr, nc_arr)
        valid = (df_arr > 0) & ~np.isnan(nc_arr)
        result = np.where(valid, np.where(x_arr == np.inf, 0.0, inner), np.nan)
        result = np.where(valid & (x_arr == -np.inf), 1.0, result)
    return _scalar_if(np.asarray(result, dtype=np.float64))


def chi2_ppf(q: float, df: float) -> float:
    """The q-quantile of χ² with df degrees of freedom, 0 < q < 1 (as scipy.stats.chi2.ppf)."""
    return float(2 * _special().gammaincinv(df / 2, q))


def norm_sf(x: float) -> float:
    """P(Z > x) for a standard normal (as scipy.stats.norm.sf)."""
    return float(_special().ndtr(-x))


@dataclass(frozen=True)
class Estimate:
    """An effect, its standard error and degrees of freedom (arrays over trials).

    ``se`` is 0 where the sample has no spread: the comparison is then exact (issue 7, item 2:
    zero spread on both sides is decided by comparing values, not by a 0/0 interval).
    """

    value: Array
    se: Array
    df: Array
    n: int


def _sd(x: Array) -> Array:
    if x.shape[-1] < 2:  # no spread can be estimated from one value
        return np.full(x.shape[:-1], np.nan)
    return np.asarray(np.std(x, axis=-1, ddof=1), dtype=np.float64)


def one_sample(x: npt.ArrayLike, ratio: float = 0.0) -> Estimate:
    """The mean of ``x`` with Student's standard error s/√n (Student 1908), df = n − 1.

    ``ratio`` = n_test/n_train > 0 declares overlapping resamples: the variance of the mean of
    J correlated resample statistics is (1/J + n_test/n_train)·s², the corrected resampled t
    of Nadeau & Bengio (2003, Machine Learning 52:239–281, eq. for the "corrected resampled
    t-test"); with repeated k-fold the ratio is 1/(k − 1) (Bouckaert & Frank 2004, PAKDD).
    """
    values = np.asarray(x, dtype=np.float64)
    n = values.shape[-1]
    se = _sd(values) * math.sqrt(1 / n + ratio)
    df = np.full(se.shape, n - 1.0)
    return Estimate(np.mean(values, axis=-1), se, df, n)


def paired(h: npt.ArrayLike, b: npt.ArrayLike, scale: Any = 1.0, ratio: float = 0.0) -> Estimate:
    """Paired t on d_i = h_i − scale·b_i over matched keys (Student 1908; any statistics
    text, e.g. Wasserman, *All of Statistics*, §10.1). ``scale`` ≠ 1 tests a relative margin
    per pair; ``ratio`` applies the Nadeau–Bengio correction (see ``one_sample``)."""
    h_arr, b_arr = np.asarray(h, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale_arr = np.asarray(scale, dtype=np.float64)[..., None]
    return one_sample(h_arr - scale_arr * b_arr, ratio)


def welch(h: npt.ArrayLike, b: npt.ArrayLike, scale: Any = 1.0) -> Estimate:
    """Welch's unequal-variance t for mean(h) − scale·mean(b) (Welch 1947, Biometrika 34:28),
    with Welch–Satterthwaite degrees of freedom (Satterthwaite 1946). The baseline's variance
    is scaled by scale² when a relative margin multiplies it."""
    h_arr, b_arr = np.asarray(h, dtype=np.float64), np.asarray(b, dtype=np.float64)
    summary_b = (np.mean(b_arr, axis=-1), _sd(b_arr), b_arr.shape[-1])
    return welch_summary(h_arr, *summary_b, scale=scale)


def welch_summary(h: npt.ArrayLike, mean_b: Any, sd_b: Any, n_b: int, scale: Any = 1.0) -> Estimate:
    """Welch's t with the baseline known only by its summary statistics (mean, sd, n), as a
    paper reports them: the same statistic and Welch–Satterthwaite df as ``welch`` (what
    scipy.stats.ttest_ind_from_stats computes with equal_var=False)."""
    h_arr = np.asarray(h, dtype=np.float64)
    scale_arr = np.asarray(scale, dtype=np.float64)
    n_h = h_arr.shape[-1]
    v_h = _sd(h_arr) ** 2 / n_h
    v_b = scale_arr**2 * np.asarray(sd_b, dtype=np.float64) ** 2 / n_b
    total = v_h + v_b
    with np.errstate(divide="ignore", invalid="ignore"):
        df = total**2 / (v_h**2 / (n_h - 1) + v_b**2 / (n_b - 1))
    # No spread on either side: the comparison is exact and df is never used.
    df = np.where(total > 0, df, float(n_h + n_b - 2))
    value = np.mean(h_arr, axis=-1) - scale_arr * np.asarray(mean_b, dtype=np.float64)
    return Estimate(value, np.sqrt(total), np.asarray(df, dtype=np.float64), n_h)


TRIM = 0.2  # Yuen's trimming proportion: 20% from each end (Wilcox 2012, §4.4)


def trimmed(x: npt.ArrayLike, proportion: float = TRIM) -> Estimate:
    """Yuen's trimmed-mean t for one sample (Yuen 1974, Biometrika 61:165–170; Wilcox 2012,
    *Introduction to Robust Estimation and Hypothesis Testing*, 3rd ed., §4.4): the mean after
    cutting g = ⌊proportion·n⌋ values from each end, with standard error
    s_w/((1 − 2·proportion)·√n) from the winsorized sd s_w, on h − 1 df (h = n − 2g kept).
    The mean is scipy.stats.trim_mean's; at n < 5 nothing is cut and it is Student's t."""
    values = np.sort(np.asarray(x, dtype=np.float64), axis=-1)
    n = values.shape[-1]
    g = math.floor(proportion * n)
    kept = n - 2 * g
    mean = np.mean(values[..., g : n - g], axis=-1)
    winsorized = np.clip(values, values[..., g : g + 1], values[..., n - g - 1 : n - g])
    se = _sd(winsorized) * math.sqrt((n - 1) / (kept * (kept - 1))) if kept > 1 else _sd(values)
    return Estimate(mean, np.asarray(se), np.full(np.shape(mean), kept - 1.0), n)


# Above this many values the sign-flip p-value is taken over this many random sign vectors
# (fixed seed, so a verdict is reproducible) instead of all 2^n of them.
_EXACT_FLIPS = 14
_RANDOM_FLIPS = 1 << 14


def sign_flip_p(x: npt.ArrayLike, limit: Any, above: Any) -> tuple[Array, Array]:
    """Exact one-sided sign-flip (randomisation) p-values of (x − limit), success and failure
    (Fisher 1935, *The Design of Experiments* §21; Good 2005, *Permutation, Parametric and
    Bootstrap Tests*, §3.6): under H0 the differences are symmetric about the limit, so each
    of the 2^n sign patterns is equally likely. The smallest p-value is 2^-n: at n ≤ 5 it
    cannot reach 2.5%. It tests the centre of symmetry, which is the mean only for symmetric
    data. Beyond 14 values, 2^14 random patterns (fixed seed; p = (1 + k)/(1 + B))."""
    centred = np.asarray(x, dtype=np.float64) - np.asarray(limit, dtype=np.float64)[..., None]
    n = centred.shape[-1]
    if n <= _EXACT_FLIPS:
        grid = np.array(np.meshgrid(*[[1.0, -1.0]] * n, indexing="ij")).reshape(n, -1).T
    else:
        rng = np.random.default_rng(20261207)
        grid = np.vstack([np.ones(n), rng.choice([1.0, -1.0], size=(_RANDOM_FLIPS, n))])
    observed = centred.sum(axis=-1)
    flipped = centred @ grid.T  # every sign pattern's sum, identity first
    scale = np.maximum(np.abs(centred).sum(axis=-1), 1e-300)[..., None]
    tol = 1e-9 * scale  # ties (equal sums in floats) count as at least as extreme
    high = np.mean(flipped >= observed[..., None] - tol, axis=-1)
    low = np.mean(flipped <= observed[..., None] + tol, axis=-1)
    sign = np.asarray(above)
    success = np.where(sign, high, low)
    failure = np.where(sign, low, high)
    nan = np.isnan(observed)
    return np.where(nan, 1.0, success), np.where(nan, 0.0, failure)


def nadeau_bengio_ratio(test_fraction: float) -> float:
    """n_test/n_train for repeated random train/test splits (Nadeau & Bengio 2003)."""
    return test_fraction / (1 - test_fraction)


def bouckaert_frank_ratio(folds: int) -> float:
    """n_test/n_train = 1/(k − 1) for r-times-repeated k-fold CV (Bouckaert & Frank 2004)."""
    return 1 / (folds - 1)


def _standardised(estimate: Estimate, limit: Any) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((estimate.value - limit) / estimate.se, dtype=np.float64)


def success_p(estimate: Estimate, limit: Any, above: Any, strict: Any = False) -> Array:
    """One-sided p-value of H0 "the effect is on the bad side of ``limit``" (Student's t).

    ``above``: the good side is above the limit. Where se = 0 the p-value is 0 or 1 by exact
    comparison; ``strict`` then decides whether a tie is good (it never matters otherwise).
    NaN estimates (a diverged run) are never a success.
    """
    sign = np.where(above, 1.0, -1.0)
    z = sign * _standardised(estimate, limit)
    p = t_sf(z, estimate.df)
    gap = sign * (estimate.value - limit)
    exact = np.where((gap > 0) | ((gap == 0) & ~np.asarray(strict)), 0.0, 1.0)
    return np.asarray(np.where(estimate.se > 0, np.nan_to_num(p, nan=1.0), exact))


def failure_p(estimate: Estimate, limit: Any, above: Any, strict: Any = False) -> Array:
    """One-sided p-value of H0 "the effect is on the good side of ``limit``": small when the
    evidence shows it is on the bad side. NaN estimates fail (p = 0)."""
    sign = np.where(above, 1.0, -1.0)
    z = sign * _standardised(estimate, limit)
    p = t_cdf(z, estimate.df)
    gap = sign * (estimate.value - limit)
    exact = np.where((gap < 0) | ((gap == 0) & np.asarray(strict)), 0.0, 1.0)
    exact = np.where(np.isnan(estimate.value), 0.0, exact)
    return np.asarray(np.where(estimate.se > 0, np.nan_to_num(p, nan=0.0), exact))


@lru_cache(maxsize=4096)
def _t_quantile(q: float, df: float) -> float:
    # The judge asks for the same few quantiles over and over (one df per sample size).
    return float(t_ppf(q, df))


def _quantile(alpha: Any, df: Array) -> Any:
    if np.ndim(alpha) == 0 and np.ndim(df) == 0:
        return _t_quantile(1 - float(alpha), float(df))
    return t_ppf(1 - np.asarray(alpha), df)


def half_width(estimate: Estimate, alpha: Any) -> Array:
    """t(1 − alpha, df)·se, the half-width of the two-sided (1 − 2·alpha) interval: ≥ 0 (0 where
    the sample has no spread), to be laid around whichever mean is displayed."""
    return np.asarray(np.maximum(_quantile(alpha, estimate.df) * estimate.se, 0.0))


def lower_bound(estimate: Estimate, alpha: Any) -> Array:
    """The one-sided (1 − alpha) lower confidence bound of the effect (Student's t)."""
    return np.asarray(estimate.value - _quantile(alpha, estimate.df) * estimate.se)


def upper_bound(estimate: Estimate, alpha: Any) -> Array:
    """The one-sided (1 − alpha) upper confidence bound of the effect (Student's t)."""
    return np.asarray(estimate.value + _quantile(alpha, estimate.df) * estimate.se)


def holm(p: npt.ArrayLike, alpha: float = ALPHA) -> npt.NDArray[np.bool_]:
    """Holm's step-down procedure (Holm 1979, Scand. J. Statist. 6:65–70) along the last axis.

    The j-th smallest of m p-values is rejected when it and every smaller one satisfy
    p_(i) ≤ alpha/(m − i + 1); the family-wise error rate stays ≤ alpha.
    """
    return holm_levels(p, alpha)[0]


def holm_levels(p: npt.ArrayLike, alpha: float = ALPHA) -> tuple[npt.NDArray[np.bool_], Array]:
    """Holm's rejections and the level each p-value was held against: alpha/(m − rank) for
    the rejected ones, the level where the procedure stopped for the rest."""
    values = np.asarray(p, dtype=np.float64)
    m = values.shape[-1]
    if m == 0:
        return np.zeros(values.shape, dtype=bool), np.zeros(values.shape)
    order = np.argsort(values, axis=-1, kind="stable")
    ranked = np.take_along_axis(values, order, axis=-1)
    steps = alpha / (m - np.arange(m))
    passed = np.cumprod(ranked <= steps, axis=-1).astype(bool)
    stop = passed.sum(axis=-1, keepdims=True)  # index of the first non-rejection
    stop_level = alpha / (m - np.minimum(stop, m - 1))
    levels_sorted = np.where(passed, steps, stop_level)
    rejected = np.empty_like(passed)
    levels = np.empty_like(levels_sorted)
    np.put_along_axis(rejected, order, passed, axis=-1)
    np.put_along_axis(levels, order, levels_sorted, axis=-1)
    return rejected, levels


def power(effect: float, sd: float, n: Any, alpha: float, ratio: float = 0.0) -> Array:
    """Power of the one-sided one-sample (or paired) t-test at level ``alpha`` with n runs
    when the true effect beyond the limit is ``effect`` and the spread is ``sd``: the
    noncentral t (scipy.stats.nct), as Colas, Sigaud & Oudeyer (2018, "How many random
    seeds?", arXiv:1806.08295) recommend for choosing the number of seeds."""
    runs = np.asarray(n, dtype=np.float64)
    noncentrality = effect / (sd * np.sqrt(1 / runs + ratio))
    critical = t_ppf(1 - alpha, runs - 1)
    return np.asarray(nct_sf(critical, runs - 1, noncentrality))


def _welch_power(effect: float, sd_h: float, sd_b: float, n: Any, alpha: float) -> Array:
    """Power of the one-sided Welch test with n runs on each side (Welch–Satterthwaite df)."""
    runs = np.asarray(n, dtype=np.float64)
    total = sd_h**2 + sd_b**2
    df = total**2 * (runs - 1) / (sd_h**4 + sd_b**4)
    noncentrality = effect / np.sqrt(total / runs)
    return np.asarray(nct_sf(t_ppf(1 - alpha, df), df, noncentrality))


def runs_needed(
    effect: float, sd: float, alpha: float, *, ratio: float = 0.0, sd_b: float | None = None
) -> int | None:
    """The smallest n with power ≥ ``POWER`` (paired/one-sample, or Welch with n per side
    when ``sd_b`` is given); None when no n up to 100,000 suffices (a Nadeau–Bengio
    interval cannot shrink below √(n_test/n_train)·s)."""
    if effect <= 0 or sd < 0 or not math.isfinite(effect / max(sd, 1e-300)):
        return None
    if sd == 0 and (sd_b is None or sd_b == 0):
        return 2

    def powers(n: Any) -> Array:
        if sd_b is None:
            return power(effect, sd, n, alpha, ratio)
        return _welch_power(effect, sd, sd_b, n, alpha)

    # The normal-theory answer (Colas et al. 2018, eq. 4): 1/n = (effect/(z·s))² − ratio; the
    # t-test needs a few runs more. One vectorised pass over the n just above it.
    z = _normal_quantile(1 - alpha) + _normal_quantile(POWER)
    spread = sd if sd_b is None else math.hypot(sd, sd_b)
    room = (effect / (z * spread)) ** 2 - ratio
    start = 2 if room <= 0 else max(2, math.floor(min(1 / room, _MAX_RUNS)) - 2)
    grid = np.arange(start, min(start + 48, _MAX_RUNS) + 1)
    enough = np.nonzero(powers(grid) >= POWER)[0]
    if enough.size and (enough[0] > 0 or start == 2):
        return int(grid[enough[0]])
    if powers(_MAX_RUNS) < POWER:
        return None
    low, high = 1, _MAX_RUNS
    while high - low > 1:  # power grows with n: bisect between a failing and a passing n
        middle = (low + high) // 2
        low, high = (low, middle) if powers(middle) >= POWER else (middle, high)
    return high


# The one-sided confidence of the sd's upper limit runs_needed plans with. A pilot's sd is
# noisy (from 3 runs its df is 2): planning with it as if known gave 62–65% achieved power
# (issue 17). Planning with an upper confidence limit is Browne's (1995, Stat. Med.
# 14:1933–1940) remedy; 65% is the level at which, from pilots of 3 and 5 runs and true
# effects of 1 and 0.5 sd, mean achieved power is ≥ 79% with mean n ≤ 2.2× the n a known sd
# would need (benchmarks/bench_calibration_judge.py, "runs_needed from a pilot").
SD_CONFIDENCE = 0.65


def sd_upper(sd: float, n: int, confidence: float = SD_CONFIDENCE) -> float:
    """The one-sided upper confidence limit of σ from a sample sd on n − 1 df:
    s·√((n − 1)/χ²_{1−confidence, n−1}) (the χ² pivot for a normal variance)."""
    if n < 2 or not math.isfinite(sd):
        return sd
    return float(sd * math.sqrt((n - 1) / chi2_ppf(1 - confidence, n - 1)))


def joint_runs_needed(
    plans: list[tuple[float, float, float | None, float]], alpha: float, floor: int = 2
) -> int | None:
    """The smallest n ≥ ``floor`` at which EVERY check passes with probability ≥ ``POWER``
    together: success is an intersection of checks (Berger 1982), so the powers multiply
    (taken as independent: correlated checks need no more). ``plans``: per check (effect, sd,
    sd_b, ratio) as ``runs_needed`` takes them. None when no n up to 100,000 suffices."""
    single = [runs_needed(e, s, alpha, ratio=r, sd_b=b) for e, s, b, r in plans]
    if not plans or any(n is None for n in single):
        return None
    start = max([floor, *[n for n in single if n is not None]])

    def joint(n: Any) -> Array:
        total = np.ones(np.shape(n))
        for effect, sd, sd_b, ratio in plans:
            if sd == 0 and not sd_b:
                continue
            if sd_b is None:
                total = total * power(effect, sd, n, alpha, ratio)
            else:
                total = total * _welch_power(effect, sd, sd_b, n, alpha)
        return total

    grid = np.arange(start, min(start + 64, _MAX_RUNS) + 1)
    enough = np.nonzero(joint(grid) >= POWER)[0]
    if enough.size:
        return int(grid[enough[0]])
    if joint(np.asarray(_MAX_RUNS)) < POWER:
        return None
    low, high = int(grid[-1]), _MAX_RUNS
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if joint(np.asarray(middle)) >= POWER else (middle, high)
    return high


def _normal_quantile(q: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


def clip(low: float, high: float, bounds: tuple[float, float] | None) -> tuple[float, float]:
    """An interval cut to a metric's declared range: no interval leaves the bounds."""
    if bounds is None:
        return low, high
    return min(max(low, bounds[0]), bounds[1]), max(min(high, bounds[1]), bounds[0])
