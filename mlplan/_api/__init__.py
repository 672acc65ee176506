"""The Python API for training scripts and notebooks, and the workflows the CLI calls.

import mlplan

with mlplan.start_run("plan.yaml", hypothesis="H1", note="seed 3") as run:
    mlflow.autolog()                        # or mlflow.log_metric(...)
    train()

mlplan.record_result("plan.yaml", hypothesis="H1", metrics={"recall": 0.91})
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplan import _clock
from mlplan._files import check_output
from mlplan._judge.results import ResultKind
from mlplan._judge.verdicts import Verdict
from mlplan._plan.load import load_plan
from mlplan._record.entry_points import require_entry_point
from mlplan._record.journal import Journal, SyncReport
from mlplan._report.doc import LogView, render_markdown, write_markdown
from mlplan._text import not_utf8
from mlplan.errors import (
    BaselineError,
    MlplanError,
    ResultError,
    TrackingError,
    UsageError,
)

if TYPE_CHECKING:
    from mlplan._plan.models import Closure, CriteriaAmendment, Decision
    from mlplan._record.publish import Published
    from mlplan._report.status import StatusReport
    from mlplan._run.driver import Event, RunReport

__all__ = [
    "BaselineOutcome",
    "Logged",
    "amend",
    "decide",
    "journal_for",
    "log_result",
    "publish",
    "read_log",
    "record_result",
    "render_design_doc",
    "run_baseline",
    "run_baselines",
    "run_plan",
    "start_run",
    "status",
    "sync",
    "verdicts",
]


def journal_for(
    plan: str | Path, tracking_uri: str | None = None, refresh: bool = False
) -> Journal:
    """``refresh`` reads every result from the store instead of the local copy (see _cache)."""
    return Journal(load_plan(plan), tracking_uri, refresh=refresh)


def _subject(hypothesis: str | None, baseline: str | None) -> tuple[ResultKind, str]:
    if (hypothesis is None) == (baseline is None):
        raise UsageError(
            "give exactly one of a hypothesis or a baseline", arguments=("hypothesis", "baseline")
        )
    if hypothesis is not None:
        return "hypothesis", hypothesis
    assert baseline is not None
    return "baseline", baseline


@dataclass(frozen=True)
class Logged:
    """A result that reached its store (or was already there: ``deduplicated``)."""

    run_id: str
    kind: ResultKind
    subject: str
    reported: bool
    store: str  # where it went, as a sentence can name it
    deduplicated: bool = False


def record_result(
    plan: str | Path,
    *,
    metrics: Mapping[str, Any] | None = None,
    hypothesis: str | None = None,
    baseline: str | None = None,
    note: str = "",
    params: Mapping[str, Any] | None = None,
    reported: bool = False,
    source: str = "",
    run_id: str = "",
    tracking_uri: str | None = None,
    replace: str = "",
    reason: str = "",
) -> Logged:
    """Log one result, or attach the finished run ``run_id``; say where it went."""
    kind, subject = _subject(hypothesis, baseline)
    if run_id and (metrics or params or reported or replace):
        raise UsageError(
            "a finished run is attached with the metrics it already has: give either the run "
            "or metrics, params, reported and replace, not both",
            arguments=("run_id", "metrics", "params", "reported", "replace"),
        )
    if not run_id and not metrics:
        raise UsageError(
            "give at least one metric, or a finished run to attach",
            arguments=("metrics", "run_id"),
        )
    journal = journal_for(plan, tracking_uri)
    if not run_id and _handed_to_driver(
        journal, kind, subject, metrics or {}, params or {}, note=note
    ):
        return Logged("", kind, subject, reported, "the `mlplan run` that runs this script")
    if run_id:
        delivery = journal.attach(run_id, kind, subject, note)
    else:
        submission = journal.submission(
            kind=kind,
            subject=subject,
            metrics=metrics or {},
            note=note,
            params=params,
            reported=reported,
            source=source,
            replaces=replace,
            reason=reason,
        )
        delivery = journal.log(submission)
    return Logged(
        delivery.run_id,
        kind,
        subject,
        reported,
        journal.location.describe(),
        delivery.deduplicated,
    )


def _handed_to_driver(
    journal: Journal,
    kind: ResultKind,
    subject: str,
    metrics: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    note: str = "",
) -> bool:
    """Inside a cell of `mlplan run`, a result is the cell's: it goes to the result file the
    driver reads (which logs it), never to the store. Several calls add up to the cell's one
    result; one that changes a value an earlier call gave fails the cell (spec.combined)."""
    from mlplan._run.spec import (
        ENV_SUBJECT,
        CellOutcome,
        add_result,
        in_cell,
        metrics_of,
    )

    result = in_cell(journal.loaded.path)
    if result is None:
        return False
    journal.check_subject(kind, subject)
    cell = os.environ.get(ENV_SUBJECT, "")
    if subject != cell:
        raise ResultError(
            f"this script runs as a cell of {cell} under `mlplan run`; a result for {subject} "
            "cannot be logged from it"
        )
    try:
        checked = metrics_of(metrics, f"log_result for {subject}")
    except ValueError as error:
        raise ResultError(str(error)) from None
    journal.check_declared(checked)  # refused here as outside a cell: recall=81 is no share
    outcome = CellOutcome(True, metrics=checked, params=dict(params), note=note)
    try:
        add_result(result, outcome, f"log_result for {subject}")
    except ValueError as error:
        raise ResultError(str(error)) from None
    return True


def log_result(
    plan: str | Path,
    *,
    metrics: Mapping[str, Any] | None = None,
    hypothesis: str | None = None,
    baseline: str | None = None,
    note: str = "",
    params: Mapping[str, Any] | None = None,
    reported: bool = False,
    source: str = "",
    run_id: str = "",
    tracking_uri: str | None = None,
    replace: str = "",
    reason: str = "",
) -> str:
    """Log one result for a hypothesis (or a baseline); return its MLflow run id.

    With ``run_id``, attach that finished run (made by a training script or autolog) instead.
    Inside a script that `mlplan run` runs (a cell), the result goes to that run, which logs
    it (and the returned id is ""). One result per subject and pair key: a second one for the
    same key is refused unless it names the run it replaces (``replace=``) and why
    (``reason=``); logging the same values again logs nothing and returns the existing run's
    id. A writer that raced another one for the same key and lost gets
    :class:`~mlplan.errors.NotCountedError` (its run is kept, tagged as a duplicate, and not
    judged). Values are numbers (``0.7`` or ``"0.7"``, never ``"0_7"``, bytes or NaN) within
    the metric's declared bounds.
    """
    return record_result(
        plan,
        metrics=metrics,
        hypothesis=hypothesis,
        baseline=baseline,
        note=note,
        params=params,
        reported=reported,
        source=source,
        run_id=run_id,
        tracking_uri=tracking_uri,
        replace=replace,
        reason=reason,
    ).run_id


def sync(plan: str | Path, *, tracking_uri: str | None = None) -> SyncReport:
    """Send the results waiting in the outbox for this store; report what still waits, why."""
    return journal_for(plan, tracking_uri).sync()


def status(
    plan: str | Path,
    *,
    tracking_uri: str | None = None,
    today: dt.date | None = None,
    require_store: bool = False,
    refresh: bool = False,
    check: bool = False,
) -> StatusReport:
    """Every hypothesis judged, what needs attention, and what waits in the outbox, and why.

    ``check=True`` judges as the CI gate does: the store itself, never the local copy nor the
    outbox; with a server as the store, files of the plan's .mlplan folder tracked by git are
    refused (TrackingError)."""
    from mlplan._report.status import status_report

    return status_report(
        plan,
        tracking_uri=tracking_uri,
        today=today,
        require_store=require_store,
        refresh=refresh,
        check=check,
    )


def decide(
    plan: str | Path,
    hypothesis: str,
    decision: str,
    *,
    rationale: str | None = None,
    date: dt.date | None = None,
    tracking_uri: str | None = None,
    close: Closure | None = None,
) -> Decision:
    """Append a decision to the plan's experiment log with the verdict it was taken on.

    ``close="abandoned"`` (or ``"superseded"``) also closes the hypothesis: its verdict stays
    visible, it is no longer active, and its deadline no longer makes it overdue. Only the new
    entry is added to the file; everything else stays byte for byte as it was.
    """
    from mlplan._api.decisions import record_decision

    return record_decision(
        plan,
        hypothesis,
        decision,
        rationale=rationale,
        date=date,
        tracking_uri=tracking_uri,
        close=close,
    )


def amend(
    plan: str | Path,
    hypothesis: str,
    reason: str,
    *,
    date: dt.date | None = None,
    tracking_uri: str | None = None,
    rename: str | None = None,
) -> list[CriteriaAmendment]:
    """Record that ``hypothesis``'s criteria changed after its results, with the reason.

    ``rename="H1b"`` renames the hypothesis instead, everywhere the plan names it, and records
    the rename so that its results count for the new id (MLflow keeps the id they were logged
    under); it returns the amendments the rename needed (criteria that name the hypothesis).
    """
    from mlplan._api.decisions import record_amendment, record_rename

    if rename is not None:
        return record_rename(plan, hypothesis, rename, reason, date=date, tracking_uri=tracking_uri)
    return record_amendment(plan, hypothesis, reason, date=date, tracking_uri=tracking_uri)


@contextmanager
def start_run(
    plan: str | Path,
    *,
    hypothesis: str | None = None,
    baseline: str | None = None,
    note: str = "",
    tracking_uri: str | None = None,
) -> Iterator[Any]:
    """Open an MLflow run tied to a hypothesis; log into it as usual (autolog works).

    The run counts as a result once it finishes; a run that raises is marked FAILED by MLflow
    and is never judged. A value outside its metric's bounds fails the run with ResultError;
    a run whose pair key another result held first raises :class:`~mlplan.errors.NotCountedError`
    as the block ends (the run is kept, tagged as a duplicate, and not judged).

    The run it yields is MLflow's ActiveRun, with ``run.log_metric`` and ``run.log_metrics``
    that read each value by mlplan's one number grammar first ("0_7", b"12", "١٢", NaN,
    infinities and 10**400 refused with ResultError, the run still open). What cannot be
    checked: a value given to ``mlflow.log_metric`` directly is converted by MLflow before
    mlplan sees it ("0_7" is stored as 7.0, b"12" and "١٢" as 12.0, an infinity as
    ±1.797e308, and 10**400 raises MLflow's OverflowError); when the run ends mlplan checks
    only what was stored: a declared metric outside its bounds, or at ±1.797e308 (an infinity),
    fails the run.
    """
    kind, subject = _subject(hypothesis, baseline)
    journal = journal_for(plan, tracking_uri)
    from mlplan._run.spec import in_cell

    if in_cell(journal.loaded.path) is not None:
        with _scratch_run(journal, kind, subject) as run:
            yield run
        return
    with journal.active_run(journal.open_submission(kind, subject, note)) as run:
        yield run


@contextmanager
def _scratch_run(journal: Journal, kind: ResultKind, subject: str) -> Iterator[Any]:
    """Inside a cell of `mlplan run`: a run in a scratch store in the cell's folder (autolog
    works as usual); once it finishes, its metrics and params are the cell's result, which the
    driver logs. The plan's store is never written from a cell."""
    from mlplan._record.store.scratch import scratch_run
    from mlplan._run.spec import ENV_WORKDIR

    journal.check_subject(kind, subject)
    with scratch_run(Path(os.environ[ENV_WORKDIR]) / "scratch.db") as scratch:
        yield scratch.run
    _handed_to_driver(journal, kind, subject, scratch.metrics, scratch.params)


@dataclass(frozen=True)
class BaselineOutcome:
    """A baseline run by its entry point (or command) and logged, or found already logged
    (``deduplicated``: its slot held a result, so nothing was run)."""

    baseline: str
    run_id: str
    metrics: Mapping[str, float]
    seconds: float
    ignored: list[str]  # metrics it returned that the plan does not declare
    deduplicated: bool = False


def _literal(value: Any) -> Any:
    """A param typed on the command line as YAML would read it: 3 an int, 0.3 a float."""
    if not isinstance(value, str):
        return value
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def run_baselines(
    plan: str | Path,
    baseline_ids: Sequence[str] = (),
    *,
    tracking_uri: str | None = None,
    params: Mapping[str, Any] | None = None,
    replace: str = "",
    reason: str = "",
    timeout: float | None = None,
    on_start: Callable[[str], None] | None = None,
) -> list[BaselineOutcome]:
    """Run baselines (default: every one that declares how) and log their results: `mlplan
    run` for baselines, each cell in a fresh process. With ``params``, one cell per baseline
    with exactly those params; without, each baseline's planned cells. A cell already in the
    store is not run again (unless ``replace`` names the run it replaces).

    ``timeout`` bounds each cell in seconds; ``on_start`` hears each id before it runs.
    """
    from mlplan._run.driver import RunOptions, run_matrix
    from mlplan._run.matrix import Cell

    journal = journal_for(plan, tracking_uri)
    design = journal.plan.experiment
    runnable = [b.id for b in design.baselines if b.entry_point or b.command]
    chosen = list(baseline_ids) or runnable
    if not chosen:
        raise MlplanError(
            "no baseline in this plan declares an entry_point or a command to run it: "
            "log the baselines' results as results of a baseline instead",
            arguments=("baseline",),
        )
    if replace and len(set(chosen)) > 1:
        raise UsageError(
            "a replaced run belongs to one baseline: give only that baseline",
            arguments=("replace",),
        )
    # Every id is checked before any cell runs: a typo in the third id, or one with no way to
    # run, must not leave the first two logged behind an error message (the CLI fuzzer).
    for baseline_id in chosen:
        journal.check_subject("baseline", baseline_id)
        if baseline_id not in runnable:
            require_entry_point(journal.plan.baseline(baseline_id))
    chosen = list(dict.fromkeys(chosen))  # `baseline run PLAN B1 B1` runs B1 once
    _check_writable(reason=reason, params=params or {})
    cells = None
    if params:
        typed = {str(key): _literal(value) for key, value in params.items()}
        cells = [Cell("baseline", baseline_id, typed) for baseline_id in chosen]

    def heard(event: dict[str, Any]) -> None:
        if on_start is not None and event["event"] == "cell_started":
            on_start(event["cell"])

    # As before `run` existed: a server that does not answer keeps the results in the outbox.
    options = RunOptions(timeout=timeout, replace=replace, reason=reason, offline=True)
    report = run_matrix(journal, chosen, options, heard, cells)
    if report.failed:
        first = report.failed[0]
        raise BaselineError(
            f"baseline {first.cell.label}: {first.error}"
            + (f" (its log: {first.log})" if first.log else "")
        )
    return [
        BaselineOutcome(
            cell.cell.subject,
            cell.run_id,
            dict(cell.metrics),
            cell.seconds,
            cell.ignored,
            deduplicated=cell.status == "skipped",
        )
        for cell in report.cells
    ]


def _check_writable(*, reason: str, params: Mapping[str, Any]) -> None:
    """Refuse text no run can keep before any cell runs, not once its result is logged."""
    texts = {"reason": reason} | {f"the value of param {k}": str(v) for k, v in params.items()}
    for name, text in texts.items():
        problem = not_utf8(name, text)
        if problem is not None:
            argument = "reason" if name == "reason" else "params"
            raise ResultError(f"{problem}; nothing was run", arguments=(argument,))


def run_baseline(
    plan: str | Path,
    baseline_id: str,
    tracking_uri: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    replace: str = "",
    reason: str = "",
) -> str:
    """Run a baseline's declared entry point (``params`` as keyword arguments) in a fresh
    process and log its result; return the run id (the existing one if already logged)."""
    outcomes = run_baselines(
        plan,
        [baseline_id],
        tracking_uri=tracking_uri,
        params=params,
        replace=replace,
        reason=reason,
    )
    return outcomes[0].run_id


def run_plan(
    plan: str | Path,
    ids: Sequence[str] = (),
    *,
    jobs: int | None = None,
    retries: int = 0,
    timeout: float | None = None,
    dry_run: bool = False,
    until: str = "all",
    tracking_uri: str | None = None,
    on_event: Callable[[Event], None] | None = None,
    executor: str = "local",
    slurm: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> RunReport:
    """Run the plan's matrix: every missing cell of ``ids`` (default: the active hypotheses
    and their baselines), each in a fresh process, ``jobs`` at a time, each result logged.
    With ``params`` (e.g. ``{"seed": 0}``), only the cells that carry those values.

    A cell already in the store is skipped, so a second call does nothing and an interrupted
    one resumes. ``retries`` re-runs cells that produced no result; ``timeout`` stops a cell
    after that many seconds; ``dry_run`` only reads the matrix. ``on_event`` hears one dict
    per event (a cell started, logged, failed, skipped).

    ``executor="slurm"`` submits the cells as Slurm job arrays (``pip install 'mlplan[slurm]'``)
    and logs each result here; ``slurm`` gives partition, time (minutes), cpus, gpus and mem
    over the plan's ``execution.slurm``. A call started again adopts the jobs an earlier one
    left queued or running instead of submitting them twice.
    """
    from mlplan._run.driver import RunOptions, run_matrix

    options = RunOptions(
        jobs=jobs,
        retries=retries,
        timeout=timeout,
        dry_run=dry_run,
        until=until,
        executor=executor,
        slurm=dict(slurm or {}),
    )
    journal = journal_for(plan, tracking_uri)
    cells = None
    if params:  # part of the matrix: its cells that carry these values
        from mlplan._run.driver import plan_matrix

        cells = [cell for cell in plan_matrix(journal, ids).cells if cell.carries(params)]
    return run_matrix(journal, ids, options, on_event, cells)


def verdicts(
    plan: str | Path, *, tracking_uri: str | None = None, today: dt.date | None = None
) -> list[Verdict]:
    """Every hypothesis judged against its criteria and baselines, as of ``today``."""
    return journal_for(plan, tracking_uri).verdicts(today)[1]


def read_log(
    plan: str | Path,
    *,
    tracking_uri: str | None = None,
    read: bool | None = None,
    today: dt.date | None = None,
    plots_dir: Path | None = None,
    refresh: bool = False,
) -> LogView:
    """The experiment log for the design doc. ``read=None`` reads it when a store exists;
    an unreachable store gives a log marked unavailable rather than an error."""
    journal = Journal(load_plan(plan), tracking_uri, refresh=refresh)
    return _read_log(journal, read=read, today=today, plots_dir=plots_dir)


def _read_log(
    journal: Journal, *, read: bool | None, today: dt.date | None, plots_dir: Path | None
) -> LogView:
    location = journal.location
    if read is False or (read is None and not location.exists()):
        return LogView(
            reason="no MLflow store was found for this plan (none configured, "
            "and no embedded store beside it)"
        )
    try:
        results, judged = journal.verdicts(today)
    except TrackingError as error:
        return LogView(reason=f"{location.describe()} could not be read ({error})")
    from mlplan._judge.frozen import frozen_review

    as_of = today or _clock.today()
    review = frozen_review(journal.plan, results, judged, as_of)
    plots = {}
    if plots_dir is not None:
        from mlplan._report.plots import plot_hypotheses

        plots = plot_hypotheses(journal.plan, results, judged, plots_dir)
    return LogView(
        available=True,
        store=location.describe_for_doc(),
        results=results,
        verdicts=judged,
        plots=plots,
        as_of=as_of,
        review=review,
    )


def render_design_doc(
    plan: str | Path,
    output: Path | None = None,
    *,
    tracking_uri: str | None = None,
    read: bool | None = None,
    today: dt.date | None = None,
    refresh: bool = False,
) -> str:
    """Render the design doc; with ``output``, write it there with its plots beside it."""
    # Opens no store until the log is read.
    journal = Journal(load_plan(plan), tracking_uri, refresh=refresh)
    if output is not None:
        check_output(output, [journal.loaded.path])  # before any plot is drawn
    plots_dir = output.parent / f"{output.stem}_plots" if output is not None else None
    log = _read_log(journal, read=read, today=today, plots_dir=plots_dir)
    files: list[Path] = [Path(p) for p in log.plots.values()]
    if output is not None and log.plots:
        links = {h: _link(Path(p), output) for h, p in log.plots.items()}
        log = dataclasses.replace(log, plots=links)
    markdown = render_markdown(journal.plan, log)
    if output is not None:
        write_markdown(output, markdown, protect=[journal.loaded.path])
        if log.available:
            _snapshot(journal, output, files)
    return markdown


def _snapshot(journal: Journal, doc: Path, plots: list[Path]) -> None:
    """Keep the doc in the store; a store that refuses (a read-only account, say) is an error
    that first says the doc itself was written, so nobody writes it again to be sure."""
    try:
        journal.snapshot(doc, plots)
    except TrackingError as error:
        # The same error (its kind and HTTP status), told with what did happen first.
        error.args = (
            f"wrote the design doc to {doc}, but could not keep a copy of it beside the "
            f"results in {journal.location.describe()}: {error}",
        )
        raise


def _link(plot: Path, doc: Path) -> str:
    # Percent-encoded: a space in "my doc_plots/H1.png" would end the Markdown link.
    return urllib.parse.quote(plot.relative_to(doc.parent).as_posix())


def publish(
    plan: str | Path,
    *,
    tracking_uri: str | None = None,
    today: dt.date | None = None,
    refresh: bool = False,
) -> Published:
    """Judge every hypothesis and write the verdicts to the experiment as tags; return them
    (a dict of tag names and values; ``.verdicts`` maps each hypothesis to its status).

    The only call that writes verdicts: see mlplan._record.publish for why ``status`` does not.
    """
    from mlplan._record.publish import git_commit, verdict_tags
    from mlplan._report.status import status_report

    # What everyone sees is judged as the gate judges (status_report with check): the store
    # itself, never the local copy nor the outbox; ``refresh`` is kept for callers, and always
    # in effect. A record that does not hold (criteria changed unrecorded, results left under
    # an old id, a doctored amendment) is not published: the adversarial pass of issue 16
    # published "H1 succeeded" from criteria relaxed by hand while the gate was red.
    day = today or _clock.today()
    report = status_report(plan, tracking_uri=tracking_uri, today=day, check=True)
    if report.record:
        raise ResultError(
            "the record does not hold, so its verdicts were not published:\n"
            + "\n".join(f"  - {reason}" for reason in report.record)
            + "\nfix these, then publish again"
        )
    journal = Journal(load_plan(plan), tracking_uri, refresh=True)
    judged = report.verdicts
    # MLPLAN_SITE_URL: where `mlplan site` is hosted; the description links the plan's page.
    site = os.environ.get("MLPLAN_SITE_URL", "").rstrip("/")
    page = f"{site}/plans/{journal.plan.id}/index.html" if site else ""
    tags = verdict_tags(journal.plan, judged, git_commit(journal.loaded.path), day, page)
    journal.store.publish(tags)
    return tags
