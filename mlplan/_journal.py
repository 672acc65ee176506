"""A plan's journal: checking results against the plan, delivering them, reading them back.

This is the core's face towards the store. It validates every result before anything is
written (an unknown metric or a NaN logs nothing), keeps results for an unreachable server in
the outbox, and delivers the outbox first on every later command, so nothing is lost and
nothing is sent twice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplan._judge import Verdict, criteria_fingerprint, criteria_text, judge
from mlplan._load import LoadedPlan
from mlplan._location import StoreLocation, locate_store
from mlplan._outbox import Outbox, Submission
from mlplan._results import Result, ResultKind
from mlplan.errors import ResultError, StoreUnreachableError

if TYPE_CHECKING:
    from mlplan._tracking import MlflowStore

__all__ = ["Delivery", "Journal"]


@dataclass(frozen=True)
class Delivery:
    """``deduplicated``: the same result was already in the store, so nothing was logged."""

    run_id: str
    submission: Submission
    deduplicated: bool = False


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
        self._synced = False

    @property
    def store(self) -> MlflowStore:
        if self._store is None:
            from mlplan._tracking import MlflowStore

            self._store = MlflowStore(self.plan, self.location, refresh=self.refresh)
        return self._store

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
        checked = _checked_metrics(metrics, {m.key for m in self.plan.metrics})
        if reported and not source.strip():
            raise ResultError("a reported result needs its source, e.g. --source 'paper, Table 2'")
        if replaces and not reason.strip():
            raise ResultError(f"say why run {replaces} is replaced: --reason TEXT (API: reason=)")
        return replace(
            self.open_submission(kind, subject, note),
            metrics=checked,
            reported=reported,
            source=source.strip(),
            run_id=run_id,
            params={k: str(v) for k, v in (params or {}).items()},
            replaces=replaces,
            reason=reason.strip(),
        )

    def open_submission(self, kind: ResultKind, subject: str, note: str = "") -> Submission:
        """A submission with no metrics yet, for a run a training script is about to fill."""
        self.check_subject(kind, subject)
        fingerprint, criteria = "", ""
        if kind == "hypothesis":
            hypothesis = self.plan.hypothesis(subject)
            fingerprint = criteria_fingerprint(self.plan, hypothesis)
            criteria = criteria_text(self.plan, hypothesis)
        return Submission(
            kind=kind,
            subject=subject,
            metrics={},
            note=note,
            criteria_fingerprint=fingerprint,
            criteria=criteria,
        )

    def check_subject(self, kind: ResultKind, subject: str) -> None:
        if kind == "hypothesis":
            known = [h.id for h in self.plan.experiment.hypotheses]
        else:
            known = [b.id for b in self.plan.experiment.baselines]
        if subject not in known:
            raise ResultError(
                f"{self.loaded.path}: no {kind} {subject!r} in plan "
                f"{self.plan.id!r}; known {kind}s: {', '.join(known)}"
            )

    # -- writing -------------------------------------------------------------------------------

    def log(self, submission: Submission) -> Delivery:
        """Deliver a result now; if the server is unreachable it waits in the outbox."""
        try:
            self.sync()
            # Checked before writing, not under the writer lock: holding it across a search
            # serialised parallel writers. Two processes logging the same key in the same
            # instant can both pass; the judge then counts the later one and says so.
            existing = self._one_per_key(submission)
            if existing is not None:
                return Delivery(existing, submission, deduplicated=True)
            run_id = self.store.log(submission, self.loaded.path)
            if submission.replaces:
                self.store.mark_replaced(submission.replaces, run_id)
        except StoreUnreachableError as error:
            saved = self.outbox.put(submission)
            raise StoreUnreachableError(
                f"{error} The result was kept in {saved} and will be sent by the next "
                "mlplan command that reaches the server, or by `mlplan sync`."
            ) from None
        return Delivery(run_id, submission)

    def _key_params(self, kind: ResultKind, subject: str) -> list[str]:
        """The params that name a result's slot: its pair key and the declared conditions. A
        baseline serves every hypothesis, so every pair_by in the plan counts for it."""
        design = self.plan.experiment
        if kind == "hypothesis":
            hypothesis = self.plan.hypothesis(subject)
            pair_by = hypothesis.pair_by if hypothesis.overrides_pair_by else design.pair_by
            names = [pair_by] if pair_by else []
        else:
            names = [design.pair_by] if design.pair_by else []
            names += [h.pair_by for h in design.hypotheses if h.pair_by]
        return list(dict.fromkeys([*names, *design.conditions]))

    def _one_per_key(self, submission: Submission) -> str | None:
        """One result per subject and pair key: the run id of an identical result already
        logged (nothing to do), else None; an error for a different one, unless it replaces
        that one. No one re-runs seed 3 until it wins."""
        if submission.run_id:
            return None  # attaching an existing run: it is already in the store
        keys = [
            k
            for k in self._key_params(submission.kind, submission.subject)
            if k in submission.params
        ]
        mine = [
            r for r in self.store.results(submission.kind, submission.subject) if not r.replaced_by
        ]
        if submission.replaces and submission.replaces not in {r.run_id for r in mine}:
            raise ResultError(
                f"--replace {submission.replaces}: no current result of {submission.subject} "
                "has that run id"
            )
        for result in mine:
            if _same_result(result, submission):
                return result.run_id
            same_slot = keys and all(result.params.get(k) == submission.params[k] for k in keys)
            if same_slot and result.run_id != submission.replaces:
                slot = ", ".join(f"{k}={submission.params[k]}" for k in keys)
                raise ResultError(
                    f"{submission.subject} already has a result for {slot} (run "
                    f"{result.run_id}); one result per {slot.split('=')[0]} is judged. To replace "
                    f"it, log again with --replace {result.run_id} --reason TEXT "
                    "(API: replace=, reason=)"
                )
        return None

    def attach(self, run_id: str, kind: ResultKind, subject: str, note: str = "") -> Delivery:
        """Tie an existing run (made by a training script or autolog) to a hypothesis."""
        metrics = self.store.existing_run(run_id)
        declared = {m.key for m in self.plan.metrics}
        relevant = {k: v for k, v in metrics.items() if k in declared}
        if not relevant:
            raise ResultError(
                f"run {run_id} has none of the plan's metrics "
                f"({', '.join(sorted(declared))}); it has: "
                f"{', '.join(sorted(metrics)) or 'no metrics'}"
            )
        submission = self.submission(kind=kind, subject=subject, metrics=relevant, note=note)
        return self.log(replace(submission, run_id=run_id))

    def sync(self) -> list[Delivery]:
        """Send every result waiting in the outbox, oldest first, each exactly once."""
        if self._synced:
            return []
        delivered = []
        for path, submission in self.outbox.pending():
            run_id = self.store.redeliver(submission, self.loaded.path)
            if submission.replaces:  # the judge reads `replaces` too; the tag makes it visible
                self.store.mark_replaced(submission.replaces, run_id)
            self.outbox.remove(path)
            delivered.append(Delivery(run_id, submission))
        self._synced = True
        return delivered

    @contextmanager
    def active_run(self, submission: Submission) -> Iterator[Any]:
        self.sync()
        with self.store.active_run(submission, self.loaded.path) as run:
            yield run

    # -- reading -------------------------------------------------------------------------------

    def results(self) -> list[Result]:
        self.sync()
        return self.store.results()

    def verdicts(self, today: dt.date | None = None) -> tuple[list[Result], list[Verdict]]:
        results = self.results()
        return results, judge(self.plan, results, today or dt.date.today())

    def snapshot(self, doc: Path, plots: list[Path]) -> str:
        """Keep the plan file, its rendered doc and plots as artifacts in the experiment."""
        return self.store.log_plan_snapshot(self.loaded.path, doc, plots)


def _same_result(result: Result, submission: Submission) -> bool:
    """The same result logged again: same values, params, note and provenance."""
    return (
        dict(result.metrics) == dict(submission.metrics)
        and dict(result.params) == dict(submission.params)
        and result.note == submission.note
        and result.reported == submission.reported
        and result.source == submission.source
    )


def _checked_metrics(metrics: Mapping[str, Any], declared: set[str]) -> dict[str, float]:
    if not metrics:
        raise ResultError("a result needs at least one metric, e.g. --metric accuracy=0.91")
    checked = {}
    for key, value in metrics.items():
        if key not in declared:
            raise ResultError(
                f"unknown metric {key!r}; the plan declares: {', '.join(sorted(declared))}"
            )
        checked[key] = _finite(key, value)
    return checked


def _finite(key: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ResultError(f"{key}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ResultError(f"{key}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ResultError(f"{key}: {value!r} is not a finite number; nothing was logged")
    return number
