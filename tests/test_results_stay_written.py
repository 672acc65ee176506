"""A result stays as it was written, and a slot is named only by a possible value (second
adversarial pass, values and slots): an attach entry naming a finished result never rewrites
it; a slot value that is no value (nan, inf, 1e400, empty) is refused on the start_run and
attach paths, and one already in the store is not counted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import MakePlan, edited
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
