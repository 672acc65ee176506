"""Boundaries for looking at a check after every completed run (pair), on scipy.

Two designs let a check be judged at every look without inflating its error:

- **group-sequential** (``sequential: {max_runs: N}``): a look at every n from ``min_runs`` to
  N. Under a Gaussian null the path of one-sample t statistics t_m, …, t_N is pivotal (its law
  depends on neither the mean nor the sd), so the boundary is tabulated once by simulating that
  path (Jennison & Turnbull 2000, *Group Sequential Methods*, §§2–3 for the shapes and §9 for
  repeated confidence intervals; ch. 11 for the t). Each look's t is turned into a normal
  score z_n = Φ⁻¹(1 − p_n), p_n its fixed-n one-sided p-value; the Pocock shape holds every
  z_n to one constant c, O'Brien–Fleming holds z_n·√(n/N) to c. The *repeated p-value* of a
  path so far is P₀(M ≥ w), M the maximum of the shaped statistic over the whole design and w
  the largest seen: rejecting when it is ≤ α is exactly crossing the boundary of level α, at
  any α, so Holm and the fixed sequence compare it with their own levels and get the boundary
  at each level (sequential Holm, Bartroff & Lai 2010, Sequential Analysis 29:196–216).
- **anytime-valid** (``sequential: {max_runs: null}``): the mixture likelihood ratio of the
  t statistic under a N(0, g) prior on the standardised effect δ = μ/σ and the right-Haar prior
  on σ (Lindon, Ham, Tingley & Bojinov 2022, arXiv 2210.08589, §3; Pérez-Ortiz et al. 2022 for
  the group-invariance argument). It is a nonnegative martingale under the null, so by Ville's
  inequality P₀(sup_n BF_n ≥ 1/α) ≤ α however often one looks and whenever one stops:
  1/BF_n is an anytime-valid p-value. Its cost: with g = 1, BF_n ≤ (1 + n)^((n−1)/2), which is
  below 1/0.025 = 40 for n ≤ 5: nothing can be decided before the sixth run.

scipy is imported inside the functions (scipy.special only, through ``stats``, on the paths a
verdict takes): ``validate`` must not pay for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlplan._judge import stats as _stats

__all__ = [
    "PRIOR_SCALE",
    "SIMULATED_PATHS",
    "Boundary",
    "Operating",
    "Shape",
    "anytime_p",
    "bayes_factor",
    "confidence_sequence_t",
    "group_boundary",
    "operating",
    "repeated_p",
]

Shape = Literal["pocock", "obrien_fleming"]
Array = npt.NDArray[np.float64]
# The prior variance g of δ = μ/σ under the alternative (Lindon et al. 2022): 1 puts most of
# its weight on effects of a fraction of an sd to two sd, the range ML improvements live in.
PRIOR_SCALE = 1.0
# 2¹⁹ simulated null paths: the boundary's own crossing probability is then within about
# ±0.0002 (one sd) of 0.025, a 1% relative error (2¹⁷ was seen 0.1% high). About 1 s of CPU
# for looks at 3…20, once per design and process.
SIMULATED_PATHS = 1 << 19
_CHUNK = 1 << 14


@dataclass(frozen=True)
class Boundary:
    """A group-sequential design's null law, as the sorted simulated maxima of its shaped
    statistic (``maxima``), for looks at n = ``first`` … ``last``."""

    first: int
    last: int
    shape: Shape
    maxima: Array

    def weight(self, n: int) -> float:
        """The shape: z_n is multiplied by it before it is compared with one constant."""
        return 1.0 if self.shape == "pocock" else math.sqrt(n / self.last)

    def p_value(self, z: float, n: int) -> float:
        """P₀(M ≥ w), w = z·weight(n): the repeated p-value of one look (Monte Carlo, with the
        +1 that keeps it valid, Davison & Hinkley 1997 §4.2)."""
        if math.isnan(z):
            return 1.0
        w = z * self.weight(n)
        above = self.maxima.size - int(np.searchsorted(self.maxima, w, side="left"))
        return (above + 1) / (self.maxima.size + 1)

    def critical(self, alpha: float) -> float:
        """The constant c the shaped statistic is held to at level ``alpha``: the smallest
        w whose repeated p-value is ≤ alpha."""
        size = self.maxima.size
        allowed = math.floor(alpha * (size + 1)) - 1  # maxima that may lie at or above w
        if allowed < 0:
            return math.inf
        return float(self.maxima[size - 1 - allowed]) if allowed < size else -math.inf

    def nominal(self, alpha: float, n: int) -> float:
        """The one-sided fixed-n level a look at n is held to (Pocock: the same at every n)."""
        return _stats.norm_sf(self.critical(alpha) / self.weight(n))


def group_boundary(first: int, last: int, shape: Shape = "pocock") -> Boundary:
    """The tabulated boundary for looks at every n from ``first`` (≥ 2) to ``last``."""
    return _boundary(int(first), int(last), shape)


@lru_cache(maxsize=64)
def _boundary(first: int, last: int, shape: Shape) -> Boundary:
    # Deterministic: the same design always gets the same table (and the same verdicts).
    rng = np.random.default_rng([20001, first, last, 0 if shape == "pocock" else 1])
    draws = [_chunk_maxima(rng, first, last, shape) for _ in range(SIMULATED_PATHS // _CHUNK)]
    return Boundary(first, last, shape, np.sort(np.concatenate(draws)))


def _chunk_maxima(rng: np.random.Generator, first: int, last: int, shape: Shape) -> Array:
    """The maximum over the looks of the shaped z of one chunk of null paths."""
    x = rng.standard_normal((_CHUNK, last))
    n = np.arange(1, last + 1, dtype=np.float64)
    total, squares = np.cumsum(x, axis=1), np.cumsum(x * x, axis=1)
    mean = total / n
    best = np.full(_CHUNK, -np.inf)
    for look in range(first, last + 1):
        i = look - 1
        variance = (squares[:, i] - look * mean[:, i] ** 2) / (look - 1)
        t = mean[:, i] / np.sqrt(variance / look)
        weight = 1.0 if shape == "pocock" else math.sqrt(look / last)
        best = np.maximum(best, _z_of_t(look)(t) * weight)
    return best


_GRID = np.sinh(np.linspace(-math.asinh(1e6), math.asinh(1e6), 8001))


@lru_cache(maxsize=256)
def _z_table(n: int) -> Array:
    from scipy import special

    return np.asarray(-special.ndtri(special.stdtr(n - 1, -_GRID)), dtype=np.float64)


def _z_of_t(n: int) -> Any:
    """z = Φ⁻¹(1 − P(T_{n−1} ≥ t)) for many t at once, interpolated on a fine grid in
    asinh(t) (the map is smooth and monotone; the grid's error is far below the simulation's)."""
    table = _z_table(n)
    return lambda t: np.interp(t, _GRID, table)


def t_to_z(t: float, n: int) -> float:
    """The normal score of a one-sided t p-value: Φ⁻¹(1 − P(T_{n−1} ≥ t))."""
    from scipy import special

    return float(-special.ndtri(special.stdtr(n - 1, -t)))


def repeated_p(boundary: Boundary, t: float, n: int) -> float:
    """The group-sequential repeated p-value of one look with statistic t at n."""
    return boundary.p_value(t_to_z(t, n), n)


def t_critical(boundary: Boundary, alpha: float, n: int) -> float:
    """The t a look at n must reach: the repeated confidence interval is estimate ± it·se
    (Jennison & Turnbull 2000, §9.1)."""
    level = boundary.nominal(alpha, n)
    return math.inf if level <= 0 else float(_stats.t_isf(level, n - 1))


# ---------------------------------------------------------------------------- anytime-valid


def bayes_factor(t: Any, n: int, g: float = PRIOR_SCALE) -> Array:
    """The mixture likelihood ratio of the one-sample t at n (Lindon et al. 2022, eq. for the
    t-test with a N(0, g) prior on δ and the right-Haar prior on σ; also Rouder et al. 2009):
    BF = (1 + n·g)^(−1/2) · [(1 + t²/ν) / (1 + t²/(ν(1 + n·g)))]^(n/2), ν = n − 1."""
    nu, r = n - 1.0, 1.0 + n * g
    x = np.asarray(t, dtype=np.float64) ** 2 / nu
    log = -0.5 * math.log(r) + 0.5 * n * (np.log1p(x) - np.log1p(x / r))
    return np.asarray(np.exp(log), dtype=np.float64)


def anytime_p(t: float, n: int, g: float = PRIOR_SCALE) -> float:
    """1/BF, capped at 1: an anytime-valid p-value (Ville's inequality). Two-sided: a check
    takes it only when the estimate is on its side, which keeps each side at ≤ α."""
    if math.isnan(t):
        return 1.0
    return float(min(1.0, 1.0 / float(bayes_factor(t, n, g))))


def confidence_sequence_t(alpha: float, n: int, g: float = PRIOR_SCALE) -> float:
    """The |t| at which BF_n = 1/alpha: the confidence sequence at n is estimate ± it·se (the
    means the test would not reject, Lindon et al. 2022 §3.3); inf when no t is enough.

    Solving BF = K for x = t²/ν: with r = 1 + n·g and A = (K·√r)^(2/n),
    (1 + x) = A·(1 + x/r), so x = (A − 1)/(1 − A/r), which needs A < r."""
    r = 1.0 + n * g
    big_a = math.exp((2.0 / n) * (math.log(1.0 / alpha) + 0.5 * math.log(r)))
    if big_a >= r:
        return math.inf
    x = (big_a - 1.0) / (1.0 - big_a / r)
    return math.sqrt(x * (n - 1.0))


# ---------------------------------------------------------------------------- planning

# Paths simulated per check to plan a design: power within about ±0.003 (one sd) and the
# expected n within a few hundredths of a run, in tens of milliseconds.
PLANNING_PATHS = 1 << 14
# The anytime-valid t has no last look: its n for 80% power is searched up to this many runs.
ANYTIME_HORIZON = 1024
_ANYTIME_PATHS = 1 << 12


@dataclass(frozen=True)
class Operating:
    """What a sequential design delivers at an expected effect: ``runs`` the most runs
    (pairs) it takes (max_runs, or for the anytime-valid t without one the n by which 80% of
    paths have succeeded), ``power`` P(success by then), ``expected_n`` E[the n at which the
    verdict is reached, or ``runs``]."""

    runs: int
    power: float
    expected_n: float


def operating(
    first: int,
    last: int | None,
    kind: str,
    alpha: float,
    deltas: tuple[float, ...],
    *,
    target: float = 0.8,
) -> Operating | None:
    """The design's operating characteristics when every check's true standardised effect
    beyond its limit is ``deltas`` (effect/sd), by simulating the t paths (their law depends
    on δ alone; Jennison & Turnbull 2000, §4.2 and ch. 11 compute power and expected sample
    size the same way). Success needs every check across its boundary and a crossing stays
    (issue 17), so the hypothesis succeeds at the largest of the checks' crossing n; the
    checks are simulated independently (correlated checks need no more runs). Stopping for
    failure is ignored, so ``expected_n`` is an upper bound (failure is rare when the
    expected effect is true). None for the anytime-valid t when no n up to
    ``ANYTIME_HORIZON`` reaches ``target``. Cached like the boundaries: δ is rounded to 3
    significant digits, far below a pilot's sd error."""
    rounded = tuple(float(f"{d:.3g}") for d in deltas)
    return _operating(int(first), last, kind, float(f"{alpha:.6g}"), rounded, target=target)


@lru_cache(maxsize=256)
def _operating(
    first: int,
    last: int | None,
    kind: str,
    alpha: float,
    deltas: tuple[float, ...],
    *,
    target: float,
) -> Operating | None:
    if kind == "anytime":
        return _anytime_operating(first, last, alpha, deltas, target)
    assert last is not None
    shape: Shape = "pocock" if kind == "pocock" else "obrien_fleming"
    boundary = group_boundary(first, last, shape)
    critical = boundary.critical(alpha)
    rng = np.random.default_rng([20002, first, last, len(deltas)])
    stop = np.full(PLANNING_PATHS, first, dtype=np.float64)
    for delta in deltas:
        t = _t_paths(rng, PLANNING_PATHS, last, delta)
        crossed = np.zeros(t.shape, dtype=bool)
        for look in range(first, last + 1):
            z = _z_of_t(look)(t[:, look - 1])
            crossed[:, look - 1] = z * boundary.weight(look) >= critical
        stop = np.maximum(stop, _first_crossing(crossed))
    return _summary(stop, last)


def _anytime_operating(
    first: int, cap: int | None, alpha: float, deltas: tuple[float, ...], target: float
) -> Operating | None:
    if cap is not None:
        return _summary(_anytime_stops(first, cap, alpha, deltas), cap)
    horizon = 64  # most designs reach 80% well before; search further only when needed
    while True:
        stop = _anytime_stops(first, horizon, alpha, deltas)
        reached = np.mean(stop[:, None] <= np.arange(1, horizon + 1)[None, :], axis=0)
        enough = np.nonzero(reached >= target)[0]
        if enough.size:
            return _summary(stop, int(enough[0]) + 1)
        if horizon >= ANYTIME_HORIZON:
            return None
        horizon *= 4


def _anytime_stops(first: int, horizon: int, alpha: float, deltas: tuple[float, ...]) -> Array:
    """Each simulated path's success n under the anytime-valid t (inf: not by ``horizon``)."""
    rng = np.random.default_rng([20003, first, len(deltas)])
    stop = np.full(_ANYTIME_PATHS, max(first, 2), dtype=np.float64)
    for delta in deltas:
        t = _t_paths(rng, _ANYTIME_PATHS, horizon, delta)
        crossed = np.zeros(t.shape, dtype=bool)
        for look in range(max(first, 2), horizon + 1):
            column = t[:, look - 1]
            crossed[:, look - 1] = (column > 0) & (bayes_factor(column, look) >= 1.0 / alpha)
        stop = np.maximum(stop, _first_crossing(crossed))
    return stop


def _t_paths(rng: np.random.Generator, paths: int, last: int, delta: float) -> Array:
    """One-sample t statistics at n = 1 … last of paths of N(δ, 1) (column n − 1; the
    first is nan)."""
    x = rng.standard_normal((paths, last)) + delta
    n = np.arange(1, last + 1, dtype=np.float64)
    total, squares = np.cumsum(x, axis=1), np.cumsum(x * x, axis=1)
    mean = total / n
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = (squares - n * mean**2) / (n - 1)
        return np.asarray(mean / np.sqrt(variance / n), dtype=np.float64)


def _first_crossing(crossed: npt.NDArray[np.bool_]) -> Array:
    """The n of each path's first crossing; inf when it never crosses."""
    any_cross = crossed.any(axis=1)
    first = np.argmax(crossed, axis=1).astype(np.float64) + 1
    return np.where(any_cross, first, np.inf)


def _summary(stop: Array, runs: int) -> Operating:
    return Operating(
        runs=runs,
        power=float(np.mean(stop <= runs)),
        expected_n=float(np.mean(np.minimum(stop, runs))),
    )
