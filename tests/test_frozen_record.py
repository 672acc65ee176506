"""What is frozen once results exist (issue 16): results cannot be orphaned by a rename, a
rename is an amendment that carries them over, a closed hypothesis passes the gate, and a
recorded amendment is checked against what the runs were stamped with."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, MakePlan, run

import mlplan
from mlplan._api import journal_for

Capsys = pytest.CaptureFixture[str]
B1 = [0.59, 0.60, 0.61]
FAILING = [0.50, 0.51, 0.52]  # well below B1 + 5%: H1 fails


def log(plan: Path, kind: str, subject: str, values: Sequence[float]) -> None:
    journal = journal_for(plan)
    for seed, recall in enumerate(values):
        submission = journal.submission(
            kind=kind,  # type: ignore[arg-type]
            subject=subject,
            metrics={"recall": recall, "recall.loyal": 0.9},
            params={"seed": seed},
        )
        journal.log(submission)


def edit(plan: Path, old: str, new: str, count: int = 1) -> None:
    text = plan.read_text()
    assert old in text
    plan.write_text(text.replace(old, new, count))


def status_json(plan: Path, capsys: Capsys, today: dt.date = TODAY) -> dict[str, Any]:
    code, out, _ = run(capsys, "status", plan, "--json", "--today", today)
    assert code == 0
    document: dict[str, Any] = json.loads(out)
    return document


@pytest.fixture
def failed(make_plan: MakePlan) -> Path:
    plan = make_plan()
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", FAILING)
    return plan


# ---------------------------------------------------------------------------- orphaned results


def test_renaming_a_failed_hypothesis_by_hand_keeps_the_gate_red(
    failed: Path, capsys: Capsys
) -> None:
    code, _, _ = run(capsys, "status", failed, "--check", "--today", TODAY)
    assert code == 1  # failed, no decision
    edit(failed, "- id: H1\n", "- id: H1b\n")
    code, out, err = run(
        capsys, "status", failed, "--check", "--format", "markdown", "--today", TODAY
    )
    assert code == 1
    assert "Nothing needs attention" not in out
    # What the gate posts (the Markdown) names the orphaned results, not only stderr.
    attention = out.split("**Needs attention:**")[1]
    assert "3 results for hypothesis 'H1', which the plan no longer has" in attention
    assert "--rename" in attention
    assert "needs attention: 3 results for hypothesis 'H1'" in err


def test_results_for_a_removed_baseline_fail_the_gate(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    log(plan, "baseline", "B2", [0.1, 0.2, 0.3])
    edit(plan, "    - id: B2\n      description: Flag nobody.\n", "")
    edit(plan, "baselines: [B1, B2]", "baselines: [B1]")
    code, _, _ = run(capsys, "status", plan, "--check", "--today", TODAY)
    assert code == 1
    report = status_json(plan, capsys)
    assert any("baseline 'B2'" in reason for reason in report["needs_attention"])
