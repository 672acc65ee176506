"""Frozen criteria, amendments and decisions against a real embedded MLflow store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, cli

import mlplan
from mlplan._api import journal_for

# Three runs each, spread a little: clear verdicts whatever the minimum number of runs.
B1 = [(0.59, 0.900), (0.60, 0.901), (0.61, 0.899)]
H1 = [(0.66, 0.900), (0.665, 0.9005), (0.67, 0.8995)]  # beats B1 by 5%, not by 20%


def log(plan: Path, kind: str, subject: str, runs: Sequence[tuple[float, float]]) -> None:
    journal = journal_for(plan)
    for seed, (recall, loyal) in enumerate(runs):
        submission = journal.submission(
            kind=kind,  # type: ignore[arg-type]
            subject=subject,
            metrics={"recall": recall, "recall.loyal": loyal},
            params={"seed": seed},
        )
        journal.log(submission)


def status(plan: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert cli("status", plan, "--json", "--today", TODAY) == 0
    return {row["hypothesis"]: row for row in json.loads(capsys.readouterr().out)["hypotheses"]}


def edit(plan: Path, old: str, new: str) -> None:
    text = plan.read_text()
    assert old in text
    plan.write_text(text.replace(old, new))


@pytest.fixture
def judged(make_plan: Callable[..., Path]) -> Path:
    plan = make_plan()
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", H1)
    return plan


def test_a_quiet_change_of_criteria_fails_the_check_until_amended(
    judged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status(judged, capsys)["H1"]["status"] == "succeeded"
    edit(judged, 'better_than: B1, by: "5%"', 'better_than: B1, by: "20%"')

    capsys.readouterr()
    assert cli("status", judged, "--check", "--today", TODAY) == 1
    shown = capsys.readouterr()
    assert "H1: criteria changed after results were logged" in shown.err
    lines = shown.out.splitlines()
    side_by_side = [line for line in lines if "success_criteria[0].by" in line and "│" in line]
    assert len(side_by_side) == 1  # the table of old and new criteria, once
    assert side_by_side[0].index("5%") < side_by_side[0].index("20%")

    before = judged.read_bytes()
    assert cli("amend", judged, "H1", "--reason", "Product asked for a bigger lift.") == 0
    assert judged.read_bytes().startswith(before)  # the entry is appended; nothing else moves
    amendment = mlplan.load_plan(judged).plan.experiment_log.amendments[-1]
    assert amendment.changes == ["success_criteria[0].by: 5% → 20%"]
    assert amendment.reason == "Product asked for a bigger lift."

    h1 = status(judged, capsys)["H1"]
    assert h1["status"] == "failed"  # judged by the criteria in force
    assert any("under the original criteria: succeeded" in note for note in h1["notes"])
    capsys.readouterr()
    assert cli("status", judged, "--check", "--today", TODAY) == 1  # failed, nothing decided
    assert "no amendment" not in capsys.readouterr().err

    assert cli("decide", judged, "H1", "--decision", "Try more features (H2).") == 0
    assert cli("status", judged, "--check", "--today", TODAY) == 0


def test_the_doc_shows_each_deviation_with_both_verdicts(
    judged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(judged, 'better_than: B1, by: "5%"', 'better_than: B1, by: "20%"')
    assert cli("amend", judged, "H1", "--reason", "Bigger lift.", "--date", "2026-11-24") == 0
    doc = judged.parent / "doc.md"
    assert cli("render", judged, "-o", doc, "--today", TODAY) == 0

    section = doc.read_text().split("### Deviations from the plan")[1]
    row = next(line for line in section.splitlines() if line.startswith("| 2026-11-24 | H1 |"))
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[2] == "Bigger lift."
    assert cells[3] == "success\\_criteria\\[0\\].by: 5% → 20%"
    assert cells[4].startswith("succeeded (n = 3")
    assert cells[5].startswith("failed (n = 3")


def test_amendments_chain_and_are_refused_when_nothing_changed(
    judged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("amend", judged, "H1", "--reason", "none") == 1
    assert "nothing to amend" in capsys.readouterr().err
    edit(judged, 'by: "5%"', 'by: "20%"')
    assert cli("amend", judged, "H1", "--reason", "first") == 0
    edit(judged, 'by: "20%"', 'by: "10%"')
    capsys.readouterr()
    assert cli("status", judged, "--check", "--today", TODAY) == 1
    assert "no amendment is recorded" in capsys.readouterr().err
    assert cli("amend", judged, "H1", "--reason", "second") == 0  # from 20%, the last amendment
    changes = [a.changes for a in mlplan.load_plan(judged).plan.experiment_log.amendments]
    assert changes == [["success_criteria[0].by: 5% → 20%"], ["success_criteria[0].by: 20% → 10%"]]
    capsys.readouterr()
    cli("status", judged, "--check", "--today", TODAY)
    assert "no amendment" not in capsys.readouterr().err
    # Going back to the original criteria needs no amendment either.
    edit(judged, 'by: "10%"', 'by: "5%"')
    assert status(judged, capsys)["H1"]["status"] == "succeeded"


def test_amend_is_refused_before_any_result(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    edit(plan, 'by: "5%"', 'by: "20%"')
    assert cli("amend", plan, "H1", "--reason", "x") == 1
    assert "not frozen" in capsys.readouterr().err


def test_a_decision_shows_when_its_verdict_has_changed(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", [(0.5, 0.9), (0.51, 0.9), (0.52, 0.9)])
    assert cli("decide", plan, "H1", "--decision", "Drop it.", "--rationale", "Worse than B1.") == 0
    recorded = mlplan.load_plan(plan).plan.experiment_log.decisions[-1].verdict
    assert recorded is not None
    assert (recorded.status, recorded.n) == ("failed", 3)
    # The interval of the deciding check's effect (recall − 1.05·B1), wholly below zero.
    assert recorded.interval is not None
    assert recorded.interval[0] <= recorded.interval[1] < 0
    assert recorded.interval_kind == "95% CI of recall − 1.05·B1"  # labelled, as recorded
    assert recorded.check is not None and "n = 3" in recorded.check

    log(plan, "hypothesis", "H1", [(0.8, 0.9), (0.81, 0.9), (0.82, 0.9)] * 3)
    notes = status(plan, capsys)["H1"]["notes"]
    assert any("verdict of failed (n = 3)" in n and "now" in n for n in notes)
    doc = plan.parent / "doc.md"
    assert cli("render", plan, "-o", doc, "--today", TODAY) == 0
    row = next(line for line in doc.read_text().splitlines() if "Drop it." in line)
    assert "failed, n = 3" in row
    assert "now " in row


def test_markdown_status_and_a_gate_that_reads_nothing(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    capsys.readouterr()
    assert cli("status", plan, "--check", "--require-store", "--format", "markdown") == 1
    captured = capsys.readouterr()
    assert "no MLflow store" in captured.err
    assert "**Needs attention:**" in captured.out
    assert not (plan.parent / ".mlplan" / "mlflow.db").exists()
    assert cli("status", plan, "--check", "--today", TODAY) == 0  # without the flag it passes

    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", H1)
    capsys.readouterr()
    code = cli(
        "status", plan, "--check", "--require-store", "--format", "markdown", "--today", TODAY
    )
    markdown = capsys.readouterr().out
    assert code == 0
    lines = markdown.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("| Hypothesis |")))
    assert lines[header + 1] == "| --- | --- | --- | --- | --- |"
    h1 = lines[header + 2]
    assert h1.startswith("| **H1** | ✅ succeeded |")
    assert h1.count(" | ") == 4  # five cells: no stray pipe from the evidence text
    assert "✅ Nothing needs attention." in markdown


def test_closing_a_hypothesis_ends_its_deadline_and_keeps_its_verdict(
    make_plan: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = make_plan()
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", [(0.55, 0.90), (0.70, 0.91), (0.62, 0.89)])  # unclear
    late = (TODAY + dt.timedelta(days=8)).isoformat()  # past H1's deadline, before H2's
    monkeypatch.setenv("MLPLAN_TODAY", late)  # a decision is not dated after today
    assert cli("status", plan, "--check", "--today", late) == 1
    assert "H1 is overdue" in capsys.readouterr().err
    # A decision alone does not settle an unresolved hypothesis: it stays overdue.
    assert cli("decide", plan, "H1", "--decision", "Wait for more seeds.", "--date", late) == 0
    assert cli("status", plan, "--check", "--today", late) == 1

    assert (
        cli(
            "decide",
            plan,
            "H1",
            "--decision",
            "Stop: the data cannot settle it.",
            "--close",
            "abandoned",
            "--rationale",
            "Three seeds disagree.",
            "--date",
            late,
        )
        == 0
    )
    assert "and closed it as abandoned" in capsys.readouterr().out
    assert cli("status", plan, "--check", "--today", late) == 0
    capsys.readouterr()
    assert cli("status", plan, "--json", "--today", late) == 0
    row = json.loads(capsys.readouterr().out)["hypotheses"][0]
    assert (row["status"], row["closed"], row["closed_on"]) == ("inconclusive", "abandoned", late)
    assert row["reason"].startswith(f"closed as abandoned on {late}; ")
    assert row["checks"]  # the verdict's evidence stays visible
    assert cli("status", plan, "--format", "markdown", "--today", late) == 0
    assert "inconclusive, closed (abandoned)" in capsys.readouterr().out
    verdicts = mlplan.status(plan, today=dt.date.fromisoformat(late)).verdicts
    assert "H1" not in mlplan.active_hypotheses(mlplan.load_plan(plan).plan, verdicts)


def test_close_takes_only_the_closures_it_knows(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    before = plan.read_bytes()
    assert cli("decide", plan, "H1", "--decision", "x", "--close", "paused") == 2
    assert "abandoned" in capsys.readouterr().err
    assert plan.read_bytes() == before


def test_dropping_a_family_member_after_results_fails_the_check(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Found by an audit: deleting `family: F` from a member with no results halved H1's Holm
    # correction and turned it from inconclusive into succeeded, with `--check` at exit 0.
    plan = make_plan()
    text = plan.read_text().replace("  hypotheses:\n", "  multiplicity: holm\n  hypotheses:\n", 1)
    text = text.replace("    - id: H1\n", "    - id: H1\n      family: F\n", 1)
    plan.write_text(text.replace("    - id: H2\n", "    - id: H2\n      family: F\n", 1))
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", H1)
    assert cli("status", plan, "--check", "--today", TODAY) == 0
    edit(plan, "    - id: H2\n      family: F\n", "    - id: H2\n")
    capsys.readouterr()
    assert cli("status", plan, "--check", "--today", TODAY) == 1
    err = capsys.readouterr().err
    assert "H1" in err and "amend" in err
    assert status(plan, capsys)["H1"]["confirmatory"] is False
    assert cli("amend", plan, "H1", "--reason", "H2 was dropped from the study.") == 0
    assert cli("status", plan, "--check", "--today", TODAY) == 0
