"""The public API: exactly these names, each resolving, and importing mlplan stays light."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import mlplan
import mlplan.errors

# The exact public surface (httpx's habit): adding or removing a name is a decision, made here.
PUBLIC = {
    # the plan file and its sections
    "SCHEMA_VERSION", "Plan", "ProblemStatement", "Goals", "MetricGoal", "GoalGuardrail",
    "Metric", "ExperimentDesign", "Baseline", "Hypothesis", "Criterion", "Guardrail", "Margin",
    "Timebox", "NextStep", "SoftwareDesign", "Considerations", "Risks", "ExperimentLog",
    "LogEntry", "Decision", "RecordedVerdict", "CriteriaAmendment",
    # loading, checking, grading
    "LoadedPlan", "load_plan", "Report", "validate_file", "GradedGoal", "grade_goals",
    "new_plan", "Scaffolded", "plan_schema",
    # results and the judge
    "Result", "ResultKind", "Aggregate", "Amendment", "Check", "Status", "Verdict",
    "active_hypotheses", "judge", "StatusRow", "LogRow",
    # workflows
    "decide", "amend", "publish", "render_design_doc", "start_run", "record_result",
    "Logged", "run_baselines", "run_plan", "RunReport", "Published", "BaselineOutcome", "status",
    "StatusReport", "sync",
    "SyncReport", "build_site",
    # errors and located problems
    "MlplanError", "PlanError", "Problem", "Severity", "ScaffoldError", "ResultError",
    "BaselineError", "TrackingError", "StoreUnreachableError", "StoreAuthError", "UsageError",
    "UnknownTemplateError", "OutputError", "NotCountedError",
    "__version__",
}  # fmt: skip

# Duplicates of a public name: they still resolve, with a DeprecationWarning, outside __all__.
DEPRECATED = {
    "log_result", "run_baseline", "verdicts", "read_log", "render_markdown", "LogView",
    "grade_goal",
}  # fmt: skip


def test_the_public_names_are_exactly_these() -> None:
    assert set(mlplan.__all__) == PUBLIC
    assert len(mlplan.__all__) == len(PUBLIC)  # no name listed twice
    assert dir(mlplan) == sorted(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC - {"__version__"}))
def test_every_public_name_is_the_object_of_its_home_module(name: str) -> None:
    value = getattr(mlplan, name)
    assert value is getattr(importlib.import_module(mlplan._PUBLIC[name]), name)
    home = mlplan._PUBLIC[name]
    assert home == "mlplan.errors" or home.split(".")[1].startswith("_")


def test_the_type_checking_imports_are_the_same_table() -> None:
    """Type checkers read the `if TYPE_CHECKING:` block, the runtime reads _PUBLIC: one list."""
    tree = ast.parse(Path(mlplan.__file__).read_text(encoding="utf-8"))
    [block] = [node for node in tree.body if isinstance(node, ast.If)]
    imported = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name  # `import x as x`: an explicit re-export
    }
    deprecated = {name: home for name, (home, _) in mlplan._DEPRECATED.items()}
    assert imported == {**mlplan._PUBLIC, **deprecated}


def test_the_deprecated_names_are_exactly_these() -> None:
    assert set(mlplan._DEPRECATED) == DEPRECATED
    assert not DEPRECATED & set(mlplan.__all__)


@pytest.mark.parametrize("name", sorted(DEPRECATED))
def test_a_deprecated_name_warns_and_still_works(name: str) -> None:
    home, instead = mlplan._DEPRECATED[name]
    with pytest.warns(DeprecationWarning, match=rf"mlplan\.{name} is deprecated; use mlplan\."):
        value = getattr(mlplan, name)
    assert value is getattr(importlib.import_module(home), name)
    assert instead.split("(")[0].removeprefix("mlplan.") in mlplan.__all__
    # Never cached: the second use warns too.
    with pytest.warns(DeprecationWarning):
        getattr(mlplan, name)


# Values and Literal aliases carry no docstring of their own: a comment at their definition.
NOT_DOCUMENTABLE = {"__version__", "SCHEMA_VERSION", "ResultKind", "Severity", "Status"}


@pytest.mark.parametrize("name", sorted(PUBLIC - NOT_DOCUMENTABLE))
def test_every_public_name_has_a_docstring(name: str) -> None:
    value = getattr(mlplan, name)
    assert callable(value)  # a class or a function, whose __doc__ is its own
    assert (value.__doc__ or "").strip(), f"mlplan.{name} has no docstring"


def test_every_error_class_is_public() -> None:
    """An error a user can catch must be importable from mlplan itself."""
    classes = {
        name
        for name, value in vars(mlplan.errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    assert classes <= PUBLIC


def test_the_version_is_the_installed_distributions() -> None:
    assert mlplan.__version__ == version("mlplan")


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = mlplan.nonsense


def test_importing_mlplan_loads_only_what_is_used() -> None:
    probe = "import sys, mlplan; print(sorted(m for m in sys.modules if m.startswith('mlplan')))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['mlplan']"
