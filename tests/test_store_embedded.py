"""The embedded fast path reads MLflow's private sqlite tables only at a schema revision it
knows (mlplan/_record/store/embedded.py); at any other it answers None and MLflow's client
reads the store instead, with the same results. Real embedded stores in tmp_path."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TODAY, MakePlan

import mlplan
from mlplan._judge.results import Result
from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal
from mlplan._record.store import REVISION_TAG, experiment_name
from mlplan._record.store import embedded as fast
from mlplan._record.store.runs import ExistingRun

UNKNOWN = "0123456789ab"  # a revision no MLflow has: a newer MLflow's, say


def test_the_installed_mlflow_is_at_a_known_revision() -> None:
    from mlflow.store.db import utils

    head: str = utils._get_latest_schema_revision()  # type: ignore[no-untyped-call]
    assert head in fast.KNOWN_REVISIONS, (
        f"MLflow's schema head {head} is not in embedded.KNOWN_REVISIONS: check that its "
        "migrations since the newest known revision leave the columns the fast path reads "
        "(experiments, experiment_tags, runs, tags) as they were, then add the new revisions; "
        "until then the embedded store is read through MLflow (correct, slower)"
    )


def _plan_with_results(make_plan: MakePlan) -> tuple[Path, str]:
    """A plan with two results and a RUNNING run left behind; its local copy is current."""
    plan = make_plan()
    mlplan.record_result(plan, baseline="B1", metrics={"recall": 0.6})
    mlplan.record_result(plan, hypothesis="H1", metrics={"recall": 0.7}, note="seed 1")
    journal = Journal(load_plan(plan))
    orphan = journal.store._create_run(journal.open_submission("hypothesis", "H1"))
    Journal(load_plan(plan)).results()  # reads the store, keeps the copy
    return plan, orphan


def _read(plan: Path) -> tuple[list[Result], list[ExistingRun], bool]:
    """Results and unfinished runs as status reads them, and whether MLflow was opened."""
    journal = Journal(load_plan(plan))
    results = journal.results()
    unfinished = journal.unfinished()
    return results, unfinished, journal.store._client is not None


def _set_revision(database: Path, revision: str) -> None:
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_a_store_the_installed_mlflow_made_is_read_by_the_fast_path(
    make_plan: MakePlan,
) -> None:
    plan, orphan = _plan_with_results(make_plan)
    database = plan.parent / ".mlplan" / "mlflow.db"
    assert fast.schema_revision(database) in fast.KNOWN_REVISIONS

    results, unfinished, opened = _read(plan)

    assert not opened  # neither the copy's check nor the RUNNING runs needed MLflow
    assert sorted(r.subject for r in results) == ["B1", "H1"]
    assert [(u.run_id, u.kind, u.subject) for u in unfinished] == [(orphan, "hypothesis", "H1")]


def test_an_unknown_revision_is_read_through_mlflow_with_the_same_results(
    make_plan: MakePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, _ = _plan_with_results(make_plan)
    database = plan.parent / ".mlplan" / "mlflow.db"
    expected = _read(plan)
    _set_revision(database, UNKNOWN)
    # A newer MLflow whose head is UNKNOWN: it opens the store, the fast path must not read it.
    from mlflow.store.db import utils

    monkeypatch.setattr(utils, "_get_latest_schema_revision", lambda: UNKNOWN)
    name = experiment_name(load_plan(plan).plan)
    assert fast.copy_revision(database, name, REVISION_TAG) is None

    results, unfinished, opened = _read(plan)

    assert opened
    assert (results, unfinished) == expected[:2]
    assert Journal(load_plan(plan), refresh=True).results() == results  # every run read again


def test_an_unknown_revision_mlflow_cannot_open_is_an_error_not_a_crash(
    make_plan: MakePlan,
) -> None:
    plan, _ = _plan_with_results(make_plan)
    _set_revision(plan.parent / ".mlplan" / "mlflow.db", UNKNOWN)
    # A fresh process: MLflow keeps the stores it opened (and verified) for the process's life.
    status = subprocess.run(
        [sys.executable, "-m", "mlplan", "status", str(plan), "--today", str(TODAY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert status.returncode != 0
    assert UNKNOWN in status.stderr
    assert "Traceback" not in status.stderr


@pytest.mark.parametrize("content", [b"", b"not a database", None])
def test_a_database_without_mlflows_schema_is_not_read(
    tmp_path: Path, content: bytes | None
) -> None:
    database = tmp_path / "mlflow.db"
    if content is None:  # a sqlite database, but not MLflow's
        with contextlib.closing(sqlite3.connect(database)) as connection:
            connection.execute("CREATE TABLE experiments (experiment_id, name, lifecycle_stage)")
    else:
        database.write_bytes(content)
    assert fast.schema_revision(database) is None
    assert fast.copy_revision(database, "mlplan/churn", REVISION_TAG) is None
    assert fast.unfinished(database, "1", ("mlplan.plan", "churn"), "k", "s") is None
