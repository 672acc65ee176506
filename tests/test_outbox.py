"""Where results live: in their store, in the outbox for the store they were meant for (with
the reason they wait), or refused with a message that says so. Real embedded stores in
tmp_path; "servers" here are closed ports, so nothing needs a network."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
from helpers import TODAY, Capsys, MakePlan, free_port, run

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal
from mlplan._record.outbox import Outbox, Submission


def dead_server() -> str:
    return f"http://127.0.0.1:{free_port()}"


def outbox_files(plan: Path) -> list[Path]:
    return sorted((plan.parent / ".mlplan" / "outbox").glob("*.json"))


def finished_subjects(plan: Path) -> list[str]:
    return sorted(result.subject for result in Journal(load_plan(plan)).results())


def test_a_result_kept_for_a_server_is_never_delivered_to_the_embedded_store(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    server = dead_server()
    code, _, err = run(
        capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6", "--tracking-uri", server
    )
    assert code == 1
    assert "kept in" in err
    [kept] = outbox_files(plan)
    assert json.loads(kept.read_text())["destination"] == server

    # A later command without the URI reaches the embedded store: the entry stays put.
    code, _, err = run(capsys, "status", plan, "--today", TODAY)
    assert code == 0
    assert f"waits for {server}" in err
    assert outbox_files(plan) == [kept]
    assert finished_subjects(plan) == []


def test_two_plans_in_one_folder_never_receive_each_others_results(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    other = plan.parent / "other.yaml"
    other.write_text(plan.read_text().replace("id: churn", "id: other"))
    server = dead_server()
    assert (
        run(capsys, "log-result", other, "-B", "B1", "-m", "recall=0.6", "--tracking-uri", server)[
            0
        ]
        == 1
    )
    code, out, _ = run(capsys, "sync", plan, "--tracking-uri", server)
    assert (code, out) == (0, f"Delivered 0 waiting results to {server}\n")
    [kept] = outbox_files(plan)
    assert json.loads(kept.read_text())["plan"] == "other"


def _refusable(journal: Journal) -> Submission:
    # A key MLflow refuses: today's mlplan refuses it before logging, so it is planted as an
    # older mlplan (or a stricter server) would have left it.
    checked = journal.submission(kind="baseline", subject="B1", metrics={"recall": 0.5})
    return Submission(**{**checked.to_dict(), "params": {"a#b": "1"}})


def test_a_refused_entry_is_parked_with_its_reason_and_blocks_nothing(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    journal = Journal(load_plan(plan))
    journal.outbox.put(journal.plan.id, _refusable(journal), journal.location.destination)

    code, out, _ = run(capsys, "log-result", plan, "-B", "B2", "-m", "recall=0.1")
    assert code == 0, out
    assert finished_subjects(plan) == ["B2"]
    [parked] = outbox_files(plan)
    assert "a#b" in json.loads(parked.read_text())["refused"]

    code, _, err = run(capsys, "sync", plan)
    assert code == 1
    assert "refused and is parked" in err
    code, _, err = run(capsys, "status", plan, "--today", TODAY)
    assert code == 0
    assert "refused and is parked" in err
    assert run(capsys, "log-result", plan, "-B", "B2", "-m", "recall=0.2")[0] == 0
    assert finished_subjects(plan) == ["B2", "B2"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"format": 1, "submission": {', "not a readable outbox entry"),
        (b"\xff\xfe\x00garbage", "not a readable outbox entry"),
        (b'{"format": 99, "plan": "churn"}', "written by a newer mlplan"),
        (
            b'{"format": 1, "plan": "churn", "destination": ".mlplan/mlflow.db", '
            b'"submission": {"kind": "x"}}',
            "not a readable outbox entry",
        ),
    ],
)
def test_an_unreadable_outbox_file_is_named_and_left_alone(
    make_plan: MakePlan, capsys: Capsys, content: bytes, problem: str
) -> None:
    plan = make_plan()
    folder = plan.parent / ".mlplan" / "outbox"
    folder.mkdir(parents=True)
    damaged = folder / "2026-11-25-damaged.json"
    damaged.write_bytes(content)

    code, _, err = run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6")
    assert code == 0, err
    code, _, err = run(capsys, "sync", plan)
    assert code == 1
    assert f"{damaged}: {problem}" in err
    assert "Traceback" not in err
    assert damaged.read_bytes() == content


def test_an_interrupted_delivery_is_completed_once_by_the_next_command(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    # What kill -9 between "run created" and "run finished" leaves: an in-flight outbox entry
    # and a RUNNING run carrying its submission id.
    plan = make_plan()
    journal = Journal(load_plan(plan))
    submission = journal.submission(kind="baseline", subject="B1", metrics={"recall": 0.6})
    journal.outbox.put(journal.plan.id, submission, journal.location.destination, "in flight")
    half_made = journal.store._create_run(submission)

    code, _, err = run(capsys, "status", plan, "--today", TODAY)
    assert code == 0, err
    assert "RUNNING" not in err
    assert outbox_files(plan) == []
    [result] = Journal(load_plan(plan)).results()
    assert result.run_id == half_made


def test_a_running_run_left_behind_is_reported_by_status(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    journal = Journal(load_plan(plan))
    orphan = journal.store._create_run(journal.open_submission("hypothesis", "H1"))
    code, _, err = run(capsys, "status", plan, "--today", TODAY)
    assert code == 0
    assert f"run {orphan} (hypothesis H1) is still RUNNING" in err


def test_a_password_in_the_tracking_uri_is_never_shown_or_kept(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    server = dead_server().replace("http://", "http://ada:s3cret@")
    code, out, err = run(
        capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6", "--tracking-uri", server
    )
    assert code == 1
    assert "s3cret" not in out + err
    assert "ada:***@127.0.0.1" in err
    assert "nonnumeric port" not in err  # the userinfo form is probed, not misread
    [kept] = outbox_files(plan)
    assert "s3cret" not in kept.read_text()


@pytest.mark.parametrize("folder", ["a?b", "c#d", "e%20f", "g h"])
def test_uri_characters_in_the_folder_keep_the_store_beside_the_plan(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path, folder: str
) -> None:
    plan = make_plan(folder=folder)
    before = {p for p in tmp_path.rglob("*") if "home" not in p.parts}
    assert run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6")[0] == 0
    created = {p for p in tmp_path.rglob("*") if "home" not in p.parts} - before
    assert (plan.parent / ".mlplan" / "mlflow.db").is_file()
    assert all(p.is_relative_to(plan.parent / ".mlplan") for p in created), sorted(created)


def test_an_existing_run_must_be_finished_and_not_another_subjects(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    from mlflow.tracking import MlflowClient

    plan = make_plan()
    code, out, _ = run(capsys, "log-result", plan, "-H", "H1", "-m", "recall=0.7")
    assert code == 0
    h1_run = out.split("run ")[1].split()[0]
    journal = Journal(load_plan(plan))
    client = MlflowClient(journal.location.uri)
    running = client.create_run(journal.store.experiment_id).info.run_id
    client.log_metric(running, "recall", 0.9)
    failed = client.create_run(journal.store.experiment_id).info.run_id
    client.log_metric(failed, "recall", 0.9)
    client.set_terminated(failed, "FAILED")

    for run_id, subject, message in [
        (running, "-H H1", "is RUNNING: attach it once it has finished"),
        (failed, "-H H1", "is FAILED"),
        (h1_run, "-B B1", "already a result for hypothesis H1"),
    ]:
        code, _, err = run(capsys, "log-result", plan, *subject.split(), "--run-id", run_id)
        assert code == 1
        assert message in err
    results = Journal(load_plan(plan)).results()
    assert [(r.kind, r.subject) for r in results] == [("hypothesis", "H1")]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("corrupt", "cannot be opened (file is not a database)"),
        ("truncated", "cannot be opened (database disk image is malformed)"),
        ("store is a folder", "cannot be opened (unable to open database file)"),
    ],
)
def test_a_broken_embedded_store_keeps_the_result_in_the_outbox(
    make_plan: MakePlan, capsys: Capsys, damage: str, message: str
) -> None:
    plan = make_plan()
    assert run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6")[0] == 0
    database = plan.parent / ".mlplan" / "mlflow.db"
    if damage == "corrupt":
        database.write_bytes(b"not a database " * 1000)
    elif damage == "truncated":
        database.write_bytes(database.read_bytes()[:5000])
    else:
        database.unlink()
        database.mkdir()

    started = time.monotonic()
    code, _, err = run(capsys, "log-result", plan, "-B", "B2", "-m", "recall=0.1")
    # Not a benchmark: a hang guard. MLflow alone retries opening a broken database for
    # ~100 s; mlplan checks the file with sqlite first and says so at once.
    assert time.monotonic() - started < 60
    assert code == 1
    assert message in err
    assert "Traceback" not in err and "bug in mlplan" not in err
    [kept] = outbox_files(plan)
    assert json.loads(kept.read_text())["submission"]["subject"] == "B2"


def test_the_mlplan_folder_being_a_file_is_one_message(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    (plan.parent / ".mlplan").write_text("in the way\n")
    code, _, err = run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6")
    assert code == 1
    assert "nothing was saved" in err
    assert "Traceback" not in err and "bug in mlplan" not in err


def test_a_database_uri_without_its_driver_keeps_the_result(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("the MySQL driver is installed here")
    plan = make_plan()
    uri = "mysql://mlplan:pw@127.0.0.1:1/none"
    code, _, err = run(
        capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6", "--tracking-uri", uri
    )
    assert code == 1
    assert "not installed" in err
    assert "pw@" not in err
    [kept] = outbox_files(plan)
    assert json.loads(kept.read_text())["destination"] == "mysql://mlplan:***@127.0.0.1:1/none"


def test_a_renamed_hypothesis_leaves_its_results_named_not_a_crash(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    assert run(capsys, "log-result", plan, "-H", "H1", "-m", "recall=0.7")[0] == 0
    plan.write_text(plan.read_text().replace("H1", "H1b"))
    code, out, _ = run(capsys, "render", plan, "--today", TODAY)
    assert code == 0
    assert "H1" in out
    code, _, err = run(capsys, "status", plan, "--today", TODAY)
    assert code == 0
    assert "1 result for hypothesis 'H1', which the plan no longer has" in err


def test_outbox_round_trip_is_exact(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox")
    submission = Submission(kind="hypothesis", subject="H1", metrics={"recall": 0.5}, note="é")
    entry = outbox.put("churn", submission, "http://h", "down")
    [read], unreadable = outbox.entries()
    assert unreadable == []
    assert read == entry
