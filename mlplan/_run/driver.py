"""The driver of `mlplan run`: expand the matrix, run each missing cell once, log its result.

The driver is the only writer to the store: a cell hands back its result file, and the
driver logs it through the journal with the slot as its identity (the cell's params). A cell
runs under a per-host lock on its slot, so two `run`s of one plan never run a cell twice on
one host; a killed `run` leaves its cells to the next one (their results were never logged,
or were logged: then the slot is filled and skipped).

Ctrl-C (or SIGTERM) stops submitting, stops the running cells and logs what already
arrived; the driver never writes to the store while a signal can interrupt it half-way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlplan import _clock
from mlplan._judge.results import Result
from mlplan._judge.settings import design_of
from mlplan._judge.verdicts import active_hypotheses, judge
from mlplan._plan.entry_points import entry_point_findings
from mlplan._record.journal import Journal
from mlplan._record.locks import LockTakenError, cell_lock
from mlplan._record.store.runs import plan_digest
from mlplan._run.backend import Backend, CellJob, Ended
from mlplan._run.local import LocalExecutor, cores, tail
from mlplan._run.matrix import Cell, Matrix, checked, expand, slot_key
from mlplan._run.spec import CellOutcome, CellSpec, read_outcome
from mlplan.errors import (
    BaselineError,
    MlplanError,
    PlanError,
    StoreUnreachableError,
    UsageError,
)

__all__ = ["CellReport", "Event", "RunOptions", "RunReport", "run_matrix"]

Event = dict[str, Any]
POLL_S = 0.01


@dataclass(frozen=True)
class RunOptions:
    jobs: int | None = None  # default: the cores
    retries: int = 0
    timeout: float | None = None
    dry_run: bool = False
    until: str = "all"  # "decided": stop each sequential design at its first deciding look
    # The hook `--until decided` uses (decided_by_its_design): asked after each wave (every
    # `jobs` results of a hypothesis, and after its last); True stops that hypothesis's cells
    # not yet started.
    stop_when: Callable[[Journal, str], bool] | None = None
    offline: bool = False  # a store that does not answer: run all the same, results wait
    replace: str = ""  # with one cell: run it although its slot is filled, replacing that run
    reason: str = ""
    executor: str = "local"  # or "slurm"
    # --executor slurm: the command line's partition, time (minutes), cpus, gpus, mem; each
    # over the plan's execution.slurm
    slurm: dict[str, Any] = field(default_factory=dict)


@dataclass
class CellReport:
    """What became of one cell."""

    cell: Cell
    status: str  # logged, failed, skipped (already in the store), cancelled
    run_id: str = ""
    error: str = ""
    log: str = ""
    exit_status: int | None = None
    attempts: int = 0
    seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell.label,
            "kind": self.cell.kind,
            "subject": self.cell.subject,
            "params": self.cell.params,
            "status": self.status,
            "run_id": self.run_id,
            "error": self.error,
            "log": self.log,
            "exit_status": self.exit_status,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
            "metrics": self.metrics,
            "ignored": self.ignored,
        }


@dataclass
class RunReport:
    """What `run_plan` did: the matrix, each cell's outcome, and the verdicts after it."""

    matrix: Matrix
    cells: list[CellReport] = field(default_factory=list)
    interrupted: bool = False
    dry_run: bool = False
    # After the run: each hypothesis of the matrix, its verdict and why, as `status` says.
    statuses: list[tuple[str, str, str]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for report in self.cells if report.status == status)

    @property
    def failed(self) -> list[CellReport]:
        return [report for report in self.cells if report.status in ("failed", "cancelled")]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    def to_dict(self) -> dict[str, Any]:
        return {
            "cells": len(self.matrix.cells),
            "done_before": len(self.matrix.done),
            "logged": self.count("logged"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "cancelled": self.count("cancelled"),
            "manual": self.matrix.manual,
            "interrupted": self.interrupted,
        }


class _Stop:
    """Ctrl-C and SIGTERM as a flag the driver reads between steps, never mid-write."""

    def __init__(self) -> None:
        self.requests = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Stop]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for signum in previous:
            signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        self.requests += 1

    @property
    def requested(self) -> bool:
        return self.requests > 0


def _existing(journal: Journal, offline: bool = False) -> list[Result] | None:
    """The results in the store; None when it does not answer and ``offline`` allows that."""
    # No store yet: nothing to skip, and `--dry-run` must not create one.
    if not journal.location.exists():
        return []
    try:
        return journal.results()
    except StoreUnreachableError:
        if not offline:
            raise
        return None


def plan_matrix(
    journal: Journal, ids: Sequence[str], cells: Sequence[Cell] | None = None, offline: bool = False
) -> Matrix:
    """The cells for ``ids`` (default: the active hypotheses and their baselines), or the
    ``cells`` given, with those already in the store marked done."""
    found = _existing(journal, offline)
    results = found or []
    if cells is not None:
        return checked(list({cell.key: cell for cell in cells}.values()), results)
    active: list[str] = []
    if not ids:
        active = active_hypotheses(journal.plan, judge(journal.plan, results, _clock.today()))
    matrix = expand(journal.plan, ids, active, results)
    _check_runnable(journal, ids, matrix)
    return matrix


def _check_runnable(journal: Journal, ids: Sequence[str], matrix: Matrix) -> None:
    named = [subject for subject in matrix.manual if subject in ids]
    if named:
        subject = named[0]
        kind = (
            "baseline"
            if subject in {b.id for b in journal.plan.experiment.baselines}
            else ("hypothesis")
        )
        flag = "--baseline" if kind == "baseline" else "--hypothesis"
        raise BaselineError(
            f"{kind} {subject} declares no entry_point or command, so `mlplan run` cannot run "
            f"it; declare one in {journal.loaded.path}, or log its result with "
            f"`mlplan log-result PLAN {flag} {subject} --metric KEY=VALUE`"
        )
    if not matrix.cells and matrix.manual:
        raise BaselineError(
            "nothing here declares how to run it: give the hypotheses and baselines an "
            f"entry_point or a command in {journal.loaded.path} (needed: "
            f"{', '.join(matrix.manual)}), or log their results with `mlplan log-result`"
        )


def run_matrix(
    journal: Journal,
    ids: Sequence[str] = (),
    options: RunOptions = RunOptions(),
    on_event: Callable[[Event], None] | None = None,
    cells: Sequence[Cell] | None = None,
) -> RunReport:
    """Run every missing cell for ``ids`` (or of ``cells``) and log each result; see the
    module's docstring."""
    if options.until not in ("all", "decided"):
        raise UsageError(f"--until {options.until!r}: give all or decided")
    matrix = plan_matrix(journal, ids, cells, options.offline)
    _entry_points_resolve(journal, {cell.subject for cell in matrix.cells})
    if options.until == "decided" and options.stop_when is None:
        options = replace(options, stop_when=decided_by_its_design)
        _check_until_decided(journal, matrix)
    if options.replace:  # a replacement runs its cell although the slot is filled
        matrix = replace(matrix, done=[], filled={})
    report = RunReport(matrix, dry_run=options.dry_run)
    if options.dry_run:
        return report
    _Driver(journal, matrix, options, on_event or (lambda event: None), report).run()
    return report


def _entry_points_resolve(journal: Journal, subjects: set[str]) -> None:
    """Refuse a run whose entry point names a function its module beside the plan lacks:
    otherwise every cell of that subject would start, import, and fail the same way."""
    loaded = journal.loaded
    problems = [
        loaded.problem_at(*finding)
        for finding in entry_point_findings(loaded.plan, loaded.path.parent, subjects)
        if finding.severity == "error"
    ]
    if problems:
        raise PlanError(loaded.path, problems)


def _sequential(journal: Journal, matrix: Matrix) -> set[str]:
    """The matrix's hypotheses with a sequential design: they run in waves under --until."""
    plan = journal.plan
    subjects = {cell.subject for cell in matrix.cells if cell.kind == "hypothesis"}
    return {s for s in subjects if design_of(plan, plan.hypothesis(s))[1] is not None}


def _check_until_decided(journal: Journal, matrix: Matrix) -> None:
    plan = journal.plan
    subjects = sorted({cell.subject for cell in matrix.cells if cell.kind == "hypothesis"})
    planned = [s for s in subjects if design_of(plan, plan.hypothesis(s)) != (None, None)]
    if subjects and not planned:
        raise UsageError(
            f"--until decided needs a planned n: give {', '.join(subjects)} a sequential design "
            f"(sequential: {{max_runs: N}} or {{max_runs: null}}) or runs: N in "
            f"{journal.loaded.path}; without one `mlplan run` runs the planned matrix"
        )


def decided_by_its_design(journal: Journal, hypothesis: str) -> bool:
    """--until decided: whether a look of the hypothesis's sequential design has decided it
    (its verdict's decided_at); a verdict that cannot be read yet decides nothing."""
    try:
        _, verdicts = journal.verdicts()
    except MlplanError:
        return False
    return any(v.hypothesis == hypothesis and v.decided_at is not None for v in verdicts)


class _Driver:
    def __init__(
        self,
        journal: Journal,
        matrix: Matrix,
        options: RunOptions,
        emit: Callable[[Event], None],
        report: RunReport,
    ) -> None:
        self.journal = journal
        self.matrix = matrix
        self.options = options
        self.emit = emit
        self.report = report
        self.home = journal.location.home
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        # Unique even for two runs in one process within a second (`baseline run` twice from
        # a script): a cell reading its folder's result file must never find the last run's.
        self.folder = self.home / "runs" / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.plan_path = journal.loaded.path.resolve()
        # The plan as read, which every result of this run is stamped with (the journal's).
        self.plan_sha256 = plan_digest(journal.plan_as_loaded())
        self.executor: Backend = self._backend()
        self.attempts: dict[tuple[Any, ...], int] = {}
        self.locks: dict[str, contextlib.ExitStack] = {}
        self.stop = _Stop()
        self.job_cell: dict[int, Cell] = {}  # each running job's cell, by the job's identity
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="mlplan writer")
        self.writing: list[tuple[Future[str], Cell, CellReport]] = []
        # stop_when's waves: cells started in a hypothesis's current wave, and not yet over
        self.wave: dict[str, int] = {}
        self.open: dict[str, int] = {}
        self.decided: set[str] = set()
        # Which hypotheses run in waves: under --until decided, those with a sequential
        # design (a fixed horizon's N cells all run); with another hook, every one.
        self.waved = (
            _sequential(journal, matrix)
            if options.stop_when is decided_by_its_design
            else {cell.subject for cell in matrix.cells if cell.kind == "hypothesis"}
        )

    def _backend(self) -> Backend:
        execution = self.journal.plan.experiment.execution
        if self.options.executor == "local":
            return LocalExecutor(self.options.jobs or cores(), self.options.timeout, execution.gpus)
        if self.options.executor != "slurm":
            raise UsageError(f"--executor {self.options.executor!r}: give local or slurm")
        from mlplan._run.slurm_backend import SlurmExecutor, resources

        wanted = resources(execution.slurm, self.options.slurm, self.options.timeout)
        # Without -j every missing cell is queued at once: Slurm does the scheduling.
        jobs = self.options.jobs or max(1, len(self.matrix.missing))
        return SlurmExecutor(self.home / "slurm", wanted, jobs)

    def _reattach(self, queue: list[Cell]) -> None:
        """A restarted driver adopts the Slurm jobs an earlier one left queued or running
        (or finished, their results not yet logged) instead of submitting their cells again."""
        from mlplan._run.slurm_backend import SlurmExecutor

        if not isinstance(self.executor, SlurmExecutor):
            return
        missing = {(cell.subject, slot_key(cell.params)): cell for cell in queue}
        adopted = self.executor.reattach(
            lambda spec: (spec.subject, slot_key(spec.params)) in missing
        )
        for job in adopted:
            cell = missing[(job.spec.subject, slot_key(job.spec.params))]
            if not self._lock(cell, wait=False):
                continue  # another driver on this host has it; it will log it
            queue.remove(cell)
            if self.options.stop_when is not None and cell.subject in self.waved:
                self.wave[cell.subject] = self.wave.get(cell.subject, 0) + 1
                self.open[cell.subject] = self.open.get(cell.subject, 0) + 1
            self.attempts[cell.key] = 1
            self.job_cell[id(job)] = cell
            self._emit_started(cell, job, "cell_reattached")

    def run(self) -> None:
        queue = list(self.matrix.missing)
        if self.options.stop_when is not None:
            # Baselines first: a look then finds each hypothesis result's pair already there.
            queue.sort(key=lambda cell: cell.kind != "baseline")
        self._reattach(queue)
        for cell in self.matrix.done:
            run_id = self.matrix.filled.get(cell.key, "")
            self._finish(CellReport(cell, "skipped", run_id=run_id), "cell_skipped")
        self.emit(
            {
                "event": "run_started",
                "cells": len(self.matrix.cells),
                "missing": len(queue),
                "jobs": self.executor.jobs,
            }
        )
        with self.stop.installed():
            try:
                deferred = self._loop(queue, wait_for_locks=False)
                if deferred and not self.stop.requested:
                    self._loop(deferred, wait_for_locks=True)
                if self.stop.requested:
                    self._cancel_all()
            finally:
                self.writer.shutdown(wait=True)
                self._logged()
        self._statuses()
        self.emit({"event": "run_finished", **self.report.to_dict()})

    def _statuses(self) -> None:
        """Where the hypotheses stand now, when this run logged anything."""
        subjects = {c.subject for c in self.matrix.cells if c.kind == "hypothesis"}
        if not self.report.count("logged") or not subjects:
            return
        try:
            _, verdicts = self.journal.verdicts()
        except MlplanError:
            return  # the results are logged; `mlplan status` will say where they stand
        self.report.statuses = [
            (v.hypothesis, v.status, v.reason) for v in verdicts if v.hypothesis in subjects
        ]
        for hypothesis, status, reason in self.report.statuses:
            self.emit(
                {"event": "status", "hypothesis": hypothesis, "status": status, "reason": reason}
            )

    def _loop(self, queue: list[Cell], wait_for_locks: bool) -> list[Cell]:
        deferred: list[Cell] = []
        while (queue and not self.stop.requested) or self.executor.running or self.writing:
            while queue and self.executor.free > 0 and not self.stop.requested:
                index = self._startable(queue)
                if index is None:
                    break  # every waiting cell belongs to a wave not yet looked at
                cell = queue.pop(index)
                if cell.kind == "hypothesis" and cell.subject in self.decided:
                    note = f"{cell.subject} was decided before this cell ran"
                    self._finish(CellReport(cell, "skipped", error=note), "cell_not_needed")
                    continue
                if not self._lock(cell, wait_for_locks):
                    self._unstart(cell)
                    deferred.append(cell)
                    continue
                if self._filled_meanwhile(cell):
                    self._unlock(cell)
                    self._unstart(cell)
                    self._finish(CellReport(cell, "skipped"), "cell_skipped")
                    continue
                self._submit(cell)
            for job in self.executor.flush():
                self._emit_started(self.job_cell[id(job)], job, "cell_started")
            if self.stop.requested:
                self.executor.cancel()
            for ended in self.executor.poll():
                retry = self._ended(ended)
                if retry is not None:
                    queue.insert(0, retry)
            self._logged()
            if self.executor.running or self.writing:
                time.sleep(POLL_S)
        return deferred

    # -- one cell ----------------------------------------------------------------------------

    def _lock(self, cell: Cell, wait: bool) -> bool:
        if cell.slug in self.locks:
            return True  # a retry keeps the lock its first attempt took
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(cell_lock(self.home, cell.slug, wait=wait))
        except LockTakenError:
            return False
        self.locks[cell.slug] = stack
        return True

    def _unlock(self, cell: Cell) -> None:
        stack = self.locks.pop(cell.slug, None)
        if stack is not None:
            stack.close()

    def _filled_meanwhile(self, cell: Cell) -> bool:
        """Whether another run logged this slot since the matrix was read (its lock is ours
        now, so no one else is running it)."""
        if self.options.replace or not self.journal.location.exists():
            return False
        if self.options.offline:
            try:
                return self._filled(cell)
            except StoreUnreachableError:
                return False  # its result will wait in the outbox, as the journal says
        return self._filled(cell)

    def _filled(self, cell: Cell) -> bool:
        # A narrow search by the params as the driver writes them (str of the YAML value, as
        # the journal stores it): reading the subject's every result per cell grew as n².
        written = {key: str(value) for key, value in cell.params.items()}
        results = self.journal.store.matching(cell.kind, cell.subject, written)
        return any(cell.filled_by(result) for result in results)

    def _submit(self, cell: Cell) -> None:
        attempt = self.attempts.get(cell.key, 0) + 1
        self.attempts[cell.key] = attempt
        folder = self.folder / cell.slug / f"attempt-{attempt}"
        folder.mkdir(parents=True, exist_ok=True)
        subject = (
            self.journal.plan.hypothesis(cell.subject)
            if cell.kind == "hypothesis"
            else self.journal.plan.baseline(cell.subject)
        )
        spec = CellSpec(
            plan=str(self.plan_path),
            plan_sha256=self.plan_sha256,
            submission=uuid.uuid4().hex,
            subject=cell.subject,
            params=dict(cell.params),
            entry_point=subject.entry_point,
            command=list(subject.command) if subject.command is not None else None,
            result=str(folder / "result.json"),
            workdir=str(folder),
        )
        spec_path = folder / "spec.json"
        spec.write(spec_path)
        job = self.executor.submit(spec_path, spec, folder / "log.txt")
        self.job_cell[id(job)] = cell

    def _emit_started(self, cell: Cell, job: CellJob, event: str) -> None:
        self.emit(
            {
                "event": event,
                "cell": cell.label,
                "attempt": self.attempts[cell.key],
                "submission": job.spec.submission,
                "log": str(job.log),
                **job.tags,
            }
        )

    def _ended(self, ended: Ended) -> Cell | None:
        """Log a cell that ended with a result, or report it; the cell to try again, if any."""
        cell = self.job_cell.pop(id(ended.job))
        attempt = self.attempts[cell.key]
        self.emit(
            {
                "event": "cell_ended",
                "cell": cell.label,
                "exit_status": ended.status,
                "seconds": round(ended.seconds, 3),
            }
        )
        outcome = read_outcome(Path(ended.job.spec.result))
        base = CellReport(
            cell,
            "failed",
            log=str(ended.job.log),
            exit_status=ended.status,
            attempts=attempt,
            seconds=ended.seconds,
        )
        if ended.cancelled:
            self._unlock(cell)
            base.status, base.error = "cancelled", "stopped by Ctrl-C; nothing was logged"
            self._finish(base, "cell_cancelled")
            self._look(cell)
            return None
        if outcome is None or not outcome.ok:
            base.error = self._why(ended, outcome)
            if attempt <= self.options.retries and not self.stop.requested:
                self.emit(
                    {
                        "event": "cell_retry",
                        "cell": cell.label,
                        "attempt": attempt,
                        "error": base.error,
                    }
                )
                self._unstart(cell)
                return cell  # keeps its lock
            self._unlock(cell)
            self._finish(base, "cell_failed")
            self._look(cell)
            return None
        # One writer thread logs while cells go on running: the driver stays the one writer,
        # and a slow store no longer holds up starting the next cells.
        future = self.writer.submit(self._log, cell, outcome, ended.job, base)
        self.writing.append((future, cell, base))
        return None

    def _why(self, ended: Ended, outcome: CellOutcome | None) -> str:
        if ended.timed_out:
            return f"did not finish within {self.options.timeout:g} s; nothing was logged"
        if outcome is not None:
            return outcome.error
        last = tail(ended.job.log)
        if ended.reason:
            return ended.reason + (f"; the end of its output:\n{last}" if last else "")
        status = (
            f"was killed by signal {-ended.status}"
            if ended.status < 0
            else f"exited with status {ended.status}"
        )
        return f"{status} without a result" + (f"; the end of its output:\n{last}" if last else "")

    def _log(self, cell: Cell, outcome: CellOutcome, job: CellJob, base: CellReport) -> str:
        """Log one result (in the writer thread); the event that says how it went."""
        spec = job.spec
        declared = {metric.key for metric in self.journal.plan.metrics}
        kept = {key: value for key, value in outcome.metrics.items() if key in declared}
        base.ignored = sorted(key for key in outcome.metrics if key not in declared)
        how = spec.entry_point or " ".join(spec.command or [])
        try:
            if not kept:
                raise MlplanError(_none_declared(cell.subject, outcome.metrics, declared))
            submission = self.journal.submission(
                kind=cell.kind,
                subject=cell.subject,
                metrics=kept,
                note=outcome.note or f"measured by running {how}",
                params=outcome.params,
                replaces=self.options.replace,
                reason=self.options.reason,
            )
            # The run carries the cell's submission id (the one the cell saw in its
            # environment) and what the backend knows of it (a Slurm job id).
            submission = replace(submission, submission_id=spec.submission, tags=job.tags)
            delivery = self.journal.log(submission)
        except MlplanError as error:
            base.error = str(error)
            return "cell_failed"
        base.status, base.run_id, base.metrics = "logged", delivery.run_id, kept
        return "cell_logged"

    def _logged(self) -> None:
        """Finish the cells whose results the writer has logged, releasing their locks."""
        for future, cell, base in list(self.writing):
            if future.done():
                self.writing.remove((future, cell, base))
                try:
                    event = future.result()  # a bug in logging is raised here, as before
                finally:
                    self._unlock(cell)
                self._finish(base, event)
                self._look(cell)

    def _startable(self, queue: list[Cell]) -> int | None:
        """The first cell that may start: with a stop_when hook, a hypothesis runs in waves of
        `jobs` cells, and its next wave starts only after the last one was looked at."""
        if self.options.stop_when is None:
            return 0
        for index, cell in enumerate(queue):
            if cell.subject not in self.waved or cell.subject in self.decided:
                return index
            if self.wave.get(cell.subject, 0) < self.executor.jobs:
                self.wave[cell.subject] = self.wave.get(cell.subject, 0) + 1
                self.open[cell.subject] = self.open.get(cell.subject, 0) + 1
                return index
        return None

    def _unstart(self, cell: Cell) -> None:
        """A cell counted in its wave that did not run after all (deferred, filled, retried)."""
        counted = self.options.stop_when is not None and cell.subject in self.waved
        if counted and cell.subject not in self.decided:
            self.wave[cell.subject] -= 1
            self.open[cell.subject] -= 1

    def _look(self, cell: Cell) -> None:
        """When a wave of a hypothesis's cells has ended, ask whether it is decided."""
        if self.options.stop_when is None or cell.subject not in self.waved:
            return
        self.open[cell.subject] -= 1
        if self.open[cell.subject]:
            return  # the wave is not over
        self.wave[cell.subject] = 0
        if cell.subject not in self.decided and self.options.stop_when(self.journal, cell.subject):
            self.decided.add(cell.subject)
            self.emit({"event": "decided", "hypothesis": cell.subject})

    def _finish(self, report: CellReport, event: str) -> None:
        self.report.cells.append(report)
        self.emit({"event": event, **report.to_dict()})

    def _cancel_all(self) -> None:
        self.report.interrupted = True
        self.executor.kill()
        while self.executor.running:
            for ended in self.executor.poll():
                self._ended(ended)
            time.sleep(POLL_S)


def _none_declared(subject: str, returned: Mapping[str, float], declared: set[str]) -> str:
    """Why a result that names none of the plan's metrics is not logged: what came back, what
    the plan declares, and the likely slip (``acc`` for ``accuracy``)."""
    got = ", ".join(sorted(returned)) or "no metric"
    close = [
        f"{key!r} for {match[0]!r}"
        for key in sorted(returned)
        if (match := difflib.get_close_matches(key, sorted(declared), n=1, cutoff=0.5))
    ]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (
        f"{subject} returned {got}, none of the plan's metrics ({', '.join(sorted(declared))})"
        f"{hint}; nothing was logged"
    )
