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


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
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
