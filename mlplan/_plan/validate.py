"""Validation as a report: every problem, every goal's grade, and leftover placeholders."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplan._plan.entry_points import entry_point_findings
from mlplan._plan.grading import GradedGoal, grade_goals
from mlplan._plan.load import LoadedPlan, load_plan
from mlplan._plan.rules import find_warnings
from mlplan.errors import PlanError, Problem, Route, Severity

__all__ = ["Report", "validate_file"]

PLACEHOLDER = "TODO"


@dataclass(frozen=True)
class Report:
    path: Path
    loaded: LoadedPlan | None
    problems: list[Problem] = field(default_factory=list)
    grades: list[GradedGoal] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(problem.severity == "error" for problem in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "valid": self.valid,
            "problems": [problem.to_dict() for problem in self.problems],
            "goals": [
                {
                    "index": g.index,
                    "statement": g.goal.statement,
                    "grade": g.grade,
                    "missing": list(g.missing),
                }
                for g in self.grades
            ],
        }


def validate_file(path: Path, *, strict: bool = False) -> Report:
    """Check one plan. ``strict`` turns bad goals and leftover TODOs into errors."""
    try:
        loaded = load_plan(path)
    except PlanError as error:
        return Report(path=path, loaded=None, problems=error.problems)
    grades = grade_goals(loaded.plan)
    severity: Severity = "error" if strict else "warning"
    placeholders = list(_placeholder_problems(loaded, severity))
    if not strict and len(placeholders) > 1:
        placeholders = [_summarised(placeholders)]
    problems = [*_bad_goal_problems(loaded, grades, severity), *placeholders]
    problems += [
        loaded.problem_at(steps, message, hint, "warning")
        for steps, message, hint in find_warnings(loaded.plan)
    ]
    problems += [
        loaded.problem_at(*finding) for finding in entry_point_findings(loaded.plan, path.parent)
    ]
    return Report(path=path, loaded=loaded, problems=problems, grades=grades)


def _bad_goal_problems(
    loaded: LoadedPlan, grades: list[GradedGoal], severity: Severity
) -> Iterator[Problem]:
    for graded in grades:
        if graded.grade != "bad":
            continue
        yield loaded.problem_at(
            ("goals", "metrics", graded.index),
            "metric goal graded bad: it has no metric or no number",
            f"{graded.advice()}, e.g. metric: recall and target: '5%'",
            severity,
        )


def _placeholder_problems(loaded: LoadedPlan, severity: Severity) -> Iterator[Problem]:
    for steps, value in _strings(loaded.plan.model_dump(mode="json"), ()):
        if value.lstrip().startswith(PLACEHOLDER):
            yield loaded.problem_at(
                steps,
                "this still holds the template's TODO",
                "replace it with the plan's own text",
                severity,
            )


def _summarised(placeholders: list[Problem]) -> Problem:
    return dataclasses.replace(
        placeholders[0],
        message=f"{len(placeholders)} values still hold the template's TODO (the first is here)",
        hint="replace them with the plan's own text; --strict lists each one",
    )


def _strings(value: Any, steps: Route) -> Iterator[tuple[Route, str]]:
    if isinstance(value, str):
        yield steps, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*steps, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*steps, index))
