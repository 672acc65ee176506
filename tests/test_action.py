"""The GitHub Action's gate step, run locally as the runner would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplan._api import journal_for

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def gate_step() -> dict[str, Any]:
    return next(step for step in ACTION["runs"]["steps"] if step.get("name") == "Check the plans")


def run_gate(
    inputs: dict[str, str], summary: Path | None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run the gate step's command with its env, expressions filled in as GitHub would; with
    no ``summary``, GITHUB_STEP_SUMMARY unset, as when the gate is run by hand."""
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update(inputs)

    def fill(text: str) -> str:
        text = text.replace("${{ github.action_path }}", str(ROOT))
        return re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: values[m.group(1)], text)

    step = gate_step()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({name: fill(value) for name, value in step["env"].items()})
    env.pop("GITHUB_STEP_SUMMARY", None)
    if summary is not None:
        env["GITHUB_STEP_SUMMARY"] = str(summary)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [step["shell"], "-c", fill(step["run"])],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_action_declares_its_inputs_and_runs_the_gate() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert {"plans", "tracking-uri", "tracking-username", "tracking-password"} <= set(
        ACTION["inputs"]
    )
    assert ACTION["inputs"]["plans"]["required"] is True
    assert all("shell" in step for step in ACTION["runs"]["steps"] if "run" in step)


@pytest.fixture
def plan(make_plan: Callable[..., Path]) -> Path:
    """The test plan: its timeboxes are laid around the suite's TODAY (mlplan's clock in the
    gate's process too), so nothing is overdue, whenever the suite runs."""
    return make_plan()


def log_results(plan: Path) -> None:
    journal = journal_for(plan)
    for seed, (base, ours) in enumerate([(0.59, 0.66), (0.60, 0.665), (0.61, 0.67)]):
        for kind, subject, recall in (("baseline", "B1", base), ("hypothesis", "H1", ours)):
            journal.log(
                journal.submission(
                    kind=kind,  # type: ignore[arg-type]
                    subject=subject,
                    metrics={"recall": recall, "recall.loyal": 0.9 + seed / 1000},
                    params={"seed": seed},
                )
            )


def test_a_healthy_plan_passes_and_its_table_lands_in_the_summary(
    plan: Path, tmp_path: Path
) -> None:
    log_results(plan)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps' summary\n")

    done = run_gate({"plans": str(plan)}, summary, tmp_path)

    assert done.returncode == 0, done.stderr
    written = summary.read_text()
    assert written.startswith("earlier steps' summary\n")  # appended, not overwritten
    assert "| **H1** | ✅ succeeded |" in written
    assert "✅ Nothing needs attention." in written


def test_a_gate_that_reaches_no_store_fails(plan: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    done = run_gate({"plans": str(plan)}, summary, tmp_path)
    assert done.returncode == 1
    assert "no MLflow store" in summary.read_text()
    assert "::error file=" in done.stdout
    assert not (plan.parent / ".mlplan" / "mlflow.db").exists()

    relaxed = run_gate({"plans": str(plan), "require-store": "false"}, summary, tmp_path)
    assert relaxed.returncode == 0, relaxed.stderr


def test_an_unreachable_server_and_a_missing_plan_fail_with_a_message(
    plan: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens there
    done = run_gate(
        {"plans": f"{plan} {tmp_path}/missing.yaml", "tracking-uri": dead}, summary, tmp_path
    )
    assert done.returncode == 1
    written = summary.read_text()
    assert f"### ❌ {plan} could not be checked" in written
    assert "127.0.0.1:9" in written
    assert f"### ❌ {tmp_path}/missing.yaml" in written


def test_no_plans_is_a_failure(tmp_path: Path) -> None:
    done = run_gate({"plans": ""}, tmp_path / "summary.md", tmp_path)
    assert done.returncode == 1
    assert "no plans given" in done.stdout
