"""A result stays as it was written, and a slot is named only by a possible value (second
adversarial pass, values and slots): an attach entry naming a finished result never rewrites
it; a slot value that is no value (nan, inf, 1e400, empty) is refused on the start_run and
attach paths, and one already in the store is not counted."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import MakePlan, edited, run
from slot_race import paired

import mlplan
from mlplan._api import journal_for
from mlplan.errors import ResultError

H1_VALUES = {"recall": 0.9, "recall.loyal": 0.9}

# --- a finished result is never written again by a delivery -----------------------------------


def run_data(plan: Path, run_id: str) -> Any:
    return journal_for(plan).store.client.get_run(run_id).data


def counted_h1(plan: Path) -> str:
    return mlplan.record_result(plan, hypothesis="H1", metrics=H1_VALUES, params={"seed": 4}).run_id


def attach_entry(plan: Path, run_id: str, own_id: bool = True, **fields: Any) -> Path:
    """An outbox entry attaching run ``run_id`` to H1 with its own values (and ``fields``),
    carrying the run's own submission id (a redelivery) or a new one."""
    journal = journal_for(plan)
    made = journal.submission(kind="hypothesis", subject="H1", metrics=H1_VALUES)
    made = replace(made, run_id=run_id, **fields)
    if own_id:
        taken = run_data(plan, run_id).tags["mlplan.submission_id"]
        made = replace(made, submission_id=taken)
    return journal.outbox.put(journal.plan.id, made, journal.location.destination).path


def stamp(plan: Path, run_id: str) -> tuple[dict[str, str], dict[str, str]]:
    data = run_data(plan, run_id)
    return dict(data.params), dict(data.tags)


@pytest.mark.parametrize("own_id", [True, False], ids=["its-submission-id", "a-new-one"])
def test_an_attach_entry_cannot_rewrite_a_finished_result(
    make_plan: MakePlan, own_id: bool
) -> None:
    plan = paired(make_plan())
    counted = counted_h1(plan)
    before = stamp(plan, counted)
    edited(plan, "owners: [Ada]", "owners: [Ada, Grace]")  # the plan as it is now differs
    path = attach_entry(plan, counted, own_id, params={"extra": "x"}, note="rewritten")
    report = mlplan.sync(plan)
    assert report.delivered == [] and [e.path for e in report.parked] == [path]
    assert "already a result for hypothesis H1" in report.parked[0].refused
    assert "params, note" in report.parked[0].refused
    assert stamp(plan, counted) == before


def test_the_same_attach_entry_again_is_dropped_as_delivered(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    counted = counted_h1(plan)
    before = stamp(plan, counted)
    edited(plan, "owners: [Ada]", "owners: [Ada, Grace]")
    path = attach_entry(plan, counted, params={"seed": "4"})
    report = mlplan.sync(plan)
    assert [d.run_id for d in report.delivered] == [counted] and report.parked == []
    assert not path.exists()
    assert stamp(plan, counted) == before


def test_attaching_a_result_again_writes_nothing(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    counted = counted_h1(plan)
    before = stamp(plan, counted)
    again = mlplan.record_result(plan, hypothesis="H1", run_id=counted)
    assert again.deduplicated and again.run_id == counted
    with pytest.raises(ResultError, match="would change its note; a result is never rewritten"):
        mlplan.record_result(plan, hypothesis="H1", run_id=counted, note="later")
    assert stamp(plan, counted) == before


# --- a slot is named by a value on every path, and read as one -------------------------------

NO_VALUES = ["nan", "inf", "Infinity", "", " ", "1e400"]


def runs_of(plan: Path) -> dict[str, str]:
    """Every run in the plan's experiment but the plan snapshot: run id -> status."""
    journal = journal_for(plan)
    found = journal.store.client.search_runs([journal.store.experiment_id])
    return {r.info.run_id: r.info.status for r in found if "mlplan.kind" in r.data.tags}


@pytest.mark.parametrize("seed", NO_VALUES, ids=repr)
def test_a_start_run_run_whose_slot_is_no_value_ends_failed(make_plan: MakePlan, seed: str) -> None:
    import mlflow

    plan = paired(make_plan())
    refusal = pytest.raises(ResultError, match="param seed names the result's slot")
    with refusal as refused, mlplan.start_run(plan, hypothesis="H2") as active:
        mlflow.log_param("seed", seed)
        active.log_metrics({"recall": 0.5, "latency_ms": 10})
    run_id = active.info.run_id
    assert f"run {run_id} was ended FAILED and is not counted" in str(refused.value)
    assert runs_of(plan) == {run_id: "FAILED"}
    assert journal_for(plan, refresh=True).results() == []


def outside_run(plan: Path, seed: str) -> str:
    """A finished run plain MLflow code logged in the plan's experiment, not yet a result."""
    journal = journal_for(plan)
    client = journal.store.client
    run_id: str = client.create_run(journal.store.experiment_id).info.run_id
    client.log_param(run_id, "seed", seed)
    client.log_metric(run_id, "recall", 0.5)
    client.log_metric(run_id, "latency_ms", 10)
    client.set_terminated(run_id, "FINISHED")
    return run_id


@pytest.mark.parametrize("seed", NO_VALUES, ids=repr)
def test_attaching_a_run_whose_slot_is_no_value_is_refused(make_plan: MakePlan, seed: str) -> None:
    plan = paired(make_plan())
    outside = outside_run(plan, seed)
    with pytest.raises(
        ResultError, match=r"param seed names the result's slot.*nothing was attached"
    ):
        mlplan.record_result(plan, hypothesis="H2", run_id=outside)
    assert runs_of(plan) == {}  # never tagged: it is no result
    assert journal_for(plan, refresh=True).results() == []


def test_a_waiting_attach_of_a_run_whose_slot_is_no_value_is_parked(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    outside = outside_run(plan, "nan")
    journal = journal_for(plan)
    made = journal.submission(kind="hypothesis", subject="H2", metrics={"recall": 0.5})
    journal.outbox.put(journal.plan.id, replace(made, run_id=outside), journal.location.destination)
    (parked,) = mlplan.sync(plan).parked
    assert "param seed names the result's slot" in parked.refused
    assert journal_for(plan, refresh=True).results() == []


def test_a_stored_slot_of_no_value_is_not_counted_and_fails_the_gate(
    make_plan: MakePlan, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = paired(make_plan())
    for seed in (1, 2):
        mlplan.record_result(
            plan, hypothesis="H2", metrics={"recall": 0.5, "latency_ms": 10}, params={"seed": seed}
        )
    journal = journal_for(plan)
    # As a path that once let it through wrote it: past every check of the journal.
    made = journal.submission(
        kind="hypothesis", subject="H2", metrics={"recall": 0.9, "latency_ms": 10}
    )
    odd = journal.store.log(replace(made, params={"seed": "nan"}))
    verdict = next(v for v in mlplan.status(plan, refresh=True).verdicts if v.hypothesis == "H2")
    assert verdict.runs == 2
    code, out, err = run(capsys, "status", plan, "--check")
    said = " ".join((out + err).split())
    assert code == 1, said
    assert f"run {odd} (hypothesis H2) has seed = 'nan', which names no slot" in said


def test_a_value_out_of_bounds_as_a_start_run_run_ends_says_what_became_of_it(
    make_plan: MakePlan,
) -> None:
    import mlflow

    plan = make_plan()
    refusal = pytest.raises(ResultError, match=r"recall\.loyal = 7 is outside its declared")
    with refusal as refused, mlplan.start_run(plan, hypothesis="H1") as active:
        mlflow.log_metrics({"recall": 0.9, "recall.loyal": 7})
    message, run_id = str(refused.value), active.info.run_id
    assert f"run {run_id} was ended FAILED and is not counted" in message
    assert "nothing was logged" not in message
    assert runs_of(plan) == {run_id: "FAILED"}


# --- 64-bit seeds stay exact on the outbox and plan paths too ---------------------------------

SEEDS = ("1796629130391000001", "1796629130391000002")


def test_an_outbox_entry_keeps_a_64_bit_seed_exact(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.6, "latency_ms": 10}, params={"seed": SEEDS[0]}
    )
    journal = journal_for(plan)
    made = journal.submission(
        kind="hypothesis", subject="H2", metrics={"recall": 0.7, "latency_ms": 10}
    )
    waiting = replace(made, params={"seed": SEEDS[1]})  # as written to the file: text
    journal.outbox.put(journal.plan.id, waiting, journal.location.destination, "was down")
    (delivered,) = mlplan.sync(plan).delivered
    assert not delivered.duplicate_of
    stored = sorted(r.params["seed"] for r in journal_for(plan, refresh=True).results())
    assert stored == list(SEEDS)


def test_planned_64_bit_seeds_are_two_slots(tmp_path: Path) -> None:
    from run_plans import write_plan

    from mlplan._judge.results import Result
    from mlplan._plan.load import load_plan
    from mlplan._run.matrix import expand

    # Loaded without "the same value as item 0": a plan's errors refuse the load.
    plan = load_plan(write_plan(tmp_path, design=f"  pair_values: [{SEEDS[0]}, {SEEDS[1]}]\n")).plan
    logged = Result(
        run_id="a" * 32,
        kind="hypothesis",
        subject="H1",
        metrics={"acc": 0.5},
        logged_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        params={"seed": SEEDS[0]},
    )
    matrix = expand(plan, ["H1"], [], [logged])
    assert [c.label for c in matrix.done] == [f"H1 · seed={SEEDS[0]}"]
    assert [c.label for c in matrix.missing if c.subject == "H1"] == [f"H1 · seed={SEEDS[1]}"]


def test_a_stored_result_whose_slot_is_no_value_is_replaced_as_advised(
    make_plan: MakePlan, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = paired(make_plan())
    journal = journal_for(plan)
    made = journal.submission(kind="hypothesis", subject="H2", metrics={"recall": 0.9})
    odd = journal.store.log(replace(made, params={"seed": "nan"}))
    code, out, err = run(capsys, "status", plan, "--check")
    advice = f"(--replace {odd} --reason TEXT -p seed=VALUE)"
    assert code == 1 and advice in " ".join((out + err).split()), out + err
    mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.8}, params={"seed": 3}, replace=odd, reason="x"
    )
    _, out, err = run(capsys, "status", plan, "--check")
    assert "names no slot" not in out + err
    (counted,) = [r for r in mlplan.status(plan, refresh=True).results if not r.replaced_by]
    assert counted.params == {"seed": "3"} and counted.replaces == odd


def test_a_value_changed_in_the_store_and_replaced_as_advised_clears_the_gate(
    make_plan: MakePlan, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = paired(make_plan())
    values = {"recall": 0.5, "latency_ms": 10}
    changed = mlplan.record_result(plan, hypothesis="H2", metrics=values, params={"seed": 1})
    journal_for(plan).store.client.log_metric(changed.run_id, "recall", 81)  # the back door
    assert run(capsys, "status", plan, "--check")[0] == 1
    mlplan.record_result(
        plan,
        hypothesis="H2",
        metrics=values,
        params={"seed": 1},
        replace=changed.run_id,
        reason="x",
    )
    _, out, err = run(capsys, "status", plan, "--check")
    assert "changed after it was logged" not in out + err
