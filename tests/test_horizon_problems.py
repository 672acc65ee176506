"""A check that cannot be judged yet, short of a fixed horizon, is running (issue 17): the
horizon decides. Found when a loaded machine made LightTrack's fps baseline so noisy at n = 3
that its interval spanned 0 and H2 read "inconclusive" instead of "running (3 of 10)"."""

from __future__ import annotations

from test_verdict_statistics import hyp, plan_of, seeds, verdict

BY_400 = [{"metric": "acc", "better_than": "B1", "by": "400%"}]
NOISY_BASELINE = [33.7, 17.1, 6.8, 40.2, 3.1, 25.0, 12.2, 30.3, 5.5, 21.0]


def test_a_relative_margin_of_a_noisy_baseline_waits_for_the_horizon() -> None:
    plan = plan_of(hyp(criteria=BY_400), pair_by="seed", runs=10)
    three = verdict(plan, [*seeds("B1", NOISY_BASELINE[:3]), *seeds("H1", [38.7, 19.7, 7.8])])
    assert three.status == "running", three.reason
    assert "running (3 of 10)" in three.reason
    assert "contains 0" in three.checks[0].note  # the problem is still said


def test_at_the_horizon_the_same_problem_is_inconclusive() -> None:
    plan = plan_of(hyp(criteria=BY_400), pair_by="seed", runs=3)
    three = verdict(plan, [*seeds("B1", NOISY_BASELINE[:3]), *seeds("H1", [38.7, 19.7, 7.8])])
    assert three.status == "inconclusive", three.reason
