"""mlplan: an ML project's experiment design as a living, checked document.

The library works without the command line::

    import mlplan
    loaded = mlplan.load_plan("plan.yaml")         # raises mlplan.PlanError, located
    print(mlplan.render_markdown(loaded.plan))

    mlplan.log_result("plan.yaml", hypothesis="H1", metrics={"recall": 0.91})
    for verdict in mlplan.verdicts("plan.yaml"):
        print(verdict.hypothesis, verdict.status)
"""

import importlib
from typing import TYPE_CHECKING, Any

from mlplan.errors import (
    BaselineError,
    MlplanError,
    PlanError,
    Problem,
    ResultError,
    ScaffoldError,
    StoreUnreachableError,
    TrackingError,
)

__version__ = "0.1.0"

# Names are imported on first use (PEP 562): `mlplan validate` must not pay for the judge,
# the journal or the API it never touches, and start-up time is a feature here.
_HOMES = {
    "log_result": "mlplan._api",
    "publish": "mlplan._api",
    "read_log": "mlplan._api",
    "render_design_doc": "mlplan._api",
    "run_baseline": "mlplan._api",
    "start_run": "mlplan._api",
    "verdicts": "mlplan._api",
    "GradedGoal": "mlplan._grading",
    "grade_goal": "mlplan._grading",
    "grade_goals": "mlplan._grading",
    "Aggregate": "mlplan._judge",
    "Amendment": "mlplan._judge",
    "Check": "mlplan._judge",
    "Verdict": "mlplan._judge",
    "active_hypotheses": "mlplan._judge",
    "judge": "mlplan._judge",
    "LoadedPlan": "mlplan._load",
    "load_plan": "mlplan._load",
    "SCHEMA_VERSION": "mlplan._models",
    "Plan": "mlplan._models",
    "LogView": "mlplan._render",
    "render_markdown": "mlplan._render",
    "Result": "mlplan._results",
    "new_plan": "mlplan._scaffold",
    "plan_schema": "mlplan._schema",
    "Report": "mlplan._validate",
    "validate_file": "mlplan._validate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mlplan' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from mlplan._api import (
        log_result,
        publish,
        read_log,
        render_design_doc,
        run_baseline,
        start_run,
        verdicts,
    )
    from mlplan._grading import GradedGoal, grade_goal, grade_goals
    from mlplan._judge import Aggregate, Amendment, Check, Verdict, active_hypotheses, judge
    from mlplan._load import LoadedPlan, load_plan
    from mlplan._models import SCHEMA_VERSION, Plan
    from mlplan._render import LogView, render_markdown
    from mlplan._results import Result
    from mlplan._scaffold import new_plan
    from mlplan._schema import plan_schema
    from mlplan._validate import Report, validate_file

__all__ = [
    "SCHEMA_VERSION",
    "Aggregate",
    "Amendment",
    "BaselineError",
    "Check",
    "GradedGoal",
    "LoadedPlan",
    "LogView",
    "MlplanError",
    "Plan",
    "PlanError",
    "Problem",
    "Report",
    "Result",
    "ResultError",
    "ScaffoldError",
    "StoreUnreachableError",
    "TrackingError",
    "Verdict",
    "__version__",
    "active_hypotheses",
    "grade_goal",
    "grade_goals",
    "judge",
    "load_plan",
    "log_result",
    "new_plan",
    "plan_schema",
    "publish",
    "read_log",
    "render_design_doc",
    "render_markdown",
    "run_baseline",
    "start_run",
    "validate_file",
    "verdicts",
]
