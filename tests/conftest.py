"""Shared fixtures. Every test runs in its own temporary directory with a temporary HOME, and
fails if it leaves anything behind in the repository: tests never write to the user's home or
to the repo's ./mlruns. Helpers that tests import live in helpers.py.

Creating an MLflow sqlite store runs MLflow's schema migrations (~2 s each, most of the suite's
time when every tracking test made its own). The session builds one migrated schema and every
new embedded store starts as a copy of it: see ``_stores_start_from_a_migrated_template``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from helpers import BASELINES_MODULE, PLAN, REPO, TODAY, MakePlan, require_service

# mlplan's clock is the suite's TODAY, in this process and every one it starts (see helpers).
os.environ["MLPLAN_TODAY"] = TODAY.isoformat()

__all__ = ["require_service"]  # re-exported: `from conftest import require_service` works too


def _repo_changes() -> set[str] | None:
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=normal", "--ignored=traditional"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout: nothing to compare against
    return {
        line
        for line in result.stdout.splitlines()
        if "__pycache__" not in line
        and ".pytest_cache" not in line
        and ".mypy_cache" not in line
        and ".ruff_cache" not in line
        and ".hypothesis" not in line
    }


@pytest.fixture(scope="module", autouse=True)
def _repo_untouched() -> Iterator[None]:
    """Fail the module whose tests left files in the repository (a ./mlruns, say).

    Checked per module rather than per test: `git status` costs ~0.1 s."""
    before = _repo_changes()
    yield
    if before is not None:
        leaked = (_repo_changes() or set()) - before
        assert not leaked, f"tests in this module wrote into the repository: {sorted(leaked)}"


@pytest.fixture
def _no_tracking_uri_left() -> Iterator[None]:
    """A test that calls mlflow.set_tracking_uri (as plain MLflow user code does) exports
    MLFLOW_TRACKING_URI; the next test in this worker would read it as a team server. Set up
    before ``isolated``'s monkeypatch, so it is torn down after monkeypatch restores the env."""
    yield
    if "mlflow" in sys.modules:
        sys.modules["mlflow"].set_tracking_uri(None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)


@pytest.fixture(autouse=True)
def isolated(_no_tracking_uri_left: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in tmp_path with a private HOME and no MLflow settings from the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    for name in list(os.environ):
        if name.startswith("MLFLOW_") and name != "MLFLOW_DISABLE_TELEMETRY":
            monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture
def make_plan(tmp_path: Path) -> MakePlan:
    """Write a small, complete plan (and its baseline module) into a folder of tmp_path."""

    def make(folder: str = "project", plan_id: str = "churn", text: str | None = None) -> Path:
        target = tmp_path / folder
        target.mkdir(parents=True, exist_ok=True)
        (target / "churn_baselines.py").write_text(BASELINES_MODULE)
        path = target / "plan.yaml"
        path.write_text(text if text is not None else PLAN.format(plan_id=plan_id))
        return path

    return make


# --- one migrated MLflow schema per session ------------------------------------------------------


def _build_template(template: Path, initialize: Callable[[Any], None]) -> None:
    """Run MLflow's own table creation and migrations once, into ``template``."""
    import sqlalchemy

    partial = template.with_name(template.name + ".partial")
    partial.unlink(missing_ok=True)
    engine = sqlalchemy.create_engine(f"sqlite:///{partial}")
    try:
        initialize(engine)
    finally:
        engine.dispose()
    partial.replace(template)  # atomic: another xdist worker never copies half a schema


@pytest.fixture(scope="session")
def _migrated_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's migrated (empty) MLflow schema is, built on first use.

    Under pytest-xdist every worker has its own basetemp inside one shared parent: the schema
    is built there once, under a file lock, and read by all workers."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    return root / "mlflow-schema.db"


@pytest.fixture(scope="session", autouse=True)
def _stores_start_from_a_migrated_template(_migrated_schema: Path) -> Iterator[None]:
    """New sqlite stores get MLflow's migrated tables by copy instead of by migration.

    Only the step MLflow runs on an empty database (``_initialize_tables``: create the tables,
    then every alembic migration) is replaced, by a byte copy of the same step's result; MLflow
    still opens, verifies and fills the store itself (its default experiment included), and
    mlplan's code runs unchanged. Other databases (a server's PostgreSQL) migrate as usual.
    """
    from mlflow.store.db import utils

    # A private MLflow function: if a release renames it, the suite runs at the old speed
    # (every store migrates itself) instead of erroring in this fixture.
    found: Callable[[Any], None] | None = getattr(utils, "_initialize_tables", None)
    if found is None:
        yield
        return
    initialize = found
    lock = FileLock(str(_migrated_schema) + ".lock")

    def from_template(engine: Any) -> None:
        database = engine.url.database
        if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
            initialize(engine)
            return
        with lock:
            if not _migrated_schema.is_file():
                _build_template(_migrated_schema, initialize)
        with (
            contextlib.closing(sqlite3.connect(_migrated_schema)) as source,
            contextlib.closing(sqlite3.connect(database)) as target,
        ):
            source.backup(target)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utils, "_initialize_tables", from_template)
        yield
