"""Loading a plan file: YAML → located values → Plan model → cross-plan checks.

Every problem carries file, line, column and the path into the document. All problems of a
file are reported at once, so a user fixes a plan in one pass rather than one error per run.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mlplan._plan.located_yaml import Locations, read_document
from mlplan._plan.models import SCHEMA_VERSION, Plan
from mlplan._plan.rules import find_problems
from mlplan._text import did_you_mean
from mlplan.errors import PlanError, Problem, Route, Severity

__all__ = ["LoadedPlan", "load_plan"]


@dataclass(frozen=True)
class LoadedPlan:
    """A valid plan with the file it came from and where each of its values is written."""

    plan: Plan
    path: Path
    locations: Locations
    # The file's bytes as they were read: the plan this object is, when the file has changed
    # since (a run is stamped with the plan it was judged and run under, issue 16).
    source: bytes = b""

    def problem_at(
        self, route: Route, message: str, hint: str = "", severity: Severity = "error"
    ) -> Problem:
        """A problem located at the value ``route`` points to."""
        return self.locations.problem(self.path, route, message, hint, severity)


def load_plan(path: str | Path) -> LoadedPlan:
    """Read and check a plan file; raise :class:`PlanError` listing every problem found."""
    path = Path(path)
    document = read_document(path)
    if not isinstance(document.data, dict):
        # Named in YAML's terms: "holds a str" would speak Python to a YAML author.
        kind = "a list" if isinstance(document.data, list) else "a single value"
        raise PlanError(
            path,
            [
                document.locations.problem(
                    path,
                    (),
                    f"a plan is a mapping of sections, but this file holds {kind}",
                    "start from `mlplan new NAME`",
                )
            ],
        )
    _check_version(path, document.data, document.locations)
    try:
        plan = Plan.model_validate(document.data)
    except ValidationError as exc:
        raise PlanError(
            path, _shape_problems(path, exc, document.data, document.locations)
        ) from None
    findings = find_problems(plan)
    if findings:
        raise PlanError(
            path,
            [document.locations.problem(path, *finding) for finding in findings],
        )
    return LoadedPlan(plan=plan, path=path, locations=document.locations, source=document.raw)


def _check_version(path: Path, data: dict[str, Any], locations: Locations) -> None:
    # Checked before the model so that a plan from a newer mlplan gets one clear message
    # instead of a page of unknown-key errors.
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise PlanError(
            path,
            [
                locations.problem(
                    path,
                    ("schema_version",),
                    f"this plan uses schema version {version}; "
                    f"this mlplan reads up to {SCHEMA_VERSION}",
                    "upgrade mlplan",
                )
            ],
        )


def _shape_problems(
    path: Path, exc: ValidationError, data: Any, locations: Locations
) -> list[Problem]:
    problems: dict[tuple[Route, str], Problem] = {}
    for error in exc.errors(include_url=False):
        steps = _data_path(error["loc"], data)
        message, hint = _explain(error, steps)
        # An unknown key is wrong where the key is written, not where its value is.
        at_key = error["type"] == "extra_forbidden"
        problem = locations.problem(path, steps, message, hint, at_key=at_key)
        problems.setdefault((steps, message), problem)
    return sorted(problems.values(), key=lambda p: (p.line, p.column))


def _data_path(loc: tuple[int | str, ...], data: Any) -> Route:
    """Pydantic's error location with its internal steps (union and validator tags) removed."""
    steps: list[str | int] = []
    node = data
    for step in loc:
        # Two branches, not one `or`: mypy narrows the index type only this way.
        if isinstance(node, dict) and step in node:  # noqa: SIM114
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        elif isinstance(node, dict) and isinstance(step, str) and step.isidentifier():
            steps.append(step)  # a missing key: keep it so the message can name it
            break
        else:
            continue
        steps.append(step)
    return tuple(steps)


_TYPE_NAMES = {
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "list_type": "a list (lines starting with '- ')",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    # `.nan`, `.inf` or 1e400 (past the float range): no threshold can compare with them.
    "finite_number": "a finite number",
    "date_type": "a date written YYYY-MM-DD",
    "date_parsing": "a date written YYYY-MM-DD",
    "date_from_datetime_inexact": "a date written YYYY-MM-DD, without a time",
    # What pydantic reports for text that is no date at all, e.g. `start: tomorrow`.
    "date_from_datetime_parsing": "a date written YYYY-MM-DD",
    "bool_type": "true or false",
}


def _explain(error: ErrorDetails, steps: Route) -> tuple[str, str]:
    kind = error["type"]
    field = steps[-1] if steps else "plan"
    if kind == "missing":
        return f"missing required key {field!r}", _field_help(steps)
    if kind == "extra_forbidden":
        return f"unknown key {field!r}", _valid_keys_hint(str(field), steps[:-1])
    if kind in _TYPE_NAMES:
        got = _describe(error.get("input"))
        return f"expected {_TYPE_NAMES[kind]}, got {got}", _field_help(steps)
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"{_describe(error.get('input'))} is not allowed", f"expected one of: {expected}"
    if kind == "string_pattern_mismatch":
        return f"{_describe(error.get('input'))} is not a valid {field}", _field_help(steps)
    if kind in {"too_short", "string_too_short"}:
        return f"{field!r} must not be empty", _field_help(steps)
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, "), _field_help(steps)
    return f"{error['msg']}", _field_help(steps)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):  # as YAML writes it, not Python's True
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(steps: Route) -> type[BaseModel] | None:
    """The model class that describes the mapping at ``steps``, if any."""
    model: Any = Plan
    for step in steps:
        if isinstance(step, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(step)
        if field is None:
            return None
        model = _innermost(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _innermost(annotation: Any) -> Any:
    """list[X] → X, X | None → X, Annotated[X, ...] → X."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (list, typing.Annotated) or (
            origin in (typing.Union, types.UnionType) and len(args) == 1
        ):
            annotation = args[0]
        else:
            return annotation


def _valid_keys_hint(key: str, parent: Route) -> str:
    model = _model_at(parent)
    if model is None:
        return ""
    valid = list(model.model_fields)
    return did_you_mean(key, valid, listed_as="valid keys here")


def _field_help(steps: Route) -> str:
    """The description of the field that ``steps`` points into, as a hint of what is expected."""
    for end in range(len(steps) - 1, -1, -1):
        name = steps[end]
        if isinstance(name, str):
            model = _model_at(steps[:end])
            field = model.model_fields.get(name) if model is not None else None
            return (field.description or "") if field is not None else ""
    return ""
