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
import yaml
from helpers import TODAY, MakePlan, run

import mlplan
from mlplan._api import journal_for
from mlplan._plan.amendments import change_lines, fingerprint_of
from mlplan._plan.text_edit import PlanText, rename_hypothesis

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


# ------------------------------------------------------------------------ verified amendments


def amended(make_plan: MakePlan, capsys: Capsys) -> Path:
    """H1 failed by the plan's criteria (5% over B1); the criteria were then relaxed to "no
    worse than B1 by 20%" and the change amended: H1 now succeeds, and failed under the
    original criteria."""
    plan = make_plan()
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", FAILING)
    edit(plan, 'better_than: B1, by: "5%"', 'no_worse_than: B1, by: "20%"')
    code, _, err = run(capsys, "amend", plan, "H1", "--reason", "Relaxed.")
    assert code == 0, err
    return plan


def h1_notes(plan: Path, capsys: Capsys) -> list[str]:
    rows = status_json(plan, capsys)["hypotheses"]
    notes: list[str] = next(row["notes"] for row in rows if row["hypothesis"] == "H1")
    return notes


def amendment_data(plan: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    data = yaml.safe_load(plan.read_text())
    return data, data["experiment_log"]["amendments"][0]


def test_amendments_are_written_as_readable_lines_and_read_back_exactly(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = amended(make_plan, capsys)
    text = plan.read_text()
    assert max(len(line) for line in text.splitlines()) < 120
    assert "  criteria_before: |-\n" in text
    (amendment,) = mlplan.load_plan(plan).plan.experiment_log.amendments
    stamped = mlplan.status(plan).verdicts  # the runs' stamps are the text the plan reads back
    assert stamped
    runs = journal_for(plan).results()
    h1_stamp = next(r for r in runs if r.subject == "H1")
    assert amendment.criteria_before == h1_stamp.criteria
    assert amendment.fingerprint_before == h1_stamp.criteria_fingerprint
    assert any("under the original criteria: failed" in n for n in h1_notes(plan, capsys))
    assert run(capsys, "validate", plan)[0] == 0


def test_an_old_single_line_amendment_still_loads_and_counts(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = amended(make_plan, capsys)
    _, amendment = amendment_data(plan)
    # As mlplan wrote them before: the canonical one-line JSON, in a flow mapping.
    one_line = {
        k: (
            json.dumps(json.loads(v), sort_keys=True, ensure_ascii=False)
            if k.startswith("criteria_")
            else v
        )
        for k, v in amendment.items()
    }
    head = plan.read_text().split("  amendments:\n")[0]
    plan.write_text(
        head
        + "  amendments:\n    - "
        + yaml.safe_dump(one_line, default_flow_style=True, width=10**6, allow_unicode=True)
    )
    assert len(max(plan.read_text().splitlines(), key=len)) > 400  # the old long line
    assert run(capsys, "validate", plan)[0] == 0
    assert any("under the original criteria: failed" in n for n in h1_notes(plan, capsys))
    assert run(capsys, "status", plan, "--check", "--today", TODAY)[0] == 0


def test_a_hand_edited_criteria_before_is_an_error_at_its_line(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = amended(make_plan, capsys)
    lines = plan.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "criteria_before: |-" in line)
    target = next(i for i in range(start, len(lines)) if '"by": "5%"' in lines[i])
    lines[target] = lines[target].replace('"5%"', '"6%"')
    plan.write_text("".join(lines))

    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert f"plan.yaml:{start + 1}:" in err  # the amendment's own line
    assert "criteria_before does not match fingerprint_before" in err
    code, _, err = run(capsys, "status", plan, "--check", "--today", TODAY)
    assert code == 1 and f"plan.yaml:{start + 1}:" in err
    assert "Traceback" not in err


def test_a_tampered_amendment_with_matching_hashes_fails_the_gate(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    # Edited with care: criteria_before, its fingerprint and the list of changes all agree,
    # so the amendment no longer contradicts itself; the runs' stamps still do.
    plan = amended(make_plan, capsys)
    data, amendment = amendment_data(plan)
    before = json.loads(amendment["criteria_before"])
    before["success_criteria"] = json.loads(amendment["criteria_after"])["success_criteria"]
    text = json.dumps(before, sort_keys=True, ensure_ascii=False)
    amendment["criteria_before"] = text
    amendment["fingerprint_before"] = fingerprint_of(text, amendment["fingerprint_before"])
    amendment["changes"] = change_lines(
        text,
        json.dumps(json.loads(amendment["criteria_after"]), sort_keys=True, ensure_ascii=False),
    )
    plan.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    assert run(capsys, "validate", plan)[0] == 0  # consistent with itself

    code, out, err = run(
        capsys, "status", plan, "--check", "--format", "markdown", "--today", TODAY
    )
    assert code == 1
    assert "none of its results were logged under" in out.split("**Needs attention:**")[1]
    line = next(
        i + 1 for i, text in enumerate(plan.read_text().splitlines()) if "criteria_before" in text
    )
    assert f"plan.yaml:{line}:" in err
    notes = h1_notes(plan, capsys)
    assert not any("under the original criteria: succeeded" in n for n in notes)
    assert any("does not match the results' stamps" in n for n in notes)
    doc = plan.parent / "doc.md"
    assert run(capsys, "render", plan, "-o", doc, "--today", TODAY)[0] == 0
    deviations = doc.read_text().split("### Deviations from the plan")[1]
    row = next(line for line in deviations.splitlines() if "| H1 |" in line)
    original = [cell.strip() for cell in row.split("|")[1:-1]][4]
    assert original == "not shown: the amendment does not match the results' stamps"


def test_hand_edited_changes_are_an_error(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = amended(make_plan, capsys)
    edit(plan, "by: 5% → 20%", "by: 5% → 50%")
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "changes does not list what differs" in err


# --------------------------------------------------------------------------- closing, verified


def test_a_closed_hypothesis_past_its_deadline_passes_the_gate_with_its_verdict_shown(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", [0.55, 0.70, 0.62])  # unclear: inconclusive
    late = TODAY + dt.timedelta(days=30)  # past H1's deadline and H2's
    assert run(capsys, "status", plan, "--check", "--today", late)[0] == 1
    for hypothesis, how in (("H1", "superseded"), ("H2", "abandoned")):
        code, _, err = run(
            capsys,
            "decide",
            plan,
            hypothesis,
            "--decision",
            "Replaced.",
            "--close",
            how,
            "--rationale",
            "H3 asks it better.",
            "--date",
            TODAY,  # decided today, on the verdict as it stands (a decision is not dated ahead)
        )
        assert code == 0, err

    code, out, err = run(capsys, "status", plan, "--check", "--format", "markdown", "--today", late)
    assert code == 0, err
    assert "✅ Nothing needs attention." in out
    h1 = next(line for line in out.splitlines() if line.startswith("| **H1** |"))
    assert "inconclusive, closed (superseded)" in h1
    assert f"closed {TODAY}" in h1 and "overdue" not in h1
    assert "recall" in h1  # the evidence stays in the row
    row = status_json(plan, capsys, late)["hypotheses"][0]
    assert (row["status"], row["closed"], row["runs"]) == ("inconclusive", "superseded", 3)
    assert row["days_left"] < 0


def test_a_closure_survives_a_rename(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", FAILING)
    late = TODAY + dt.timedelta(days=8)  # past H1's deadline, before H2's
    monkeypatch.setenv("MLPLAN_TODAY", late.isoformat())  # a decision is not dated after today
    assert mlplan.decide(
        plan, "H1", "Give up.", rationale="Too noisy.", close="abandoned", date=late
    )
    mlplan.amend(plan, "H1", "Clearer name.", rename="H1-gbm")
    assert run(capsys, "status", plan, "--check", "--today", late)[0] == 0
    row = status_json(plan, capsys, late)["hypotheses"][0]
    assert (row["hypothesis"], row["status"], row["closed"]) == ("H1-gbm", "failed", "abandoned")


def test_a_rename_after_an_amendment_keeps_the_chain_and_the_original_verdict(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = amended(make_plan, capsys)  # H1: failed under the original criteria
    status = status_json(plan, capsys)["hypotheses"][0]["status"]
    mlplan.amend(plan, "H1", "Clearer.", rename="H1b")
    mlplan.amend(plan, "H1b", "Clearer still.", rename="H1c")
    renames = mlplan.load_plan(plan).plan.experiment_log.renames
    assert [(r.renamed_from, r.hypothesis) for r in renames] == [("H1", "H1c"), ("H1b", "H1c")]
    code, _, err = run(capsys, "status", plan, "--check", "--today", TODAY)
    assert code == 0, err
    row = status_json(plan, capsys)["hypotheses"][0]
    assert (row["hypothesis"], row["status"], row["runs"]) == ("H1c", status, 3)
    assert any("under the original criteria: failed" in note for note in row["notes"])


def test_a_rename_is_refused_while_a_change_of_criteria_is_unrecorded(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", FAILING)
    edit(plan, 'better_than: B1, by: "5%"', 'better_than: B1, by: "1%"')
    before = plan.read_bytes()
    code, _, err = run(capsys, "amend", plan, "H1", "--rename", "H1b", "--reason", "x")
    assert code == 1
    assert "record it first" in err
    assert plan.read_bytes() == before


def test_a_hand_written_rename_cannot_give_one_hypothesis_anothers_results(
    failed: Path, capsys: Capsys
) -> None:
    # H1 failed; deleting it and "renaming" it into H2 would hand H2 its three runs. They were
    # stamped with H1's criteria, so H2's criteria differ from its results': the gate fails.
    text = failed.read_text()
    start, end = text.index("    - id: H1\n"), text.index("    - id: H2\n")
    failed.write_text(
        text[:start]
        + text[end:]
        + f"experiment_log:\n  renames:\n    - {{date: {TODAY}, hypothesis: H2, "
        "renamed_from: H1, reason: merged}\n"
    )
    assert run(capsys, "validate", failed)[0] == 0
    code, _, err = run(capsys, "status", failed, "--check", "--today", TODAY)
    assert code == 1
    assert "H2: criteria changed after results were logged" in err


def test_one_old_id_renamed_twice_is_invalid(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    plan.write_text(
        plan.read_text()
        + "experiment_log:\n  renames:\n"
        + f"    - {{date: {TODAY}, hypothesis: H1, renamed_from: H0, reason: a}}\n"
        + f"    - {{date: {TODAY}, hypothesis: H2, renamed_from: H0, reason: b}}\n"
    )
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "'H0' is renamed twice" in err


def test_rename_changes_only_the_ids_and_keeps_quotes_and_comments() -> None:
    text = (
        "experiment:\n"
        "  hypotheses:\n"
        '    - id: "H1"  # the first\n'
        "      statement: H1 beats B1.\n"
        "      on_failure: {description: x, then: 'H1x'}\n"
        "    - id: H1x\n"
        "      on_success: {description: y, then: H1}\n"
        "experiment_log:\n"
        "  decisions:\n"
        "    - {date: 2026-01-01, hypothesis: H1, decision: Keep H1.}\n"
    )
    new = rename_hypothesis(PlanText.decode(text.encode()), "H1", "H1-gbm").text
    assert new == (
        text.replace('id: "H1"', 'id: "H1-gbm"')
        .replace("then: H1}", "then: H1-gbm}")
        .replace("hypothesis: H1,", "hypothesis: H1-gbm,")
    )
    assert "statement: H1 beats B1." in new and "Keep H1." in new


# ---------------------------------------------------------------------------- the adversarial pass


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("- id: H1\n", "- id: H1b\n", "3 results for hypothesis 'H1'"),  # renamed by hand
        ('better_than: B1, by: "5%"', 'no_worse_than: B1, by: "30%"', "H1"),
    ],
    ids=["hand rename", "relaxed by hand"],
)
def test_publish_refuses_a_record_the_gate_refuses(
    failed: Path, capsys: Capsys, old: str, new: str, named: str
) -> None:
    """publish once wrote "H1 succeeded" to the team's tags from criteria relaxed by hand, and
    "H1b pending" after a hand rename, while the gate was red on both."""
    assert run(capsys, "publish", failed, "--today", TODAY)[0] == 0
    before = mlplan.status(failed, today=TODAY, check=True).verdicts
    edit(failed, old, new)
    code, out, err = run(capsys, "publish", failed, "--today", TODAY)
    assert (code, out) == (1, "")
    assert "the record does not hold, so its verdicts were not published" in err
    assert named in err
    # What the team reads is still what was published before the edit.
    from mlplan._plan.load import load_plan
    from mlplan._record.store import open_store

    store = open_store(load_plan(failed).plan, journal_for(failed).location)
    tags = store.client.get_experiment(store.experiment_id).tags
    assert tags["mlplan.verdict.H1"] == next(v.status for v in before if v.hypothesis == "H1")


def test_a_record_dated_after_today_fails_the_gate_until_its_day(
    failed: Path, capsys: Capsys
) -> None:
    """A closing decision written by hand with a future date once made an overdue failure
    green while results still arrived for it."""
    late = TODAY + dt.timedelta(days=30)  # past H1's deadline
    text = failed.read_text()
    assert "experiment_log:" not in text
    future = late + dt.timedelta(days=100)
    failed.write_text(
        text
        + "experiment_log:\n  decisions:\n"
        + f"    - date: {future.isoformat()}\n      hypothesis: H1\n"
        + "      decision: Stop.\n      rationale: It failed.\n"
        + "      verdict: {status: failed, n: 3}\n"
        + "      closes: abandoned\n"
    )
    code, out, _ = run(capsys, "status", failed, "--check", "--json", "--today", late)
    assert code == 1
    line = next(r for r in json.loads(out)["needs_attention"] if "dated" in r)
    assert line.startswith(f"{failed}:")
    assert f"the decision on H1 is dated {future}, after today ({late})" in line
    # On its day the record holds.
    code, out, _ = run(capsys, "status", failed, "--check", "--json", "--today", future)
    assert json.loads(out)["hypotheses"][0]["closed"] == "abandoned"
    assert not [r for r in json.loads(out)["needs_attention"] if "dated" in r]


def test_the_primary_hypothesis_can_be_renamed(make_plan: MakePlan, capsys: Capsys) -> None:
    # R2: experiment.primary names H1 too; a rename that left it would make the plan invalid,
    # and judging under the stamps (primary: H1) must map it, or the original verdict is lost.
    plan = make_plan()
    edit(plan, "  baselines:\n", "  primary: H1\n  baselines:\n")
    log(plan, "baseline", "B1", B1)
    log(plan, "hypothesis", "H1", FAILING)
    code, _, err = run(capsys, "amend", plan, "H1", "--rename", "H1b", "--reason", "Clearer.")
    assert code == 0, err
    assert mlplan.load_plan(plan).plan.experiment.primary == "H1b"
    assert run(capsys, "validate", plan)[0] == 0
    rows = {row["hypothesis"]: row for row in status_json(plan, capsys)["hypotheses"]}
    assert (rows["H1b"]["status"], rows["H1b"]["runs"]) == ("failed", 3)
    assert rows["H1b"]["amendment"] is None  # a new name is no new test
    assert any("under the original criteria: failed" in note for note in rows["H1b"]["notes"])


def test_rename_reaches_every_place_that_names_a_hypothesis() -> None:
    text = (
        "experiment:\n"
        "  primary: H1\n"
        "  hypotheses:\n"
        "    - {id: H1, on_success: {then: H1x}, on_failure: {then: stop}}\n"
        "    - {id: H1x, on_success: {then: H1}, on_failure: {then: H1}}\n"
        "experiment_log:\n"
        + "".join(f"  {s}: [{{hypothesis: H1}}]\n" for s in ("entries", "decisions", "amendments"))
        + "  renames: [{hypothesis: H1, renamed_from: H0}]\n"
    )
    new = rename_hypothesis(PlanText.decode(text.encode()), "H1", "H9").text
    data = yaml.safe_load(new)
    assert data["experiment"]["primary"] == "H9"
    assert "H1," not in new and "H1}" not in new and "H1\n" not in new
    assert data["experiment_log"]["renames"][0]["renamed_from"] == "H0"


def test_a_baseline_renamed_by_hand_is_said_not_a_crash(failed: Path, capsys: Capsys) -> None:
    # Attack 20: B1 -> B0 by hand, H1 then amended properly. The original criteria name B1,
    # which the plan no longer has: their verdict cannot be computed, and the notes say why.
    failed.write_text(failed.read_text().replace("B1", "B0"))
    mlplan.amend(failed, "H1", "The baseline's new name.")
    code, _, err = run(capsys, "status", failed, "--check", "--today", TODAY)
    assert code == 1  # B1's results are orphaned
    assert "3 results for baseline 'B1', which the plan no longer has" in err
    row = status_json(failed, capsys)["hypotheses"][0]
    assert any(
        "under the original criteria: could not be recomputed: the original criteria name what "
        "the plan no longer has ('B1'" in note
        for note in row["notes"]
    )
    assert run(capsys, "render", failed, "-o", failed.with_name("doc.md"))[0] == 0


def test_a_missing_id_is_a_named_lookup_error(make_plan: MakePlan) -> None:
    plan = mlplan.load_plan(make_plan()).plan
    with pytest.raises(KeyError, match="the plan has no baseline 'B0'"):
        plan.baseline("B0")
    with pytest.raises(KeyError, match="the plan has no hypothesis 'H9'"):
        plan.hypothesis("H9")


@pytest.mark.parametrize(("ahead", "flagged"), [(1, False), (2, True)])
def test_a_record_a_day_ahead_is_a_writer_in_another_time_zone(
    failed: Path, capsys: Capsys, ahead: int, flagged: bool
) -> None:
    """`decide` dates a decision by its writer's calendar: in Tokyo that is a day ahead of a
    CI runner on UTC for 9 hours a day, and the gate once told them to correct it."""
    dated = TODAY + dt.timedelta(days=ahead)
    failed.write_text(
        failed.read_text()
        + "experiment_log:\n  decisions:\n"
        + f"    - date: {dated.isoformat()}\n      hypothesis: H1\n"
        + "      decision: Try more features.\n      rationale: It failed.\n"
    )
    _, out, _ = run(capsys, "status", failed, "--check", "--json", "--today", TODAY)
    assert any("dated" in r for r in json.loads(out)["needs_attention"]) is flagged
