"""A training script run as a cell of `mlplan run` hands its result to the driver, in process:
``mlplan.log_result`` and ``mlplan.start_run`` write the cell's result file (several calls add
up to its one result), a scratch store holds a start_run's MLflow run, and the plan's store is
never opened from a cell. A result for another subject, a metric that is not a number, or a
second result that changes the first, is refused with one message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import MakePlan

import mlplan
from mlplan._api import Logged, record_result
from mlplan._run.spec import (
    ENV_PLAN,
    ENV_RESULT,
    ENV_SUBJECT,
    ENV_WORKDIR,
    CellOutcome,
    read_outcome,
)
from mlplan.errors import ResultError


@pytest.fixture
def cell_of(make_plan: MakePlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process as the cell of H1 in the plan's `mlplan run` (the variables the driver
    sets); returns the plan."""
    plan = make_plan()
    workdir = tmp_path / "cell"
    workdir.mkdir()
    monkeypatch.setenv(ENV_PLAN, str(plan))
    monkeypatch.setenv(ENV_RESULT, str(workdir / "result.json"))
    monkeypatch.setenv(ENV_SUBJECT, "H1")
    monkeypatch.setenv(ENV_WORKDIR, str(workdir))
    return plan


def result_file(tmp_path: Path) -> CellOutcome | None:
    return read_outcome(tmp_path / "cell" / "result.json")


def log(plan: Path, **fields: Any) -> Logged:
    return record_result(plan, **fields)


def test_results_logged_in_a_cell_go_to_the_driver_and_add_up(
    cell_of: Path, tmp_path: Path
) -> None:
    first = log(cell_of, hypothesis="H1", metrics={"recall": 0.7}, params={"seed": 1})
    assert first.run_id == ""  # nothing was written to a store
    assert first.store == "the `mlplan run` that runs this script"
    log(cell_of, hypothesis="H1", metrics={"recall.loyal": 0.9, "recall": 0.7}, note="n")
    assert result_file(tmp_path) == CellOutcome(
        True, metrics={"recall": 0.7, "recall.loyal": 0.9}, params={"seed": 1}, note="n"
    )
    assert not (cell_of.parent / ".mlplan" / "mlflow.db").exists()


def test_a_cell_logs_only_its_own_subject(cell_of: Path, tmp_path: Path) -> None:
    with pytest.raises(ResultError) as raised:
        log(cell_of, baseline="B1", metrics={"recall": 0.6})
    assert str(raised.value) == (
        "this script runs as a cell of H1 under `mlplan run`; a result for B1 cannot be logged "
        "from it"
    )
    assert result_file(tmp_path) is None


def test_a_metric_that_is_not_a_number_is_refused_in_a_cell(cell_of: Path, tmp_path: Path) -> None:
    with pytest.raises(ResultError, match=r"^log_result for H1 gave recall='high'; a metric is"):
        log(cell_of, hypothesis="H1", metrics={"recall": "high"})
    assert result_file(tmp_path) is None


def test_a_subject_the_plan_does_not_have_is_refused_before_anything_is_written(
    cell_of: Path, tmp_path: Path
) -> None:
    with pytest.raises(mlplan.MlplanError, match="H9"):
        log(cell_of, hypothesis="H9", metrics={"recall": 0.5})
    assert result_file(tmp_path) is None


def test_a_run_started_in_a_cell_logs_to_a_scratch_store_and_hands_its_result_over(
    cell_of: Path, tmp_path: Path
) -> None:
    import mlflow

    with mlplan.start_run(cell_of, hypothesis="H1") as run:
        mlflow.log_metric("recall", 0.8)
        mlflow.log_param("seed", 4)
        assert run.info.run_id  # a real MLflow run, for the script's own logging
    assert result_file(tmp_path) == CellOutcome(True, metrics={"recall": 0.8}, params={"seed": "4"})
    assert (tmp_path / "cell" / "scratch.db").is_file()
    assert not (cell_of.parent / ".mlplan" / "mlflow.db").exists()
    # The scratch store was this block's only: MLflow points where it pointed before.
    assert mlflow.get_tracking_uri() != f"sqlite:///{tmp_path / 'cell' / 'scratch.db'}"


def test_a_second_result_in_one_cell_is_refused_and_fails_the_cell(
    cell_of: Path, tmp_path: Path
) -> None:
    """A cell is one slot and a slot holds one result: a script logging fold 1, then fold 2,
    was told "Logged" twice while only fold 2 was kept (issue 16). The second call is refused,
    and the cell fails with the same words even if the script goes on."""
    log(cell_of, hypothesis="H1", metrics={"recall": 0.31}, params={"seed": 0, "fold": 1})
    with pytest.raises(ResultError) as raised:
        log(cell_of, hypothesis="H1", metrics={"recall": 0.32}, params={"seed": 0, "fold": 2})
    message = str(raised.value)
    assert message.startswith(
        "log_result for H1 gave recall=0.32, fold=2 after recall=0.31, fold=1 in the same cell; "
        "a cell of `mlplan run` is one slot and gives one result, so the cell fails"
    )
    assert result_file(tmp_path) == CellOutcome(False, error=message)
    # It stays failed: a third call does not bring either result back.
    with pytest.raises(ResultError, match=r"recall=0\.32, fold=2 after recall=0\.31"):
        log(cell_of, hypothesis="H1", metrics={"recall": 0.31}, params={"seed": 0, "fold": 1})
    assert result_file(tmp_path) == CellOutcome(False, error=message)


def test_undecodable_text_logged_in_a_cell_is_refused_at_the_call(
    cell_of: Path, tmp_path: Path
) -> None:
    with pytest.raises(ResultError, match=r"^log_result for H1: its note is not valid UTF-8"):
        log(cell_of, hypothesis="H1", metrics={"recall": 0.7}, note="bad\udcff")
    assert result_file(tmp_path) is None
