"""mlplan: an ML project's experiment design as a living, checked document.

The library works without the command line::

    import mlplan
    loaded = mlplan.load_plan("plan.yaml")         # raises mlplan.PlanError, located
    print(mlplan.render_markdown(loaded.plan))
"""

from mlplan._grading import GradedGoal, grade_goal, grade_goals
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
    TrackingError,
)

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "BaselineError",
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
    "TrackingError",
    "__version__",
    "grade_goal",
    "grade_goals",
    "load_plan",
    "new_plan",
    "plan_schema",
    "render_markdown",
    "validate_file",
]
