"""Attacks on the record (issue 16's adversarial pass): an outbox entry edited while it waits
is held to the rules logging applies, and odd input is one message, not a crash. Real
embedded stores in tmp_path."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, Capsys, MakePlan, free_port, run

import mlplan
from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal
from mlplan._record.outbox import Submission


def logged(capsys: Capsys, plan: Path, *argv: str) -> str:
    code, out, err = run(capsys, "log-result", plan, *argv)
    assert code == 0, err
    [run_id] = [w for w in out.replace(".", " ").split() if len(w) == 32]
    return run_id


def waiting(plan: Path, **fields: Any) -> Journal:
    """A hand-made outbox entry for H2 (as an editor could leave it), and a fresh journal."""
    journal = Journal(load_plan(plan))
    base = Submission(
        kind="hypothesis",
        subject="H2",
        metrics={"recall": 0.95, "latency_ms": 1.0},
        params={"seed": "9"},
    )
    journal.outbox.put("churn", dataclasses.replace(base, **fields), journal.location.destination)
    return Journal(load_plan(plan))


def counted(plan: Path, subject: str) -> list[str]:
    results = Journal(load_plan(plan)).stored_results()
    return sorted(r.run_id for r in results if r.subject == subject and not r.replaced_by)


def parked_reason(journal: Journal) -> str:
    report = journal.sync()
    assert not report.delivered
    [entry] = report.parked
    return entry.refused


@pytest.mark.slow
def test_an_entry_cannot_replace_another_subjects_run(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    h1 = logged(capsys, plan, "-H", "H1", "-m", "recall=0.5", "-m", "recall.loyal=0.9")
    journal = waiting(plan, replaces=h1, reason="typo")
    assert "no result of H2 has that run id" in parked_reason(journal)
    assert counted(plan, "H1") == [h1]


@pytest.mark.slow
def test_an_entry_replacing_a_run_needs_a_reason(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    h2 = logged(capsys, plan, "-H", "H2", "-m", "recall=0.2", "-m", "latency_ms=5", "-p", "seed=1")
    assert "say why run" in parked_reason(waiting(plan, replaces=h2, reason=" "))
    assert counted(plan, "H2") == [h2]


@pytest.mark.slow
def test_an_entry_cannot_take_over_another_subjects_run(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    h1 = logged(capsys, plan, "-H", "H1", "-m", "recall=0.5", "-m", "recall.loyal=0.9")
    assert "counts for one subject only" in parked_reason(waiting(plan, run_id=h1))
    assert counted(plan, "H1") == [h1]
    assert counted(plan, "H2") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reported": True}, "needs its source"),
        ({"created_at": "yesterday"}, "is not a date and time"),
        ({"created_at": "2999-01-01T00:00:00+00:00"}, "in the future"),
        ({"created_at": "2026-01-01T00:00:00"}, "no time zone"),
        ({"tags": {"reported": "true"}}, "mlplan's own"),
    ],
)
def test_an_entry_with_forged_provenance_is_parked(
    make_plan: MakePlan, fields: dict[str, Any], message: str
) -> None:
    assert message in parked_reason(waiting(make_plan(), **fields))


def test_the_criteria_stamp_is_the_plans_not_the_files(make_plan: MakePlan) -> None:
    plan = make_plan()
    journal = waiting(plan, criteria="forged", criteria_fingerprint="v3:deadbeef0000")
    [delivered] = journal.sync().delivered
    [result] = [r for r in journal.stored_results() if r.run_id == delivered.run_id]
    stamp = Journal(load_plan(plan)).open_submission("hypothesis", "H2")
    assert result.criteria_fingerprint == stamp.criteria_fingerprint != "v3:deadbeef0000"
    assert result.criteria == stamp.criteria
    assert dt.datetime.fromisoformat(stamp.created_at).tzinfo is not None


def test_changing_the_plans_id_after_results_fails_the_check(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    logged(capsys, plan, "-H", "H2", "-m", "recall=0.2", "-m", "latency_ms=5", "-p", "seed=1")
    _, _, err = run(capsys, "status", plan, "--check")
    assert "which no plan in" not in err
    plan.write_text(plan.read_text().replace("id: churn\n", "id: churn-new\n", 1))
    logged(capsys, plan, "-B", "B1", "-m", "recall=0.6", "-m", "recall.loyal=0.9")
    code, _, err = run(capsys, "status", plan, "--check")
    assert code == 1
    assert "1 result for plan 'churn', which no plan in" in err


@pytest.mark.parametrize("decoy", ["notes file", "multi-line title"])
def test_a_line_reading_like_the_old_id_does_not_hide_a_changed_id(
    make_plan: MakePlan, capsys: Capsys, decoy: str
) -> None:
    # Attacks 3 and 4: only a plan names an id; a text line `id: churn` is no plan.
    plan = make_plan()
    logged(capsys, plan, "-H", "H2", "-m", "recall=0.2", "-m", "latency_ms=5", "-p", "seed=1")
    text = plan.read_text().replace("id: churn\n", "id: churn-new\n", 1)
    if decoy == "notes file":
        plan.with_name("notes.yaml").write_text("id: churn\ntodo: nothing\n")
    else:  # a double-quoted scalar continued at column 0 is still the title
        text = text.replace("title: Churn model\n", 'title: "Churn model\nid: churn"\n', 1)
    plan.write_text(text)
    assert run(capsys, "validate", plan)[0] == 0
    logged(capsys, plan, "-B", "B1", "-m", "recall=0.6", "-m", "recall.loyal=0.9")
    code, _, err = run(capsys, "status", plan, "--check")
    assert code == 1
    assert "1 result for plan 'churn', which no plan in" in err


def test_two_plans_sharing_a_store_are_not_a_changed_id(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    second = plan.with_name("second.yaml")
    second.write_text(plan.read_text().replace("id: churn\n", "id: second\n", 1))
    logged(capsys, second, "-B", "B1", "-m", "recall=0.6", "-m", "recall.loyal=0.9")
    logged(capsys, plan, "-B", "B1", "-m", "recall=0.6", "-m", "recall.loyal=0.9")
    _, _, err = run(capsys, "status", plan, "--check")
    assert "which no plan in" not in err


def test_a_closed_hypothesis_takes_no_more_results(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()
    code, _, err = run(
        capsys, "decide", plan, "H2", "--decision", "Drop.", "--close", "abandoned",
        "--rationale", "Too slow.",
    )  # fmt: skip
    assert code == 0, err
    # The day it was closed still takes the day's last runs; the next day takes none.
    same_day = ["-H", "H2", "-m", "recall=0.8", "-m", "latency_ms=1", "-p", "seed=3"]
    assert run(capsys, "log-result", plan, *same_day)[0] == 0
    monkeypatch.setenv("MLPLAN_TODAY", (TODAY + dt.timedelta(days=1)).isoformat())
    argv = ["-H", "H2", "-m", "recall=0.9", "-m", "latency_ms=1", "-p", "seed=4"]
    code, _, err = run(capsys, "log-result", plan, *argv)
    assert code == 1
    assert "was closed as abandoned" in err and "Traceback" not in err
    with pytest.raises(mlplan.ResultError, match="takes no more results"):
        mlplan.record_result(plan, hypothesis="H2", metrics={"recall": 0.9, "latency_ms": 1})
    assert "takes no more results" in parked_reason(waiting(plan))


@pytest.mark.parametrize("how", ["abandoned", "superseded"])
def test_closing_a_hypothesis_needs_a_rationale(
    make_plan: MakePlan, capsys: Capsys, how: str
) -> None:
    plan = make_plan()
    before = plan.read_text()
    code, _, err = run(capsys, "decide", plan, "H1", "--decision", "x", "--close", how)
    assert code == 2
    assert "needs a rationale" in err
    assert plan.read_text() == before


@pytest.mark.parametrize("text", ["", "  ", "\udcff\udcfe"])
def test_a_blank_or_undecodable_decision_is_a_usage_error(
    make_plan: MakePlan, capsys: Capsys, text: str
) -> None:
    plan = make_plan()
    before = plan.read_text()
    code, _, err = run(capsys, "decide", plan, "H2", "--decision", text)
    assert code == 2
    assert "decision is" in err and "internal error" not in err
    assert plan.read_text() == before


def test_a_blank_rename_reason_is_a_usage_error(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    code, _, err = run(capsys, "amend", plan, "H2", "--reason", " ", "--rename", "H3")
    assert code == 2
    assert "reason is empty" in err


@pytest.mark.parametrize("uri", ["http://ada:pw@localhost:99999/", "http://[ada:pw@127.0.0.1:9/"])
def test_an_unreadable_server_address_is_one_message(
    make_plan: MakePlan, capsys: Capsys, uri: str
) -> None:
    code, _, err = run(capsys, "status", make_plan(), "--tracking-uri", uri)
    assert code == 1
    assert "address that cannot be read" in err
    assert "pw" not in err and "internal error" not in err


@pytest.mark.parametrize(
    "secret",
    ["http://SEKRETtoken@127.0.0.1:{port}/", "http://127.0.0.1:{port}/;token=SEKRETmatrix"],
)
def test_a_token_as_user_name_or_path_parameter_is_never_shown_or_kept(
    make_plan: MakePlan, capsys: Capsys, secret: str
) -> None:
    plan = make_plan()
    uri = secret.format(port=free_port())
    argv = ["-H", "H2", "-m", "recall=0.5", "-m", "latency_ms=1", "-p", "seed=1"]
    code, out, err = run(capsys, "log-result", plan, *argv, "--tracking-uri", uri)
    assert code == 1
    assert "kept in" in err
    assert "SEKRET" not in out + err
    [kept] = (plan.parent / ".mlplan" / "outbox").glob("*.json")
    assert "SEKRET" not in kept.read_text()
    _, out, err = run(capsys, "status", plan, "--tracking-uri", uri)
    assert "SEKRET" not in out + err


def test_a_full_width_digit_is_no_margin(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    plan.write_text(plan.read_text().replace('by: "5%"', 'by: "５%"', 1))
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "'５%'" in err


def test_bounds_with_one_number_say_so(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    plan.write_text(plan.read_text().replace("bounds: [0, 1]", "bounds: [0]", 1))
    code, out, err = run(capsys, "validate", plan)
    assert code == 1
    assert "bounds must be two numbers [low, high], got 1" in out + err


@pytest.mark.parametrize("seed", [b"1", None, float("nan"), True])
def test_an_odd_pair_key_value_is_refused(make_plan: MakePlan, seed: object) -> None:
    plan = make_plan()
    motivation = "  data_motivation: Each churner costs 300 EUR a year.\n"
    plan.write_text(plan.read_text().replace(motivation, motivation + "  pair_by: seed\n", 1))
    with pytest.raises(mlplan.ResultError, match="names the result's slot"):
        mlplan.record_result(
            plan, hypothesis="H2", metrics={"recall": 0.9, "latency_ms": 1}, params={"seed": seed}
        )
    assert counted(plan, "H2") == []


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31"])
def test_a_decision_dated_before_the_first_result_or_after_today_is_refused(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, date: str
) -> None:
    # Today after the wall clock's results (stamped when logged), before 9999-12-31.
    monkeypatch.setenv("MLPLAN_TODAY", "9000-01-01")
    plan = make_plan()
    logged(capsys, plan, "-H", "H2", "-m", "recall=0.2", "-m", "latency_ms=5", "-p", "seed=1")
    before = plan.read_text()
    code, _, err = run(capsys, "decide", plan, "H2", "--decision", "x", "--date", date)
    assert code == 2
    assert "first result" in err or "after today" in err
    assert plan.read_text() == before


@pytest.mark.parametrize("today", ["20261207", "2026-W49-1"])
def test_today_is_written_yyyy_mm_dd_only(make_plan: MakePlan, capsys: Capsys, today: str) -> None:
    code, _, err = run(capsys, "status", make_plan(), "--today", today)
    assert code == 2
    assert "YYYY-MM-DD" in err
