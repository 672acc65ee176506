"""Frozen criteria judged without a store: stamped results, then the plan changes under them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from helpers import TODAY

import mlplan
from mlplan._judge.frozen import criteria_now, frozen_review, judge_under, setting_changes
from mlplan._judge.results import Result
from mlplan._judge.verdicts import judge
from mlplan._plan.models import Plan

LOGGED = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def results(plan: Plan, stamp: tuple[str, str] | None = None) -> list[Result]:
    """Three paired runs each of B1 and H1; H1's stamped with ``stamp`` or the plan's own."""
    fingerprint, text = stamp or criteria_now(plan, plan.hypothesis("H1"))
    made = []
    for seed, (base, ours) in enumerate([(0.59, 0.66), (0.60, 0.665), (0.61, 0.67)]):
        for kind, subject, recall in (("baseline", "B1", base), ("hypothesis", "H1", ours)):
            made.append(
                Result(
                    run_id=f"{subject}-{seed}",
                    kind=kind,  # type: ignore[arg-type]
                    subject=subject,
                    metrics={"recall": recall, "recall.loyal": 0.9 + seed / 1000},
                    logged_at=LOGGED + dt.timedelta(minutes=seed),
                    criteria_fingerprint=fingerprint if kind == "hypothesis" else "",
                    criteria=text if kind == "hypothesis" else "",
                    params={"seed": str(seed)},
                )
            )
    return made


def reload(path: Path, old: str, new: str) -> Plan:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return mlplan.load_plan(path).plan


def status_of(plan: Plan, logged: Sequence[Result], hypothesis: str = "H1") -> str:
    return next(v.status for v in judge(plan, logged, TODAY) if v.hypothesis == hypothesis)


def test_a_flipped_metric_direction_is_a_change_of_criteria(
    make_plan: Callable[..., Path],
) -> None:
    path = make_plan()
    before = mlplan.load_plan(path).plan
    logged = results(before)
    assert status_of(before, logged) == "succeeded"

    after = reload(path, "{key: recall, direction: higher", "{key: recall, direction: lower")
    review = frozen_review(after, logged, judge(after, logged, TODAY), TODAY)

    (change,) = review.unrecorded
    assert ("metrics.recall.direction", "higher", "lower") in change.changes
    original = judge_under(after, "H1", change.criteria_before, logged, TODAY)
    assert original is not None and original.status == "succeeded"  # the old direction back
    assert status_of(after, logged) == "failed"
    assert review.reasons() and "H1" in review.reasons()[0]


def test_an_unchanged_plan_passes_under_an_old_unversioned_stamp(
    make_plan: Callable[..., Path],
) -> None:
    plan = mlplan.load_plan(make_plan()).plan
    h1 = plan.hypothesis("H1")
    # The first fingerprint version: criteria and guardrails only, an unprefixed hash.
    old_text = json.dumps(
        {
            "success_criteria": [
                c.model_dump(mode="json", exclude_none=True) for c in h1.success_criteria
            ],
            "guardrails": [g.model_dump(mode="json", exclude_none=True) for g in h1.guardrails],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    old_print = hashlib.sha256(old_text.encode()).hexdigest()[:12]
    logged = results(plan, (old_print, old_text))
    review = frozen_review(plan, logged, judge(plan, logged, TODAY), TODAY)
    assert review.unrecorded == ()
    assert review.deviations == ()


def test_setting_changes_name_each_difference() -> None:
    before = '{"a": [{"by": "5%"}], "b": 1}'
    after = '{"a": [{"by": "20%"}, {"at_most": 2}], "c": true}'
    assert setting_changes(before, after) == [
        ("a[0].by", "5%", "20%"),
        ("a[1]", "(none)", '{"at_most": 2}'),
        ("b", "1", "(none)"),
        ("c", "(none)", "true"),
    ]
    assert setting_changes("cut short …", "{}") == [("criteria", "cut short …", "{}")]
    assert setting_changes(before, before) == []


def test_each_stamp_is_reviewed_once_and_the_oldest_names_the_change(
    make_plan: Callable[..., Path],
) -> None:
    # Two generations of stamps, many results each (review once per fingerprint, not per
    # result: 10,000 results took a second), then the criteria change with no amendment.
    path = make_plan()
    first = mlplan.load_plan(path).plan
    old = results(first)
    second = reload(path, 'by: "5%"', 'by: "6%"')
    newer = [
        Result(
            run_id=f"{r.run_id}-again",
            kind=r.kind,
            subject=r.subject,
            metrics=r.metrics,
            logged_at=r.logged_at + dt.timedelta(days=1),
            criteria_fingerprint=criteria_now(second, second.hypothesis("H1"))[0]
            if r.kind == "hypothesis"
            else "",
            criteria=criteria_now(second, second.hypothesis("H1"))[1]
            if r.kind == "hypothesis"
            else "",
            params=r.params,
        )
        for r in old
    ]
    now = reload(path, 'by: "6%"', 'by: "7%"')
    verdicts = judge(now, [*old, *newer], TODAY)
    changes = frozen_review(now, [*old, *newer], verdicts, TODAY).unrecorded
    assert [(c.hypothesis, c.since) for c in changes] == [
        ("H1", min(r.logged_at for r in old if r.kind == "hypothesis")),
        ("H1", min(r.logged_at for r in newer if r.kind == "hypothesis")),
    ]


# --- v3: a family is its members, and the decision graph is frozen too (issue 15) ------------


def _stamped_v2(plan: Plan) -> tuple[str, str]:
    from mlplan._judge.fingerprint import criteria_fingerprint, criteria_text

    hypothesis = plan.hypothesis("H1")
    return criteria_fingerprint(plan, hypothesis, "v2"), criteria_text(plan, hypothesis, "v2")


def _changes(plan: Plan, logged: Sequence[Result]) -> list[str]:
    review = frozen_review(plan, logged, judge(plan, logged, TODAY), TODAY)
    return [change.hypothesis for change in review.unrecorded]


def test_a_result_stamped_v2_still_matches_an_unchanged_plan(
    make_plan: Callable[..., Path],
) -> None:
    plan = mlplan.load_plan(make_plan()).plan
    logged = results(plan, _stamped_v2(plan))
    assert logged[1].criteria_fingerprint.startswith("v2:")
    assert _changes(plan, logged) == []
    [verdict] = [v for v in judge(plan, logged, TODAY) if v.hypothesis == "H1"]
    assert verdict.amendment is None
    # The plan declares no planned n: exploratory for that reason alone (issue 17).
    assert verdict.explanation.endswith("exploratory (no planned n)")


def test_dropping_a_member_from_a_family_changes_the_criteria(
    make_plan: Callable[..., Path],
) -> None:
    path = make_plan()
    text = path.read_text().replace("  hypotheses:\n", "  multiplicity: holm\n  hypotheses:\n", 1)
    text = text.replace("    - id: H1\n", "    - id: H1\n      family: F\n", 1)
    text = text.replace("    - id: H2\n", "    - id: H2\n      family: F\n", 1)
    path.write_text(text)
    before = mlplan.load_plan(path).plan
    logged = results(before)  # H2 has no results: dropping it would halve H1's Holm correction
    assert _changes(before, logged) == []
    after = reload(path, "    - id: H2\n      family: F\n", "    - id: H2\n")
    assert _changes(after, logged) == ["H1"]
    renamed = reload(path, "family: F\n", "family: G\n")  # H1 alone in G: still not as stamped
    assert _changes(renamed, logged) == ["H1"]


def test_renaming_a_family_is_not_a_change(make_plan: Callable[..., Path]) -> None:
    path = make_plan()
    text = path.read_text().replace("  hypotheses:\n", "  multiplicity: holm\n  hypotheses:\n", 1)
    text = text.replace("    - id: H1\n", "    - id: H1\n      family: F\n", 1)
    text = text.replace("    - id: H2\n", "    - id: H2\n      family: F\n", 1)
    path.write_text(text)
    logged = results(mlplan.load_plan(path).plan)
    path.write_text(path.read_text().replace("family: F", "family: Churn"))
    assert _changes(mlplan.load_plan(path).plan, logged) == []


def test_rewiring_the_decision_graph_after_results_is_a_change(
    make_plan: Callable[..., Path],
) -> None:
    path = make_plan()
    logged = results(mlplan.load_plan(path).plan)
    # H1's on_failure no longer leads to H2; H2, now a second root, is declared exploratory
    # (two confirmatory roots would need primary: or multiplicity: graph, issue 17).
    path.write_text(
        path.read_text().replace("    - id: H2\n", "    - id: H2\n      exploratory: true\n")
    )
    rewired = reload(path, "then: H2}", "then: stop}")
    assert _changes(rewired, logged) == ["H1"]
    [verdict] = [v for v in judge(rewired, logged, TODAY) if v.hypothesis == "H1"]
    assert not verdict.confirmatory
    assert "exploratory (criteria changed after results)" in verdict.explanation
    # The verdict under the criteria as stamped still follows the old edge.
    change = frozen_review(rewired, logged, judge(rewired, logged, TODAY), TODAY).unrecorded[0]
    original = judge_under(rewired, "H1", change.criteria_before, logged, TODAY)
    assert original is not None and original.status == "succeeded"
    assert setting_changes(change.criteria_before, change.criteria_after) == [
        ("edges.out.failure", "H2", "stop")
    ]
