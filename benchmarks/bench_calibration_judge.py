"""Calibration of the public judge on the paths of issue 15, one ``mlplan.judge`` call per trial.

``bench_calibration.py`` decides its draws with ``mlplan._judge.stats`` and re-implements the
decision step, so it calibrates the statistics. This script builds a ``mlplan.Plan`` and
``mlplan.Result`` values in code and asks the public ``mlplan.judge`` for the verdict of every
trial, so it calibrates what a user gets: the choice of test, the pairing and pooling of slots,
``min_runs``, the grain of a metric with ``step``, and the combination of checks.

Error rows put the truth exactly on the threshold: a verdict "succeeded" is a false success, a
verdict "failed" a false failure, each one-sided at α = 0.025 (Student 1908 for every t here;
with one check per hypothesis Holm 1979 adjusts nothing). A row passes when both rates are
≤ α + 3 Monte Carlo standard errors, √(α(1 − α)/trials). Power rows put the truth beyond the
threshold and pass when the success rate is ≥ the normal-theory power (noncentral t) − 3 se.

    .venv/bin/python benchmarks/bench_calibration_judge.py [--trials 10000] [--seed 15]
    .venv/bin/python benchmarks/bench_calibration_judge.py --designs [--trials 2000] [--ci]

``--designs`` measures the planned n of issue 17 instead: a user who reads the status after
every completed pair (n = min_runs … 20) and stops at the first final verdict, under each
design, with the truth on the threshold (error rows) and 0.5, 1 and 1.5 sd beyond it (power
and expected n). One judge call per trial replays the whole path, since a sequential verdict
carries the n at which it was decided; a plan with no planned n is judged at every n (the
contrast row, the peeking the issue measured at 11.8%). ``--ci`` keeps the error rows only
(about 12 s of CPU at 500 trials); ``--no-contrast`` leaves out the contrast rows, which judge
every prefix.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

import mlplan

ALPHA = 0.025  # each side of a 95% interval: the level the judge holds success and failure to
START = dt.date(2024, 1, 1)
JUDGED_ON = dt.date(2024, 1, 5)  # inside the 10-day timebox: no verdict is "overdue"
LOGGED = dt.datetime(2024, 1, 2, 12, 0, tzinfo=dt.UTC)
_ids = itertools.count()

Draw = Callable[[np.random.Generator], list[mlplan.Result]]


# ---------------------------------------------------------------------------- plans and results


def hypothesis(criterion: dict[str, Any]) -> dict[str, Any]:
    """H1 with one success criterion: one check, so the verdict is that check's."""
    return {
        "id": "H1",
        "statement": "H1 helps",
        "method": "try it",
        "metrics": [criterion["metric"]],
        "baselines": ["B1"],
        "success_criteria": [criterion],
        "timebox": {"days": 10, "start": START.isoformat()},
        "on_success": {"description": "go on", "then": "ship"},
        "on_failure": {"description": "stop", "then": "stop"},
    }


def document(
    criterion: dict[str, Any], metric: dict[str, Any], baseline: dict[str, Any], **design: Any
) -> dict[str, Any]:
    """A whole plan as the YAML file would hold it, with one hypothesis and one baseline."""
    return {
        "schema_version": 1,
        "id": "calibration",
        "title": "Calibration",
        "problem": {"statement": "p", "audience": "a", "why_now": "n"},
        "goals": {"software": ["m"], "metrics": [{"statement": "better"}]},
        "metrics": [{"description": "a metric", **metric}],
        "experiment": {
            "data_motivation": "worth it",
            **design,
            "baselines": [{"id": "B1", "description": "baseline", **baseline}],
            "hypotheses": [hypothesis(criterion)],
        },
        "software_design": {"crawl": "c", "walk": "w", "run": "r"},
        "considerations": {
            "launch_criteria": ["x"],
            "what_could_go_wrong": {
                "products_affected": "n",
                "customer_impact": "n",
                "monitoring": "n",
                "rollback": "n",
            },
            "security": "n",
            "privacy": "n",
        },
    }


def plan_of(
    criterion: dict[str, Any],
    metric: dict[str, Any] | None = None,
    baseline: dict[str, Any] | None = None,
    **design: Any,
) -> mlplan.Plan:
    metric = metric or {"key": "score", "direction": "higher"}
    return mlplan.Plan.model_validate(document(criterion, metric, baseline or {}, **design))


def result(
    subject: str, value: float, key: str = "score", reported: bool = False, **params: Any
) -> mlplan.Result:
    """One logged run (or a paper's figure when ``reported``); params as strings, as logged."""
    return mlplan.Result(
        run_id=f"r{next(_ids)}",
        kind="baseline" if subject.startswith("B") else "hypothesis",
        subject=subject,
        metrics={key: float(value)},
        logged_at=LOGGED,
        reported=reported,
        source="a paper" if reported else "",
        params={k: str(v) for k, v in params.items()},
    )


def h1(plan: mlplan.Plan, results: list[mlplan.Result]) -> mlplan.Verdict:
    (verdict,) = mlplan.judge(plan, results, JUDGED_ON)
    return verdict


# ---------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell:
    """One row: a plan, a way to draw one trial's results, and what the row is held to.

    ``power`` is None for error rows (truth on the threshold); for power rows it is the
    normal-theory success probability the simulated rate is compared with."""

    name: str
    n: int
    plan: mlplan.Plan
    draw: Draw
    power: float | None = None
    contrast: bool = False  # shown for comparison, not a judge path (never fails the run)
    success_only: bool = False  # an error row held to its false-success rate only


@dataclass
class Tally:
    """What a row's trials came to: verdicts, the test the check ran and the n it saw, the
    checks' notes, and how many trials logged two or more runs of H1 with equal values."""

    trials: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    tests: Counter[str] = field(default_factory=Counter)
    ns: Counter[int] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    ties: int = 0

    def rate(self, status: str) -> float:
        return self.statuses[status] / self.trials


def measure(cell: Cell, rng: np.random.Generator, trials: int) -> Tally:
    tally = Tally(trials)
    for _ in range(trials):
        results = cell.draw(rng)
        verdict = h1(cell.plan, results)
        (check,) = verdict.checks
        tally.statuses[verdict.status] += 1
        tally.tests[check.test or "(no test)"] += 1
        tally.ns[check.n] += 1
        if check.note:
            tally.notes[_generic(check.note)] += 1
        values = [v for r in results if r.subject == "H1" for v in r.metrics.values()]
        tally.ties += len(set(values)) < len(values)
    return tally


def _generic(note: str) -> str:
    """A note with run ids and numbers blanked, so that notes of one kind count together."""
    return re.sub(r"\b(?:r\d+|-?\d[\d.e+-]*)", "#", note)


# (a) "We beat the paper's number": a measured H1 against B1's reported figure. The figure is
# the true baseline mean here, so the one-sample t against it is exact (Student 1908); in
# reality the figure carries its own noise, which the judge ignores and says so (issue 15).
MARGIN = 0.5  # "better by 0.5": in units of the runs' standard deviation (1)


def reported_constant(n: int) -> Cell:
    plan = plan_of({"metric": "score", "better_than": "B1", "by": MARGIN})
    figure = 10.0

    def draw(rng: np.random.Generator) -> list[mlplan.Result]:
        runs = rng.normal(figure + MARGIN, 1.0, n)
        return [result("B1", figure, reported=True)] + [
            result("H1", v, seed=i) for i, v in enumerate(runs)
        ]

    return Cell("(a) measured H1 vs a reported figure (the true mean)", n, plan, draw)


# (b) Conditions pooled per seed. A seed fixes the split and the initialisation, so every slot
# of a seed shares u (both lams, both sides: it cancels in the differences) and w (the split
# favours H1 by w at both lams: the two differences of a seed are correlated, and treating
# the 2n slots as independent pairs would be anti-conservative). Averaging each seed's
# differences over lam makes them iid normal over seeds, so the t over seeds is exact
# (issue 15, item 4).
POOLED_MARGIN = 0.01


def pooled_conditions(n: int) -> Cell:
    plan = plan_of(
        {"metric": "score", "better_than": "B1", "by": POOLED_MARGIN},
        pair_by="seed",
        conditions=["lam"],
    )
    lam_shift = {1: 0.0, 7: -0.08}  # lam moves both sides alike

    def draw(rng: np.random.Generator) -> list[mlplan.Result]:
        u, w = rng.normal(0, 0.05, n), rng.normal(0, 0.02, n)
        noise = rng.normal(0, 0.02, (n, 2, 2))  # seed, lam, side
        runs = []
        for s, (j, lam) in itertools.product(range(n), enumerate(lam_shift)):
            level = 0.7 + lam_shift[lam] + u[s]
            runs.append(result("B1", level + noise[s, j, 0], seed=s, lam=lam))
            runs.append(
                result("H1", level + POOLED_MARGIN + w[s] + noise[s, j, 1], seed=s, lam=lam)
            )
        return runs

    return Cell("(b) pair_by seed, conditions lam ∈ {1, 7}, pooled", n, plan, draw)


# (c) Accuracy on 100 examples (values on a 0.01 grid, declared with step) against an exact
# baseline (a fixed rule on the same test set), true difference exactly the margin +0.01.
# Runs whose spread is not above the step decide nothing; 0.81 − 0.80 is no longer read as
# 0.010000000000000009 > 0.01 (issue 15, item 5). At p = 0.98 ties and near-ties are common.


def quantised(n: int, baseline: float) -> Cell:
    plan = plan_of(
        {"metric": "acc", "better_than": "B1", "by": 0.01},
        metric={"key": "acc", "direction": "higher", "bounds": [0, 1], "step": 0.01},
        baseline={"exact": True},
    )
    p = round(baseline + 0.01, 2)

    def draw(rng: np.random.Generator) -> list[mlplan.Result]:
        correct = rng.binomial(100, p, n)
        return [result("B1", baseline, key="acc")] + [
            result("H1", k / 100, key="acc", seed=i) for i, k in enumerate(correct)
        ]

    name = f"(c) accuracy on 100 examples, step 0.01, p = {p:.2f} vs exact {baseline:.2f}"
    return Cell(name, n, plan, draw, success_only=True)


# (d) Identical values are separate results: five runs without params, logged to 3 decimals
# (step 0.001) with sd 0.005, so two or more runs share a value in ~40% of trials. Collapsing
# equal values cut the power from 37% to 0.3% (issue 15). The normal-theory figure is the
# noncentral t with Sheppard's (1898) rounding variance step²/12 added to the spread.
THRESHOLD, SPREAD, STEP = 0.9, 0.005, 0.001


def identical_values(n: int, excess_sd: float) -> Cell:
    plan = plan_of(
        {"metric": "acc", "at_least": THRESHOLD},
        metric={"key": "acc", "direction": "higher", "bounds": [0, 1], "step": STEP},
    )
    sd = math.hypot(SPREAD, STEP / math.sqrt(12))

    def draw(rng: np.random.Generator) -> list[mlplan.Result]:
        values = np.round(rng.normal(THRESHOLD + excess_sd * SPREAD, SPREAD, n) / STEP) * STEP
        return [result("B1", 0.5, key="acc")] + [result("H1", v, key="acc") for v in values]

    expected = power_of(excess_sd * SPREAD / sd, n)
    return Cell(f"(d) {n} runs, no params, 3 decimals, +{excess_sd} sd", n, plan, draw, expected)


# (e) The plain paired t: seeds move both sides by sd 3, the differences have sd 1, and the
# true excess is 1 sd beyond the margin.


def paired_power(n: int) -> Cell:
    plan = plan_of({"metric": "score", "better_than": "B1", "by": MARGIN}, pair_by="seed")

    def draw(rng: np.random.Generator) -> list[mlplan.Result]:
        b = rng.normal(20, 3, n)
        h = b + MARGIN + 1.0 + rng.normal(0, 1, n)
        return [result("B1", v, seed=i) for i, v in enumerate(b)] + [
            result("H1", v, seed=i) for i, v in enumerate(h)
        ]

    return Cell("(e) paired t, +1 sd beyond the margin", n, plan, draw, power_of(1.0, n))


# (f) Pairing declared, the baseline's runs lack the key: inconclusive by design, with a
# message naming the runs and the fix (issue 15, item 4), however large the effect.


def missing_key(n: int) -> Cell:
    plan = plan_of({"metric": "score", "better_than": "B1", "by": MARGIN}, pair_by="seed")

    def draw(rng: np.random.Generator) -> list[mlplan.Result]:
        b = rng.normal(20, 1, n)
        h = rng.normal(20 + MARGIN + 3.0, 1, n)
        return [result("B1", v) for v in b] + [result("H1", v, seed=i) for i, v in enumerate(h)]

    return Cell("(f) pair_by seed, baseline runs without seed, +3 sd", n, plan, draw, 0.0)


# (g) resampling without pair_by against a measured baseline: validate refuses the plan (the
# Welch path has no Nadeau–Bengio correction: 18.5% false successes, issue 15). The contrast
# row shows what the judge does when handed such a plan without validation: overlapping
# 70/30 splits correlate each side's runs by the test fraction (Nadeau & Bengio 2003).
RESAMPLING = {"test_fraction": 0.3}


def resampling_plan_document() -> dict[str, Any]:
    return document(
        {"metric": "score", "better_than": "B1", "by": MARGIN},
        {"key": "score", "direction": "higher"},
        {},
        resampling=RESAMPLING,
    )


def refused_by_validate() -> str:
    """validate's error for resampling without pair_by, or "" when it accepts the plan. JSON is
    YAML, so the document is written as JSON and read back by the public ``validate_file``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.yaml"
        path.write_text(json.dumps(resampling_plan_document()), encoding="utf-8")
        report = mlplan.validate_file(path)
    errors = [p.message for p in report.problems if p.severity == "error"]
    return next((m for m in errors if "resampl" in m), "")


def unvalidated_resampling(n: int) -> Cell:
    plan = mlplan.Plan.model_validate(resampling_plan_document())
    fraction = RESAMPLING["test_fraction"]

    def side(rng: np.random.Generator, mean: float) -> npt.NDArray[np.float64]:
        shared = rng.normal(0, math.sqrt(fraction))
        return mean + shared + rng.normal(0, math.sqrt(1 - fraction), n)

    def draw(rng: np.random.Generator) -> list[mlplan.Result]:
        b, h = side(rng, 20.0), side(rng, 20.0 + MARGIN)
        return [result("B1", v, split=i) for i, v in enumerate(b)] + [
            result("H1", v, split=i) for i, v in enumerate(h)
        ]

    name = "(g) resampling without pair_by, judged without validation"
    return Cell(name, n, plan, draw, contrast=True)


def power_of(effect_sd: float, n: int) -> float:
    """One-sided t at α with n runs (or pairs) and a true excess of ``effect_sd`` sd: the
    noncentral t with df = n − 1 and noncentrality effect·√n (Student 1908)."""
    critical = stats.t.ppf(1 - ALPHA, n - 1)
    return float(stats.nct.sf(critical, n - 1, effect_sd * math.sqrt(n)))


def cells() -> Iterator[Cell]:
    for n in (3, 5, 10):
        yield reported_constant(n)
    for n in (5, 10):
        yield pooled_conditions(n)
    yield quantised(3, 0.80)
    yield quantised(3, 0.97)
    yield identical_values(5, 1.0)
    yield paired_power(10)
    yield missing_key(5)
    yield unvalidated_resampling(10)


# ---------------------------------------------------------------------------- designs (issue 17)

LOOKS = 20  # the most pairs a path logs: looks at every n from min_runs (3) to 20
T0 = dt.datetime(2024, 1, 2, 9, 0, tzinfo=dt.UTC)
DESIGNS: dict[str, dict[str, Any]] = {
    "no planned n, status after every pair": {},
    "runs: 20 (fixed horizon)": {"runs": LOOKS},
    "sequential {max_runs: 20} (Pocock)": {"sequential": {"max_runs": LOOKS}},
    "sequential {max_runs: 20, boundary: obrien_fleming}": {
        "sequential": {"max_runs": LOOKS, "boundary": "obrien_fleming"}
    },
    "sequential {max_runs: null} (anytime-valid)": {"sequential": {"max_runs": None}},
}


def timed(subject: str, value: float, seed: int, minute: int) -> mlplan.Result:
    return mlplan.Result(
        run_id=f"r{next(_ids)}",
        kind="baseline" if subject.startswith("B") else "hypothesis",
        subject=subject,
        metrics={"score": float(value)},
        logged_at=T0 + dt.timedelta(minutes=minute),
        params={"seed": str(seed)},
    )


def path_of(rng: np.random.Generator, effect_sd: float) -> list[mlplan.Result]:
    """20 seeds, the baseline then H1 for each: a pair completes when its H1 run is logged.
    Seeds move both sides by sd 3; the differences have sd 1 and mean ``effect_sd``."""
    b = rng.normal(20, 3, LOOKS)
    h = b + effect_sd + rng.normal(0, 1, LOOKS)
    return [
        run
        for i in range(LOOKS)
        for run in (timed("B1", b[i], i, 2 * i), timed("H1", h[i], i, 2 * i + 1))
    ]


@dataclass
class Stops:
    """Where a design's trials stopped: the verdict, and the n at which it was reached."""

    trials: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    n_sum: int = 0

    def rate(self, status: str) -> float:
        return self.statuses[status] / self.trials


def stop_of(plan: mlplan.Plan, results: list[mlplan.Result], peek: bool) -> tuple[str, int]:
    """The verdict a user acts on and the n at which they stop. With ``peek`` (no planned n)
    the status is read after every pair from min_runs on, the first final one taken."""
    if peek:
        for n in range(3, LOOKS + 1):
            verdict = h1(plan, results[: 2 * n])
            if verdict.final:
                return verdict.status, n
        return verdict.status, LOOKS
    verdict = h1(plan, results)
    if verdict.final:
        return verdict.status, verdict.decided_at or verdict.checks[0].n
    return verdict.status, LOOKS


def measure_design(name: str, effect_sd: float, rng: np.random.Generator, trials: int) -> Stops:
    plan = plan_of({"metric": "score", "better_than": "B1"}, pair_by="seed", **DESIGNS[name])
    stops = Stops(trials)
    for _ in range(trials):
        status, n = stop_of(plan, path_of(rng, effect_sd), peek=not DESIGNS[name])
        stops.statuses[status] += 1
        stops.n_sum += n
    return stops


DESIGN_HEADER = (
    "| design | truth (sd beyond) | succeeded | failed | mean n at stop | pass when | ok |\n"
    "| --- | --- | --- | --- | --- | --- | --- |"
)


def design_row(name: str, effect_sd: float, stops: Stops) -> tuple[str, bool]:
    """Error rows (truth on the threshold) pass at ≤ α + 3 se on both sides, but the contrast
    row (no planned n), which is exploratory and shown for what peeking costs."""
    contrast = not DESIGNS[name]
    if effect_sd == 0:
        limit = ALPHA + 3 * se(ALPHA, stops.trials)
        held = max(stops.rate("succeeded"), stops.rate("failed")) <= limit
        criterion = f"both ≤ {limit:.2%}"
    else:
        held, criterion = True, "(power)"
    shown = "yes" if held else ("no (exploratory)" if contrast else "**no**")
    columns = (
        name,
        f"{effect_sd:g}",
        f"{stops.rate('succeeded'):.2%}",
        f"{stops.rate('failed'):.2%}",
        f"{stops.n_sum / stops.trials:.1f}",
        criterion,
        shown,
    )
    return "| " + " | ".join(columns) + " |", held or contrast or effect_sd != 0


def designs_main(trials: int, seed: int, ci: bool, no_contrast: bool = False) -> int:
    print(f"{trials:,} trials per row; looks at every n from 3 to {LOOKS}; α = {ALPHA} per side\n")
    print(DESIGN_HEADER)
    failures = 0
    effects = (0.0,) if ci else (0.0, 0.5, 1.0, 1.5)
    for index, (name, effect) in enumerate(itertools.product(DESIGNS, effects)):
        if (ci or no_contrast) and not DESIGNS[name]:
            continue  # the contrast row judges every prefix: too slow for CI
        stops = measure_design(name, effect, np.random.default_rng([seed, index]), trials)
        line, held = design_row(name, effect, stops)
        print(line, flush=True)
        failures += not held
    return failures


# ---------------------------------------------------------------------------- the table


def se(p: float, trials: int) -> float:
    """The Monte Carlo standard error of a rate p over ``trials`` independent trials."""
    return math.sqrt(p * (1 - p) / trials)


def criterion_of(cell: Cell, tally: Tally) -> tuple[str, bool]:
    """The row's pass criterion, in words, and whether it held."""
    if cell.power is None:
        limit = ALPHA + 3 * se(ALPHA, tally.trials)
        rates = [tally.rate("succeeded")] + ([] if cell.success_only else [tally.rate("failed")])
        held = max(rates) <= limit
        return f"{'success' if cell.success_only else 'both'} ≤ {limit:.2%}", held
    if cell.power == 0.0:
        return "0 by design, with the message", tally.rate("succeeded") == 0.0
    floor = cell.power - 3 * se(cell.power, tally.trials)
    return f"≥ {floor:.2%} (nct {cell.power:.2%} − 3 se)", tally.rate("succeeded") >= floor


def seen(tally: Tally) -> str:
    """The n the test saw, as a range over the trials: a run lost or collapsed would show."""
    low, high = min(tally.ns), max(tally.ns)
    return str(low) if low == high else f"{low}–{high}"


def row(cell: Cell, tally: Tally) -> tuple[str, bool]:
    criterion, held = criterion_of(cell, tally)
    shown = "yes" if held else ("no (expected)" if cell.contrast else "**no**")
    columns = (
        cell.name,
        f"{cell.n} ({seen(tally)})",
        tally.tests.most_common(1)[0][0],
        f"{tally.rate('succeeded'):.2%}",
        f"{tally.rate('failed'):.2%}",
        f"{tally.rate('inconclusive'):.2%}",
        criterion,
        shown,
    )
    return "| " + " | ".join(columns) + " |", held or cell.contrast


HEADER = (
    "| Row | n (test saw) | test | succeeded | failed | inconclusive | pass when | ok |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- |"
)


def notes_of(cell: Cell, tally: Tally) -> Iterator[str]:
    where = f"- {cell.name}, n = {cell.n}:"
    if tally.ties:
        yield f"{where} {tally.ties / tally.trials:.1%} of trials had H1 runs with equal values"
    for note, count in tally.notes.most_common(2):
        yield f"{where} {count / tally.trials:.1%} of trials noted “{note}”"


def validate_row() -> tuple[str, str]:
    refusal = refused_by_validate()
    columns = ("(g) resampling without pair_by, validated", "–", "–", "–", "–", "–")
    line = "| " + " | ".join((*columns, "refused", "yes" if refusal else "**no**")) + " |"
    return line, refusal


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000, help="trials per row")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--designs", action="store_true", help="the planned-n rows (issue 17)")
    parser.add_argument("--ci", action="store_true", help="with --designs: error rows only")
    parser.add_argument(
        "--no-contrast", action="store_true", help="with --designs: leave out the no-design rows"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if args.designs:
        failures = designs_main(args.trials, args.seed, args.ci, args.no_contrast)
        print(f"\n{failures} rows failed; {time.perf_counter() - started:.0f} s wall")
        raise SystemExit(1 if failures else 0)
    rng = np.random.default_rng(args.seed)
    print(f"{args.trials:,} trials per row, one mlplan.judge call each; α = {ALPHA} per side\n")
    print(HEADER)
    failures, notes = 0, list[str]()
    for cell in cells():
        tally = measure(cell, rng, args.trials)
        line, held = row(cell, tally)
        print(line, flush=True)
        failures += not held
        notes += notes_of(cell, tally)
    line, refusal = validate_row()
    print(line)
    failures += not refusal
    notes.append(f"- (g) validate: “{refusal}”")
    print("\nNotes (the checks' most frequent notes, numbers and run ids as #):\n")
    print("\n".join(notes))
    print(f"\n{failures} rows failed; {time.perf_counter() - started:.0f} s wall")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
