"""Planned n and sequential looks (issue 17, items 1 and 2), through the public judge.

The boundaries are checked against independent computations: the mixture likelihood ratio
against numerical integration over its prior (scipy.integrate.quad of noncentral t densities),
the group-sequential boundary against crossing probabilities simulated afresh with
scipy.stats.ttest_1samp, never against the formula retyped.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import cli, edited
from scipy import integrate, stats
from test_verdict_statistics import JUDGED_ON, hyp, plan_of

import mlplan
from mlplan._judge import sequential as seq
from mlplan._judge.fingerprint import criteria_fingerprint
from mlplan._plan.rules import find_problems

T0 = dt.datetime(2024, 1, 2, 9, 0, tzinfo=dt.UTC)
_ids = itertools.count()
BETTER = [{"metric": "acc", "better_than": "B1"}]


def result(subject: str, value: float, seed: int, minute: int, **params: Any) -> mlplan.Result:
    """A result logged ``minute`` minutes after T0: the order in which pairs complete."""
    return mlplan.Result(
        run_id=f"s{next(_ids)}",
        kind="baseline" if subject.startswith("B") else "hypothesis",
        subject=subject,
        metrics={"acc": value},
        logged_at=T0 + dt.timedelta(minutes=minute),
        params={"seed": str(seed), **{k: str(v) for k, v in params.items()}},
    )


def paired_path(differences: list[float], start: int = 0) -> list[mlplan.Result]:
    """Baseline and hypothesis runs per seed, the pair completing when the hypothesis logs."""
    found = []
    for i, d in enumerate(differences, start=start):
        base = 0.5 + 0.01 * ((i * 7) % 5)
        found += [result("B1", base, i, 2 * i), result("H1", base + d, i, 2 * i + 1)]
    return found


def judged(plan: mlplan.Plan, results: list[mlplan.Result]) -> mlplan.Verdict:
    return next(v for v in mlplan.judge(plan, results, JUDGED_ON) if v.hypothesis == "H1")


def sequential_plan(max_runs: int | None, **design: Any) -> mlplan.Plan:
    return plan_of(
        hyp(criteria=BETTER), pair_by="seed", sequential={"max_runs": max_runs}, **design
    )


# ---------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(("t", "n"), [(0.5, 3), (2.0, 4), (3.5, 8), (-2.5, 12), (5.0, 20)])
def test_the_mixture_ratio_is_the_integral_over_its_prior(t: float, n: int) -> None:
    # The t statistic's likelihood under δ = μ/σ is the noncentral t with ncp δ√n; averaged
    # over the N(0, g) prior and divided by the central t's density it is the mixture ratio.
    g = seq.PRIOR_SCALE

    def integrand(delta: float) -> float:
        return float(stats.nct.pdf(t, n - 1, delta * math.sqrt(n)) * stats.norm.pdf(delta, 0, 1))

    # Over ±8 prior sd (the prior's mass beyond is 1e-15, far below the tolerance): scipy 1.11's
    # nct.pdf is NaN at the extreme ncp an infinite range reaches.
    numerator, _ = integrate.quad(integrand, -8.0, 8.0, points=[0.0])
    expected = numerator / stats.t.pdf(t, n - 1)
    assert float(seq.bayes_factor(t, n, g)) == pytest.approx(expected, rel=1e-6)


def test_the_confidence_sequence_is_where_the_ratio_reaches_one_over_alpha() -> None:
    for n in range(6, 30):
        width = seq.confidence_sequence_t(0.025, n)
        assert float(seq.bayes_factor(width, n)) == pytest.approx(40.0, rel=1e-9)
    # The stated cost: at one-sided 2.5% and prior scale 1 nothing is decided at n ≤ 5.
    assert all(seq.confidence_sequence_t(0.025, n) == math.inf for n in range(2, 6))
    assert seq.anytime_p(1e6, 5) > 0.025 >= seq.anytime_p(1e6, 6)


def _crossing(first: int, last: int, shape: seq.Shape, trials: int, effect: float = 0.0) -> float:
    """P(a look crosses the success boundary), simulated afresh with ttest_1samp."""
    boundary = seq.group_boundary(first, last, shape)
    critical = boundary.critical(0.025)
    x = np.random.default_rng(7).standard_normal((trials, last)) + effect
    crossed = np.zeros(trials, dtype=bool)
    for n in range(first, last + 1):
        p = stats.ttest_1samp(x[:, :n], 0.0, axis=1, alternative="greater").pvalue
        crossed |= stats.norm.isf(p) * boundary.weight(n) >= critical
    return float(crossed.mean())


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["pocock", "obrien_fleming"])
def test_the_group_boundary_crosses_with_probability_alpha_under_the_null(shape: Any) -> None:
    trials = 40_000
    found = _crossing(3, 12, shape, trials)
    sd = math.sqrt(0.025 * 0.975 / trials)
    assert abs(found - 0.025) < 4 * sd + 0.0008  # + the table's own Monte Carlo error


@pytest.mark.slow
def test_the_pocock_level_per_look_matches_the_issue_simulation() -> None:
    # Issue 17: max 20 looks from 3, constant level 0.38% per look.
    assert seq.group_boundary(3, 20).nominal(0.025, 10) == pytest.approx(0.0038, abs=0.0003)
    fleming = seq.group_boundary(3, 20, "obrien_fleming")
    assert fleming.nominal(0.025, 3) < 1e-4
    assert 0.015 < fleming.nominal(0.025, 20) < 0.025


def test_looking_less_often_never_crosses_more() -> None:
    boundary = seq.group_boundary(3, 12)
    t_values = [1.0, 2.0, 4.5, 3.0]
    every = min(seq.repeated_p(boundary, t, n) for t, n in zip(t_values, [3, 4, 5, 6], strict=True))
    some = min(seq.repeated_p(boundary, t, n) for t, n in [(1.0, 3), (3.0, 6)])
    assert every <= some


# ---------------------------------------------------------------------------- the judge


def test_no_planned_n_is_judged_but_exploratory() -> None:
    plan = plan_of(hyp(criteria=BETTER), pair_by="seed")
    found = judged(plan, paired_path([0.2, 0.21, 0.22, 0.2]))
    assert found.status == "succeeded" and not found.confirmatory
    assert found.explanation.endswith("exploratory (no planned n)")
    planned = judged(plan_of(hyp(criteria=BETTER), pair_by="seed", runs=4), paired_path([0.2] * 4))
    assert planned.design == "fixed horizon, runs: 4"
    assert planned.explanation.endswith("; fixed horizon, runs: 4; confirmatory")


def test_a_fixed_horizon_is_running_with_a_provisional_interval() -> None:
    plan = plan_of(hyp(criteria=BETTER), pair_by="seed", pair_values=list(range(6)), runs=5)
    found = judged(plan, paired_path([0.2, 0.21, 0.22]))
    assert (found.status, found.reason) == (
        "running",
        "running (3 of 5): the horizon decides at runs: 5",
    )
    (check,) = found.checks
    assert check.outcome == "unclear" and check.interval == "provisional 95% CI at n = 3"
    assert check.low is not None and check.low > 0  # shown, but it decides nothing yet
    done = judged(plan, paired_path([0.2, 0.21, 0.22, 0.2, 0.19]))
    assert done.status == "succeeded" and done.checks[0].interval == "95% CI at n = 5"


def test_a_declared_slot_with_no_result_blocks_the_verdict() -> None:
    # Seed 2 went badly and was never logged: the later seeds do not decide without it.
    plan = sequential_plan(12, pair_values=list(range(12)))
    results = [
        r
        for r in paired_path([0.3, 0.31, 0.29, 0.3, 0.32, 0.3, 0.28, 0.3])
        if r.params["seed"] != "2" or r.kind != "hypothesis"
    ]
    found = judged(plan, results)
    assert found.status == "running"
    assert found.reason.startswith("waiting for seed=2")
    fixed = plan_of(hyp(criteria=BETTER), pair_by="seed", pair_values=list(range(6)), runs=5)
    gap = [
        r
        for r in paired_path([0.3, 0.31, 0.29, 0.3, 0.32, 0.3])
        if r.params["seed"] != "1" or r.kind != "hypothesis"
    ]
    assert judged(fixed, gap).reason.startswith("waiting for seed=1")


def test_a_sequential_verdict_is_sticky_and_names_its_look() -> None:
    plan = sequential_plan(12)
    strong = paired_path([0.30, 0.31, 0.29, 0.30, 0.32, 0.30])
    found = judged(plan, strong)
    assert found.status == "succeeded" and found.confirmatory
    assert found.decided_at is not None and found.decided_at < 6
    (check,) = found.checks
    assert check.decided_at == found.decided_at and check.n == found.decided_at
    assert check.interval == f"95% repeated CI at n = {found.decided_at}"
    assert f"decided at n = {found.decided_at}" in check.note
    # Later pairs that pull the mean back below the threshold do not undo the verdict.
    undone = judged(plan, [*strong, *paired_path([-0.6, -0.7, -0.65], start=6)])
    assert (undone.status, undone.decided_at) == ("succeeded", found.decided_at)


def test_status_json_carries_the_design_and_the_look_that_decided() -> None:
    import json

    import jsonschema  # type: ignore[import-untyped]
    from helpers import REPO

    from mlplan._report.rows import status_rows

    found = judged(sequential_plan(12), paired_path([0.30, 0.31, 0.29, 0.30, 0.32, 0.30]))
    (row,) = status_rows([found])
    document = {**row.to_dict(), "notes": []}  # the report adds the review's notes
    schema = json.loads((REPO / "docs" / "status.schema.json").read_text("utf-8"))
    jsonschema.validate(document, {"$defs": schema["$defs"], "$ref": "#/$defs/hypothesis"})
    assert document["design"] == found.design and "group-sequential" in document["design"]
    assert document["decided_at"] == found.decided_at is not None
    ((check, decided),) = [(c, c["decided_at"]) for c in document["checks"]]
    assert (check["design"], decided) == ("group", found.decided_at)
    # Without a planned n both are null, and so is the check's design.
    plain = judged(plan_of(hyp(criteria=BETTER), pair_by="seed"), paired_path([0.3, 0.31, 0.29]))
    (row,) = status_rows([plain])
    bare = row.to_dict()
    assert (bare["design"], bare["decided_at"], bare["expected_runs"]) == (None, None, None)
    assert (bare["checks"][0]["design"], bare["checks"][0]["decided_at"]) == (None, None)


def test_looks_follow_the_order_pairs_complete() -> None:
    # The same six pairs; logged so that the good ones complete first, the path decides early;
    # logged bad-first, the early looks see the bad pairs and nothing is decided by n = 3.
    plan = sequential_plan(12)  # one table for the module: computed once
    good, bad = [0.30, 0.31, 0.30, 0.32], [-0.05, 0.0]
    first = judged(plan, paired_path([*good, *bad]))
    later = judged(plan, paired_path([*bad, *good]))
    assert first.decided_at is not None
    assert later.decided_at is None or later.decided_at > first.decided_at


def test_the_repeated_interval_is_wider_than_the_fixed_one() -> None:
    differences = [0.05, 0.2, -0.1, 0.15, 0.0, 0.1]
    fixed = judged(plan_of(hyp(criteria=BETTER), pair_by="seed", runs=6), paired_path(differences))
    group = judged(sequential_plan(12), paired_path(differences))
    anytime = judged(sequential_plan(None), paired_path(differences))
    widths = [c.checks[0].high - c.checks[0].low for c in (fixed, group, anytime)]  # type: ignore[operator]
    assert widths[0] < widths[1] < widths[2]
    # Each is centred on the same estimate at the same n (nothing was decided).
    assert {v.checks[0].n for v in (fixed, group, anytime)} == {6}
    expected = stats.ttest_1samp(differences, 0.0).confidence_interval(0.95)
    assert (fixed.checks[0].low, fixed.checks[0].high) == pytest.approx(tuple(expected))
    assert anytime.checks[0].interval == "95% confidence sequence at n = 6"


def test_the_anytime_valid_t_decides_nothing_before_the_sixth_run() -> None:
    plan = sequential_plan(None)
    huge = [1.0 + 0.001 * i for i in range(5)]
    assert judged(plan, paired_path(huge)).status == "inconclusive"
    assert judged(plan, paired_path([*huge, 1.0])).status == "succeeded"


def test_one_sided_success_needs_the_estimate_on_its_side() -> None:
    # A path far below the limit crosses the boundary, on the failure side: it fails.
    for plan in (sequential_plan(None), sequential_plan(12)):
        found = judged(plan, paired_path([-0.3, -0.31, -0.29, -0.3, -0.32, -0.3, -0.3]))
        assert found.status == "failed"
        assert found.checks[0].outcome == "fail" and found.decided_at is not None


def test_one_sample_relative_and_guardrail_checks_run_sequentially() -> None:
    plan = plan_of(
        hyp(
            criteria=[
                {"metric": "acc", "at_least": 0.5},
                {"metric": "acc", "better_than": "B1", "by": "10%"},
            ],
            guardrails=[{"metrics": "lat", "against": "B1", "max_drop": "5%"}],
        ),
        metrics=[{"key": "acc", "direction": "higher"}, {"key": "lat", "direction": "lower"}],
        pair_by="seed",
        sequential={"max_runs": 12, "boundary": "obrien_fleming"},
    )
    found = []
    for i in range(10):
        base = 0.5 + 0.01 * (i % 3)
        b = result("B1", base, i, 2 * i)
        h = result("H1", base * 1.4 + 0.002 * (i % 2), i, 2 * i + 1)
        found += [
            replace(b, metrics={"acc": base, "lat": 10.0 + i % 2}),
            replace(h, metrics={"acc": h.metrics["acc"], "lat": 9.0 + i % 2}),
        ]
    verdict = judged(plan, found)
    assert verdict.status == "succeeded"
    assert {c.design for c in verdict.checks} == {"group"}
    assert all("O'Brien–Fleming" in c.test for c in verdict.checks)


def test_welch_and_resampled_checks_need_a_fixed_horizon(make_plan: Any, capsys: Any) -> None:
    path = make_plan()
    edited(path, "- {metric: recall, at_least: 0.8}", "- {metric: recall, better_than: B2}")
    edited(
        path,
        "      timebox: {days: 5,",
        "      sequential: {max_runs: 10}\n      timebox: {days: 5,",
    )
    assert cli("validate", path) == 1
    err = capsys.readouterr().err
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if "sequential" in text
    )
    assert f"{path}:{line}:19: error: H2: it compares unpaired runs with B2 (Welch's t)" in err
    assert "runs: N" in err
    resampled = plan_of(hyp(criteria=BETTER), pair_by="seed", runs=5).model_dump(
        mode="json", exclude_unset=True
    )
    resampled["experiment"].pop("runs")
    resampled["experiment"]["sequential"] = {"max_runs": 8}
    resampled["experiment"]["resampling"] = {"test_fraction": 0.2}
    messages = [f.message for f in find_problems(mlplan.Plan.model_validate(resampled))]
    assert messages == [
        "H1: its runs are overlapping resamples (a corrected t), which a sequential design does "
        "not cover"
    ]


def test_one_planned_n_only() -> None:
    both = plan_of(hyp(criteria=BETTER), pair_by="seed", runs=5).model_dump(
        mode="json", exclude_unset=True
    )
    both["experiment"]["sequential"] = {"max_runs": 2}
    messages = [f.message for f in find_problems(mlplan.Plan.model_validate(both))]
    assert messages == [
        "runs and sequential are both set: a hypothesis has one planned n",
        "max_runs: 2 is below min_runs (3): no look could decide",
    ]
    with pytest.raises(ValueError, match="a pocock boundary needs max_runs"):
        mlplan.Plan.model_validate(
            {
                **both,
                "experiment": {
                    **both["experiment"],
                    "sequential": {"max_runs": None, "boundary": "pocock"},
                },
            }
        )


def test_changing_the_design_changes_the_criteria_but_raising_an_anytime_cap_does_not() -> None:
    def stamp(**design: Any) -> str:
        plan = plan_of(hyp(criteria=BETTER), pair_by="seed", **design)
        return criteria_fingerprint(plan, plan.experiment.hypotheses[0])

    group = stamp(sequential={"max_runs": 10})
    assert group != stamp(sequential={"max_runs": 12})
    assert group != stamp(sequential={"max_runs": 10, "boundary": "obrien_fleming"})
    assert group != stamp(runs=10) != stamp()
    capped = stamp(sequential={"max_runs": 10, "boundary": "anytime"})
    assert capped == stamp(sequential={"max_runs": 30, "boundary": "anytime"})
    assert capped == stamp(sequential={"max_runs": None})


def test_a_design_added_after_results_is_exploratory(tmp_path: Path) -> None:
    # Results stamped under no design, judged under a design declared since: exploratory.
    before = plan_of(hyp(criteria=BETTER), pair_by="seed")
    after = plan_of(hyp(criteria=BETTER), pair_by="seed", sequential={"max_runs": 12})
    stamp = criteria_fingerprint(before, before.experiment.hypotheses[0])
    stamped = [
        replace(r, criteria_fingerprint=stamp) for r in paired_path([0.3, 0.31, 0.29, 0.3, 0.32])
    ]
    found = judged(after, stamped)
    assert found.status == "succeeded" and not found.confirmatory
    assert "criteria changed after results" in found.explanation


def test_a_replacement_under_a_sequential_design_is_not_judged() -> None:
    plan = sequential_plan(12)
    path = paired_path([0.3, 0.31, 0.29, 0.3, 0.32, 0.3])
    last = path[-1]
    redone = replace(last, run_id="again", replaces=last.run_id, reason="looked wrong")
    found = judged(plan, [*path[:-1], replace(last, replaced_by="again"), redone])
    assert found.status == "inconclusive"
    assert "replaced run" in found.checks[0].note and "runs: N" in found.checks[0].note
    fixed = plan_of(hyp(criteria=BETTER), pair_by="seed", runs=6)
    assert judged(fixed, [*path[:-1], replace(last, replaced_by="again"), redone]).final


def test_holm_holds_a_sequential_path_to_the_boundary_at_its_own_level() -> None:
    # Sequential Holm (Bartroff & Lai 2010): the repeated p-value is compared with the Holm
    # level, which is the boundary of that level. With H2 far from its threshold, H1's level
    # in the family of two is 0.0125, so it is decided no earlier than alone at 0.025.
    def family(**design: Any) -> mlplan.Plan:
        return plan_of(
            hyp("H1", criteria=BETTER, family="F"),
            hyp("H2", criteria=BETTER, family="F"),
            pair_by="seed",
            multiplicity="holm",
            sequential={"max_runs": 12},
            **design,
        )

    rising = [0.02, 0.1, 0.12, 0.15, 0.11, 0.16, 0.14, 0.13, 0.15, 0.12, 0.14, 0.15]
    h1 = paired_path(rising)
    h2 = [replace(r, subject="H2", run_id=f"{r.run_id}b") for r in h1 if r.subject == "H1"]
    h2 = [replace(r, metrics={"acc": r.metrics["acc"] - 0.3}) for r in h2]
    alone = judged(sequential_plan(12), h1)
    verdicts = {v.hypothesis: v for v in mlplan.judge(family(), [*h1, *h2], JUDGED_ON)}
    together = verdicts["H1"]
    assert alone.status == together.status == "succeeded"
    assert together.checks[0].level == pytest.approx(0.0125)
    assert alone.decided_at is not None and together.decided_at is not None
    assert together.decided_at > alone.decided_at
    assert together.checks[0].p_success <= 0.0125 < alone.checks[0].p_success  # type: ignore[operator]


def test_the_reason_names_the_look_that_decided() -> None:
    found = judged(sequential_plan(12), paired_path([0.30, 0.31, 0.29, 0.30, 0.32, 0.30]))
    assert found.reason.endswith(
        f"(decided at n = {found.decided_at}, by a sequential design; it stays)"
    )


def test_the_stamped_design_goes_back_into_a_plan() -> None:
    # Judging under the original criteria rebuilds the design the results were logged under.
    from mlplan._judge.fingerprint import criteria_text, plan_with_criteria
    from mlplan._judge.settings import settings_for

    original = sequential_plan(10, pair_values=list(range(12)))
    text = criteria_text(original, original.experiment.hypotheses[0])
    for now in (plan_of(hyp(criteria=BETTER), pair_by="seed", runs=8), sequential_plan(None)):
        rebuilt = plan_with_criteria(now, "H1", text)
        assert rebuilt is not None
        found = settings_for(rebuilt, rebuilt.experiment.hypotheses[0])
        assert found.runs is None and found.sequential is not None
        assert (found.sequential.max_runs, found.sequential.kind) == (10, "pocock")


@pytest.mark.slow  # nine results into a real MLflow store, then status and render
def test_a_sequential_plan_through_the_store_and_the_command_line(
    make_plan: Any, capsys: Any
) -> None:
    # End to end: results logged one by one into a real store, each stamped; status --json
    # follows the documented schema and says the look at which the verdict was reached.
    import json

    import jsonschema
    from helpers import REPO

    path = make_plan()
    edited(
        path,
        "      timebox: {days: 5,",
        "      sequential: {max_runs: 12}\n      timebox: {days: 5,",
    )
    for baseline in ("B1", "B2"):
        mlplan.record_result(path, baseline=baseline, metrics={"recall": 0.6}, params={"seed": 0})
    for i in range(7):
        metrics = {"recall": 0.95 + 0.001 * (i % 3), "latency_ms": 20.0 + i % 2}
        mlplan.record_result(path, hypothesis="H2", metrics=metrics, params={"seed": i})
    assert cli("status", path, "--json") == 0
    document = json.loads(capsys.readouterr().out)
    schema = json.loads((REPO / "docs" / "status.schema.json").read_text("utf-8"))
    jsonschema.validate(document, schema)
    (h2,) = [h for h in document["hypotheses"] if h["hypothesis"] == "H2"]
    assert h2["status"] == "succeeded" and "decided at n = " in h2["reason"]
    assert all(c["interval"].startswith("95% repeated CI at n = ") for c in h2["checks"])
    assert h2["design"].startswith("group-sequential") and h2["decided_at"] is not None
    assert all(c["design"] == "group" for c in h2["checks"])
    assert cli("render", path) == 0


@pytest.mark.slow  # a real MLflow store and the command line
def test_a_replacement_under_a_sequential_design_is_refused_before_it_is_logged(
    make_plan: Any, capsys: Any
) -> None:
    # The journal refuses it with one message (the judge refusing to decide on one that got
    # through is the second line of defence); a hypothesis with no design still replaces.
    from mlplan._api import journal_for
    from mlplan.errors import ResultError

    path = make_plan()
    edited(
        path,
        "      timebox: {days: 5,",
        "      sequential: {max_runs: 12}\n      timebox: {days: 5,",
    )
    base = mlplan.record_result(
        path, baseline="B1", metrics={"recall": 0.6}, params={"seed": 0}
    ).run_id
    args = ["log-result", path, "-H", "H2", "-p", "seed=0", "-m", "recall=0.9"]
    assert cli(*args, "-m", "latency_ms=20") == 0
    first = capsys.readouterr().out.split("run ")[1].split()[0]
    again = [*args, "-m", "latency_ms=21", "--replace", first, "--reason", "bad split"]
    assert cli(*again) == 1
    err = capsys.readouterr().err
    assert "group-sequential design" in err and "nothing was logged" in err
    assert "Traceback" not in err and err.count(f"replacing run {first}") == 1
    with pytest.raises(
        ResultError, match=r"\(a baseline of H2\) is judged under a group-sequential"
    ):
        mlplan.record_result(
            path,
            baseline="B1",
            metrics={"recall": 0.61},
            params={"seed": 0},
            replace=base,
            reason="bad split",
        )
    assert sorted(r.run_id for r in journal_for(path).results()) == sorted([base, first])


def test_a_relative_margin_keeps_the_sign_of_its_first_look() -> None:
    # "Better than B1 by 10%" on a metric with no bounds. At the first look B1's mean is
    # about +1, so the claim is h ≥ 1.1·b. Later B1 runs near −5: the looks between, whose
    # baseline interval contains 0, are skipped, and once the interval excludes 0 again the
    # mean is negative. Scaled by the new sign the limit would turn into h ≥ 0.9·b, a
    # different claim; the design keeps 1.1·b (issue 17).
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "better_than": "B1", "by": "10%"}]),
        pair_by="seed",
        sequential={"max_runs": 12},
    )
    b = [1.0, 1.02, 0.98, *(-5.0 + 0.03 * (i % 3 - 1) for i in range(7))]
    h = [1.1 * b[0] + 0.3, 1.1 * b[1] - 0.2, 1.1 * b[2] + 0.05]
    h += [v + 0.01 * (i % 2) for i, v in enumerate(b[3:])]  # h ≈ b: above 1.1·b, below 0.9·b
    results = []
    for i, (base, ours) in enumerate(zip(b, h, strict=True)):
        results += [result("B1", base, i, 2 * i), result("H1", ours, i, 2 * i + 1)]
    (check,) = judged(plan, results).checks
    assert check.n >= 8 and check.reference is not None and check.reference.mean < 0
    assert check.threshold == pytest.approx(1.1 * check.reference.mean)
    assert check.outcome != "fail"
