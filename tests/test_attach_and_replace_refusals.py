"""`mlplan log-result` refuses, with one message and exit 1, an attached run that carries none
of the plan's metrics and a --replace that names no current result of the subject; nothing is
added to the record."""

from __future__ import annotations

from pathlib import Path

from helpers import Capsys, MakePlan, run

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal


def subjects(plan: Path) -> list[tuple[str, str]]:
    return sorted((r.kind, r.subject) for r in Journal(load_plan(plan)).results())


def test_an_attached_run_needs_one_of_the_plans_metrics(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    from mlflow.tracking import MlflowClient

    plan = make_plan()
    assert run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6")[0] == 0
    journal = Journal(load_plan(plan))
    client = MlflowClient(journal.location.uri)
    other = client.create_run(journal.store.experiment_id).info.run_id
    client.log_metric(other, "accuracy", 0.9)
    client.set_terminated(other)
    empty = client.create_run(journal.store.experiment_id).info.run_id
    client.set_terminated(empty)

    for run_id, has in [(other, "accuracy"), (empty, "no metrics")]:
        code, out, err = run(capsys, "log-result", plan, "-H", "H1", "--run-id", run_id)
        assert (code, out) == (1, "")
        assert err.splitlines()[0] == (
            f"error: run {run_id} has none of the plan's metrics (latency_ms, recall, "
            f"recall.loyal); it has: {has}"
        )
    assert subjects(plan) == [("baseline", "B1")]


def test_replace_must_name_a_current_result_of_the_subject(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    code, out, _ = run(capsys, "log-result", plan, "-H", "H1", "-m", "recall=0.7")
    assert code == 0
    h1_run = out.split("run ")[1].split()[0]
    assert run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6")[0] == 0
    for named in ("nonexistent", h1_run):  # unknown, or another subject's result
        code, _, err = run(
            capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.5", "--replace", named,
            "--reason", "re-measured",
        )  # fmt: skip
        assert code == 1
        assert err.splitlines()[0] == (
            f"error: --replace {named}: no current result of B1 has that run id"
        )
    assert subjects(plan) == [("baseline", "B1"), ("hypothesis", "H1")]
