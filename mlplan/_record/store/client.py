"""The plan's experiment in an MLflow tracking store, through MLflow's own client.

mlflow takes over a second to import, so it is imported inside the methods here, and only
when a command really needs the store. Everything the journal asks of a store is the Store
protocol (mlplan._record.store); the rest of this class is how MLflow answers it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplan._judge.evidence import live_results, slot_names, slot_of, slot_winner
from mlplan._judge.results import Result, ResultKind
from mlplan._plan.models import Plan
from mlplan._record import locks
from mlplan._record.cache import ResultsCache
from mlplan._record.location import StoreLocation
from mlplan._record.outbox import Submission
from mlplan._record.store import embedded
from mlplan._record.store.errors import refusal, shown
from mlplan._record.store.health import probe, set_environment_defaults
from mlplan._record.store.runs import (
    DUPLICATE_TAG,
    EXPERIMENT_NOTE_LIMIT,
    OTHER_FORMS_MARKED_TAG,
    PLAN_DIGEST_TAG,
    REVISION_TAG,
    RUN_TAG_LIMIT,
    SETTLED_TAG,
    TAG,
    ExistingRun,
    attached_already,
    clip,
    equal_clauses,
    experiment_name,
    other_forms,
    other_forms_clause,
    plan_digest,
    run_name,
    run_tags,
    subject_clause,
    to_existing,
    to_result,
)
from mlplan.errors import StoreUnreachableError, TrackingError

if TYPE_CHECKING:
    from mlflow import ActiveRun
    from mlflow.tracking import MlflowClient

__all__ = ["EmbeddedRead", "MlflowStore", "read_embedded"]

# MLflow 3's UI opens an experiment on the view this tag names (the enum ExperimentKind in its
# JS bundle, mlflow/server/js/build/static/js/main.*.js: "genai_development",
# "custom_model_development", ...). Without it, 3.17 guesses GenAI and shows "No data".
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# First writers on a new plan race to create its experiment; the losers take the winner's.
CREATE_ATTEMPTS = 6
# Runs per search request. The embedded store answers in-process, so fewer round trips win; a
# server answers each page within MLFLOW_HTTP_REQUEST_TIMEOUT (20 s, see health.py), and one
# page of 10,000 runs with their params, metrics and tags is a response a busy 2-worker server
# can take longer than that to build. 1,000 is MLflow's own default page size for search_runs.
PAGE_SIZE = 10_000
SERVER_PAGE_SIZE = 1_000
# How long a writer waits after its run reached the store before it reads its slot on a server.
# MLflow's REST API has no conditional create, so two writers of one slot both write; each then
# reads the slot and applies the readers' rule (mlplan._judge.evidence.slot_winner): a result
# already settled keeps it, else the earliest counts. A rival's run, and its settled tag, are
# visible by then unless its own write took longer than this (see settle).
SERVER_GRACE_SECONDS = 1.5


def _quiet_mlflow_logging() -> None:
    # MLflow announces its database migrations at INFO level on stderr; mlplan's own output
    # says what happened, so only MLflow's warnings and errors get through.
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # It logs a database error with a traceback before raising it; mlplan's message names it.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


class MlflowStore:
    """A plan's experiment in one MLflow tracking store."""

    def __init__(self, plan: Plan, location: StoreLocation, refresh: bool = False) -> None:
        self.plan = plan
        self.location = location
        self.refresh = refresh  # read every run from the store, ignoring the local copy
        self._client: MlflowClient | None = None
        self._quick_experiment_id = ""  # set when results came from the copy, MLflow unopened
        self._experiment_id: str | None = None
        self._lock: locks.StoreLock | None = None
        # Whether the last results() came from the local copy (.mlplan/cache), for a reader
        # to say so; a trust-bearing reader opens the store with refresh and never reads it.
        self._read_the_copy = False
        self._forms_marked = False  # the experiment's older results carry OTHER_FORMS_TAG

    # -- opening ---------------------------------------------------------------------------

    def _writer_lock(self) -> contextlib.AbstractContextManager[None]:
        # Only the embedded store needs it (see mlplan._record.locks); a server serialises
        # its own writes.
        if not self.location.embedded:
            return contextlib.nullcontext()
        if self._lock is None:
            # One lock object per store: the lock is re-entrant only through the same object.
            self._lock = locks.store_lock(self.location.home)
        return self._lock()

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            set_environment_defaults()
            probe(self.location)
            _quiet_mlflow_logging()
            from mlflow.tracking import MlflowClient

            with self._writer_lock(), embedded.no_stray_folders(self.location):
                client = MlflowClient(tracking_uri=self.location.uri)
                self._experiment_id = self._ensure_experiment(client)
            self._client = client
        return self._client

    @property
    def experiment_id(self) -> str:
        _ = self.client
        assert self._experiment_id is not None
        return self._experiment_id

    def _ensure_experiment(self, client: MlflowClient) -> str:
        from mlflow.exceptions import MlflowException

        try:
            return self._find_or_create_experiment(client)
        except MlflowException as error:
            raise self._refused(
                error, f"MLflow refused to open {self.location.describe()}"
            ) from None

    def _find_or_create_experiment(self, client: MlflowClient) -> str:
        """The plan's experiment, created if missing.

        Two first writers on a new plan both find nothing and both create: the server refuses
        the second with RESOURCE_ALREADY_EXISTS, and on a database server the winner's row may
        not be visible for a moment. The loser looks again, briefly backing off.
        """
        from mlflow.exceptions import MlflowException

        name = experiment_name(self.plan)
        for attempt in range(CREATE_ATTEMPTS):
            existing = client.get_experiment_by_name(name)
            if existing is not None:
                return str(existing.experiment_id)
            try:
                return str(
                    client.create_experiment(
                        name,
                        artifact_location=self._artifact_location(),
                        tags=self._experiment_tags(),
                    )
                )
            except MlflowException as error:
                if error.error_code != "RESOURCE_ALREADY_EXISTS" or attempt + 1 == CREATE_ATTEMPTS:
                    raise
            time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _artifact_location(self) -> str | None:
        # Without this MLflow would put artifacts in ./mlruns of whatever directory the user
        # happens to be in: for the embedded store, and for a database named directly
        # (`--tracking-uri sqlite:///team.db`; the re-check of issue 16 found ./mlruns made
        # in the current folder). A server (or Databricks) keeps its own artifact root.
        scheme = self.location.uri.split(":", 1)[0].lower()
        if not self.location.embedded and scheme in {"http", "https", "databricks"}:
            return None
        self.location.artifacts.mkdir(parents=True, exist_ok=True)
        return self.location.artifacts.as_uri()

    def _experiment_tags(self) -> dict[str, str]:
        problem = self.plan.problem
        note = (
            f"**{self.plan.title}**\n\n{problem.statement}\n\n"
            f"For whom: {problem.audience}\n\nWhy now: {problem.why_now}\n\n"
            "Managed by mlplan: every run is a result for a hypothesis or a baseline."
        )
        return {
            "mlflow.note.content": clip(note, EXPERIMENT_NOTE_LIMIT),
            f"{TAG}plan": self.plan.id,
            f"{TAG}title": clip(self.plan.title, RUN_TAG_LIMIT),
            EXPERIMENT_KIND_TAG: EXPERIMENT_KIND,
            REVISION_TAG: uuid.uuid4().hex,
        }

    def _refused(self, error: Any, what: str) -> TrackingError:
        return refusal(error, what, self.location.uri)

    # -- writing ---------------------------------------------------------------------------

    def _run_tags(self, submission: Submission) -> dict[str, str]:
        return run_tags(self.plan, submission)

    def _run_name(self, submission: Submission) -> str:
        return run_name(submission, self.plan.key_params(submission.kind, submission.subject))

    def log(self, submission: Submission, plan_file: Path | None = None) -> str:
        """Create a finished run for ``submission``, or complete the existing run it names."""
        from mlflow.exceptions import MlflowException

        try:
            with self._writer_lock():
                run_id = submission.run_id or self._create_run(submission)
                self._complete_or_fail(run_id, submission, plan_file)
                self.touch()
        except MlflowException as error:
            raise self._refused(error, "MLflow refused the result") from None
        return run_id

    def _complete_or_fail(
        self, run_id: str, submission: Submission, plan_file: Path | None
    ) -> None:
        """Complete a run; one the store refused to complete is marked FAILED, not left RUNNING.

        A server that stopped answering is another matter: the result waits in the outbox and
        its redelivery completes this very run (found by its submission id).
        """
        from mlflow.exceptions import MlflowException

        try:
            self._complete(run_id, submission, plan_file)
        except MlflowException as error:
            if not submission.run_id and not isinstance(
                self._refused(error, ""), StoreUnreachableError
            ):
                with contextlib.suppress(MlflowException):
                    self.client.set_terminated(run_id, "FAILED")
            raise

    def touch(self) -> None:
        """Record that the plan's results changed: local copies read before now are stale."""
        self.client.set_experiment_tag(self.experiment_id, REVISION_TAG, uuid.uuid4().hex)

    def redeliver(self, submission: Submission, plan_file: Path | None = None) -> str:
        """Deliver a submission from the outbox exactly once.

        A previous attempt may have created the run and died before finishing it; the run
        carries the submission id from its creation, so it is found and completed instead of
        duplicated.
        """
        from mlflow.exceptions import MlflowException

        from mlplan._record.store.runs import redelivery

        try:
            existing = self._find_submission(submission.submission_id)
            if existing is None:
                return self.log(submission, plan_file)
            with self._writer_lock():
                # Only a half-made run of this very entry is completed; a finished one with
                # the same values was delivered already, and any other is never written to.
                try:
                    unfinished = redelivery(self.client.get_run(existing), submission)
                except ValueError as clash:
                    raise TrackingError(
                        f"{clash}; the entry was not delivered and that run was left as it is. "
                        "If the entry is a new result, delete its submission_id line"
                    ) from None
                if unfinished:
                    self._complete(existing, submission, plan_file)
                    self.touch()
        except MlflowException as error:
            raise self._refused(error, "MLflow refused the result") from None
        return existing

    def _create_run(self, submission: Submission) -> str:
        run = self.client.create_run(
            self.experiment_id, run_name=self._run_name(submission), tags=self._run_tags(submission)
        )
        return str(run.info.run_id)

    def _tick(self) -> None:
        # Writers of the embedded store take turns under its lock; one whose run finished in
        # the same millisecond as the next one's would make the slot order hang on run ids.
        now = time.time_ns() // 1_000_000
        while time.time_ns() // 1_000_000 <= now:
            time.sleep(0.0002)

    def settle(self, run_id: str, grace: float | None = None) -> str:
        """Resolve the slot of a finished result: the run id of the one result it counts as.

        A result whose pair key (and conditions) another result already holds is kept and
        tagged ``mlplan.duplicate_of`` that result; the judge does not count it. One that
        counts is tagged ``mlplan.settled`` before its writer is told so, and from then on
        keeps the slot (mlplan._judge.evidence.slot_winner): a run reaching the slot later
        (attached with --run-id, a slow write) defers to it whatever its end time.

        On the embedded store this runs under its writer lock, so writers take turns. A server
        has no conditional create, so every writer writes, waits ``grace`` (for writes in flight
        to land, and for a rival that read the slot without this run to tag itself settled),
        then applies the readers' own rule. Its limit: two writers whose reads both fall before
        the other's run or settled tag is visible (more than ``grace`` apart in a slow store)
        are both told they count, and the readers count the earlier one (start or end times
        come from each writer's clock).
        """
        from mlflow.exceptions import MlflowException

        try:
            own = to_result(self.client.get_run(run_id))
            if own is None or own.replaces or own.replaced_by or self._slot(own) is None:
                return run_id
            wait = (
                (0.0 if self.location.embedded else SERVER_GRACE_SECONDS)
                if grace is None
                else grace
            )
            # From now, not from the run's end: a run attached long after it finished reached
            # the slot now, and a rival that read it a moment ago has yet to tag itself.
            time.sleep(wait)
            with self._writer_lock():
                counted = self._counted(own)
                if counted != run_id:
                    # Best effort, as the winner's tagging of this run: both may write the tag
                    # at once, and a database's unique key refuses the second (seen on
                    # PostgreSQL). The readers' rule counts the winner either way.
                    with contextlib.suppress(MlflowException):
                        self.client.set_tag(run_id, DUPLICATE_TAG, counted)
                self.touch()
        except MlflowException as error:
            raise self._refused(error, "MLflow refused to settle the result's slot") from None
        return counted

    def _slot(self, result: Result) -> tuple[str | None, ...] | None:
        """The slot a result names (evidence.slot_of, as the readers read it), or None."""
        return slot_of(result.params, slot_names(self.plan, result.kind, result.subject))

    def slot_results(
        self, kind: ResultKind, subject: str, params: Mapping[str, str]
    ) -> list[Result]:
        """This subject's finished results in the slot ``params`` name (evidence.slot_of:
        canonical values, as the readers compare them), replaced ones included; none when
        ``params`` have no pair key. Found by the store's search for the pair key's canonical
        value plus the runs tagged as written otherwise (OTHER_FORMS_TAG), not by reading every
        result of the subject (8 s on a 10,000-run plan); a value MLflow's filter syntax cannot
        carry (a quote) falls back to reading them all: slower, same answer."""
        from mlflow.exceptions import MlflowException

        names = slot_names(self.plan, kind, subject)
        slot = slot_of(params, names)
        if slot is None or slot[0] is None:
            return []
        try:
            self._mark_other_forms()
            clauses = equal_clauses({names[0]: slot[0]}, {})
            if clauses is None:
                found = self._search_results(kind, subject)
            else:
                found = self._search_results(kind, subject, clauses)
                found += self._search_results(kind, subject, other_forms_clause(names[0]))
        except MlflowException as error:
            raise self._refused(error, "MLflow refused to list the results") from None
        unique = {r.run_id: r for r in found}.values()
        return sorted(
            (r for r in unique if slot_of(r.params, names) == slot),
            key=lambda r: (r.logged_at, r.run_id),
        )

    def _mark_other_forms(self) -> None:
        """Tag the results written before OTHER_FORMS_TAG existed (a script's seed "1.0"), once
        per experiment, so that the slot search finds them too. A writer of an older mlplan
        still writing to this store afterwards leaves its runs unmarked: their slots are then
        only as safe as that version made them."""
        if self._forms_marked:
            return
        if not self._marked():
            with self._writer_lock():
                for result in self._search_results():
                    for key, value in other_forms(result.params).items():
                        self._set_shared_tag(result.run_id, key, value)
                self._mark_experiment()
        self._forms_marked = True

    def _marked(self) -> bool:
        experiment = self.client.get_experiment(self.experiment_id)
        return OTHER_FORMS_MARKED_TAG in experiment.tags

    def _set_shared_tag(self, run_id: str, key: str, value: str) -> None:
        """A tag other writers may be setting to the same value at the same moment: a
        database's unique key refuses all but the first (seen on PostgreSQL), which is fine
        once the tag is there."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.set_tag(run_id, key, value)
        except MlflowException:
            if self.client.get_run(run_id).data.tags.get(key) != value:
                raise

    def _mark_experiment(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.set_experiment_tag(self.experiment_id, OTHER_FORMS_MARKED_TAG, "1")
        except MlflowException:
            if not self._marked():  # another writer marked it first: the same mark
                raise

    def _counted(self, own: Result) -> str:
        from mlflow.exceptions import MlflowException

        runs = live_results(self.slot_results(own.kind, own.subject, own.params))
        if all(r.run_id != own.run_id for r in runs):
            runs.append(own)  # a server's search may not list it yet
        winner = slot_winner(runs)
        if winner.run_id != own.run_id:
            return winner.run_id
        # Settled before its writer is told it counts: later runs of the slot defer to it.
        self.client.set_tag(own.run_id, SETTLED_TAG, "counted")
        for rival in runs:
            if rival.run_id != own.run_id and not rival.duplicate_of:
                # Best effort: the readers' rule already counts this run and not theirs.
                with contextlib.suppress(MlflowException):
                    self.client.set_tag(rival.run_id, DUPLICATE_TAG, own.run_id)
        return own.run_id

    def _complete(self, run_id: str, submission: Submission, plan_file: Path | None) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        tags = self._run_tags(submission) if submission.run_id else {}
        if submission.run_id:
            attached = self.client.get_run(run_id)
            if self._attached_already(attached, submission):
                return
            # An attached run's params were logged by its script: marked in the same write
            # that makes it a result, so a rival's slot search never misses it.
            tags.update(
                other_forms(
                    attached.data.params,
                    self.plan.key_params(submission.kind, submission.subject),
                )
            )
        if plan_file is not None:
            tags[PLAN_DIGEST_TAG] = plan_digest(plan_file)
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in submission.metrics.items()],
            params=[Param(k, str(v)) for k, v in submission.params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if plan_file is not None:
            self.client.log_artifact(run_id, str(plan_file), artifact_path="plan")
        if not submission.run_id:
            self.client.set_terminated(run_id, "FINISHED")
            if self.location.embedded:
                self._tick()

    def _attached_already(self, run: Any, submission: Submission) -> bool:
        """Whether the run to attach is this result already (nothing to write); a refusal
        when it is another result: a finished result is never written again, whichever
        path reaches it (an outbox entry with the run's own submission id, or another)."""
        try:
            return attached_already(to_existing(run), submission)
        except ValueError as clash:
            raise TrackingError(f"{clash}; nothing was written") from None

    def _find_submission(self, submission_id: str) -> str | None:
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{TAG}submission_id` = '{submission_id}'",
            max_results=1,
        )
        return str(runs[0].info.run_id) if runs else None

    def mark_replaced(self, run_id: str, replaced_by: str) -> None:
        """Tag a result that a later one replaced; the judge stops counting it."""
        from mlflow.exceptions import MlflowException

        try:
            with self._writer_lock():
                self.client.set_tag(run_id, f"{TAG}replaced_by", replaced_by)
                # The replacement took the slot by name and its writer is told so: settled,
                # so that no run reaching the slot later displaces it (evidence.slot_winner).
                self.client.set_tag(replaced_by, SETTLED_TAG, "counted")
                self.touch()  # the replaced run changed: local copies of the results are stale
        except MlflowException as error:
            raise self._refused(error, "MLflow refused to mark the replaced result") from None

    def existing_run(self, run_id: str) -> ExistingRun:
        """An existing run, to attach it; an error if it does not exist in this experiment."""
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            raise TrackingError(f"no run {run_id!r} in {self.location.describe()}") from None
        if run.info.experiment_id != self.experiment_id:
            raise TrackingError(
                f"run {run_id} belongs to another experiment ({run.info.experiment_id}); "
                f"attach runs logged in {experiment_name(self.plan)!r}"
            )
        return to_existing(run)

    @contextlib.contextmanager
    def active_run(
        self,
        submission: Submission,
        plan_file: Path | None = None,
        check: Callable[[str, Mapping[str, float], Mapping[str, str]], None] | None = None,
    ) -> Iterator[ActiveRun]:
        """An MLflow run open for a training script; mlflow.autolog logs into it.

        It carries the same plan snapshot as a run logged by the CLI: the plan file as the
        artifact ``plan/<name>`` and its digest as a tag.
        """
        import mlflow

        experiment_id = self.experiment_id
        # mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI to the process environment.
        # Left there, every later mlplan call in this process (another plan in the same
        # notebook, say) would read it as the team's server and send its results to this
        # plan's store: put back whatever was there before.
        previous = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(self.location.uri)
        try:
            tags = self._run_tags(submission)
            if plan_file is not None:
                tags[PLAN_DIGEST_TAG] = plan_digest(plan_file)
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=self._run_name(submission), tags=tags
            ) as run:
                if plan_file is not None:
                    self.client.log_artifact(run.info.run_id, str(plan_file), artifact_path="plan")
                yield run
                logged = self.client.get_run(run.info.run_id).data
                if check is not None:
                    # Raised inside the run: MLflow ends it FAILED, and a failed run is never
                    # judged (a value out of its bounds, a seed of nan, say).
                    check(run.info.run_id, logged.metrics, logged.params)
                # Named by its slot now that the script has logged it (H2 · seed=4), as a
                # result logged any other way is named; the note named it while it was open.
                named = self._run_name(replace(submission, params=dict(logged.params)))
                keys = self.plan.key_params(submission.kind, submission.subject)
                # Before the run finishes (and becomes a result): the slot search finds it.
                marks = {"mlflow.runName": named, **other_forms(logged.params, keys)}
                for key, value in marks.items():
                    self.client.set_tag(run.info.run_id, key, value)
        finally:
            # None unsets the variable and the global (MLflow 3 handles it; its stub says str).
            mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]
        with self._writer_lock():
            self.touch()

    def log_plan_snapshot(self, plan_file: Path, doc: Path, plots: list[Path]) -> str:
        """Keep the plan, its rendered doc and plots as artifacts of one run of kind ``plan``.

        One run, updated in place, so the experiment does not fill up with a run per render.
        """
        from mlflow.exceptions import MlflowException

        try:
            with self._writer_lock():
                run_id = self._snapshot_run()
                self.client.log_artifact(run_id, str(plan_file))
                self.client.log_artifact(run_id, str(doc))
                for plot in plots:
                    self.client.log_artifact(run_id, str(plot), artifact_path="plots")
        except MlflowException as error:
            raise self._refused(error, "MLflow refused the design doc") from None
        return run_id

    def _snapshot_run(self) -> str:
        found = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{TAG}kind` = 'plan'", max_results=1
        )
        if found:
            return str(found[0].info.run_id)
        run = self.client.create_run(
            self.experiment_id,
            run_name="plan · design doc",
            tags={
                f"{TAG}plan": self.plan.id,
                f"{TAG}kind": "plan",
                "mlflow.note.content": "The plan and its rendered design doc, as of the last "
                "`mlplan render -o`.",
            },
        )
        self.client.set_terminated(run.info.run_id, "FINISHED")
        return str(run.info.run_id)

    def publish(self, tags: dict[str, str]) -> None:
        """Set experiment tags (the verdicts), so the MLflow UI and search_experiments show them."""
        from mlflow.exceptions import MlflowException

        try:
            with self._writer_lock():
                for key, value in tags.items():
                    self.client.set_experiment_tag(self.experiment_id, key, value)
        except MlflowException as error:
            raise self._refused(error, "MLflow refused the verdicts") from None

    # -- reading ---------------------------------------------------------------------------

    def read_local_copy(self) -> bool:
        """Whether the last results() came from the local copy (.mlplan/cache)."""
        return self._read_the_copy

    def experiment_ref(self) -> str:
        """The experiment id without opening MLflow when the local copy already named it."""
        return self._quick_experiment_id or self.experiment_id

    def results(self, kind: ResultKind | None = None, subject: str | None = None) -> list[Result]:
        """Every finished result of this plan: the local copy if still current, else the store.

        With ``kind`` and ``subject``, only that subject's results, straight from the store (the
        uniqueness check before a write must see what is there now, not a copy).

        The revision is read before the search, so a write the search misses leaves the copy
        under a revision that is already out of date (see mlplan._record.cache).
        """
        quick = None
        if kind is None:
            quick = self._embedded_runs() if self.refresh else self._embedded_copy()
        if quick is not None:
            return quick
        self._read_the_copy = False
        from mlflow.exceptions import MlflowException

        if kind is not None and subject is not None:
            try:
                return self._search_results(kind, subject)
            except MlflowException as error:
                raise self._refused(error, "MLflow refused to list the results") from None
        cache = ResultsCache(self.location.home / "cache", self._destination())
        try:
            revision = self._revision()
            cached = None if self.refresh else cache.load(revision)
            if cached is not None:
                self._read_the_copy = True
                return cached
            results = self._search_results()
        except MlflowException as error:
            raise self._refused(error, "MLflow refused to list the results") from None
        cache.save(revision, results)
        return results

    def _destination(self, experiment_id: str | None = None) -> str:
        # The URI's credentials must not reach a file name, not even hashed (issue 16).
        experiment_id = experiment_id or self.experiment_id
        return f"{shown(self.location.uri)}\n{experiment_id}\n{self.plan.id}"

    def _embedded_copy(self) -> list[Result] | None:
        """The local copy, checked against the embedded store without importing MLflow
        (embedded.py); None sends the caller to MLflow's own path."""
        if not self.location.embedded or self._client is not None:
            return None
        found = embedded.copy_revision(
            self.location.database, experiment_name(self.plan), REVISION_TAG
        )
        if found is None:
            return None
        experiment_id, revision = found
        cached = ResultsCache(self.location.home / "cache", self._destination(experiment_id))
        results = cached.load(revision)
        if results is not None:
            self._quick_experiment_id = experiment_id
            self._read_the_copy = True
        return results

    def _embedded_runs(self) -> list[Result] | None:
        """Every finished result read from the embedded store's tables without importing
        MLflow (embedded.py): the store itself, as fast as the copy; None sends the caller to
        MLflow's own path."""
        if self._client is not None:
            return None
        found = read_embedded(self.plan, self.location)
        if found is None:
            return None
        self._quick_experiment_id = found.experiment_id
        # Read in the same transaction as the revision: a fresh copy for the next plain reader.
        cache = ResultsCache(self.location.home / "cache", self._destination(found.experiment_id))
        cache.save(found.revision, found.results)
        return found.results

    def _revision(self) -> str:
        experiment = self.client.get_experiment(self.experiment_id)
        return str(experiment.tags.get(REVISION_TAG, ""))

    def matching(
        self,
        kind: ResultKind,
        subject: str,
        params: Mapping[str, str],
        metrics: Mapping[str, float] | None = None,
    ) -> list[Result]:
        """This subject's finished results whose params (and, given ``metrics``, whose values)
        equal these: the few runs a uniqueness check needs, found by the store's own search
        rather than by reading every result of the subject (8 s on a 10,000-run plan).

        A value MLflow's filter syntax cannot carry (a quote in a param) falls back to reading
        the subject's results and comparing here: slower, same answer.
        """
        from mlflow.exceptions import MlflowException

        clauses = equal_clauses(params, metrics or {})
        if clauses is None:
            return self.results(kind, subject)
        try:
            found = self._search_results(kind, subject, clauses)
        except MlflowException as error:
            raise self._refused(error, "MLflow refused to list the results") from None
        return [
            r
            for r in found
            if all(r.params.get(k) == v for k, v in params.items())
            and all(r.metrics.get(k) == v for k, v in (metrics or {}).items())
        ]

    def _search_results(
        self, kind: ResultKind | None = None, subject: str | None = None, clauses: str = ""
    ) -> list[Result]:
        """Every finished result of this plan, in one paginated search."""
        from mlflow.entities import ViewType

        only = subject_clause(kind, subject) + clauses
        results: list[Result] = []
        token: str | None = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.`{TAG}plan` = '{self.plan.id}' "
                "and attributes.status = 'FINISHED'" + only,
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=PAGE_SIZE if self.location.embedded else SERVER_PAGE_SIZE,
                page_token=token,
            )
            results += [r for r in map(to_result, page) if r is not None]
            token = page.token
            if not token:
                break
        return sorted(results, key=lambda r: (r.logged_at, r.run_id))

    def unfinished(self) -> list[ExistingRun]:
        """This plan's runs still RUNNING: in progress, or left by an interrupted process."""
        if self._client is None and self._quick_experiment_id:
            quick = self._embedded_unfinished(self._quick_experiment_id)
            if quick is not None:
                return quick
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{TAG}plan` = '{self.plan.id}' and attributes.status = 'RUNNING'",
            max_results=PAGE_SIZE,
        )
        return [
            ExistingRun(
                run_id=str(run.info.run_id),
                status="RUNNING",
                kind=run.data.tags.get(f"{TAG}kind", ""),
                subject=run.data.tags.get(f"{TAG}subject", ""),
                metrics={},
            )
            for run in runs
        ]

    def _embedded_unfinished(self, experiment_id: str) -> list[ExistingRun] | None:
        """unfinished(), read with sqlite3 on the embedded store (see embedded.py)."""
        rows = embedded.unfinished(
            self.location.database,
            experiment_id,
            (f"{TAG}plan", self.plan.id),
            f"{TAG}kind",
            f"{TAG}subject",
        )
        if rows is None:
            return None
        return [ExistingRun(run_id, "RUNNING", kind, subject, {}) for run_id, kind, subject in rows]


@dataclass(frozen=True)
class EmbeddedRead:
    """A plan's finished results as the embedded store holds them, with the experiment's id
    and revision tag ("" if it has none) read in the same transaction."""

    experiment_id: str
    revision: str
    results: list[Result]


def read_embedded(plan: Plan, location: StoreLocation) -> EmbeddedRead | None:
    """Every finished result of ``plan``, read from the embedded store's tables (embedded.py):
    neither MLflow imported nor anything written, not even the local copy. The same results,
    in the same order, as MLflow's search (``_search_results``); None when the fast path cannot
    tell (a server, an unknown schema revision, no experiment yet, a locked or damaged file),
    and the caller takes MLflow's own path."""
    if not location.embedded:
        return None
    found = embedded.finished_runs(
        location.database, experiment_name(plan), (f"{TAG}plan", plan.id), REVISION_TAG
    )
    if found is None:
        return None
    results = [r for r in map(to_result, found.runs) if r is not None]
    results.sort(key=lambda r: (r.logged_at, r.run_id))
    return EmbeddedRead(found.experiment_id, found.revision, results)
