"""Calibration of verdicts: the true value exactly on the threshold, many times over.

Each cell draws ``TRIALS`` experiments at once (numpy, trials along the first axis) and
decides them with the very functions the judge uses (``mlplan._judge.stats``: the paired, Welch and
corrected t, one-sided p-values, Holm), combined the way ``mlplan._judge.verdicts`` combines them:
success needs every check to pass at α (intersection–union), failure is Holm-adjusted across
a hypothesis's failure tests, and along a path each hypothesis is confirmatory only when every
one before it succeeded (fixed sequence). ``tests/test_verdict_statistics.py`` checks through
the public judge that these are the judge's decisions.

A cell passes when false "succeeded" and false "failed" are each ≤ α + 2·√(α(1 − α)/trials).
The power row draws a true excess of one standard deviation of the paired differences with 10
pairs and must succeed ≥ 80% of the time.

    python benchmarks/bench_calibration.py            # prints the Markdown table
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mlplan._judge import stats as _stats

Array = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
ALPHA = _stats.ALPHA
MARGIN = 0.5  # absolute margins, in units of the differences' standard deviation
DELTA = 0.05  # relative margins: "better by 5%"


@dataclass(frozen=True)
class Outcome:
    """Per trial: did the hypothesis (or path) falsely succeed, falsely fail?"""

    succeeded: Bools
    failed: Bools


def _decide(p_success: Array, p_failure: Array) -> Outcome:
    """One hypothesis from its checks' p-values, shaped (trials, checks)."""
    succeeded = np.all(p_success <= ALPHA, axis=-1)
    failed = np.any(_stats.holm(p_failure, ALPHA), axis=-1)
    return Outcome(succeeded & ~failed, failed)


def _ps(estimate: _stats.Estimate, limit: float, above: bool = True) -> tuple[Array, Array]:
    return (
        _stats.success_p(estimate, limit, above),
        _stats.failure_p(estimate, limit, above),
    )


def _single(p: tuple[Array, Array]) -> Outcome:
    return _decide(p[0][:, None], p[1][:, None])


# ---------------------------------------------------------------------------- cells


def paired_absolute(rng: np.random.Generator, n: int, trials: int) -> Outcome:
    # Seeds shift both sides together (sd 3); the differences have sd 1 and mean = margin.
    seed = rng.normal(20, 3, (trials, n))
    b = seed + rng.normal(0, 0.5, (trials, n))
    h = b + MARGIN + rng.normal(0, 1, (trials, n))
    return _single(_ps(_stats.paired(h, b), MARGIN))


def paired_relative(rng: np.random.Generator, n: int, trials: int) -> Outcome:
    # h − 1.05·b has mean 0: exactly "better by 5%" on average, per pair.
    b = rng.normal(10, 2, (trials, n))
    h = (1 + DELTA) * b + rng.normal(0, 0.5, (trials, n))
    return _single(_ps(_stats.paired(h, b, 1 + DELTA), 0.0))


def unpaired_absolute(rng: np.random.Generator, n: int, trials: int) -> Outcome:
    b = rng.normal(0, 1.5, (trials, n))
    h = rng.normal(MARGIN, 1, (trials, n))
    return _single(_ps(_stats.welch(h, b), MARGIN))


def unpaired_relative(rng: np.random.Generator, n: int, trials: int) -> Outcome:
    # The baseline's uncertainty counts: Welch with its variance scaled by 1.05².
    b = rng.normal(10, 2, (trials, n))
    h = rng.normal((1 + DELTA) * 10, 1, (trials, n))
    return _single(_ps(_stats.welch(h, b, 1 + DELTA), 0.0))


def nadeau_bengio(rng: np.random.Generator, n: int, trials: int) -> Outcome:
    # n overlapping 70/30 splits: per-split differences correlate by the test fraction 0.3
    # (Nadeau & Bengio 2003), drawn as a shared component plus independent noise.
    fraction = 0.3
    shared = rng.normal(0, math.sqrt(fraction), (trials, 1))
    d = MARGIN + shared + rng.normal(0, math.sqrt(1 - fraction), (trials, n))
    ratio = _stats.nadeau_bengio_ratio(fraction)
    return _single(_ps(_stats.one_sample(d, ratio), MARGIN))


def naive_on_overlap(rng: np.random.Generator, n: int, trials: int) -> Outcome:
    """The same splits with the naive t: shows why the correction is needed."""
    fraction = 0.3
    shared = rng.normal(0, math.sqrt(fraction), (trials, 1))
    d = MARGIN + shared + rng.normal(0, math.sqrt(1 - fraction), (trials, n))
    return _single(_ps(_stats.one_sample(d), MARGIN))


def _checks_at_limits(rng: np.random.Generator, n: int, trials: int, guards: int) -> Outcome:
    """A criterion on its threshold plus ``guards`` guardrails each exactly at its allowed
    drop (non-inferiority, paired)."""
    p_s, p_f = [], []
    s, f = _ps(_stats.one_sample(rng.normal(MARGIN, 1, (trials, n))), MARGIN)
    p_s.append(s)
    p_f.append(f)
    for _ in range(guards):
        drop = rng.normal(-MARGIN, 1, (trials, n))  # h − b exactly at −max_drop
        s, f = _ps(_stats.one_sample(drop), -MARGIN)
        p_s.append(s)
        p_f.append(f)
    return _decide(np.stack(p_s, axis=-1), np.stack(p_f, axis=-1))


def guardrails(count: int) -> Callable[[np.random.Generator, int, int], Outcome]:
    def cell(rng: np.random.Generator, n: int, trials: int) -> Outcome:
        return _checks_at_limits(rng, n, trials, count)

    return cell


def eight_criteria(rng: np.random.Generator, n: int, trials: int) -> Outcome:
    d = rng.normal(MARGIN, 1, (trials, 8, n))
    s, f = _ps(_stats.one_sample(d), MARGIN)
    return _decide(s, f)


def path(length: int) -> Callable[[np.random.Generator, int, int], Outcome]:
    """A chain H1 → H2 → … along on_success, every hypothesis on its threshold. A false
    success (failure) of the path is one of a *confirmatory* hypothesis: one reached through
    successes only (fixed sequence)."""

    def cell(rng: np.random.Generator, n: int, trials: int) -> Outcome:
        d = rng.normal(MARGIN, 1, (trials, length, n))
        s, f = _ps(_stats.one_sample(d), MARGIN)
        each = _decide(s[..., None], f[..., None])
        before = np.cumprod(each.succeeded, axis=-1).astype(bool)
        confirmatory = np.concatenate([np.ones((trials, 1), bool), before[:, :-1]], axis=-1)
        return Outcome(
            np.any(each.succeeded & confirmatory, axis=-1),
            np.any(each.failed & confirmatory, axis=-1),
        )

    return cell


def path_per_hypothesis(length: int) -> Callable[[np.random.Generator, int, int], Outcome]:
    """The same chain, counted per hypothesis (each judged at full α on its own runs)."""

    def cell(rng: np.random.Generator, n: int, trials: int) -> Outcome:
        d = rng.normal(MARGIN, 1, (trials * length, n))
        return _single(_ps(_stats.one_sample(d), MARGIN))

    return cell


def power(rng: np.random.Generator, n: int, trials: int) -> Outcome:
    """A true excess of 1 sd of the paired differences beyond the threshold."""
    b = rng.normal(20, 3, (trials, n))
    h = b + MARGIN + 1.0 + rng.normal(0, 1, (trials, n))
    return _single(_ps(_stats.paired(h, b), MARGIN))


# ---------------------------------------------------------------------------- table


def cells() -> list[tuple[str, int, Callable[[np.random.Generator, int, int], Outcome]]]:
    rows: list[tuple[str, int, Callable[[np.random.Generator, int, int], Outcome]]] = []
    for n in (3, 5, 10, 30):
        rows += [
            ("paired t, absolute margin", n, paired_absolute),
            ("paired t, relative margin (h − 1.05·b)", n, paired_relative),
            ("Welch t, absolute margin", n, unpaired_absolute),
            ("Welch t, relative margin (scaled baseline variance)", n, unpaired_relative),
        ]
    rows += [
        ("Nadeau–Bengio corrected t, 10 splits of 70/30", 10, nadeau_bengio),
        ("(naive t on the same overlapping splits)", 10, naive_on_overlap),
    ]
    for count in (0, 1, 12):
        rows.append((f"criterion + {count} guardrails, Holm on failures", 10, guardrails(count)))
    rows.append(("8 criteria, intersection–union + Holm", 10, eight_criteria))
    for length in (1, 5, 20):
        rows.append((f"path of {length}: confirmatory, per path", 10, path(length)))
        rows.append((f"path of {length}: per hypothesis", 10, path_per_hypothesis(length)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    trials = args.trials
    tolerance = 2 * math.sqrt(ALPHA * (1 - ALPHA) / trials)
    limit = ALPHA + tolerance
    started = time.perf_counter()
    print(f"{trials:,} trials per cell; α = {ALPHA}; pass when ≤ {limit:.4f} (α + 2·MC se)\n")
    print("| Cell | n | false succeeded | false failed | within |")
    print("| --- | --- | --- | --- | --- |")
    failures = 0
    for name, n, cell in cells():
        outcome = cell(rng, n, trials)
        false_s, false_f = float(outcome.succeeded.mean()), float(outcome.failed.mean())
        ok = false_s <= limit and false_f <= limit
        shown = "yes" if ok else ("no (expected)" if name.startswith("(") else "**no**")
        failures += not ok and not name.startswith("(")
        print(f"| {name} | {n} | {false_s:.2%} | {false_f:.2%} | {shown} |")
    outcome = power(rng, 10, trials)
    rate = float(outcome.succeeded.mean())
    exact = float(_stats.power(1.0, 1.0, 10, ALPHA))
    power_ok = rate >= 0.8 - 2 * math.sqrt(0.8 * 0.2 / trials)
    print(
        f"\nPower, true excess = 1 sd of the paired differences, 10 pairs: {rate:.1%} simulated, "
        f"{exact:.1%} from the noncentral t (≥ 80%: {'yes' if power_ok else 'no'})"
    )
    # Each of the 2 × 27 rates above is at α in truth for most cells, so about 2.3% of them
    # land past α + 2 MC se by chance alone.
    print(
        f"\n{failures} of {len(cells())} cells past the tolerance; "
        f"{time.perf_counter() - started:.1f} s"
    )
    if failures > 3 or not power_ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
