"""The one module that talks to MLflow.

Everything else in mlplan sees results as :class:`~mlplan._judge.results.Result` and hands new ones
over as :class:`~mlplan._record.outbox.Submission`. mlflow takes over a second to import, so it is
imported inside the functions here, and only when a command really needs the store.

One plan is one MLflow experiment, ``mlplan/<plan id>``, described by the plan's problem
statement. Each result is a run tagged with the plan, its kind (hypothesis or baseline), its
subject id, and the fingerprint of the criteria it was judged by.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import math
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from mlplan._judge.results import Result, ResultKind
from mlplan._plan.models import Plan
from mlplan._record.cache import ResultsCache
from mlplan._record.location import StoreLocation, redact
from mlplan._record.outbox import Submission
from mlplan.errors import StoreAuthError, StoreUnreachableError, TrackingError

if TYPE_CHECKING:
    from mlflow import ActiveRun
    from mlflow.tracking import MlflowClient

__all__ = [
    "REVISION_TAG",
    "TAG",
    "ExistingRun",
    "MlflowStore",
    "experiment_name",
    "probe",
    "store_errors",
]

TAG = "mlplan."
# Changed after every mlplan write, so a local copy of the results knows when it is stale.
REVISION_TAG = f"{TAG}revision"
PLAN_DIGEST_TAG = f"{TAG}plan_sha256"
# MLflow 3's UI opens an experiment on the view this tag names (the enum ExperimentKind in its
# JS bundle, mlflow/server/js/build/static/js/main.*.js: "genai_development",
# "custom_model_development", ...). Without it, 3.17 guesses GenAI and shows "No data".
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# First writers on a new plan race to create its experiment; the losers take the winner's.
CREATE_ATTEMPTS = 6
# Runs per search request. The embedded store answers in-process, so fewer round trips win; a
# server answers each page within MLFLOW_HTTP_REQUEST_TIMEOUT (20 s above), and one page of
# 10,000 runs with their params, metrics and tags is a response a busy 2-worker server can take
# longer than that to build. 1,000 is MLflow's own default page size for search_runs.
PAGE_SIZE = 10_000
SERVER_PAGE_SIZE = 1_000
# MLflow cuts run tag values at 8,000 characters without a word and refuses longer experiment
# descriptions than 20,000; mlplan cuts first, visibly.
RUN_TAG_LIMIT = 7_900
EXPERIMENT_NOTE_LIMIT = 19_000
RUN_NAME_LIMIT = 120  # a run name is read in a table column
# MLflow's own default is to retry a dead server for about four minutes; a user waiting on
# `mlplan log-result` should hear within seconds. Users can still override each of these.
_ENVIRONMENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    # A busy team server (16 first writers at once on 2 workers) can take several seconds to
    # answer; a dead one refuses the connection at once whatever this says.
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    # MLflow prints a "View run at" link per run to stdout; mlplan's output names the run.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
PROBE_TIMEOUT_S = 3.0
# A server that accepted the connection but is slow to answer is busy, not dead: wait longer.
BUSY_PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class ExistingRun:
    run_id: str
    status: str  # RUNNING, FINISHED, FAILED or KILLED
    kind: str  # the mlplan kind it is tied to, or "" for a run mlplan never tagged
    subject: str
    metrics: dict[str, float]


def experiment_name(plan: Plan) -> str:
    return f"mlplan/{plan.id}"


def probe(location: StoreLocation) -> None:
    """Fail fast, without importing mlflow, when the store cannot be used: a tracking server
    that does not answer, an embedded database that sqlite cannot open."""
    if location.embedded:
        _probe_database(location)
        return
    if not location.remote:
        return
    url = _health_request(location.uri)
    try:
        try:
            _get(url, PROBE_TIMEOUT_S)
        except (TimeoutError, urllib.error.URLError) as slow:
            if not isinstance(getattr(slow, "reason", slow), TimeoutError):
                raise
            _get(url, BUSY_PROBE_TIMEOUT_S)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = redact(str(getattr(error, "reason", error)))
        raise StoreUnreachableError(
            f"the tracking server {redact(location.uri)} did not answer ({reason}). "
            "Check that it is running and MLFLOW_TRACKING_URI is right."
        ) from None


def _probe_database(location: StoreLocation) -> None:
    # MLflow retries creating its engine ten times with exponential back-off (~100 s) whatever
    # the error; a folder, a damaged or truncated file is not going to heal in that time.
    import sqlite3

    database = location.database
    if not database.exists():
        return  # MLflow creates it, under the writer lock
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=rw", uri=True, timeout=30)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        if "locked" in str(error):
            return  # busy, not broken: MLflow waits for it
        raise StoreUnreachableError(
            f"the embedded store {database} cannot be opened ({error}). Check that the "
            "database is intact and its folder writable."
        ) from None


def _get(url: urllib.request.Request, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()


def _health_request(uri: str) -> urllib.request.Request:
    # urllib cannot open http://user:password@host itself (it reads "password@host" as a
    # port), so the credentials move into the header a server with basic auth expects.
    parts = urllib.parse.urlsplit(uri.rstrip("/") + "/health")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    request = urllib.request.Request(urllib.parse.urlunsplit(parts._replace(netloc=netloc)))
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        request.add_header("Authorization", f"Basic {token}")
    return request


@contextlib.contextmanager
def _no_stray_folders(location: StoreLocation) -> Iterator[None]:
    """Remove the folders MLflow makes from the *encoded* path of a sqlite URI.

    The embedded store's URI is percent-encoded (a "?" in a folder name must not end the
    path); SQLAlchemy decodes it, but MLflow first creates the database's parent folders
    from the raw text, leaving an empty "a%3Fb/.mlplan" beside the plan's "a?b" folder.
    """
    raw = Path(location.uri.removeprefix("sqlite:///")).parent
    if not location.embedded or raw == location.home:
        yield
        return
    missing = [folder for folder in [raw, *raw.parents] if not folder.exists()]
    try:
        yield
    finally:
        for folder in missing:  # deepest first; only if MLflow left them empty
            with contextlib.suppress(OSError):
                folder.rmdir()


def _quiet_mlflow_logging() -> None:
    # MLflow announces its database migrations at INFO level on stderr; mlplan's own output
    # says what happened, so only MLflow's warnings and errors get through.
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # It logs a database error with a traceback before raising it; mlplan's message names it.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 30] + " … (cut by mlplan)"


class MlflowStore:
    """A plan's experiment in one MLflow tracking store."""

    def __init__(self, plan: Plan, location: StoreLocation, refresh: bool = False) -> None:
        self.plan = plan
        self.location = location
        self.refresh = refresh  # read every run from the store, ignoring the local copy
        self._client: MlflowClient | None = None
        self._quick_experiment_id = ""  # set when results came from the copy, MLflow unopened
        self._experiment_id: str | None = None
        self._lock: FileLock | None = None

    # -- opening ---------------------------------------------------------------------------

    def _writer_lock(self) -> contextlib.AbstractContextManager[object]:
        # Two processes creating a brand-new sqlite store at once fail in its migrations, and
        # parallel writers can meet "database is locked": embedded writes go one at a time.
        if not self.location.embedded:
            return contextlib.nullcontext()
        if self._lock is None:
            self.location.home.mkdir(parents=True, exist_ok=True)
            # One lock object per store: FileLock is re-entrant only through the same object.
            self._lock = FileLock(str(self.location.lock), timeout=120)
        return self._lock

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            for name, value in _ENVIRONMENT_DEFAULTS.items():
                os.environ.setdefault(name, value)
            probe(self.location)
            _quiet_mlflow_logging()
            from mlflow.tracking import MlflowClient

            with self._writer_lock(), _no_stray_folders(self.location):
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
        # happens to be in.
        if not self.location.embedded:
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
            "mlflow.note.content": _clip(note, EXPERIMENT_NOTE_LIMIT),
            f"{TAG}plan": self.plan.id,
            f"{TAG}title": _clip(self.plan.title, RUN_TAG_LIMIT),
            EXPERIMENT_KIND_TAG: EXPERIMENT_KIND,
            REVISION_TAG: uuid.uuid4().hex,
        }

    def _refused(self, error: Any, what: str) -> TrackingError:
        return _refusal(error, what, _shown(self.location.uri))

    # -- writing ---------------------------------------------------------------------------

    def _run_tags(self, submission: Submission) -> dict[str, str]:
        tags = {
            f"{TAG}plan": self.plan.id,
            f"{TAG}kind": submission.kind,
            f"{TAG}subject": submission.subject,
            f"{TAG}{submission.kind}": submission.subject,
            f"{TAG}reported": "true" if submission.reported else "false",
            f"{TAG}submission_id": submission.submission_id,
            f"{TAG}logged_at": submission.created_at,
        }
        optional = {
            f"{TAG}source": submission.source,
            f"{TAG}criteria_fingerprint": submission.criteria_fingerprint,
            f"{TAG}criteria": _clip(submission.criteria, RUN_TAG_LIMIT),
            f"{TAG}replaces": submission.replaces,
            f"{TAG}reason": _clip(submission.reason, RUN_TAG_LIMIT),
            "mlflow.note.content": _clip(submission.note, RUN_TAG_LIMIT),
        }
        tags.update({key: value for key, value in optional.items() if value})
        return tags

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

        try:
            existing = self._find_submission(submission.submission_id)
            if existing is None:
                return self.log(submission, plan_file)
            with self._writer_lock():
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

    def _complete(self, run_id: str, submission: Submission, plan_file: Path | None) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        tags = self._run_tags(submission) if submission.run_id else {}
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
        tags: dict[str, str] = run.data.tags
        return ExistingRun(
            run_id=run_id,
            status=str(run.info.status),
            kind=tags.get(f"{TAG}kind", ""),
            subject=tags.get(f"{TAG}subject", ""),
            metrics={key: float(value) for key, value in run.data.metrics.items()},
        )

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
        """unfinished(), read with sqlite3 on the embedded store (see _embedded_copy)."""
        rows = _sqlite_rows(
            self.location.database,
            "SELECT r.run_uuid, k.value, s.value FROM runs r "
            "JOIN tags p ON p.run_uuid = r.run_uuid AND p.key = ? AND p.value = ? "
            "LEFT JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = ? "
            "LEFT JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = ? "
            "WHERE r.experiment_id = ? AND r.status = 'RUNNING' AND r.lifecycle_stage = 'active'",
            (f"{TAG}plan", self.plan.id, f"{TAG}kind", f"{TAG}subject", experiment_id),
        )
        if rows is None:
            return None
        return [
            ExistingRun(str(run_id), "RUNNING", str(kind or ""), str(subject or ""), {})
            for run_id, kind, subject in rows
        ]

    @contextlib.contextmanager
    def active_run(
        self, submission: Submission, plan_file: Path | None = None
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

    def results(self, kind: ResultKind | None = None, subject: str | None = None) -> list[Result]:
        """Every finished result of this plan: the local copy if still current, else the store.

        With ``kind`` and ``subject``, only that subject's results, straight from the store (the
        uniqueness check before a write must see what is there now, not a copy).

        The revision is read before the search, so a write the search misses leaves the copy
        under a revision that is already out of date (see mlplan._record.cache).
        """
        quick = None if self.refresh or kind is not None else self._embedded_copy()
        if quick is not None:
            return quick
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
                return cached
            results = self._search_results()
        except MlflowException as error:
            raise self._refused(error, "MLflow refused to list the results") from None
        cache.save(revision, results)
        return results

    def _destination(self, experiment_id: str | None = None) -> str:
        # The password of an http://user:pw@host URI must not reach a file name or the disk.
        uri = self.location.uri.split("@", 1)[-1] if "://" in self.location.uri else ""
        experiment_id = experiment_id or self.experiment_id
        return f"{uri or self.location.uri}\n{experiment_id}\n{self.plan.id}"

    def _embedded_copy(self) -> list[Result] | None:
        """The local copy, checked against the embedded store without importing MLflow.

        Importing mlflow and opening its store cost more than reading 10,000 cached results;
        for the embedded store two sqlite queries answer the same question. Anything unexpected
        (no such table, a locked or damaged file) returns None: MLflow's own path decides.
        """
        if not self.location.embedded or self._client is not None:
            return None
        found = _sqlite_rows(
            self.location.database,
            "SELECT e.experiment_id, t.value FROM experiments e JOIN experiment_tags t "
            "ON t.experiment_id = e.experiment_id AND t.key = ? "
            "WHERE e.name = ? AND e.lifecycle_stage = 'active'",
            (REVISION_TAG, experiment_name(self.plan)),
        )
        if not found:
            return None
        experiment_id, revision = (str(value) for value in found[0])
        cached = ResultsCache(self.location.home / "cache", self._destination(experiment_id))
        results = cached.load(revision)
        if results is not None:
            self._quick_experiment_id = experiment_id
        return results

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

        clauses = _equal_clauses(params, metrics or {})
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

        only = ""
        if kind is not None and subject is not None:
            quoted = subject.replace("'", "''")
            only = f" and tags.`{TAG}kind` = '{kind}' and tags.`{TAG}subject` = '{quoted}'"
        only += clauses
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
            results += [r for r in map(_to_result, page) if r is not None]
            token = page.token
            if not token:
                break
        return sorted(results, key=lambda r: (r.logged_at, r.run_id))


def _equal_clauses(params: Mapping[str, str], metrics: Mapping[str, float]) -> str | None:
    """`` and params.`k` = 'v' and metrics.`m` = 0.7`` for MLflow's search, or None when a value
    cannot be written in its filter syntax (it has no escape for a quote in a string)."""
    clauses = []
    for key, value in params.items():
        if "'" in value or "\\" in value or "`" in key:
            return None
        clauses.append(f" and params.`{key}` = '{value}'")
    for key, number in metrics.items():
        if not math.isfinite(number) or "`" in key:
            return None
        # repr round-trips the float exactly; MLflow's parser rejects the "+" of "1.5e+20".
        clauses.append(f" and metrics.`{key}` = {repr(float(number)).replace('e+', 'e')}")
    return "".join(clauses)


def plan_digest(plan_file: Path) -> str:
    """Which version of the plan a run was logged under: the SHA-256 of the file's bytes."""
    return hashlib.sha256(plan_file.read_bytes()).hexdigest()


def _sqlite_rows(database: Path, query: str, args: tuple[str, ...]) -> list[Any] | None:
    """Rows from the embedded store opened read-only, or None on any sqlite error."""
    import sqlite3

    if not database.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(query, args).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return None


def run_name(submission: Submission, keys: Sequence[str] = ()) -> str:
    """Say what differs between runs of one subject: ``H1 · seed=3``, not five ``H1 · hypothesis``.

    The params that name the result's slot (``keys``: the plan's pair key and conditions),
    else the note, else every param (a plan that declares no pair key), else the kind; a
    reported figure says so. Other params (a study's measured extras, settings shared by every
    run) would only bury the difference.
    """
    keyed = [(key, submission.params[key]) for key in keys if key in submission.params]
    note = " ".join(submission.note.split())
    if submission.reported:
        detail = f"reported: {submission.source}" if submission.source else "reported"
    elif keyed or not note:
        shown = keyed or sorted(submission.params.items())
        detail = ", ".join(f"{key}={value}" for key, value in shown) or submission.kind
    else:
        detail = note
    return _clip(f"{submission.subject} · {detail}", RUN_NAME_LIMIT)


_UNAUTHENTICATED = ("UNAUTHENTICATED", "CUSTOMER_UNAUTHORIZED")


def _shown(uri: str) -> str:
    """The URI without a password written into it (http://user:secret@host)."""
    scheme, sep, rest = uri.partition("://")
    return f"{scheme}{sep}{rest.split('@', 1)[-1]}" if sep else uri


def _auth_refusal(error: Any, uri: str) -> StoreAuthError | None:
    """A 401 or 403 told as such, naming what to set; never the credentials themselves."""
    code = str(getattr(error, "error_code", ""))
    message = str(getattr(error, "message", error))
    if code in _UNAUTHENTICATED or "error code 401" in message:
        return StoreAuthError(
            f"the tracking server {uri} needs you to log in (401 Unauthorized). Set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) "
            "to your account on that server."
        )
    if code == "PERMISSION_DENIED" or "error code 403" in message:
        user = os.environ.get("MLFLOW_TRACKING_USERNAME", "")
        who = f"user {user!r}" if user else "your account"
        return StoreAuthError(
            f"the tracking server {uri} refused {who} permission for this (403 Forbidden). "
            "Ask an admin of that server for EDIT permission on the plan's experiment, or set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to an account that has it.",
            status=HTTPStatus.FORBIDDEN,
        )
    return None


# MLflow error codes that mean "this request is wrong": sending it again cannot help, so the
# result is refused (or, from the outbox, parked). Every other failure is the store being
# unavailable -- down, stalled, locked, corrupt, unwritable -- and the result waits for it.
_REFUSED = frozenset(
    {"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "RESOURCE_DOES_NOT_EXIST"}
)


def _refusal(error: Any, what: str, uri: str = "") -> TrackingError:
    denied = _auth_refusal(error, uri)
    if denied is not None:
        return denied
    message = redact(" ".join(str(getattr(error, "message", error)).split()))
    code = str(getattr(error, "error_code", ""))
    if code in _REFUSED and not _database_broke(error):
        return TrackingError(f"{what}: {message[:2000]}")
    return StoreUnreachableError(
        f"the store could not be used ({code}: {message[:300]}). Check that the server is "
        "healthy, or that the database is intact and its folder writable."
    )


def _database_broke(error: BaseException) -> bool:
    # MLflow reports any SQLAlchemy error but a lost connection as BAD_REQUEST, among them "file
    # is not a database": that is a damaged store, not a wrong request.
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(error.__cause__, SQLAlchemyError)


@contextlib.contextmanager
def store_errors(location: StoreLocation) -> Iterator[None]:
    """Turn what MLflow and the environment raise into mlplan's two store errors.

    A corrupt or unwritable database, a missing database driver or a dropped connection is
    the user's environment, not a bug in mlplan: one message, and the result kept.
    """
    try:
        yield
    except TrackingError:
        raise
    except Exception as error:
        unavailable = _unavailable(error, location)
        if unavailable is None:
            raise
        raise unavailable from None


def _unavailable(error: Exception, location: StoreLocation) -> TrackingError | None:
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    where = location.describe()
    if isinstance(error, MlflowException):
        return _refusal(error, f"{where} refused the request", redact(location.uri))
    if isinstance(error, ImportError):
        return StoreUnreachableError(
            f"{where} needs a module that is not installed ({error}); install the database "
            "driver MLflow needs for this URI, e.g. pip install 'psycopg[binary]'"
        )
    if isinstance(error, SQLAlchemyError | OSError):
        detail = redact(" ".join(str(getattr(error, "orig", None) or error).split()))[:300]
        return StoreUnreachableError(
            f"{where} could not be used ({type(error).__name__}: {detail}). Check that "
            "the database is intact and its folder writable."
        )
    return None


def _to_result(run: Any) -> Result | None:
    tags: dict[str, str] = run.data.tags
    kind: ResultKind
    if tags.get(f"{TAG}kind") == "hypothesis":
        kind = "hypothesis"
    elif tags.get(f"{TAG}kind") == "baseline":
        kind = "baseline"
    else:
        return None  # the plan snapshot run, or a run someone else tagged
    return Result(
        run_id=run.info.run_id,
        kind=kind,
        subject=tags.get(f"{TAG}subject", ""),
        metrics={key: float(value) for key, value in run.data.metrics.items()},
        logged_at=_logged_at(tags, run.info.start_time),
        note=tags.get("mlflow.note.content", ""),
        reported=tags.get(f"{TAG}reported") == "true",
        source=tags.get(f"{TAG}source", ""),
        criteria_fingerprint=tags.get(f"{TAG}criteria_fingerprint", ""),
        criteria=tags.get(f"{TAG}criteria", ""),
        params=dict(run.data.params),
        replaces=tags.get(f"{TAG}replaces", ""),
        reason=tags.get(f"{TAG}reason", ""),
        replaced_by=tags.get(f"{TAG}replaced_by", ""),
    )


def _logged_at(tags: dict[str, str], start_ms: int) -> dt.datetime:
    # A result delivered late from the outbox keeps the time it was logged, not delivered.
    stamp = tags.get(f"{TAG}logged_at")
    if stamp:
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(stamp)
    return dt.datetime.fromtimestamp(start_ms / 1000, tz=dt.UTC)
