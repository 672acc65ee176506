"""One number grammar and one set of checks on every path (adversarial pass, values and slots):
an outbox entry is checked field by field before any of it is used, a result handed to `mlplan
run` from inside a cell reads numbers as record_result does, the command line refuses a key
given twice and a slot named NaN, and a refusal shows the value it refused exactly."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import Capsys, MakePlan, run
from slot_race import paired

import mlplan
from mlplan._api import journal_for
from mlplan._run.spec import ENV_PLAN, ENV_RESULT, ENV_SUBJECT, ENV_WORKDIR, read_outcome
from mlplan.errors import ResultError


def waiting_entry(plan: Path, submission: dict[str, Any]) -> Path:
    """An entry waiting in the outbox for this plan's store, then edited by hand."""
    journal = journal_for(plan)
    made = journal.submission(
        kind="hypothesis", subject="H2", metrics={"recall": 0.9}, params={"seed": 4}
    )
    entry = journal.outbox.put(journal.plan.id, made, journal.location.destination)
    document = json.loads(entry.path.read_text())
    document["submission"].update(submission)
    entry.path.write_text(json.dumps(document))
    return entry.path


def subjects(plan: Path) -> list[str]:
    return sorted(r.subject for r in journal_for(plan, refresh=True).results())


# --- A: an outbox entry is checked before any field is used ---------------------------------


def test_an_entry_whose_submission_id_is_a_path_is_unreadable_and_locks_nothing(
    make_plan: MakePlan, tmp_path: Path, capsys: Capsys
) -> None:
    plan = paired(make_plan())
    mlplan.record_result(plan, baseline="B2", metrics={"recall": 0.1})
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    escape = os.path.relpath(outside / "escaped", plan.parent / ".mlplan" / "locks")
    path = waiting_entry(plan, {"submission_id": escape})
    code, out, err = run(capsys, "sync", plan)
    assert list(outside.iterdir()) == []  # no lock file outside the plan's folder
    assert path.exists()
    assert "submission_id" in out + err and "not one mlplan writes" in out + err
    assert code == 1, out + err
    assert subjects(plan) == ["B2"]


@pytest.mark.parametrize(
    "submission",
    [
        {"params": {"seed": None}},
        {"params": {"seed": True}},
        {"params": ["seed", 4]},
        {"params": "seed=4"},
        {"note": 5},
        {"tags": ["x"]},
        {"run_id": 5},
        {"reported": "yes"},
    ],
    ids=repr,
)
def test_a_malformed_entry_is_kept_with_a_message_never_a_crash(
    make_plan: MakePlan, capsys: Capsys, submission: dict[str, Any]
) -> None:
    plan = paired(make_plan())
    mlplan.record_result(plan, baseline="B2", metrics={"recall": 0.1})
    path = waiting_entry(plan, submission)
    code, out, err = run(capsys, "sync", plan)
    assert code == 1, out + err
    assert "Traceback" not in err and "internal error" not in (out + err).lower()
    assert f"{path}: not a readable outbox entry" in out + err
    assert path.exists()
    assert subjects(plan) == ["B2"]


@pytest.mark.parametrize("seed", ["nan", "1e400", " "])
def test_an_entry_is_rechecked_by_the_rules_of_logging(
    make_plan: MakePlan, seed: str, capsys: Capsys
) -> None:
    # The API refuses these slots; an edited entry naming them is parked the same way.
    plan = paired(make_plan())
    with pytest.raises(ResultError, match="names the result's slot"):
        mlplan.record_result(plan, hypothesis="H2", metrics={"recall": 0.9}, params={"seed": seed})
    path = waiting_entry(plan, {"params": {"seed": seed}})
    report = mlplan.sync(plan)
    assert report.delivered == [] and [e.path for e in report.parked] == [path]
    assert "names the result's slot" in report.parked[0].refused
    assert subjects(plan) == []


def test_an_entry_is_delivered_in_its_written_form(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    waiting_entry(plan, {"params": {"seed": "4.0"}})
    (delivered,) = mlplan.sync(plan).delivered
    (result,) = journal_for(plan, refresh=True).results()
    assert result.run_id == delivered.run_id and result.params["seed"] == "4"


# --- B: one grammar inside a cell ---------------------------------------------------------


@pytest.fixture
def cell_of(make_plan: MakePlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process as the cell of H2 in the plan's `mlplan run`; returns the plan."""
    plan = make_plan()
    workdir = tmp_path / "cell"
    workdir.mkdir()
    monkeypatch.setenv(ENV_PLAN, str(plan))
    monkeypatch.setenv(ENV_RESULT, str(workdir / "result.json"))
    monkeypatch.setenv(ENV_SUBJECT, "H2")
    monkeypatch.setenv(ENV_WORKDIR, str(workdir))
    return plan


def test_a_cell_reads_numbers_as_record_result_does(cell_of: Path, tmp_path: Path) -> None:
    import numpy as np

    mlplan.record_result(cell_of, hypothesis="H2", metrics={"recall": "0.9"})
    mlplan.record_result(cell_of, hypothesis="H2", metrics={"latency_ms": np.float32(12.5)})
    outcome = read_outcome(tmp_path / "cell" / "result.json")
    assert outcome is not None and outcome.metrics == {"recall": 0.9, "latency_ms": 12.5}


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"recall": 81}, "recall = 81 is outside its declared bounds [0, 1]"),
        ({"recall": "0_7"}, "a metric is a number"),
        ({"latency_ms": 10**400}, "a metric is a finite number"),
    ],
    ids=["out-of-bounds", "underscore", "too-large"],
)
def test_a_cell_refuses_what_record_result_refuses(
    cell_of: Path, tmp_path: Path, metrics: dict[str, Any], message: str
) -> None:
    with pytest.raises(ResultError) as refused:
        mlplan.record_result(cell_of, hypothesis="H2", metrics=metrics)
    assert message in str(refused.value)
    assert read_outcome(tmp_path / "cell" / "result.json") is None


def test_a_cell_returning_a_huge_int_fails_with_a_message() -> None:
    from mlplan._run.spec import result_of

    with pytest.raises(ValueError, match=r"H2 gave acc=1000.*a metric is a finite number"):
        result_of({"acc": 10**400}, "H2")


# --- B: the command line ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("switches", "key"),
    [
        (["-m", "recall=0.5", "-m", "recall=0.9"], "recall"),
        (["-p", "seed=2", "-p", "seed=3"], "seed"),
    ],
    ids=["metric", "param"],
)
def test_a_key_given_twice_is_a_usage_error(
    make_plan: MakePlan, capsys: Capsys, switches: list[str], key: str
) -> None:
    plan = paired(make_plan())
    base = ["-m", "latency_ms=10"] if key == "seed" else ["-p", "seed=1"]
    code, out, err = run(capsys, "log-result", plan, "-H", "H2", *base, *switches)
    assert code == 2, out + err
    assert f"{key} is given twice" in err
    assert subjects(plan) == []


@pytest.mark.parametrize("seed", ["nan", "inf", "-Infinity", "1e400", ""])
def test_a_slot_is_never_named_by_a_non_finite_number_or_nothing(
    make_plan: MakePlan, capsys: Capsys, seed: str
) -> None:
    plan = paired(make_plan())
    code, out, err = run(
        capsys, "log-result", plan, "-H", "H2", "-m", "recall=0.9", "-p", f"seed={seed}"
    )
    assert code == 1, out + err
    assert "param seed names the result's slot" in err and "Traceback" not in err
    assert subjects(plan) == []


def test_text_slots_stay_text(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    for seed in ("0_7", "0x10"):
        mlplan.record_result(plan, hypothesis="H2", metrics={"recall": 0.9}, params={"seed": seed})
    assert sorted(r.params["seed"] for r in journal_for(plan).results()) == ["0_7", "0x10"]


def test_a_refused_value_is_shown_exactly(make_plan: MakePlan) -> None:
    plan = make_plan()
    with pytest.raises(ResultError, match=r"recall = 1\.0000000000000002 is outside"):
        mlplan.record_result(plan, hypothesis="H2", metrics={"recall": 1.0000000000000002})


# --- A: redelivery completes only a half-made run of its own entry --------------------------


def entry_reusing(plan: Path, run_id: str, recall: float) -> Path:
    """An outbox entry carrying the submission id of run ``run_id``, with its own value."""
    journal = journal_for(plan)
    taken = journal.store.client.get_run(run_id).data.tags["mlplan.submission_id"]
    made = journal.submission(
        kind="hypothesis", subject="H2", metrics={"recall": recall}, params={"seed": 4}
    )
    entry = journal.outbox.put(
        journal.plan.id, replace(made, submission_id=taken), journal.location.destination
    )
    return entry.path


def test_an_entry_cannot_rewrite_a_finished_run(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    counted = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.9}, params={"seed": 4}
    ).run_id
    path = entry_reusing(plan, counted, 0.2)
    report = mlplan.sync(plan)
    assert report.delivered == [] and [e.path for e in report.parked] == [path]
    assert f"run {counted}'s" in report.parked[0].refused
    (result,) = journal_for(plan, refresh=True).results()
    assert result.metrics["recall"] == 0.9


def test_an_entry_already_delivered_is_dropped(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    counted = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.9}, params={"seed": 4}
    ).run_id
    path = entry_reusing(plan, counted, 0.9)
    report = mlplan.sync(plan)
    assert [d.run_id for d in report.delivered] == [counted] and report.parked == []
    assert not path.exists()
    assert [r.run_id for r in journal_for(plan, refresh=True).results()] == [counted]


def test_a_half_made_run_of_the_entry_is_completed(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    journal = journal_for(plan)
    made = journal.submission(
        kind="hypothesis", subject="H2", metrics={"recall": 0.9}, params={"seed": 4}
    )
    half = journal.store._create_run(made)  # the writer died here
    journal.outbox.put(journal.plan.id, made, journal.location.destination, "interrupted")
    (delivered,) = mlplan.sync(plan).delivered
    (result,) = journal_for(plan, refresh=True).results()
    assert delivered.run_id == result.run_id == half and result.metrics["recall"] == 0.9


# --- C: readers re-check what the store holds -----------------------------------------------


def test_a_value_changed_in_the_store_is_not_counted_and_fails_the_gate(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    from mlflow.tracking import MlflowClient

    plan = paired(make_plan())
    runs = [
        mlplan.record_result(
            plan, hypothesis="H2", metrics={"recall": 0.5, "latency_ms": 10}, params={"seed": s}
        ).run_id
        for s in (1, 2, 3)
    ]
    client = MlflowClient(journal_for(plan).location.uri)
    for value, run_id in zip((81, 82, 83), runs[:2], strict=False):
        client.log_metric(run_id, "recall", value)  # the back door: no mlplan check
    report = mlplan.status(plan, refresh=True)
    verdict = next(v for v in report.verdicts if v.hypothesis == "H2")
    recall = next(c for c in verdict.checks if c.metric == "recall")
    assert verdict.runs == 1 and recall.estimate == 0.5
    code, out, err = run(capsys, "status", plan, "--check")
    assert code == 1, out + err
    for run_id, value in zip(runs[:2], (81, 82), strict=True):
        assert f"run {run_id} (hypothesis H2) has recall = {value}, outside" in " ".join(
            (out + err).split()
        )
    assert "changed after it was logged?" in " ".join((out + err).split())


def test_a_start_run_value_at_float_max_is_refused(make_plan: MakePlan) -> None:
    import mlflow

    plan = make_plan()
    refused = pytest.raises(ResultError, match="not a finite number")
    with refused, mlplan.start_run(plan, hypothesis="H2"):
        mlflow.log_metric("recall", 0.9)
        mlflow.log_metric("latency_ms", float("inf"))  # MLflow stores 1.797e308
    assert journal_for(plan).results() == []


@pytest.mark.parametrize("value", ["0_7", b"12", " \u0661\u0662 ", 10**400, float("nan")], ids=repr)
def test_the_run_start_run_gives_logs_by_the_grammar(make_plan: MakePlan, value: Any) -> None:
    plan = make_plan()
    with mlplan.start_run(plan, hypothesis="H2") as run:
        with pytest.raises(ResultError, match="metric latency_ms"):
            run.log_metric("latency_ms", value)
        with pytest.raises(ResultError, match="outside its declared bounds"):
            run.log_metrics({"recall": 81})
        run.log_metrics({"recall": "0.9", "latency_ms": 12})
    (result,) = journal_for(plan).results()
    assert result.metrics == {"recall": 0.9, "latency_ms": 12.0}
