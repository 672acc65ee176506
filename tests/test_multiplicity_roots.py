"""Several root hypotheses share α by a stated rule (issue 17, item 4): ``primary:`` or
``multiplicity: graph`` (Bretz et al. 2009); validate refuses several confirmatory roots at
full α otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from test_verdict_statistics import JUDGED_ON, hyp, plan_of, seeds

import mlplan
from mlplan._judge.fingerprint import criteria_fingerprint
from mlplan._plan.models import Plan
from mlplan._plan.rules import find_problems


def _plan(*hypotheses: dict[str, Any], **design: Any) -> Plan:
    """A plan that may not validate (plan_of insists that it does)."""
    base = plan_of()
    data = base.model_dump(mode="json", exclude_unset=True)
    data["experiment"].update(design)
    data["experiment"]["hypotheses"] = list(hypotheses)
    return Plan.model_validate(data)


def _messages(plan: Plan) -> list[str]:
    return [finding.message for finding in find_problems(plan)]


def test_two_confirmatory_roots_at_full_alpha_are_refused() -> None:
    found = _messages(_plan(hyp("H1"), hyp("H2")))
    assert found == ["2 confirmatory root hypotheses (H1, H2) would each be tested at full α"]


def test_a_primary_a_graph_or_an_exploratory_second_root_is_a_stated_rule() -> None:
    assert _messages(_plan(hyp("H1"), hyp("H2"), primary="H1")) == []
    assert _messages(_plan(hyp("H1"), hyp("H2", exploratory=True))) == []
    weighted = _plan(hyp("H1", weight=0.5), hyp("H2", weight=0.5), multiplicity="graph")
    assert _messages(weighted) == []
    family = _plan(hyp("H1", family="F"), hyp("H2", family="F"), multiplicity="holm")
    assert _messages(family) == []


def test_graph_weights_are_declared_on_roots_and_sum_to_at_most_one() -> None:
    missing = _plan(hyp("H1", weight=0.5), hyp("H2"), multiplicity="graph")
    assert _messages(missing) == ["H2 is a root under multiplicity: graph but has no weight"]
    over = _plan(hyp("H1", weight=0.7), hyp("H2", weight=0.6), multiplicity="graph")
    assert _messages(over) == ["the roots' weights sum to 1.3, more than 1"]
    child = _plan(hyp("H1", weight=1, success="H2"), hyp("H2", weight=0.5), multiplicity="graph")
    assert _messages(child) == ["H2 is not a confirmatory root: its α comes along on_success edges"]


def test_primary_must_name_a_root() -> None:
    assert _messages(_plan(hyp("H1", success="H2"), hyp("H2"), primary="H2")) == [
        "primary: H2 is reached from another hypothesis: it is no root"
    ]
    assert _messages(_plan(hyp("H1"), primary="H9")) == ["primary: 'H9' is not a hypothesis"]


def _strong() -> list[mlplan.Result]:
    return [*seeds("B1", [0.1]), *seeds("H1", [0.9, 0.91, 0.92]), *seeds("H2", [0.9, 0.91, 0.92])]


def test_under_primary_the_other_roots_are_exploratory() -> None:
    # a planned n (runs: 3): without one every hypothesis is exploratory (issue 17, item 1)
    plan = plan_of(hyp("H1"), hyp("H2"), primary="H1", pair_by="seed", runs=3)
    verdicts = {v.hypothesis: v for v in mlplan.judge(plan, _strong(), JUDGED_ON)}
    assert verdicts["H1"].confirmatory and verdicts["H1"].status == "succeeded"
    assert not verdicts["H2"].confirmatory and verdicts["H2"].status == "succeeded"


def _between(low: float, high: float) -> list[float]:
    """Three values whose one-sample t p-value against 0.5 lies in (low, high]."""
    for spread in np.linspace(0.001, 0.2, 4000):
        values = [0.5 + 0.03 - spread, 0.5 + 0.03, 0.5 + 0.03 + spread * 1.1]
        p = stats.ttest_1samp(values, 0.5, alternative="greater").pvalue
        if low < p <= high:
            return values
    raise AssertionError("no such sample")


def test_graph_roots_face_their_share_and_a_success_passes_it_on() -> None:
    plan = plan_of(
        hyp("H1", weight=0.5, success="H3"),
        hyp("H2", weight=0.5, success="H3"),
        hyp("H3"),
        multiplicity="graph",
        pair_by="seed",
        runs=3,
    )
    borderline = _between(0.0125, 0.025)  # clears α, not α/2
    clear = _between(0.0, 0.006)  # clears α/4 too
    results = [*seeds("B1", [0.1]), *seeds("H1", clear), *seeds("H2", borderline)]
    results += seeds("H3", _between(0.0125 / 2, 0.0125))  # clears α/2 (H1's) but not α/4
    verdicts = {v.hypothesis: v for v in mlplan.judge(plan, results, JUDGED_ON)}
    assert verdicts["H1"].status == "succeeded" and verdicts["H1"].level == 0.0125
    assert verdicts["H2"].status == "inconclusive" and verdicts["H2"].level == 0.0125
    # H1's α/2 went to H3 along on_success; H2's did not (it did not succeed).
    assert verdicts["H3"].level == 0.0125 and verdicts["H3"].confirmatory
    assert verdicts["H3"].status == "succeeded"
    assert "graph: 0.5 of α" in verdicts["H3"].correction


def test_under_graph_a_hypothesis_no_alpha_reaches_is_exploratory() -> None:
    plan = plan_of(
        hyp("H1", weight=1.0, success="H2", failure="H3"),
        hyp("H2"),
        hyp("H3"),
        multiplicity="graph",
    )
    results = [*seeds("B1", [0.1]), *seeds("H1", [0.4, 0.5, 0.45]), *seeds("H3", [0.9, 0.92, 0.91])]
    verdicts = {v.hypothesis: v for v in mlplan.judge(plan, results, JUDGED_ON)}
    assert not verdicts["H3"].confirmatory  # an on_failure child receives no α
    assert "no α reached it" in verdicts["H3"].correction


def test_a_root_added_from_the_reserve_leaves_the_judged_roots_as_they_were() -> None:
    before = plan_of(hyp("H1", weight=0.4), hyp("H2", weight=0.4), multiplicity="graph")
    after = plan_of(
        hyp("H1", weight=0.4),
        hyp("H2", weight=0.4),
        hyp("H5", weight=0.2),  # drawn from the reserve (1 − 0.8)
        multiplicity="graph",
    )
    for hid in ("H1", "H2"):
        assert criteria_fingerprint(before, before.hypothesis(hid)) == criteria_fingerprint(
            after, after.hypothesis(hid)
        )
    results = [*seeds("B1", [0.1]), *seeds("H1", _between(0.0, 0.009))]
    old = {v.hypothesis: v for v in mlplan.judge(before, results, JUDGED_ON)}
    new = {v.hypothesis: v for v in mlplan.judge(after, results, JUDGED_ON)}
    assert (old["H1"].status, old["H1"].level) == (new["H1"].status, new["H1"].level)


def test_changing_a_roots_weight_or_the_primary_after_results_is_a_change_of_criteria() -> None:
    one = plan_of(hyp("H1", weight=0.5), hyp("H2", weight=0.5), multiplicity="graph")
    two = plan_of(hyp("H1", weight=0.6), hyp("H2", weight=0.4), multiplicity="graph")
    assert criteria_fingerprint(one, one.hypothesis("H1")) != criteria_fingerprint(
        two, two.hypothesis("H1")
    )
    first = plan_of(hyp("H1"), hyp("H2"), primary="H1")
    second = plan_of(hyp("H1"), hyp("H2"), primary="H2")
    assert criteria_fingerprint(first, first.hypothesis("H1")) != criteria_fingerprint(
        second, second.hypothesis("H1")
    )


def test_under_graph_the_failure_test_faces_the_share_too() -> None:
    # Five roots each failing at 2.5% gave P(≥ 1 false "failed") 12% (issue 17).
    plan = plan_of(hyp("H1", weight=0.5), hyp("H2", weight=0.5), multiplicity="graph")
    low = _between(0.0125, 0.025)
    short = [1.0 - v for v in low]  # mirrored about 0.5: failure p in (α/2, α]
    results = [*seeds("B1", [0.1]), *seeds("H1", short)]
    verdicts = {v.hypothesis: v for v in mlplan.judge(plan, results, JUDGED_ON)}
    assert verdicts["H1"].status == "inconclusive"
    none = plan_of(hyp("H1"), hyp("H2"), multiplicity="none")
    assert next(v for v in mlplan.judge(none, results, JUDGED_ON)).status == "failed"


def test_in_a_holm_family_failure_is_corrected_across_the_members_too() -> None:
    alternatives = [hyp(h, family="alt") for h in ("H1", "H2", "H3")]
    holm = plan_of(*alternatives, multiplicity="holm")
    none = plan_of(*alternatives, multiplicity="none")
    short = [1.0 - v for v in _between(0.025 / 3, 0.025)]  # failure p in (α/3, α]
    results = [*seeds("B1", [0.1]), *seeds("H1", short)]
    assert next(v for v in mlplan.judge(none, results, JUDGED_ON)).status == "failed"
    held = next(v for v in mlplan.judge(holm, results, JUDGED_ON))
    assert held.status == "inconclusive"
    assert held.checks[0].failure_level == 0.025 / 3
