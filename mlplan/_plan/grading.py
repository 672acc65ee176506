"""Grading metric goals with the design template's rubric.

bad   no metric or no number             "Improve the model's performance."
ok    a metric and a number              "Improve AUC by X%."
good  metric, number, segment, guardrail "Improve recall by X% for false negatives without
                                          decreasing recall for any other class by > Y%."
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlplan._plan.models import MetricGoal, Plan

__all__ = ["Grade", "GradedGoal", "grade_goal", "grade_goals"]

Grade = Literal["bad", "ok", "good"]


@dataclass(frozen=True)
class GradedGoal:
    index: int
    goal: MetricGoal
    grade: Grade
    missing: tuple[str, ...]

    def advice(self) -> str:
        if not self.missing:
            return "a metric, a number, a segment and a guardrail"
        return "add " + " and ".join(self.missing)


def grade_goal(goal: MetricGoal) -> tuple[Grade, tuple[str, ...]]:
    """The goal's grade and what it lacks to reach the next one."""
    for_ok = tuple(
        name
        for name, value in (("a metric", goal.metric), ("a target", goal.target))
        if value is None
    )
    if for_ok:
        return "bad", for_ok
    for_good = tuple(
        name
        for name, value in (("a segment", goal.segment), ("a guardrail", goal.guardrail))
        if value is None
    )
    return ("ok", for_good) if for_good else ("good", ())


def grade_goals(plan: Plan) -> list[GradedGoal]:
    """Each metric goal of ``plan`` graded bad, ok or good, with what it lacks for the next."""
    graded = []
    for index, goal in enumerate(plan.goals.metrics):
        grade, missing = grade_goal(goal)
        graded.append(GradedGoal(index, goal, grade, missing))
    return graded
