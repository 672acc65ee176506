"""What `mlplan run` says when a cell's result names none of the plan's metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import Capsys, run
from run_plans import write_plan

from mlplan._run.driver import _none_declared

STUDY = (
    "def baseline(seed):\n    return {'acc': 0.5}\n\n"
    "def model(seed):\n    return {'ac': 0.8, 'loss': 0.1}\n"
)


def test_the_message_names_what_came_back_what_the_plan_declares_and_the_likely_slip() -> None:
    message = _none_declared("H1", {"ac": 0.8, "loss": 0.1}, {"acc", "f1"})
    assert message.startswith("H1 returned ac, loss, none of the plan's metrics (acc, f1)")
    assert "did you mean 'ac' for 'acc'?" in message
    assert message.endswith("nothing was logged")


def test_no_guess_when_nothing_is_close() -> None:
    message = _none_declared("B1", {}, {"accuracy"})
    assert (
        message
        == "B1 returned no metric, none of the plan's metrics (accuracy); nothing was logged"
    )


@pytest.mark.slow  # two cells, each a fresh interpreter
def test_run_prints_it_for_the_cell_and_exits_1(tmp_path: Path, capsys: Capsys) -> None:
    plan = write_plan(tmp_path, design="  pair_values: [0]\n", study=STUDY)
    code, _, err = run(capsys, "run", plan, "H1", "-j", "1")
    assert code == 1
    assert "H1 returned ac, loss, none of the plan's metrics (acc)" in err
    assert "did you mean 'ac' for 'acc'?" in err
