"""Shared fixtures. Every test runs in its own temporary directory with a temporary HOME, and
fails if it leaves anything behind in the repository: tests never write to the user's home or
to the repo's ./mlruns."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
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


PLAN = """\
schema_version: 1
id: {plan_id}
title: Churn model
owners: [Ada]
problem:
  statement: Customers leave without warning.
  audience: The retention team.
  why_now: Churn doubled this quarter.
goals:
  software: [A weekly churn score per customer.]
  metrics:
    - statement: Improve recall by 5% on churners without losing more than 2% elsewhere.
      metric: recall
      target: "5%"
      segment: customers who churn
      guardrail: {{metrics: "recall.*", max_drop: "2%"}}
  trade_offs: [Precision may drop by up to 5%.]
metrics:
  - {{key: recall, direction: higher, bounds: [0, 1], description: Share of churners found.}}
  - {{key: recall.loyal, direction: higher, bounds: [0, 1], description: Loyal recall.}}
  - {{key: latency_ms, direction: lower, unit: ms, description: Scoring time.}}
experiment:
  data_motivation: Each churner costs 300 EUR a year.
  baselines:
    - id: B1
      description: Flag customers whose usage fell by half.
      entry_point: churn_baselines:usage_drop
      exact: true
    - id: B2
      description: Flag nobody.
  hypotheses:
    - id: H1
      statement: Gradient boosting improves recall over B1 by 5%.
      method: Train gradient boosting on usage features.
      metrics: [recall, recall.loyal]
      baselines: [B1]
      success_criteria:
        - {{metric: recall, better_than: B1, by: "5%"}}
      guardrails:
        - {{metrics: "recall.*", against: B1, max_drop: "2%"}}
      timebox: {{days: 10, start: 2026-11-20}}
      on_success: {{description: Put it in production., then: ship}}
      on_failure: {{description: Try more features., then: H2}}
    - id: H2
      statement: Adding support tickets reaches recall 0.8.
      method: Join ticket counts.
      metrics: [recall, latency_ms]
      baselines: [B1, B2]
      success_criteria:
        - {{metric: recall, at_least: 0.8}}
        - {{metric: latency_ms, at_most: 50}}
      timebox: {{days: 5, start: 2026-12-01}}
      on_success: {{description: Ship it., then: ship}}
      on_failure: {{description: Stop., then: stop}}
software_design:
  crawl: Score offline in a notebook.
  walk: A batch job writing scores to the warehouse.
  run: A feature store and daily retraining.
considerations:
  launch_criteria: [Recall above B1 by 5% on two consecutive weeks.]
  what_could_go_wrong:
    products_affected: The retention e-mails.
    customer_impact: Loyal customers get needless offers.
    monitoring: Weekly recall against realised churn.
    rollback: Switch back to the B1 rule.
  security: Scores are internal only.
  privacy: No personal data leaves the warehouse.
"""

BASELINES_MODULE = """\
def usage_drop():
    return {"recall": 0.6, "recall.loyal": 0.9, "unrelated": 1.0}
"""


@pytest.fixture
def make_plan(tmp_path: Path) -> Callable[..., Path]:
    """Write a small, complete plan (and its baseline module) into a folder of tmp_path."""

    def make(folder: str = "project", plan_id: str = "churn", text: str | None = None) -> Path:
        target = tmp_path / folder
        target.mkdir(parents=True, exist_ok=True)
        (target / "churn_baselines.py").write_text(BASELINES_MODULE)
        path = target / "plan.yaml"
        path.write_text(text if text is not None else PLAN.format(plan_id=plan_id))
        return path

    return make
