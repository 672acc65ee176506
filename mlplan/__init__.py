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

# Every public name and the private module it lives in: the one list that drives __getattr__,
# __all__ and __dir__ (tests/test_public_api.py pins the exact set, as httpx does). Names are
# imported on first use (PEP 562): `mlplan validate` must not pay for the judge, the journal or
# the API it never touches, and start-up time is a feature here.
_PUBLIC: dict[str, str] = {
    # the plan file and its sections
    "SCHEMA_VERSION": "mlplan._models",
    "Plan": "mlplan._models",
    "ProblemStatement": "mlplan._models",
    "Goals": "mlplan._models",
    "MetricGoal": "mlplan._models",
    "GoalGuardrail": "mlplan._models",
    "Metric": "mlplan._models",
    "ExperimentDesign": "mlplan._models",
    "Baseline": "mlplan._models",
    "Hypothesis": "mlplan._models",
    "Criterion": "mlplan._models",
    "Guardrail": "mlplan._models",
    "Margin": "mlplan._models",
    "Timebox": "mlplan._models",
    "NextStep": "mlplan._models",
    "SoftwareDesign": "mlplan._models",
    "Considerations": "mlplan._models",
    "Risks": "mlplan._models",
    "ExperimentLog": "mlplan._models",
    "LogEntry": "mlplan._models",
    "CriteriaAmendment": "mlplan._models",
    "RecordedVerdict": "mlplan._models",
    "Decision": "mlplan._models",
    # loading, checking, grading
    "LoadedPlan": "mlplan._load",
    "load_plan": "mlplan._load",
    "Report": "mlplan._validate",
    "validate_file": "mlplan._validate",
    "GradedGoal": "mlplan._grading",
    "grade_goal": "mlplan._grading",
    "grade_goals": "mlplan._grading",
    "new_plan": "mlplan._scaffold",
    "plan_schema": "mlplan._schema",
    # results and the judge
    "Result": "mlplan._results",
    "ResultKind": "mlplan._results",
    "Aggregate": "mlplan._judge",
    "Amendment": "mlplan._judge",
    "Check": "mlplan._judge",
    "Status": "mlplan._judge",
    "Verdict": "mlplan._judge",
    "active_hypotheses": "mlplan._judge",
    "judge": "mlplan._judge",
    "StatusRow": "mlplan._summary",
    "LogRow": "mlplan._summary",
    # workflows: each CLI command is one of these calls
    "amend": "mlplan._api",
    "decide": "mlplan._api",
    "log_result": "mlplan._api",
    "record_result": "mlplan._api",
    "Logged": "mlplan._api",
    "run_baselines": "mlplan._api",
    "BaselineOutcome": "mlplan._api",
    "status": "mlplan._api",
    "StatusReport": "mlplan._gate",
    "sync": "mlplan._api",
    "SyncReport": "mlplan._journal",
    "publish": "mlplan._api",
    "read_log": "mlplan._api",
    "render_design_doc": "mlplan._api",
    "run_baseline": "mlplan._api",
    "start_run": "mlplan._api",
    "verdicts": "mlplan._api",
    "LogView": "mlplan._render",
    "render_markdown": "mlplan._render",
    # errors and located problems
    "MlplanError": "mlplan.errors",
    "PlanError": "mlplan.errors",
    "Problem": "mlplan.errors",
    "Severity": "mlplan.errors",
    "ScaffoldError": "mlplan.errors",
    "ResultError": "mlplan.errors",
    "BaselineError": "mlplan.errors",
    "TrackingError": "mlplan.errors",
    "StoreUnreachableError": "mlplan.errors",
    "StoreAuthError": "mlplan.errors",
    "UsageError": "mlplan.errors",
    "UnknownTemplateError": "mlplan.errors",
    "OutputError": "mlplan.errors",
}

__all__ = ["__version__", *_PUBLIC]  # noqa: PLE0604 (the table is the one list of names)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    else:
        raise AttributeError(f"module 'mlplan' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def _version() -> str:
    # Written once, in pyproject.toml; an installed mlplan knows it from its metadata.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlplan")
    except PackageNotFoundError:  # a source tree on sys.path without an install
        return "0+unknown"


# For type checkers and editors only: the same names, spelled as re-exports. A test checks that
# this block imports exactly _PUBLIC, each from its module.
if TYPE_CHECKING:
    from mlplan._api import (
        amend as amend,
        decide as decide,
        BaselineOutcome as BaselineOutcome,
        Logged as Logged,
        log_result as log_result,
        publish as publish,
        read_log as read_log,
        record_result as record_result,
        render_design_doc as render_design_doc,
        run_baseline as run_baseline,
        run_baselines as run_baselines,
        start_run as start_run,
        status as status,
        sync as sync,
        verdicts as verdicts,
    )
    from mlplan._gate import StatusReport as StatusReport
    from mlplan._journal import SyncReport as SyncReport
    from mlplan._grading import (
        GradedGoal as GradedGoal,
        grade_goal as grade_goal,
        grade_goals as grade_goals,
    )
    from mlplan._judge import (
        Aggregate as Aggregate,
        Amendment as Amendment,
        Check as Check,
        Status as Status,
        Verdict as Verdict,
        active_hypotheses as active_hypotheses,
        judge as judge,
    )
    from mlplan._load import (
        LoadedPlan as LoadedPlan,
        load_plan as load_plan,
    )
    from mlplan._models import (
        SCHEMA_VERSION as SCHEMA_VERSION,
        Baseline as Baseline,
        Considerations as Considerations,
        CriteriaAmendment as CriteriaAmendment,
        Criterion as Criterion,
        Decision as Decision,
        ExperimentDesign as ExperimentDesign,
        ExperimentLog as ExperimentLog,
        GoalGuardrail as GoalGuardrail,
        Goals as Goals,
        Guardrail as Guardrail,
        Hypothesis as Hypothesis,
        LogEntry as LogEntry,
        Margin as Margin,
        Metric as Metric,
        MetricGoal as MetricGoal,
        NextStep as NextStep,
        Plan as Plan,
        ProblemStatement as ProblemStatement,
        RecordedVerdict as RecordedVerdict,
        Risks as Risks,
        SoftwareDesign as SoftwareDesign,
        Timebox as Timebox,
    )
    from mlplan._render import (
        LogView as LogView,
        render_markdown as render_markdown,
    )
    from mlplan._results import (
        Result as Result,
        ResultKind as ResultKind,
    )
    from mlplan._scaffold import (
        new_plan as new_plan,
    )
    from mlplan._schema import (
        plan_schema as plan_schema,
    )
    from mlplan._summary import (
        LogRow as LogRow,
        StatusRow as StatusRow,
    )
    from mlplan._validate import (
        Report as Report,
        validate_file as validate_file,
    )
    from mlplan.errors import (
        BaselineError as BaselineError,
        MlplanError as MlplanError,
        OutputError as OutputError,
        PlanError as PlanError,
        Problem as Problem,
        ResultError as ResultError,
        ScaffoldError as ScaffoldError,
        Severity as Severity,
        StoreAuthError as StoreAuthError,
        StoreUnreachableError as StoreUnreachableError,
        TrackingError as TrackingError,
        UnknownTemplateError as UnknownTemplateError,
        UsageError as UsageError,
    )
