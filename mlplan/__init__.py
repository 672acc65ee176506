"""mlplan: an ML project's experiment design as a living, checked document.

The library works without the command line::

    import mlplan
    loaded = mlplan.load_plan("plan.yaml")         # raises mlplan.PlanError, located
    print(mlplan.render_design_doc("plan.yaml"))

    mlplan.record_result("plan.yaml", hypothesis="H1", metrics={"recall": 0.91})
    for verdict in mlplan.status("plan.yaml").verdicts:
        print(verdict.hypothesis, verdict.status)

One public function per job. Names that duplicated one still work, with a DeprecationWarning
that names the call to use instead (copier's ``__getattr__`` shim); see _DEPRECATED.
"""

import importlib
import warnings
from typing import TYPE_CHECKING, Any

# Every public name and the private module it lives in: the one list that drives __getattr__,
# __all__ and __dir__ (tests/test_public_api.py pins the exact set, as httpx does). Names are
# imported on first use (PEP 562): `mlplan validate` must not pay for the judge, the journal or
# the API it never touches, and start-up time is a feature here.
_PUBLIC: dict[str, str] = {
    # the plan file and its sections
    "SCHEMA_VERSION": "mlplan._plan.models",
    "Plan": "mlplan._plan.models",
    "ProblemStatement": "mlplan._plan.models",
    "Goals": "mlplan._plan.models",
    "MetricGoal": "mlplan._plan.models",
    "GoalGuardrail": "mlplan._plan.models",
    "Metric": "mlplan._plan.models",
    "ExperimentDesign": "mlplan._plan.models",
    "Baseline": "mlplan._plan.models",
    "Hypothesis": "mlplan._plan.models",
    "Criterion": "mlplan._plan.models",
    "Guardrail": "mlplan._plan.models",
    "Margin": "mlplan._plan.models",
    "Timebox": "mlplan._plan.models",
    "NextStep": "mlplan._plan.models",
    "SoftwareDesign": "mlplan._plan.models",
    "Considerations": "mlplan._plan.models",
    "Risks": "mlplan._plan.models",
    "ExperimentLog": "mlplan._plan.models",
    "LogEntry": "mlplan._plan.models",
    "CriteriaAmendment": "mlplan._plan.models",
    "RecordedVerdict": "mlplan._plan.models",
    "Decision": "mlplan._plan.models",
    # loading, checking, grading
    "LoadedPlan": "mlplan._plan.load",
    "load_plan": "mlplan._plan.load",
    "Report": "mlplan._plan.validate",
    "validate_file": "mlplan._plan.validate",
    "GradedGoal": "mlplan._plan.grading",
    "grade_goals": "mlplan._plan.grading",
    "new_plan": "mlplan._plan.scaffold",
    "Scaffolded": "mlplan._plan.scaffold",
    "plan_schema": "mlplan._plan.schema",
    # results and the judge
    "Result": "mlplan._judge.results",
    "ResultKind": "mlplan._judge.results",
    "Aggregate": "mlplan._judge.verdicts",
    "Amendment": "mlplan._judge.verdicts",
    "Check": "mlplan._judge.verdicts",
    "Status": "mlplan._judge.verdicts",
    "Verdict": "mlplan._judge.verdicts",
    "active_hypotheses": "mlplan._judge.verdicts",
    # judging results in hand, without a store or a file (status reads them from the store)
    "judge": "mlplan._judge.verdicts",
    "StatusRow": "mlplan._report.rows",
    "LogRow": "mlplan._report.rows",
    # workflows: each CLI command is one of these calls
    "amend": "mlplan._api",
    "decide": "mlplan._api",
    "record_result": "mlplan._api",
    "Logged": "mlplan._api",
    "run_baselines": "mlplan._api",
    "BaselineOutcome": "mlplan._api",
    "status": "mlplan._api",
    "StatusReport": "mlplan._report.status",
    "sync": "mlplan._api",
    "SyncReport": "mlplan._record.journal",
    "publish": "mlplan._api",
    "Published": "mlplan._record.publish",
    "render_design_doc": "mlplan._api",
    "run_plan": "mlplan._api",
    "RunReport": "mlplan._run.driver",
    "start_run": "mlplan._api",
    "build_site": "mlplan._site",
    # errors and located problems
    "MlplanError": "mlplan.errors",
    "PlanError": "mlplan.errors",
    "Problem": "mlplan.errors",
    "Severity": "mlplan.errors",
    "ScaffoldError": "mlplan.errors",
    "ResultError": "mlplan.errors",
    "NotCountedError": "mlplan.errors",
    "BaselineError": "mlplan.errors",
    "TrackingError": "mlplan.errors",
    "StoreUnreachableError": "mlplan.errors",
    "StoreAuthError": "mlplan.errors",
    "UsageError": "mlplan.errors",
    "UnknownTemplateError": "mlplan.errors",
    "OutputError": "mlplan.errors",
}

# Names that duplicated a public one: each still resolves, with a warning naming what to call
# instead. They are in neither __all__ nor dir(); removing one is a later, breaking release.
_DEPRECATED: dict[str, tuple[str, str]] = {
    "log_result": ("mlplan._api", "mlplan.record_result(...).run_id"),
    "run_baseline": ("mlplan._api", "mlplan.run_baselines(plan, [baseline_id])[0].run_id"),
    "verdicts": ("mlplan._api", "mlplan.status(plan).verdicts"),
    "read_log": ("mlplan._api", "mlplan.status(plan) or mlplan.render_design_doc(plan)"),
    "render_markdown": ("mlplan._report.doc", "mlplan.render_design_doc(plan)"),
    "LogView": ("mlplan._report.doc", "mlplan.render_design_doc(plan)"),
    "grade_goal": ("mlplan._plan.grading", "mlplan.grade_goals(plan)"),
}

__all__ = ["__version__", *_PUBLIC]  # noqa: PLE0604 (the table is the one list of names)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    elif name in _DEPRECATED:
        home, instead = _DEPRECATED[name]
        warnings.warn(
            f"mlplan.{name} is deprecated; use {instead}", DeprecationWarning, stacklevel=2
        )
        return getattr(importlib.import_module(home), name)  # not cached: every use warns
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
# this block imports exactly _PUBLIC and _DEPRECATED, each from its module.
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
        run_plan as run_plan,
        start_run as start_run,
        status as status,
        sync as sync,
        verdicts as verdicts,
    )
    from mlplan._report.status import StatusReport as StatusReport
    from mlplan._record.publish import Published as Published
    from mlplan._run.driver import RunReport as RunReport
    from mlplan._record.journal import SyncReport as SyncReport
    from mlplan._plan.grading import (
        GradedGoal as GradedGoal,
        grade_goal as grade_goal,
        grade_goals as grade_goals,
    )
    from mlplan._judge.verdicts import (
        Aggregate as Aggregate,
        Amendment as Amendment,
        Check as Check,
        Status as Status,
        Verdict as Verdict,
        active_hypotheses as active_hypotheses,
        judge as judge,
    )
    from mlplan._plan.load import (
        LoadedPlan as LoadedPlan,
        load_plan as load_plan,
    )
    from mlplan._plan.models import (
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
    from mlplan._report.doc import (
        LogView as LogView,
        render_markdown as render_markdown,
    )
    from mlplan._site import build_site as build_site
    from mlplan._judge.results import (
        Result as Result,
        ResultKind as ResultKind,
    )
    from mlplan._plan.scaffold import (
        Scaffolded as Scaffolded,
        new_plan as new_plan,
    )
    from mlplan._plan.schema import (
        plan_schema as plan_schema,
    )
    from mlplan._report.rows import (
        LogRow as LogRow,
        StatusRow as StatusRow,
    )
    from mlplan._plan.validate import (
        Report as Report,
        validate_file as validate_file,
    )
    from mlplan.errors import (
        BaselineError as BaselineError,
        MlplanError as MlplanError,
        NotCountedError as NotCountedError,
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
