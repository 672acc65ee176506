"""Settling a slot (adversarial pass, values and slots): writers and readers agree on the one
result a slot counts, however its key was written, whenever a run reached the store, and
whichever runs a replacement leaves behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import TODAY, run
from slot_race import paired
from test_values_and_slots import outside_run

import mlplan
from mlplan._api import journal_for
from mlplan._plan.keys import canonical
from mlplan.errors import NotCountedError, ResultError

Capsys = pytest.CaptureFixture[str]
MakePlan = Callable[..., Path]


def training_run(plan: Path, seed: str, recall: float) -> str:
    """A result a training script logged through start_run, its seed typed as ``seed``."""
    import mlflow

    with mlplan.start_run(plan, hypothesis="H2") as active:
        mlflow.log_param("seed", seed)
        mlflow.log_metric("recall", recall)
        mlflow.log_metric("latency_ms", 10)
    return str(active.info.run_id)


def assert_counted(plan: Path, runs: int, mean: float) -> None:
    """What every reader judges H2 by: ``runs`` results, with this mean recall."""
    verdict = next(v for v in mlplan.status(plan, today=TODAY).verdicts if v.hypothesis == "H2")
    recall = next(c for c in verdict.checks if c.metric == "recall")
    assert verdict.runs == runs
    assert recall.estimate == pytest.approx(mean)


# --- F2: a rival written in another form is seen at write time --------------------------------


@pytest.mark.parametrize("form", ["1e0", "1.0", " 1"])
def test_a_key_written_another_way_by_a_script_takes_the_slot(
    make_plan: MakePlan, capsys: Capsys, form: str
) -> None:
    plan = paired(make_plan())
    first = training_run(plan, form, 0.6)
    code, out, err = run(
        capsys, "log-result", plan, "-H", "H2", "-m", "recall=0.9", "-m", "latency_ms=10",
        "-p", "seed=1",
    )  # fmt: skip
    assert code == 1, out + err
    assert f"already has a result for seed=1 (run {first})" in err
    assert_counted(plan, 1, 0.6)


def test_a_script_run_written_another_way_after_a_counted_one_is_not_counted(
    make_plan: MakePlan,
) -> None:
    plan = paired(make_plan())
    counted = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.6, "latency_ms": 10}, params={"seed": 1}
    ).run_id
    with pytest.raises(NotCountedError) as refused:
        training_run(plan, "1e0", 0.9)
    assert refused.value.counted == counted
    assert_counted(plan, 1, 0.6)


# --- F4: a run attached later never displaces a result already told it counts ---------------


def test_an_outside_run_attached_after_a_counted_result_is_not_counted(
    make_plan: MakePlan,
) -> None:
    # The outside run finished first (by milliseconds), but the slot was taken, and its
    # writer told so, before the run was attached.
    plan = paired(make_plan())
    early = outside_run(plan, seed=1, recall=0.99)
    counted = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.5, "latency_ms": 10}, params={"seed": 1}
    ).run_id
    with pytest.raises(NotCountedError) as refused:
        mlplan.record_result(plan, hypothesis="H2", run_id=early)
    assert (refused.value.run_id, refused.value.counted) == (early, counted)
    assert_counted(plan, 1, 0.5)
    (tagged,) = [r for r in journal_for(plan, refresh=True).results() if r.duplicate_of]
    assert (tagged.run_id, tagged.duplicate_of) == (early, counted)


# --- F7: a slot with a duplicate can still be replaced ----------------------------------------


def test_a_slot_with_a_duplicate_can_be_replaced(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    counted = training_run(plan, "1", 0.6)
    with pytest.raises(NotCountedError):
        training_run(plan, "1", 0.7)
    replacement = mlplan.record_result(
        plan,
        hypothesis="H2",
        metrics={"recall": 0.9, "latency_ms": 10},
        params={"seed": 1},
        replace=counted,
        reason="seed 1 ran on the wrong split",
    ).run_id
    assert_counted(plan, 1, 0.9)
    results = {r.run_id: r for r in journal_for(plan, refresh=True).results()}
    assert results[counted].replaced_by == replacement


def test_replacing_the_duplicate_names_the_counted_run(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    counted = training_run(plan, "1", 0.6)
    with pytest.raises(NotCountedError) as refused:
        training_run(plan, "1", 0.7)
    duplicate = refused.value.run_id
    with pytest.raises(ResultError, match=f"run {duplicate} is not counted.*--replace {counted} "):
        mlplan.record_result(
            plan,
            hypothesis="H2",
            metrics={"recall": 0.9, "latency_ms": 10},
            params={"seed": 1},
            replace=duplicate,
            reason="wrong split",
        )


# --- F8: integers stay exact -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1796629130391000001", "1796629130391000001"),
        ("+0001796629130391000002", "1796629130391000002"),
        ("-0", "0"),
        ("1" + "0" * 400, "1" + "0" * 400),
        ("1.0", "1"),
        ("1e0", "1"),
        (" 1 ", "1"),
        ("1e20", "100000000000000000000"),
        ("1.5e3", "1500"),
        ("1e-3", "0.001"),
        ("0.5", "0.5"),
        ("1e-400", "0"),
        ("0_7", "0_7"),
        ("text", "text"),
    ],
)
def test_canonical_keeps_integers_exact(written: str, expected: str) -> None:
    assert canonical(written) == expected
    assert canonical(canonical(written)) == canonical(written)  # one written form


def test_two_large_seeds_are_two_slots_stored_as_typed(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    for seed, recall in (("1796629130391000001", 0.6), ("1796629130391000002", 0.7)):
        mlplan.record_result(
            plan,
            hypothesis="H2",
            metrics={"recall": recall, "latency_ms": 10},
            params={"seed": seed},
        )
    stored = sorted(r.params["seed"] for r in journal_for(plan, refresh=True).results())
    assert stored == ["1796629130391000001", "1796629130391000002"]
    assert_counted(plan, 2, 0.65)


def test_a_script_run_from_before_the_form_tag_is_found_too(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    # A run an older mlplan wrote through start_run carries seed "1.0" and no mark of its
    # form: the first writer on the store marks such runs once, then sees it in the slot.
    from mlflow.tracking import MlflowClient

    plan = paired(make_plan())
    first = training_run(plan, "1.0", 0.6)
    journal = journal_for(plan)
    client = MlflowClient(tracking_uri=journal.location.uri)
    client.delete_tag(first, "mlplan.other_forms")
    client.delete_experiment_tag(journal.store.experiment_id, "mlplan.other_forms_marked")
    code, out, err = run(
        capsys, "log-result", plan, "-H", "H2", "-m", "recall=0.9", "-m", "latency_ms=10",
        "-p", "seed=1",
    )  # fmt: skip
    assert code == 1, out + err
    assert f"already has a result for seed=1 (run {first})" in err
    assert client.get_run(first).data.tags["mlplan.other_forms"] == ",seed,"


# --- F5: a writer whose clock runs behind never displaces a counted result ---------------------


def test_a_writer_whose_clock_runs_behind_does_not_displace_a_counted_result(
    make_plan: MakePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Writer B's clock is 20 s behind: its run's start and end times are earlier than those
    # of A, which was already told it counts. B is the one not counted.
    import time

    plan = paired(make_plan())
    counted = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.5, "latency_ms": 10}, params={"seed": 1}
    ).run_id
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 20)
    with pytest.raises(NotCountedError) as refused:
        training_run(plan, "1", 0.99)
    monkeypatch.undo()
    assert refused.value.counted == counted
    assert_counted(plan, 1, 0.5)


def test_readers_keep_a_settled_result_against_an_earlier_run() -> None:
    # The readers' side of the rule above: a result whose writer was told it counts keeps
    # its slot, even when a run with earlier times is found untagged beside it (its writer
    # died before tagging itself).
    import datetime as dt

    from mlplan._judge.evidence import one_per_slot
    from mlplan._judge.results import Result

    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    told = Result("a" * 32, "hypothesis", "H2", {"recall": 0.5}, when, params={"seed": "1"})
    told = Result(**{**told.__dict__, "finished_ms": 2_000, "settled": True})
    early = Result(
        "b" * 32, "hypothesis", "H2", {"recall": 0.9}, when, params={"seed": "1e0"}, finished_ms=1
    )
    for runs in ([told, early], [early, told]):
        kept, set_aside = one_per_slot(runs, ("seed",))
        assert kept == [told]
        assert early.run_id in set_aside[0]


def test_a_run_attached_after_a_replacement_does_not_displace_it(make_plan: MakePlan) -> None:
    plan = paired(make_plan())
    early = outside_run(plan, seed=1, recall=0.99)
    first = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.5, "latency_ms": 10}, params={"seed": 1}
    ).run_id
    replacement = mlplan.record_result(
        plan,
        hypothesis="H2",
        metrics={"recall": 0.6, "latency_ms": 10},
        params={"seed": 1},
        replace=first,
        reason="seed 1 ran on the wrong split",
    ).run_id
    with pytest.raises(NotCountedError) as refused:
        mlplan.record_result(plan, hypothesis="H2", run_id=early)
    assert refused.value.counted == replacement
    assert_counted(plan, 1, 0.6)
