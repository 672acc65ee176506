"""mlplan: an ML project's experiment design as a living, checked document.

The library works without the command line::

    import mlplan
    loaded = mlplan.load_plan("plan.yaml")         # raises mlplan.PlanError, located
    print(mlplan.render_markdown(loaded.plan))

    mlplan.log_result("plan.yaml", hypothesis="H1", metrics={"recall": 0.91})
    for verdict in mlplan.verdicts("plan.yaml"):
        print(verdict.hypothesis, verdict.status)
"""

from mlplan._api import (
    log_result,
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
    "read_log",
    "render_design_doc",
    "render_markdown",
    "run_baseline",
    "start_run",
    "validate_file",
    "verdicts",
]
