"""Text that cannot be written as UTF-8 (a command line typed in another encoding reaches
Python as lone surrogates, e.g. ``-n $'bad\\xffnote'``) is refused where it is given, naming the
field, with nothing kept. It once reached the outbox, which then sent every later result there
and failed every status and sync with "check that the server is healthy" (issue 16); an entry
like it left by an older mlplan is parked, and the others go on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import TODAY, Capsys, MakePlan, run

import mlplan
from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal
from mlplan._record.outbox import Submission
from mlplan._run.spec import result_of
from mlplan.errors import ResultError

BAD = "bad\udcffnote"  # what Python makes of the bytes b"bad\xffnote" in argv


def outbox_files(plan: Path) -> list[Path]:
    return sorted((plan.parent / ".mlplan" / "outbox").glob("*.json"))


def subjects(plan: Path) -> list[str]:
    return sorted(result.subject for result in Journal(load_plan(plan)).results())


@pytest.mark.parametrize(
    ("switches", "field"),
    [
        (["-n", BAD], "note is not valid UTF-8 text (character 4 "),
        (["--reported", "--source", BAD], "source is not valid UTF-8 text"),
        (["-p", f"seed={BAD}"], "the value of param seed is not valid UTF-8 text"),
    ],
)
def test_undecodable_text_on_the_command_line_is_refused_and_nothing_is_kept(
    make_plan: MakePlan, capsys: Capsys, switches: list[str], field: str
) -> None:
    plan = make_plan()
    code, _, err = run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.5", *switches)
    assert code == 1
    assert field in err and "write it in UTF-8; nothing was logged" in err
    assert "server" not in err and "internal error" not in err
    assert outbox_files(plan) == []
    # Nothing jams: the next result goes straight to the store, and status is clean.
    assert run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.5")[0] == 0
    assert subjects(plan) == ["B1"]
    assert run(capsys, "status", plan, "--today", TODAY)[0] == 0


def test_a_replacement_s_undecodable_reason_is_refused(make_plan: MakePlan) -> None:
    plan = make_plan()
    first = mlplan.record_result(plan, baseline="B1", metrics={"recall": 0.5})
    with pytest.raises(ResultError, match=r"^reason is not valid UTF-8 text"):
        mlplan.record_result(
            plan, baseline="B1", metrics={"recall": 0.6}, replace=first.run_id, reason=BAD
        )
    assert outbox_files(plan) == []


def test_the_python_api_and_start_run_refuse_it_before_any_run_exists(make_plan: MakePlan) -> None:
    plan = make_plan()
    with pytest.raises(ResultError, match=r"^note is not valid UTF-8 text"):
        mlplan.record_result(plan, hypothesis="H1", metrics={"recall": 0.7}, note=BAD)
    with (
        pytest.raises(ResultError, match=r"^note is not valid UTF-8 text"),
        mlplan.start_run(plan, hypothesis="H1", note=BAD),
    ):
        pytest.fail("the run was opened")  # pragma: no cover
    assert outbox_files(plan) == []
    assert subjects(plan) == []
    assert Journal(load_plan(plan)).unfinished() == []


def test_an_old_entry_holding_such_text_is_parked_and_the_others_go(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    journal = Journal(load_plan(plan))
    poisoned = Submission(kind="baseline", subject="B1", metrics={"recall": 0.5}, note=BAD)
    journal.outbox.put(journal.plan.id, poisoned, journal.location.destination)

    code, _, err = run(capsys, "log-result", plan, "-B", "B2", "-m", "recall=0.1")
    assert code == 0, err
    assert subjects(plan) == ["B2"]
    [parked] = outbox_files(plan)
    assert "note is not valid UTF-8 text" in json.loads(parked.read_text())["refused"]
    code, _, err = run(capsys, "status", plan, "--today", TODAY)
    assert code == 0
    assert "refused and is parked: note is not valid UTF-8 text" in " ".join(err.split())
    assert "server is healthy" not in err


def test_a_cell_s_note_or_param_that_is_not_utf8_fails_the_cell_saying_which() -> None:
    with pytest.raises(ValueError, match=r"^H1 \(m:f\): its note is not valid UTF-8 text"):
        result_of({"metrics": {"acc": 0.5}, "note": BAD}, "H1 (m:f)")
    with pytest.raises(ValueError, match=r"^H1 \(m:f\): param fold is not valid UTF-8 text"):
        result_of({"metrics": {"acc": 0.5}, "params": {"fold": BAD}}, "H1 (m:f)")


def test_a_baseline_run_with_such_a_param_runs_nothing(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    code, _, err = run(capsys, "baseline", "run", plan, "B1", "-p", f"seed={BAD}")
    assert code == 1
    assert "the value of param seed is not valid UTF-8 text" in err
    assert "nothing was run" in err
    assert not (plan.parent / ".mlplan" / "runs").exists()


def test_a_folder_or_store_address_that_is_not_utf8_is_one_message(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path
) -> None:
    """A plan in a folder named with a byte that is not UTF-8, or a tracking URI holding one,
    ended in exit 3 inside MLflow (the re-check of issue 16)."""
    import os

    plan = make_plan(folder=os.fsdecode(b"d\xff"))
    code, _, err = run(capsys, "status", plan)
    assert code == 1 and "is not valid UTF-8" in err and "rename the folder" in err
    good = make_plan()
    uri = "sqlite:///" + os.fsdecode(bytes(tmp_path / "x") + b"\xff.db")
    code, _, err = run(capsys, "log-result", good, "-B", "B1", "-m", "recall=0.5",
                       "-m", "recall.loyal=0.9", "-p", "seed=1", "--tracking-uri", uri)  # fmt: skip
    assert code == 1 and "the tracking URI is not valid UTF-8" in err
    assert not list(tmp_path.glob("x*.db")) and "bug" not in err
