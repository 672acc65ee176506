"""Shared fixtures. Every test runs in its own temporary directory with a temporary HOME, and
fails if it leaves anything behind in the repository: tests never write to the user's home or
to the repo's ./mlruns."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _repo_changes() -> set[str] | None:
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "--ignored"],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout: nothing to compare against
    return {line for line in result.stdout.splitlines() if "__pycache__" not in line
            and ".pytest_cache" not in line and ".mypy_cache" not in line
            and ".ruff_cache" not in line and ".hypothesis" not in line}


@pytest.fixture(scope="session")
def _repo_before() -> set[str] | None:
    return _repo_changes()


@pytest.fixture(autouse=True)
def isolated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _repo_before: set[str] | None
) -> Iterator[Path]:
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
    yield tmp_path
    if _repo_before is not None:
        leaked = (_repo_changes() or set()) - _repo_before
        assert not leaked, f"the test wrote into the repository: {sorted(leaked)}"
