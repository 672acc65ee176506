"""The embedded store's fast path: MLflow's sqlite tables read with plain SQL.

Importing mlflow and opening its store cost more than reading 10,000 cached results; for the
embedded store two small queries answer "is the local copy still current?" and "which runs
are still RUNNING?". Those tables are MLflow's private schema, so every query first checks
the schema's alembic revision against the revisions these queries were written and tested
against. Any other revision, or anything unexpected (no such table, a locked or damaged file),
answers None, and the caller takes MLflow's own path: slower, never wrong.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlplan._record.location import StoreLocation

if TYPE_CHECKING:
    import sqlite3

T = TypeVar("T")

__all__ = [
    "KNOWN_REVISIONS",
    "FinishedRuns",
    "RawRun",
    "copy_revision",
    "finished_runs",
    "no_stray_folders",
    "schema_revision",
    "unfinished",
]

# MLflow's schema revisions (alembic, table alembic_version) at which the queries below read
# the right columns: every revision from the head of MLflow 3.10.1 (the lowest pyproject
# allows) to the head of 3.17.2 (the highest tested). None of the migrations between them
# changes a column read here (experiments, experiment_tags, runs, tags); 17e22815139b only
# widens experiment_tags.value. A newer MLflow's store reads through MLflow until its
# migrations are checked and its revisions added (tests/test_store_embedded.py says when).
KNOWN_REVISIONS = frozenset(
    {
        "1b5f0d9ad7c1",  # head of MLflow 3.10.1: workspace columns and catalog table
        "e1f2a3b4c5d6",
        "76601a5f987d",
        "c3d6457b6d8a",
        "a5b4c3d2e1f0",
        "ae8bbe7743c9",
        "7d34483879f0",
        "da6fb0208061",
        "89d3d66ed43f",
        "b7e4c1a90f23",
        "a8b9c0d1e2f3",
        "c1d2e3f4a5b6",
        "c3d9e7f1a2b4",
        "6f8d9c3b2a1e",
        "1971f2d9a75b",
        "17e22815139b",
        "b7e2c1a4d9f3",
        "75868b020152",
        "dc11669786a5",  # head of MLflow 3.17.2: job executor persistence model
    }
)

_COPY_REVISION = (
    "SELECT e.experiment_id, t.value FROM experiments e JOIN experiment_tags t "
    "ON t.experiment_id = e.experiment_id AND t.key = ? "
    "WHERE e.name = ? AND e.lifecycle_stage = 'active'"
)
_UNFINISHED = (
    "SELECT r.run_uuid, k.value, s.value FROM runs r "
    "JOIN tags p ON p.run_uuid = r.run_uuid AND p.key = ? AND p.value = ? "
    "LEFT JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = ? "
    "LEFT JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = ? "
    "WHERE r.experiment_id = ? AND r.status = 'RUNNING' AND r.lifecycle_stage = 'active'"
)


def copy_revision(database: Path, experiment: str, revision_tag: str) -> tuple[str, str] | None:
    """The id of the active experiment named ``experiment`` and its ``revision_tag``; None when
    there is none, or the fast path cannot tell."""
    found = _rows(database, _COPY_REVISION, (revision_tag, experiment))
    if not found:
        return None
    experiment_id, revision = (str(value) for value in found[0])
    return experiment_id, revision


def unfinished(
    database: Path, experiment_id: str, plan_tag: tuple[str, str], kind_tag: str, subject_tag: str
) -> list[tuple[str, str, str]] | None:
    """(run id, kind, subject) of the plan's RUNNING runs; None when the fast path cannot tell."""
    rows = _rows(database, _UNFINISHED, (*plan_tag, kind_tag, subject_tag, experiment_id))
    if rows is None:
        return None
    return [(str(run_id), str(kind or ""), str(subject or "")) for run_id, kind, subject in rows]


def plan_ids(database: Path, plan_tag: str) -> dict[str, int] | None:
    """How many active runs each plan id tags in the embedded store; None when the fast path
    cannot tell."""
    rows = _rows(database, _PLAN_IDS, (plan_tag,))
    if rows is None:
        return None
    return {str(plan): int(count) for plan, count in rows}


_PLAN_IDS = """
SELECT t.value, COUNT(*) FROM tags AS t JOIN runs AS r ON r.run_uuid = t.run_uuid
WHERE t.key = ? AND r.lifecycle_stage = 'active' GROUP BY t.value
"""


def schema_revision(database: Path) -> str | None:
    """The alembic revision of the embedded store's schema, or None if it cannot be read."""
    return _read(database, _revision)


def _rows(database: Path, query: str, args: tuple[str, ...]) -> list[Any] | None:
    """Rows of ``query`` on a schema the fast path knows, else None. The revision is read on
    the same connection as the rows, so a migration in between cannot mix the two."""

    def known_rows(connection: sqlite3.Connection) -> list[Any] | None:
        if _revision(connection) not in KNOWN_REVISIONS:
            return None
        return connection.execute(query, args).fetchall()

    return _read(database, known_rows)


def _revision(connection: sqlite3.Connection) -> str | None:
    found = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    # MLflow's history is linear: one row. Several heads would be a schema nobody tested.
    return str(found[0][0]) if len(found) == 1 else None


def _read(database: Path, reader: Callable[[sqlite3.Connection], T | None]) -> T | None:
    """``reader(connection)`` on the embedded store opened read-only; None on any sqlite error."""
    import sqlite3  # not at the top: `mlplan validate` never needs it

    if not database.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return reader(connection)
        finally:
            connection.close()
    except sqlite3.Error:
        return None


@contextlib.contextmanager
def no_stray_folders(location: StoreLocation) -> Iterator[None]:
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


# The trust-bearing readers (`status --check`, the CI gate, `publish`) judge the store itself,
# never the local copy a pull request could bring with it; these queries keep them as fast as
# the copy was. They read what MLflow's own search returns for the plan's runs: active,
# FINISHED runs tagged with the plan, with their latest metric values (latest_metrics, where
# MLflow keeps a NaN as is_nan), params and tags.
_EXPERIMENT = "SELECT experiment_id FROM experiments WHERE name = ? AND lifecycle_stage = 'active'"
_REVISION = "SELECT value FROM experiment_tags WHERE experiment_id = ? AND key = ?"
_PLAN_RUNS = (
    "SELECT r.run_uuid FROM runs r JOIN tags p ON p.run_uuid = r.run_uuid "
    "AND p.key = ? AND p.value = ? "
    "WHERE r.experiment_id = ? AND r.status = 'FINISHED' AND r.lifecycle_stage = 'active'"
)
_RUN_ROWS = {
    "runs": f"SELECT run_uuid, start_time, end_time FROM runs WHERE run_uuid IN ({_PLAN_RUNS})",
    "tags": f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({_PLAN_RUNS})",
    "params": f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({_PLAN_RUNS})",
    "metrics": "SELECT run_uuid, key, value, is_nan FROM latest_metrics "
    f"WHERE run_uuid IN ({_PLAN_RUNS})",
}


@dataclass
class RawRun:
    """A run as read from the tables, shaped like the MLflow Run that runs.to_result reads."""

    run_id: str
    start_time: int
    end_time: int  # when the run finished: the slot rule's order (issue 16)
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def info(self) -> RawRun:
        return self

    @property
    def data(self) -> RawRun:
        return self


@dataclass(frozen=True)
class FinishedRuns:
    experiment_id: str
    revision: str  # the experiment's revision tag as of the same read ("" if it has none)
    runs: list[RawRun]


def finished_runs(
    database: Path, experiment: str, plan_tag: tuple[str, str], revision_tag: str
) -> FinishedRuns | None:
    """The experiment's id, revision and the plan's FINISHED runs, in one read; None when the
    fast path cannot tell (no such experiment yet, an unknown schema, a locked or damaged
    file)."""

    def read(connection: sqlite3.Connection) -> FinishedRuns | None:
        if _revision(connection) not in KNOWN_REVISIONS:
            return None
        found = connection.execute(_EXPERIMENT, (experiment,)).fetchall()
        if len(found) != 1:
            return None
        experiment_id = str(found[0][0])
        args = (*plan_tag, experiment_id)
        # One read transaction: a writer cannot slip a run in between the four queries.
        connection.execute("BEGIN")
        revision = connection.execute(_REVISION, (experiment_id, revision_tag)).fetchall()
        runs = {
            str(run_id): RawRun(str(run_id), int(start or 0), int(end or 0))
            for run_id, start, end in connection.execute(_RUN_ROWS["runs"], args)
        }
        for run_id, key, value in connection.execute(_RUN_ROWS["tags"], args):
            runs[run_id].tags[key] = "" if value is None else str(value)
        for run_id, key, value in connection.execute(_RUN_ROWS["params"], args):
            runs[run_id].params[key] = str(value)
        for run_id, key, value, is_nan in connection.execute(_RUN_ROWS["metrics"], args):
            runs[run_id].metrics[key] = math.nan if is_nan else float(value)
        connection.execute("COMMIT")
        return FinishedRuns(
            experiment_id, str(revision[0][0] or "") if revision else "", list(runs.values())
        )

    return _read(database, read)
