"""Where a plan's results live: the one package that talks to MLflow.

Everything else in mlplan sees results as :class:`~mlplan._judge.results.Result` and hands new
ones over as :class:`~mlplan._record.outbox.Submission`, through the narrow :class:`Store`
protocol below; :func:`open_store` returns its one implementation, :class:`MlflowStore`.

- ``runs``: how a result is written as an MLflow run and read back (tags, names, filters);
- ``client``: MlflowStore, MLflow's client doing the work;
- ``embedded``: the embedded sqlite store read with plain SQL, guarded by MLflow's schema
  revision, so a current local copy is used without importing MLflow, and a reader that must
  not write (`mlplan site`) reads the results themselves (:func:`read_embedded`);
- ``health``: a dead server or a broken database told in seconds;
- ``errors``: what MLflow, HTTP and sqlite raise, as mlplan's store errors.

Only this package imports mlflow, and only inside functions: it takes over a second.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mlplan._judge.results import Result, ResultKind
from mlplan._plan.models import Plan
from mlplan._record.location import StoreLocation
from mlplan._record.outbox import Submission
from mlplan._record.store.client import EmbeddedRead, MlflowStore, read_embedded
from mlplan._record.store.errors import store_errors
from mlplan._record.store.health import probe
from mlplan._record.store.runs import (
    REVISION_TAG,
    TAG,
    ExistingRun,
    experiment_name,
    plan_digest,
    run_name,
)

__all__ = [
    "REVISION_TAG",
    "TAG",
    "EmbeddedRead",
    "ExistingRun",
    "MlflowStore",
    "Store",
    "experiment_name",
    "open_store",
    "plan_digest",
    "probe",
    "read_embedded",
    "run_name",
    "store_errors",
]


@runtime_checkable
class Store(Protocol):
    """What the journal and the API ask of the place a plan's results live.

    Writes (log, redeliver, mark_replaced, publish, log_plan_snapshot) raise TrackingError
    when the store refuses the request and StoreUnreachableError when it cannot be used; wrap
    calls in :func:`store_errors` for what the environment raises besides.
    """

    def log(self, submission: Submission, plan_file: Path | None = None) -> str:
        """Write a finished result (or complete the run it names); its run id."""
        ...

    def redeliver(self, submission: Submission, plan_file: Path | None = None) -> str:
        """Write a result from the outbox exactly once, completing a half-made run."""
        ...

    def mark_replaced(self, run_id: str, replaced_by: str) -> None:
        """Record that a later result replaced ``run_id``."""
        ...

    def results(self, kind: ResultKind | None = None, subject: str | None = None) -> list[Result]:
        """Every finished result, or one subject's straight from the store."""
        ...

    def read_local_copy(self) -> bool:
        """Whether the last results() came from the local copy, not the store itself."""
        ...

    def experiment_ref(self) -> str:
        """The plan's experiment id, for links into MLflow's UI (from the copy if it knows)."""
        ...

    def matching(
        self,
        kind: ResultKind,
        subject: str,
        params: Mapping[str, str],
        metrics: Mapping[str, float] | None = None,
    ) -> list[Result]:
        """One subject's results with these params (and values): a uniqueness check's rivals."""
        ...

    def slot_results(
        self, kind: ResultKind, subject: str, params: Mapping[str, str]
    ) -> list[Result]:
        """One subject's results in the slot ``params`` name, compared as the readers do."""
        ...

    def existing_run(self, run_id: str) -> ExistingRun:
        """A run of this plan's experiment, to attach it."""
        ...

    def unfinished(self) -> list[ExistingRun]:
        """The plan's runs still RUNNING."""
        ...

    def active_run(
        self,
        submission: Submission,
        plan_file: Path | None = None,
        check: Callable[[str, Mapping[str, float], Mapping[str, str]], None] | None = None,
    ) -> AbstractContextManager[Any]:
        """A run open for a training script to log into; ``check`` sees its run id, metrics
        and params before it finishes, and an error it raises ends the run FAILED."""
        ...

    def settle(self, run_id: str, grace: float | None = None) -> str:
        """Resolve a finished result's slot: the run id that counts for it (``run_id`` unless
        another result held the slot first; then ``run_id`` is tagged a duplicate of it)."""
        ...

    def log_plan_snapshot(self, plan_file: Path, doc: Path, plots: list[Path]) -> str:
        """Keep the plan, its doc and plots beside its results."""
        ...

    def publish(self, tags: dict[str, str]) -> None:
        """Show the verdicts on the plan's experiment."""
        ...


def open_store(plan: Plan, location: StoreLocation, refresh: bool = False) -> MlflowStore:
    """The store at ``location`` for ``plan``; nothing is opened until it is first used.

    Typed as the implementation, not as Store, for the tests and benchmarks that look behind
    the interface; mlplan's own code uses only what Store offers (tests/test_store_interface.py).
    """
    return MlflowStore(plan, location, refresh=refresh)
