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


# ------------------------------------------------------------------------------ a real rename


def family_plan(make_plan: MakePlan) -> Path:
    """H1 and H2 in one Holm family: both stamps name H1 (members, and H2's edge from H1)."""
    plan = make_plan()
    text = plan.read_text().replace("  hypotheses:\n", "  multiplicity: holm\n  hypotheses:\n", 1)
    text = text.replace("    - id: H1\n", "    - id: H1\n      family: F\n", 1)
    plan.write_text(text.replace("    - id: H2\n", "    - id: H2\n      family: F\n", 1))
    return plan


def test_a_rename_is_an_amendment_that_carries_the_results_over(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = family_plan(make_plan)
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", FAILING)
    log(plan, "hypothesis", "H2", [0.85, 0.86, 0.87])
    assert run(capsys, "decide", plan, "H1", "--decision", "Try H2.")[0] == 0
    before = status_json(plan, capsys)["hypotheses"]

    code, out, err = run(
        capsys, "amend", plan, "H1", "--rename", "H1-boost", "--reason", "Name the method."
    )
    assert code == 0, err
    assert "Renamed H1 to H1-boost" in out
    text = plan.read_text()
    assert "- id: H1-boost\n" in text and "- id: H1\n" not in text
    log_section = mlplan.load_plan(plan).plan.experiment_log
    assert [d.hypothesis for d in log_section.decisions] == ["H1-boost"]
    (rename,) = log_section.renames
    assert (rename.renamed_from, rename.hypothesis, rename.reason) == (
        "H1",
        "H1-boost",
        "Name the method.",
    )
    # Both stamps named H1 (the family's members; H2's edge from H1): each is amended.
    assert sorted(a.hypothesis for a in log_section.amendments) == ["H1-boost", "H2"]
    assert all(
        a.reason == "H1 renamed to H1-boost: Name the method." for a in log_section.amendments
    )

    report = status_json(plan, capsys)
    after = {row["hypothesis"]: row for row in report["hypotheses"]}
    assert after["H1-boost"]["status"] == before[0]["status"] == "failed"
    assert after["H1-boost"]["runs"] == 3
    assert after["H2"]["status"] == before[1]["status"]
    assert report["needs_attention"] == []  # nothing orphaned, nothing unrecorded
    assert run(capsys, "status", plan, "--check", "--today", TODAY)[0] == 0
    assert run(capsys, "validate", plan)[0] == 0


def test_a_rename_keeps_the_file_otherwise_byte_for_byte(make_plan: MakePlan) -> None:
    plan = make_plan()
    old = plan.read_text()
    mlplan.amend(plan, "H1", "Clearer.", rename="H1b")
    new = plan.read_text()
    head = new.split("experiment_log:")[0] if "experiment_log:" not in old else new
    assert head.rstrip("\n") == old.replace("- id: H1\n", "- id: H1b\n").rstrip("\n")


@pytest.mark.parametrize(
    ("new_id", "message"),
    [("H2", "already an id in the plan"), ("B1", "already an id"), ("1x", "not a hypothesis id")],
)
def test_a_rename_to_a_taken_or_bad_id_is_refused(
    make_plan: MakePlan, capsys: Capsys, new_id: str, message: str
) -> None:
    plan = make_plan()
    before = plan.read_bytes()
    code, _, err = run(capsys, "amend", plan, "H1", "--rename", new_id, "--reason", "x")
    assert code == 1
    assert message in err
    assert plan.read_bytes() == before


def test_an_old_id_used_again_after_a_rename_is_invalid(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    mlplan.amend(plan, "H1", "Clearer.", rename="H1b")
    edit(plan, "- id: H2\n", "- id: H1\n")
    edit(plan, "then: H2}", "then: H1}")
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "was renamed to 'H1b'" in err
