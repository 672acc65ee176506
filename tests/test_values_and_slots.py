"""Values and slots (issue 16): a value outside its bounds is refused on every write path; one
number grammar for plans and the API; one result per slot however many writers race for it;
an outbox entry is checked again before it is delivered."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, edited, run
from slot_race import assert_one_counted, paired, race_for_one_slot

import mlplan
from mlplan._api import journal_for
from mlplan._plan.keys import NumberError, number
from mlplan._plan.load import load_plan
from mlplan.errors import BaselineError, NotCountedError, PlanError, ResultError

Capsys = pytest.CaptureFixture[str]
MakePlan = Callable[..., Path]

# --- bounds on every write path -------------------------------------------------------------

OUT_OF_BOUNDS = "metric recall = 81 is outside its declared bounds \\[0, 1\\]"


def test_the_api_refuses_a_value_outside_its_bounds(make_plan: MakePlan) -> None:
    plan = make_plan()
    with pytest.raises(ResultError, match=OUT_OF_BOUNDS):
        mlplan.record_result(plan, hypothesis="H2", metrics={"recall": 81})
    with pytest.raises(ResultError, match="too large"):
        mlplan.record_result(plan, hypothesis="H2", metrics={"latency_ms": 10**400})
    assert journal_for(plan).results() == []


def test_the_cli_refuses_a_value_outside_its_bounds(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    code, out, err = run(capsys, "log-result", plan, "-H", "H2", "-m", "recall=81")
    assert code == 1, out + err
    assert "recall = 81 is outside its declared bounds [0, 1]" in err
    assert "Traceback" not in err
    assert journal_for(plan).results() == []


def test_a_training_run_outside_the_bounds_fails_and_is_not_judged(make_plan: MakePlan) -> None:
    import mlflow

    plan = make_plan()
    with pytest.raises(ResultError, match=OUT_OF_BOUNDS), mlplan.start_run(plan, hypothesis="H2"):
        mlflow.log_metric("recall", 81)
    assert journal_for(plan).results() == []  # the run ended FAILED: never a result


def test_attaching_a_run_outside_the_bounds_is_refused(make_plan: MakePlan) -> None:
    import mlflow

    plan = make_plan()
    journal = journal_for(plan)
    mlflow.set_tracking_uri(journal.location.uri)
    try:
        with mlflow.start_run(experiment_id=journal.store.experiment_id) as outside:
            mlflow.log_metric("recall", 81)
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    with pytest.raises(ResultError, match=OUT_OF_BOUNDS):
        mlplan.record_result(plan, hypothesis="H2", run_id=outside.info.run_id)
    assert journal_for(plan).results() == []


def test_a_baseline_returning_a_value_outside_its_bounds_is_refused(make_plan: MakePlan) -> None:
    plan = make_plan()
    (plan.parent / "churn_baselines.py").write_text(
        "def usage_drop():\n    return {'recall': 81, 'recall.loyal': 0.9}\n"
    )
    # run in a cell by the executor (issue 18): the refusal comes back as the baseline's error
    with pytest.raises(BaselineError, match=OUT_OF_BOUNDS):
        mlplan.run_baselines(plan, ["B1"])
    assert journal_for(plan).results() == []


# --- one number grammar ---------------------------------------------------------------------

NUMBERS: list[tuple[Any, float]] = [
    (0.7, 0.7),
    (7, 7.0),
    ("0.01", 0.01),
    ("-2", -2.0),
    ("1e-3", 0.001),
    (" 0.5 ", 0.5),
    (".5", 0.5),
]
NOT_NUMBERS: list[Any] = [
    "0_7",
    b"0.7",
    "0x10",
    "nan",
    "inf",
    "-Infinity",
    math.nan,
    math.inf,
    True,
    10**400,
    "1e400",
    "١٢",
    "",
    None,
]


@pytest.mark.parametrize(("value", "expected"), NUMBERS)
def test_the_grammar_reads_plain_decimal_numbers(value: Any, expected: float) -> None:
    assert number(value) == expected


@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
def test_the_grammar_refuses_what_is_not_a_plain_number(value: Any) -> None:
    with pytest.raises(NumberError):
        number(value)


def test_the_api_uses_the_grammar(make_plan: MakePlan) -> None:
    plan = make_plan()
    for value in NOT_NUMBERS:
        with pytest.raises(ResultError, match="metric latency_ms"):
            mlplan.record_result(plan, hypothesis="H2", metrics={"latency_ms": value})
    logged = mlplan.record_result(plan, hypothesis="H2", metrics={"latency_ms": "1e-3"}).run_id
    (result,) = journal_for(plan).results()
    assert (result.run_id, result.metrics["latency_ms"]) == (logged, 0.001)


PLAN_NUMBERS = [
    ("at_least: 0.8", 'at_least: "0.8"', None),
    ('by: "5%"', 'by: "0.01"', None),
    ("at_most: 50", 'at_most: "1e-3"', None),
    ("days: 10", 'days: "10"', None),
    ("at_most: 50", 'at_most: "0_7"', "expected a number, got '0_7'"),
    ("at_most: 50", "at_most: 0x10", "plain decimal number"),
    ("at_most: 50", 'at_most: "0x10"', "expected a number, got '0x10'"),
    ("at_most: 50", "at_most: 010", "YAML would read it as 8"),
    ("at_most: 50", "at_most: 1_000", "plain decimal number"),
    ("at_most: 50", "at_most: 1:30", "plain decimal number"),
    ("at_most: 50", 'at_most: !!float "0x10"', "'0x10' is not a plain decimal number\n"),
    ("at_most: 50", 'at_most: "nan"', "expected a finite number, got 'nan'"),
    ("at_most: 50", "at_most: 1e400", "expected a finite number"),
    ('by: "5%"', "by: 0_1", "plain decimal number"),
    ("days: 10", 'days: "1_0"', "expected a whole number, got '1_0'"),
    ("bounds: [0, 1]", 'bounds: ["0", "inf"]', "expected a finite number, got 'inf'"),
]


@pytest.mark.parametrize(
    ("old", "new", "problem"), PLAN_NUMBERS, ids=[n for _, n, _ in PLAN_NUMBERS]
)
def test_a_plan_reads_numbers_by_the_same_grammar(
    make_plan: MakePlan, old: str, new: str, problem: str | None
) -> None:
    plan = edited(make_plan(), old, new)
    if problem is None:
        load_plan(plan)
        return
    with pytest.raises(PlanError, match=problem) as refused:
        load_plan(plan)
    line = next(n for n, text in enumerate(plan.read_text().splitlines(), 1) if new in text)
    assert f"plan.yaml:{line}:" in str(refused.value)


def test_a_quoted_margin_is_that_number(make_plan: MakePlan) -> None:
    loaded = load_plan(edited(make_plan(), 'by: "5%"', 'by: "0.01"'))
    margin = loaded.plan.hypothesis("H1").success_criteria[0].by
    assert margin is not None and (margin.value, margin.relative) == (0.01, False)


# --- one result per slot ----------------------------------------------------------------------


@pytest.mark.slow  # over a second: MLflow runs, and a wait past the late margin
def test_three_training_runs_for_one_seed_count_once(make_plan: MakePlan) -> None:
    import mlflow

    plan = paired(make_plan())
    outcomes: list[str] = []
    for value in (0.91, 0.95, 0.99):
        try:
            with mlplan.start_run(plan, hypothesis="H2"):
                mlflow.log_param("seed", 1)
                mlflow.log_metric("recall", value)
                mlflow.log_metric("latency_ms", 10)
            outcomes.append("counted")
        except NotCountedError as refusal:
            outcomes.append(f"not counted: {refusal.counted}")
    assert outcomes[0] == "counted"
    assert outcomes[1] == outcomes[2] != "counted"
    verdict = next(v for v in mlplan.status(plan, today=TODAY).verdicts if v.hypothesis == "H2")
    assert verdict.runs == 1
    recall = next(c for c in verdict.checks if c.metric == "recall")
    assert recall.n == 1 and recall.estimate == pytest.approx(0.91)
    tagged = [r for r in journal_for(plan, refresh=True).results() if r.duplicate_of]
    assert len(tagged) == 2


def test_one_slot_however_its_key_is_written(make_plan: MakePlan) -> None:
    # seed=1 and seed="1.0" are one slot for the judge (keys.canonical), so also for the
    # writer's own check: the second is refused before anything is written.
    plan = paired(make_plan())
    first = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.9}, params={"seed": 1}
    ).run_id
    with pytest.raises(ResultError, match=f"already has a result for seed=1 \\(run {first}\\)"):
        mlplan.record_result(
            plan, hypothesis="H2", metrics={"recall": 0.99}, params={"seed": "1.0"}
        )
    assert [r.params["seed"] for r in journal_for(plan).results()] == ["1"]


def test_the_earliest_counts_even_when_tagging_failed(make_plan: MakePlan) -> None:
    # Two results of one slot and no duplicate tag (the writer died before tagging): every
    # reader counts the earliest, whatever order the store lists them in.
    from dataclasses import replace

    from mlplan._judge.evidence import one_per_slot

    plan = paired(make_plan())
    mlplan.record_result(plan, hypothesis="H2", metrics={"recall": 0.9}, params={"seed": 1})
    (first,) = journal_for(plan).results()
    second = replace(first, run_id="0" * 32, finished_ms=first.finished_ms + 5, metrics={})
    for runs in ([first, second], [second, first]):
        kept, set_aside = one_per_slot(runs, ("seed",))
        assert kept == [first]
        assert second.run_id in set_aside[0]


def outside_run(plan: Path, seed: int, recall: float) -> str:
    """A finished run made in the plan's experiment without mlplan (a training script)."""
    import mlflow

    journal = journal_for(plan)
    mlflow.set_tracking_uri(journal.location.uri)
    try:
        with mlflow.start_run(experiment_id=journal.store.experiment_id) as made:
            mlflow.log_param("seed", seed)
            mlflow.log_metric("recall", recall)
            mlflow.log_metric("latency_ms", 10)
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    return str(made.info.run_id)


@pytest.mark.slow  # over a second: MLflow runs, and a wait past the late margin
def test_an_attached_run_for_a_taken_slot_is_not_counted(make_plan: MakePlan) -> None:
    # The outside run finished first, but the slot was taken (and its writer told so) before
    # it was attached: attaching it later must not displace the counted result.
    plan = paired(make_plan())
    early = outside_run(plan, seed=1, recall=0.99)
    time.sleep(1.1)  # the outside run is older than the embedded store's "late" margin
    counted = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.8, "latency_ms": 10}, params={"seed": 1}
    ).run_id
    with pytest.raises(NotCountedError, match="not counted") as refused:
        mlplan.record_result(plan, hypothesis="H2", run_id=early)
    assert (refused.value.run_id, refused.value.counted) == (early, counted)
    verdict = next(v for v in mlplan.status(plan, today=TODAY).verdicts if v.hypothesis == "H2")
    recall = next(c for c in verdict.checks if c.metric == "recall")
    assert verdict.runs == 1
    assert recall.estimate == pytest.approx(0.8)


def test_a_delivered_entry_for_a_taken_slot_is_reported_not_counted(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    counted = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.8}, params={"seed": 1}
    ).run_id
    journal = journal_for(plan)
    waiting = journal.submission(
        kind="hypothesis", subject="H2", metrics={"recall": 0.99}, params={"seed": 1}
    )
    journal.outbox.put(journal.plan.id, waiting, journal.location.destination, "was down")
    report = mlplan.sync(plan)
    (delivered,) = report.delivered
    assert delivered.duplicate_of == counted
    assert any("not counted" in line for line in report.notes())
    verdict = next(v for v in mlplan.status(plan, today=TODAY).verdicts if v.hypothesis == "H2")
    recall = next(c for c in verdict.checks if c.metric == "recall")
    assert verdict.runs == 1
    assert recall.estimate == pytest.approx(0.8)


@pytest.mark.chaos
def test_concurrent_writers_of_one_slot_count_once_on_the_embedded_store(
    make_plan: MakePlan,
) -> None:
    plan = paired(make_plan())
    mlplan.record_result(plan, baseline="B2", metrics={"recall": 0.1})  # the store exists
    assert_one_counted(plan, race_for_one_slot(plan, 8))


# --- the outbox is checked again before delivery -------------------------------------------


def waiting_entry(plan: Path, **changes: Any) -> Path:
    """An entry waiting in the outbox for this plan's store, as a killed writer leaves one,
    then edited by hand (``changes`` replace fields of its submission)."""
    journal = journal_for(plan)
    submission = journal.submission(kind="hypothesis", subject="H2", metrics={"recall": 0.9})
    entry = journal.outbox.put(journal.plan.id, submission, journal.location.destination)
    document = json.loads(entry.path.read_text())
    document["submission"].update(changes)
    entry.path.write_text(json.dumps(document))
    return entry.path


@pytest.mark.parametrize(
    "changes",
    [{"metrics": {"recall": math.nan}}, {"metrics": {"recall": 81}}, {"subject": "H9"}],
    ids=["nan", "out-of-bounds", "unknown-subject"],
)
def test_a_tampered_outbox_entry_is_kept_not_delivered(
    make_plan: MakePlan, capsys: Capsys, changes: dict[str, Any]
) -> None:
    plan = make_plan()
    mlplan.record_result(plan, baseline="B2", metrics={"recall": 0.1})
    path = waiting_entry(plan, **changes)
    code, out, err = run(capsys, "sync", plan)
    assert path.exists()
    assert "not delivered" in out + err and "mlplan sync" in out + err
    assert code == 1, out + err
    assert [r.subject for r in journal_for(plan, refresh=True).results()] == ["B2"]


def test_an_entry_whose_hypothesis_was_renamed_is_kept(make_plan: MakePlan) -> None:
    plan = make_plan()
    path = waiting_entry(plan)
    text = plan.read_text().replace("id: H2", "id: H2b").replace("then: H2", "then: H2b")
    plan.write_text(text)
    report = mlplan.sync(plan)
    assert report.delivered == [] and [e.path for e in report.parked] == [path]
    assert "no hypothesis 'H2'" in report.parked[0].refused
    assert journal_for(plan, refresh=True).results() == []
