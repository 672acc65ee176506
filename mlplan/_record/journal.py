"""A plan's journal: checking results against the plan, delivering them, reading them back.

This is the core's face towards the store. It validates every result before anything is
written (an unknown metric or a NaN logs nothing), keeps results for an unreachable server in
the outbox, and delivers the outbox first on every later command, so nothing is lost and
nothing is sent twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplan import _clock
from mlplan._files import write_atomically
from mlplan._judge.evidence import live_results, slot_names, slot_of
from mlplan._judge.frozen import carried_over
from mlplan._judge.results import Result, ResultKind
from mlplan._judge.rules import needed_baselines
from mlplan._judge.settings import settings_for
from mlplan._judge.verdicts import Verdict, criteria_fingerprint, criteria_text, judge
from mlplan._plan.keys import (
    NumberError,
    canonical,
    exact,
    key_problem,
    number,
    slot_value_problem,
    value_problem,
)
from mlplan._plan.load import LoadedPlan
from mlplan._plan.models import Plan
from mlplan._record.location import StoreLocation, locate_store, redact, tracked_by_git
from mlplan._record.locks import LockTakenError, submission_lock
from mlplan._record.outbox import Outbox, Submission, Unreadable, Waiting
from mlplan._text import did_you_mean, not_utf8, plural, plural_noun
from mlplan.errors import (
    NotCountedError,
    ResultError,
    StoreAuthError,
    StoreUnreachableError,
    TrackingError,
)

if TYPE_CHECKING:
    from mlplan._record.store import ExistingRun, MlflowStore

__all__ = ["Delivery", "Journal", "SyncReport"]

IN_FLIGHT = "being delivered; if it is still here, the process that logged it was interrupted"
# MLflow's limit on a param value (mlflow/utils/validation.py, MAX_PARAM_VAL_LENGTH).
PARAM_VALUE_LIMIT = 6000


@dataclass(frozen=True)
class Delivery:
    """``deduplicated``: the same result was already in the store, so nothing was logged."""

    run_id: str
    submission: Submission
    deduplicated: bool = False
    duplicate_of: str = ""  # the run that holds its slot: this one was written, not counted


@dataclass(frozen=True)
class SyncReport:
    """What the outbox holds for a plan after a sync: what went, and what still waits, why."""

    destination: str
    delivered: list[Delivery] = field(default_factory=list)
    parked: list[Waiting] = field(default_factory=list)  # refused by this store
    waiting: list[Waiting] = field(default_factory=list)  # for this store, not delivered yet
    elsewhere: list[Waiting] = field(default_factory=list)  # meant for another store
    unreadable: list[Unreadable] = field(default_factory=list)
    committed: list[Waiting] = field(default_factory=list)  # tracked by git: never delivered

    @property
    def clean(self) -> bool:
        """Nothing refused or unreadable: nothing that needs the user."""
        return not self.parked and not self.unreadable and not self.committed

    def notes(self) -> list[str]:
        """One line per thing in the outbox that did not go, saying why."""
        lines = [
            f"{e.path}: {e.submission.kind} {e.submission.subject} was refused and is parked: "
            f"{e.refused}"
            for e in self.parked
        ]
        lines += [
            # Redacted again when shown: an entry written by an older mlplan (or by hand) may
            # hold a destination or reason with a credential in it.
            f"{e.path}: {e.submission.kind} {e.submission.subject} waits for "
            f"{redact(e.destination)}" + (f" ({redact(e.reason)})" if e.reason else "")
            for e in [*self.waiting, *self.elsewhere]
        ]
        lines += [f"{u.path}: {u.problem}; it was left as it is" for u in self.unreadable]
        lines += [
            f"{e.path}: {e.submission.kind} {e.submission.subject} is tracked by git, so it was "
            "not delivered: an outbox entry is delivered only by the checkout that wrote it. If "
            "it is yours, `git rm --cached` it, then run `mlplan sync`"
            for e in self.committed
        ]
        lines += [
            f"{d.submission.kind} {d.submission.subject}: run {d.run_id} was delivered but is not "
            f"counted: run {d.duplicate_of} holds the same slot and came first"
            for d in self.delivered
            if d.duplicate_of
        ]
        return lines

    def summary(self) -> str:
        return f"Delivered {plural(len(self.delivered), 'waiting result')} to {self.destination}"

    def to_dict(self) -> dict[str, Any]:
        def entry(e: Waiting) -> dict[str, Any]:
            return {
                "file": str(e.path),
                "kind": e.submission.kind,
                "subject": e.submission.subject,
                "destination": redact(e.destination),
                "reason": redact(e.reason),
                "refused": e.refused,
            }

        return {
            "delivered": [d.run_id for d in self.delivered],
            "parked": [entry(e) for e in self.parked],
            "waiting": [entry(e) for e in self.waiting],
            "waiting_elsewhere": [entry(e) for e in self.elsewhere],
            "unreadable": [{"file": str(u.path), "problem": u.problem} for u in self.unreadable],
            "tracked_by_git": [entry(e) for e in self.committed],
        }


class Journal:
    """The results of one plan in its MLflow store."""

    def __init__(
        self, loaded: LoadedPlan, tracking_uri: str | None = None, refresh: bool = False
    ) -> None:
        self.loaded = loaded
        self.refresh = refresh  # read every result from the store, not the local copy
        self.plan = loaded.plan
        self.location: StoreLocation = locate_store(loaded.path, tracking_uri)
        self.outbox = Outbox(self.location.outbox)
        self._store: MlflowStore | None = None
        self._report: SyncReport | None = None
        self._from_git: frozenset[Path] | None = None

    @property
    def store(self) -> MlflowStore:
        if self._store is None:
            # Imported here: `mlplan validate` and `--help` never load the store package.
            from mlplan._record.store import open_store

            refresh = self.refresh or self.copy_from_git()
            self._store = open_store(self.plan, self.location, refresh=refresh)
        return self._store

    def from_git(self) -> frozenset[Path]:
        """The files of the plan's .mlplan folder that git tracks (asked once, and only when
        there is such a folder). The local copy of the results and the outbox belong to the
        machine that wrote them: a tracked one came with the checkout, from whoever committed
        it (issue 16: a forced-in copy or outbox once fed the gate, the site and the server)."""
        if self._from_git is None:
            self._from_git = frozenset(
                path.resolve() for path in tracked_by_git(self.location.home)
            )
        return self._from_git

    def copy_from_git(self) -> bool:
        """Whether the local copy of the results is tracked by git: then no reader uses it."""
        cache = (self.location.home / "cache").resolve()
        return cache.is_dir() and any(cache in path.parents for path in self.from_git())

    # -- building submissions ----------------------------------------------------------------

    def submission(
        self,
        *,
        kind: ResultKind,
        subject: str,
        metrics: Mapping[str, Any],
        note: str = "",
        reported: bool = False,
        source: str = "",
        params: Mapping[str, Any] | None = None,
        run_id: str = "",
        replaces: str = "",
        reason: str = "",
    ) -> Submission:
        """A checked submission: the subject exists, every metric is declared and finite."""
        raw = Submission(
            kind=kind,
            subject=subject,
            metrics=dict(metrics),
            note=note,
            reported=reported,
            source=source,
            params=dict(params or {}),
            run_id=run_id,
            replaces=replaces,
            reason=reason,
        )
        return self._stamped(self._checked(raw))

    def _checked(self, submission: Submission) -> Submission:
        """Every rule a result obeys before it is written, in its written form (params as
        text, a slot's one form): one function for a new result and for an outbox entry
        rechecked before delivery, so the two cannot drift (an entry's seed=null once went
        through though the API refuses it)."""
        kind, subject, replaces = submission.kind, submission.subject, submission.replaces
        checked = _checked_metrics(submission.metrics, self.plan)
        if submission.reported and not submission.source.strip():
            raise ResultError(
                "a reported result needs its source, e.g. 'paper, Table 2'", arguments=("source",)
            )
        if replaces and not submission.reason.strip():
            raise ResultError(f"say why run {replaces} is replaced", arguments=("reason",))
        if replaces:
            self._replaceable(kind, subject, replaces)
        self.check_subject(kind, subject)
        params = self._checked_keys(kind, subject, submission.params)
        submission = replace(
            submission,
            metrics=checked,
            source=submission.source.strip(),
            params=self._slot_written_one_way(kind, subject, params),
            reason=submission.reason.strip(),
        )
        _check_text(submission)
        return submission

    def _replaceable(self, kind: ResultKind, subject: str, replaces: str) -> None:
        """Refuse a replacement under a sequential design: its verdict is the path of looks in
        the order runs were logged, and replacing a run would rewrite looks already taken
        (issue 17). A baseline is refused when any hypothesis it serves is sequential."""
        for hypothesis in self.plan.experiment.hypotheses:
            mine = kind == "hypothesis" and hypothesis.id == subject
            serves = kind == "baseline" and subject in needed_baselines(hypothesis)
            if (mine or serves) and (design := settings_for(self.plan, hypothesis).sequential):
                named = "" if mine else f" (a baseline of {hypothesis.id})"
                bounded = "anytime-valid" if design.kind == "anytime" else "group-sequential"
                raise ResultError(
                    f"replacing run {replaces}: {subject}{named} is judged under a {bounded} "
                    f"design in {self.loaded.path}, whose looks follow the order runs were "
                    "logged; a replacement would rewrite looks already taken, so nothing was "
                    "logged. A failed run stays as it was logged: log further runs as new "
                    "pair values (new looks) instead"
                )

    def _checked_keys(
        self, kind: ResultKind, subject: str, params: Mapping[str, Any]
    ) -> dict[str, str]:
        """The params, checked; a value naming the slot (a pair key, a condition) is text or a
        finite number: str() of b'1', None, NaN or True would name a slot nobody meant."""
        self._check_slot_values(kind, subject, params, "nothing was logged")
        return _checked_params(params)

    def _slot_written_one_way(
        self, kind: ResultKind, subject: str, params: dict[str, str]
    ) -> dict[str, str]:
        """The params that name the slot (pair key, conditions) in their one written form
        (keys.canonical: seed=1.0 is seed=1), so that the store's own search finds a slot's
        results however they were typed: the judge reads them in that form too."""
        names = set(self.plan.key_params(kind, subject))
        return {k: canonical(v) if k in names else v for k, v in params.items()}

    def open_submission(self, kind: ResultKind, subject: str, note: str = "") -> Submission:
        """A submission with no metrics yet, for a run a training script is about to fill."""
        self.check_subject(kind, subject)
        submission = Submission(kind=kind, subject=subject, metrics={}, note=note)
        _check_text(submission)
        return self._stamped(submission)

    def check_subject(self, kind: ResultKind, subject: str) -> None:
        if kind == "hypothesis":
            known = [h.id for h in self.plan.experiment.hypotheses]
        else:
            known = [b.id for b in self.plan.experiment.baselines]
        if subject not in known:
            raise ResultError(
                f"{self.loaded.path}: no {kind} {subject!r} in plan "
                f"{self.plan.id!r}; {did_you_mean(subject, known, f'known {plural_noun(kind)}')}"
            )
        if kind == "hypothesis":
            self._check_open(subject)

    def _check_open(self, hypothesis: str) -> None:
        """A closed hypothesis (abandoned, or superseded) takes no more results after the day
        it was closed: its closure said no more runs are planned, and a run logged after it
        would move its verdict. The day itself still takes them (a decision has a date, not a
        time: the day's last runs, or a study replayed as of that day with MLPLAN_TODAY)."""
        log = self.plan.experiment_log
        closing = [d for d in log.decisions if d.hypothesis == hypothesis and d.closes]
        if closing and _clock.today() > closing[-1].date:
            last = closing[-1]
            raise ResultError(
                f"{self.loaded.path}: hypothesis {hypothesis} was closed as {last.closes} on "
                f"{last.date.isoformat()} (experiment_log.decisions), so it takes no more "
                "results; nothing was logged. Log them under a new hypothesis"
            )

    # -- writing -------------------------------------------------------------------------------

    def plan_as_loaded(self) -> Path:
        """The plan file a run carries (its digest as a tag, the file as an artifact): the plan
        as this journal read it, the one its results are checked and stamped under. Read again
        when a result was logged, it was whatever the file held by then: an entry point that
        edited the plan changed what every later run of its `mlplan run` recorded, and one that
        deleted it sent the results to the outbox (issue 16). While the file still holds what
        was read it is itself; else a copy of what was read, kept under .mlplan/plans/."""
        path, source = self.loaded.path, self.loaded.source
        with contextlib.suppress(OSError):
            if not source or path.read_bytes() == source:
                return path
        copy = self.location.home / "plans" / hashlib.sha256(source).hexdigest() / path.name
        if not copy.is_file():
            write_atomically(copy, source)
        return copy

    def _guarded(self) -> AbstractContextManager[None]:
        from mlplan._record.store import store_errors

        return store_errors(self.location)

    def log(self, submission: Submission) -> Delivery:
        """Deliver a result now; if the store cannot take it, it waits in the outbox.

        The result is written to the outbox *before* it is sent, so a process killed mid-way
        leaves it there for the next command, which finds the half-made run by its submission
        id and completes it: nothing is lost, nothing is sent twice.
        """
        entry: Waiting | None = None
        try:
            with self._guarded():
                self.sync()  # older results first, so they keep their order
                # Checked before writing, to refuse early and write nothing; not under a lock
                # (a server has none). Two processes logging the same key in the same instant
                # can both pass: both write, and settling the slot afterwards (_settle)
                # counts the earliest and tells the other writer.
                existing = self._one_per_key(submission)
            if existing is not None:
                return Delivery(existing, submission, deduplicated=True)
            # Locked before the entry exists: a sync in another process that finds it in the
            # outbox a moment later skips it, instead of taking it from under this one (8
            # parallel writers once made this process fail to lock its own entry).
            with self._submission_lock(submission.submission_id):
                entry = self._in_flight(submission)
                with self._guarded():
                    run_id = self.store.log(submission, self.plan_as_loaded())
                    if submission.replaces:
                        self.store.mark_replaced(submission.replaces, run_id)
        except StoreUnreachableError as error:
            kept = self._keep(entry, submission, str(error))
            raise StoreUnreachableError(
                f"{error} The result was kept in {kept.path} and will be sent by the next "
                "mlplan command that reaches this store, or by `mlplan sync`."
            ) from None
        except BaseException:
            if entry is not None:
                self.outbox.remove(entry)  # refused (the message says so) or interrupted
            raise
        if entry is not None:
            self.outbox.remove(entry)
        if submission.run_id or self._keyed(submission):
            self._settle(run_id, submission.subject)
        return Delivery(run_id, submission)

    def _keyed(self, submission: Submission) -> bool:
        """Whether the result names a slot (has a pair key param): only then can it share one.
        An attached run's params are in the store, not the submission: settle looks there."""
        names = self.plan.key_params(submission.kind, submission.subject)
        pair_keys = set(names) - set(self.plan.experiment.conditions)
        return bool(pair_keys & set(submission.params)) and not submission.replaces

    def _settle(self, run_id: str, subject: str) -> None:
        """Resolve the new result's slot after writing it (see Store.settle): a result whose
        pair key another result held first stays in the store, tagged as a duplicate, and its
        writer is told it does not count."""
        with self._guarded():
            counted = self.store.settle(run_id)
        if counted != run_id:
            raise NotCountedError(
                f"{subject}: run {run_id} was logged but is not counted: run {counted} holds the "
                "same slot (pair key and conditions) and came first, so the judge uses that one "
                f"and run {run_id} is tagged mlplan.duplicate_of={counted}. To replace it, log "
                f"again with --replace {counted} --reason TEXT (API: replace=, reason=)",
                run_id,
                counted,
            )

    def _in_flight(self, submission: Submission) -> Waiting | None:
        try:
            return self.outbox.put(self.plan.id, submission, self.location.destination, IN_FLIGHT)
        except TrackingError:
            return None  # the folder is not writable: try the store all the same

    def _keep(self, entry: Waiting | None, submission: Submission, reason: str) -> Waiting:
        if entry is None:
            return self.outbox.put(self.plan.id, submission, self.location.destination, reason)
        return self.outbox.note(entry, reason)

    def _entry_lock(self, entry: Waiting | None) -> AbstractContextManager[object]:
        # One process delivers an entry at a time; others skip it rather than wait for it.
        if entry is None:
            return nullcontext()
        return self._submission_lock(entry.submission.submission_id)

    def _submission_lock(self, submission_id: str) -> AbstractContextManager[object]:
        return submission_lock(self.location.home, submission_id)

    def _one_per_key(self, submission: Submission) -> str | None:
        """One result per subject and slot (pair key and conditions, compared as the readers
        compare them: evidence.slot_of): the run id of an identical result already logged
        (nothing to do), else None; an error for a different one, unless it replaces that
        one. No one re-runs seed 3 until it wins. Runs that do not count (replaced, or tagged
        as a duplicate) neither block a slot nor stand for the result."""
        if submission.run_id:
            return None  # attaching an existing run: it is already in the store
        kind, subject = submission.kind, submission.subject
        names = slot_names(self.plan, kind, subject)
        slot = slot_of(submission.params, names)
        # Replacements honoured as the judge honours them (a hand-set tag replaces nothing).
        current = live_results(self._rivals(submission, slot is not None), self.plan)
        if submission.replaces:
            _check_replaced(submission, current)
            _same_slot_as_replaced(submission, current, self.plan.key_params(kind, subject))
        for result in current:
            if result.duplicate_of:
                continue
            if _same_result(result, submission):
                return result.run_id
            same_slot = slot is not None and slot_of(result.params, names) == slot
            if same_slot and result.run_id != submission.replaces:
                keys = [k for k in names if k in submission.params]
                shown = ", ".join(f"{k}={submission.params[k]}" for k in keys)
                raise ResultError(
                    f"{subject} already has a result for {shown} (run "
                    f"{result.run_id}); this one was not logged and is not counted: one result "
                    f"per {keys[0]} is judged. To replace "
                    f"it, log again with --replace {result.run_id} --reason TEXT "
                    "(API: replace=, reason=)"
                )
        return None

    def _rivals(self, submission: Submission, keyed: bool) -> list[Result]:
        """The results the one-per-key check must see: those in the submission's slot, or
        without a pair key those identical in params and values. A replacement names its run,
        which may sit anywhere: then every result of the subject."""
        kind, subject = submission.kind, submission.subject
        if submission.replaces:
            return self.store.results(kind, subject)
        if keyed:
            return self.store.slot_results(kind, subject, submission.params)
        return self.store.matching(kind, subject, submission.params, submission.metrics)

    def attach(self, run_id: str, kind: ResultKind, subject: str, note: str = "") -> Delivery:
        """Tie an existing, finished run (made by a training script or autolog) to a subject."""
        self.check_subject(kind, subject)
        with self._guarded():
            run = self.store.existing_run(run_id)
        self._attachable(run, kind, subject)
        declared = {m.key for m in self.plan.metrics}
        relevant = {k: v for k, v in run.metrics.items() if k in declared}
        if not relevant:
            raise ResultError(
                f"run {run_id} has none of the plan's metrics "
                f"({', '.join(sorted(declared))}); it has: "
                f"{', '.join(sorted(run.metrics)) or 'no metrics'}"
            )
        submission = self.submission(kind=kind, subject=subject, metrics=relevant, note=note)
        submission = replace(submission, run_id=run_id)
        if _attached_already(run, submission):
            # Nothing to write; its slot is told as for any attach (a duplicate is not counted).
            self._settle(run_id, subject)
            return Delivery(run_id, submission, deduplicated=True)
        return self.log(submission)

    def sync(self) -> SyncReport:
        """Send every result waiting for this store, oldest first, each exactly once.

        Results for another store stay where they are; one the store refuses is parked with
        its reason and the others go on. Runs once per journal.
        """
        if self._report is not None:
            return self._report
        waiting, unreadable = self.outbox.entries()
        delivered: list[Delivery] = []
        with self._guarded():
            for entry in waiting:
                if self._mine(entry) and not entry.parked and not self._committed(entry):
                    delivered += self._deliver(entry)
        self._report = self._sync_report(delivered, unreadable)
        return self._report

    def _committed(self, entry: Waiting) -> bool:
        # An entry tracked by git is never delivered: anyone can commit a file that says it
        # waits for the team's server (issue 16). It stays, and the report says why.
        return entry.path.resolve() in self.from_git()

    def _mine(self, entry: Waiting) -> bool:
        return entry.plan == self.plan.id and entry.destination == self.location.destination

    def _recheck(self, submission: Submission) -> tuple[Submission, str]:
        """The waiting entry as it is delivered, and why it no longer fits the plan ("" when
        it does): an outbox file can be edited while it waits (a NaN, an unknown subject), and
        the plan can change (its hypothesis renamed). Checked again just before delivery, by
        the very rules of logging (``_checked``), and those of its provenance."""
        try:
            checked = self._checked(submission)
            _check_provenance(submission)
            if submission.replaces:
                self._check_replaces(submission)
            if submission.run_id:
                self._check_attached(submission)
        except (StoreUnreachableError, StoreAuthError):
            raise  # the store, not the entry: it waits
        except (ResultError, TrackingError) as problem:
            return submission, (
                f"{problem}. It no longer fits the plan, so it was not delivered: fix the "
                "entry (or the plan) and remove its 'refused' line, then run `mlplan sync`; "
                "or delete the file to drop the result"
            )
        return checked, ""

    def _check_replaces(self, submission: Submission) -> None:
        """The live rules for --replace: a reason, no sequential design, and a run that is a
        result of the same subject (an entry once retired another hypothesis's run)."""
        kind, subject, replaces = submission.kind, submission.subject, submission.replaces
        if not submission.reason.strip():
            raise ResultError(f"say why run {replaces} is replaced")
        self._replaceable(kind, subject, replaces)
        if replaces not in {r.run_id for r in self.store.results(kind, subject)}:
            raise ResultError(f"replacing run {replaces}: no result of {subject} has that run id")

    def _check_attached(self, submission: Submission) -> None:
        """The live rules for attaching a run: finished, a result of this subject only, and the
        values it carries are the run's own (an entry once overwrote another subject's run)."""
        run = self.store.existing_run(submission.run_id)
        self._attachable(run, submission.kind, submission.subject)
        _attached_already(run, submission)
        for key, value in submission.metrics.items():
            if run.metrics.get(key) != value:
                raise ResultError(
                    f"run {run.run_id} has {key} = {run.metrics.get(key)!r}, not {value!r}: an "
                    "attached run keeps the values it was logged with"
                )

    def _attachable(self, run: ExistingRun, kind: ResultKind, subject: str) -> None:
        """A run may become a result of ``subject``: finished, no other subject's, and its slot
        named by a value (the same rules for attaching now and for an entry waiting to)."""
        _check_attachable(run, kind, subject)
        self._check_slot_values(kind, subject, run.params, "nothing was attached")

    def _stamped(self, submission: Submission) -> Submission:
        """The criteria stamp computed from the plan at delivery, never taken from the file:
        a result that never reached the record is judged under the plan as it stands."""
        fingerprint, criteria = "", ""
        if submission.kind == "hypothesis":
            hypothesis = self.plan.hypothesis(submission.subject)
            fingerprint = criteria_fingerprint(self.plan, hypothesis)
            criteria = criteria_text(self.plan, hypothesis)
        return replace(submission, criteria_fingerprint=fingerprint, criteria=criteria)

    def _deliver(self, entry: Waiting) -> list[Delivery]:
        try:
            with self._entry_lock(entry), self._guarded():
                if not self.outbox.still_there(entry):
                    return []  # another process delivered it a moment ago
                checked, problem = self._recheck(entry.submission)
                if problem:
                    self.outbox.park(entry, problem)
                    return []
                entry = replace(entry, submission=self._stamped(checked))
                try:
                    run_id = self.store.redeliver(entry.submission, self.plan_as_loaded())
                    if entry.submission.replaces:
                        self.store.mark_replaced(entry.submission.replaces, run_id)
                except StoreAuthError as refusal:
                    # Noted while the entry is still locked: noting it later could write back
                    # an entry that another process has delivered and removed meanwhile.
                    self.outbox.note(entry, str(refusal))
                    raise
        except LockTakenError:
            return []  # another process is delivering it right now
        except StoreUnreachableError:
            raise
        except TrackingError as refusal:
            self.outbox.park(entry, str(refusal))
            return []
        self.outbox.remove(entry)
        waited = entry.submission
        counted = self.store.settle(run_id) if waited.run_id or self._keyed(waited) else run_id
        return [
            Delivery(run_id, entry.submission, duplicate_of="" if counted == run_id else counted)
        ]

    def _sync_report(self, delivered: list[Delivery], unreadable: list[Unreadable]) -> SyncReport:
        waiting, _ = self.outbox.entries()
        committed = [e for e in waiting if e.plan == self.plan.id and self._committed(e)]
        waiting = [e for e in waiting if e not in committed]
        return SyncReport(
            destination=self.location.describe(),
            delivered=delivered,
            parked=[e for e in waiting if self._mine(e) and e.parked],
            waiting=[e for e in waiting if self._mine(e) and not e.parked],
            committed=committed,
            elsewhere=[e for e in waiting if e.plan == self.plan.id and not self._mine(e)],
            unreadable=unreadable,
        )

    @contextmanager
    def active_run(self, submission: Submission) -> Iterator[Any]:
        """A run a training script logs into; once it finishes, its values are checked like
        any result's (a run outside a metric's bounds ends FAILED) and its slot is settled."""
        with self._guarded():
            self.sync()
            store = self.store
        from mlplan._record.store.checked_run import CheckedRun

        check = self._ending_check(submission.kind, submission.subject)
        with store.active_run(submission, self.plan_as_loaded(), check) as run:
            yield CheckedRun(run, self._metric_value)
        self._settle(str(run.info.run_id), submission.subject)

    def _ending_check(
        self, kind: ResultKind, subject: str
    ) -> Callable[[str, Mapping[str, float], Mapping[str, str]], None]:
        """What a start_run run must hold as it ends, as any result: declared metrics within
        their bounds, a slot named by a value (the script logs its params itself: seed=nan once
        made a slot of its own). A refusal ends the run FAILED, which is never judged; the run
        and its values stay in the store, and the message says so."""

        def check(run_id: str, metrics: Mapping[str, float], params: Mapping[str, str]) -> None:
            outcome = f"run {run_id} was ended FAILED and is not counted"
            self.check_declared(metrics, outcome)
            self._check_slot_values(kind, subject, params, outcome)

        return check

    def _check_slot_values(
        self, kind: ResultKind, subject: str, params: Mapping[str, Any], outcome: str
    ) -> None:
        for name in self.plan.key_params(kind, subject):
            if name in params:
                _check_slot_value(name, params[name], outcome)

    def _metric_value(self, key: str, value: Any) -> float:
        """A metric a script logs through the run start_run gave it: the one grammar for
        every key, the bounds for a declared one (the run stays open: the script may go on)."""
        # The run goes on (a script may catch the refusal): only this value was not logged.
        outcome = "it was not logged"
        found = _number(key, value, outcome)
        declared = {m.key: m for m in self.plan.metrics}
        if key not in declared:
            return found
        return _within_bounds(key, found, declared[key].bounds, outcome)

    def check_declared(
        self, metrics: Mapping[str, Any], outcome: str = "nothing was logged"
    ) -> None:
        """The plan's declared metrics among ``metrics``, checked as a result's are (the one
        grammar, the bounds); others are the script's own (autolog's) and left alone. For a
        run a script logged itself, and a cell's result handed to `mlplan run`. ``outcome``
        ends a refusal: what became of the values."""
        declared = {m.key: m for m in self.plan.metrics}
        for key, value in metrics.items():
            if key in declared:
                found = _number(key, value, outcome)
                _within_bounds(key, found, declared[key].bounds, outcome)

    # -- reading -------------------------------------------------------------------------------

    def results(self) -> list[Result]:
        """Every result, those logged under a renamed hypothesis's old id counted for its id
        now (the one place results are read for judging: every reader sees the same)."""
        with self._guarded():
            self._sync_before_reading()
            return carried_over(self.plan, self.store.results())

    def stored_results(self) -> list[Result]:
        """The results in the store itself, for readers whose verdict others rely on (`status
        --check`, the CI gate, `publish`): the outbox is neither delivered nor read, and the
        local copy is not used (issue 16: both are files a pull request can bring)."""
        if not self.refresh:
            self.refresh, self._store = True, None
        with self._guarded():
            return carried_over(self.plan, self.store.results())

    def _sync_before_reading(self) -> None:
        """Deliver what waits, unless this account may read but not write (403): then what
        waits keeps waiting, noted with the refusal, and the reader still gets the verdicts."""
        try:
            self.sync()
        except StoreAuthError as refusal:
            if refusal.status != HTTPStatus.FORBIDDEN:
                raise
            self._report = self._sync_report([], self.outbox.entries()[1])

    def unfinished(self) -> list[ExistingRun]:
        with self._guarded():
            return self.store.unfinished()

    def verdicts(self, today: dt.date | None = None) -> tuple[list[Result], list[Verdict]]:
        results = self.results()
        return results, judge(self.plan, results, today or _clock.today())

    def snapshot(self, doc: Path, plots: list[Path]) -> str:
        """Keep the plan file, its rendered doc and plots as artifacts in the experiment."""
        with self._guarded():
            return self.store.log_plan_snapshot(self.plan_as_loaded(), doc, plots)


def _check_slot_value(name: str, value: Any, outcome: str = "nothing was logged") -> None:
    """A value naming a slot is text or a finite number (keys.slot_value_problem)."""
    problem = slot_value_problem(value)
    if problem is not None:
        raise ResultError(
            f"param {name} names the result's slot, so it is text or a finite number: "
            f"{problem}; {outcome}",
            arguments=("params",),
        )


def _checked_params(params: Mapping[str, Any]) -> dict[str, str]:
    # Checked here so that MLflow never refuses a result half-way through writing its run.
    checked = {}
    for key, value in params.items():
        problem = key_problem(str(key))
        if problem is not None:
            raise ResultError(f"param {key!r} cannot be stored: {problem}; nothing was logged")
        text = str(value)
        if len(text) > PARAM_VALUE_LIMIT:
            raise ResultError(
                f"param {key!r} is {len(text)} characters long; MLflow keeps at most "
                f"{PARAM_VALUE_LIMIT}; nothing was logged"
            )
        checked[str(key)] = text
    return checked


# A waiting entry may not be dated later than now by more than this (clocks differ a little).
_CLOCK_SKEW = dt.timedelta(minutes=5)
# Tags a submission's own `tags` may not set: they say what the run is a result of.
_RESERVED_TAGS = frozenset(
    {"plan", "kind", "subject", "hypothesis", "baseline", "reported", "submission_id"}
    | {"logged_at", "source", "criteria_fingerprint", "criteria", "replaces", "reason"}
    | {"replaced_by", "duplicate_of", "plan_sha", "revision", "title"}
)


def _check_provenance(submission: Submission) -> None:
    """A waiting entry's provenance obeys the rules logging applies: a reported result names
    its source, the logging time is a real instant not in the future, and the extra tags do
    not overwrite the tags that tie the run to its plan."""
    if submission.reported and not submission.source.strip():
        raise ResultError("a reported result needs its source, e.g. 'paper, Table 2'")
    try:
        created = dt.datetime.fromisoformat(str(submission.created_at))
    except ValueError:
        raise ResultError(f"created_at {submission.created_at!r} is not a date and time") from None
    if created.tzinfo is None:
        raise ResultError(f"created_at {submission.created_at!r} has no time zone")
    if created > dt.datetime.now(dt.UTC) + _CLOCK_SKEW:
        raise ResultError(f"created_at {submission.created_at} is in the future")
    forged = sorted(set(submission.tags) & _RESERVED_TAGS)
    if forged:
        raise ResultError(f"tags {', '.join(forged)} are mlplan's own and cannot be set")
    _check_text(submission)


def _check_text(submission: Submission) -> None:
    """Every text a run keeps is UTF-8, refused here when it is not: MLflow refuses it only
    when the run is written, too late to say so, and an outbox entry holding it would wait
    for ever in front of the others (issue 16: `log-result -n $'bad\\xffnote'`). Param
    keys are checked with their other rules (_checked_params)."""
    for name in ("note", "source", "reason"):
        _refuse_unless_utf8(name, getattr(submission, name), name)
    for key, value in submission.params.items():
        _refuse_unless_utf8(f"the value of param {key}", str(value), "params")
    for key, value in submission.tags.items():
        _refuse_unless_utf8("a tag", f"{key}{value}")


def _refuse_unless_utf8(name: str, text: str, *arguments: str) -> None:
    problem = not_utf8(name, text)
    if problem is not None:
        raise ResultError(f"{problem}; nothing was logged", arguments=arguments)


def _check_attachable(run: ExistingRun, kind: ResultKind, subject: str) -> None:
    if run.status != "FINISHED":
        advice = (
            "attach it once it has finished"
            if run.status == "RUNNING"
            else "only a finished run counts as a result"
        )
        raise ResultError(f"run {run.run_id} is {run.status}: {advice}; nothing was logged")
    if run.kind and (run.kind, run.subject) != (kind, subject):
        raise ResultError(
            f"run {run.run_id} is already a result for {run.kind} {run.subject}; a run counts "
            f"for one subject only, so it was not attached to {kind} {subject}"
        )


def _attached_already(run: ExistingRun, submission: Submission) -> bool:
    """Whether the run is this result already (nothing to write); refused when it is another
    result of the subject: a finished result is never written again."""
    from mlplan._record.store.runs import attached_already

    try:
        return attached_already(run, submission)
    except ValueError as clash:
        raise ResultError(f"{clash}; nothing was logged") from None


def _check_replaced(submission: Submission, current: list[Result]) -> None:
    """A replacement names a result that counts now: not a replaced one, not a duplicate."""
    named = next((r for r in current if r.run_id == submission.replaces), None)
    if named is None:
        raise ResultError(
            f"--replace {submission.replaces}: no current result of {submission.subject} "
            "has that run id"
        )
    # A duplicate of a run no longer in the store counts (the readers' rule): replaceable.
    if named.duplicate_of in {r.run_id for r in current}:
        raise ResultError(
            f"--replace {named.run_id}: run {named.run_id} is not counted (it is tagged "
            f"mlplan.duplicate_of={named.duplicate_of}: that run held its slot first), so "
            f"there is nothing of it to replace; nothing was logged. To replace the slot's "
            f"result, log again with --replace {named.duplicate_of} --reason TEXT "
            "(API: replace=, reason=)"
        )


def _same_result(result: Result, submission: Submission) -> bool:
    """The same result logged again: same values, params, note and provenance."""
    return (
        dict(result.metrics) == dict(submission.metrics)
        and dict(result.params) == dict(submission.params)
        and result.note == submission.note
        and result.reported == submission.reported
        and result.source == submission.source
    )


def _checked_metrics(metrics: Mapping[str, Any], plan: Plan) -> dict[str, float]:
    """Every value a number under the one grammar (mlplan._plan.keys.number) and within its
    metric's declared bounds: recall=81 meant 0.81, and three of them once made a hypothesis
    succeed with a mean recall of 82."""
    if not metrics:
        raise ResultError(
            "a result needs at least one metric, e.g. accuracy=0.91", arguments=("metrics",)
        )
    declared = {m.key: m for m in plan.metrics}
    checked = {}
    for key, value in metrics.items():
        if key not in declared:
            raise ResultError(
                f"unknown metric {key!r}; the plan declares: {', '.join(sorted(declared))}"
            )
        checked[key] = _within_bounds(key, _number(key, value), declared[key].bounds)
    return checked


def _number(key: str, value: Any, outcome: str = "nothing was logged") -> float:
    try:
        found = number(value)
    except NumberError as refused:
        raise ResultError(f"metric {key}: {refused}; {outcome}") from None
    # ±float max passes the grammar, but it is what MLflow stores for ±inf: a run that logged
    # an infinity reads back as 1.797e308, which would be counted (and judged) as a value.
    if problem := value_problem(found, None):
        raise ResultError(f"metric {key} = {exact(found)} is {problem}; {outcome}")
    return found


def _within_bounds(
    key: str, value: float, bounds: tuple[float, float] | None, outcome: str = "nothing was logged"
) -> float:
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ResultError(
            f"metric {key} = {exact(value)} is outside its declared bounds "
            f"[{bounds[0]:g}, {bounds[1]:g}]; {outcome} (a share is logged as 0.81, not 81)"
        )
    return value


def _same_slot_as_replaced(submission: Submission, mine: list[Result], keys: list[str]) -> None:
    """A replacement re-runs its run's slot: another seed in its place would be picking which
    seeds count, and the judge honours a replacement only in the same slot."""
    if not submission.replaces:
        return
    old = next(r for r in mine if r.run_id == submission.replaces)

    def value(params: Mapping[str, Any], key: str) -> str:
        return canonical(str(params[key])) if key in params else "(none)"

    for key in keys:
        was, now = value(old.params, key), value(submission.params, key)
        # A run whose value names no slot (seed=nan, written by an older path) had no slot to
        # keep: its replacement names the one it meant (evidence._replacing reads it so too).
        named = key not in old.params or slot_value_problem(old.params[key]) is None
        if was != now and named:
            raise ResultError(
                f"--replace {submission.replaces}: that run has {key}={was} and this result "
                f"{key}={now}; a replacement re-runs the same slot: log it with -p {key}={was}"
            )
