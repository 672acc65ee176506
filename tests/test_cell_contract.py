"""One cell of `mlplan run`, in process (mlplan._run.cell and spec.py): the driver↔cell
contract. An entry point or a command gives metrics, or a failed outcome whose error says what
went wrong; the result file the driver reads back is checked before it is trusted. The cell's
own process (kill -9, os._exit, pdeathsig) is the chaos tier's; here are the words and the
exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlplan._run import cell
from mlplan._run.spec import (
    ENV_PLAN,
    ENV_RESULT,
    RESULT_LIMIT,
    CellOutcome,
    CellSpec,
    in_cell,
    read_outcome,
    write_outcome,
)

MODULE = """\
import sys

def good(seed, lr=0.1):
    return {"acc": 0.5 + seed / 100, "n": 3}

def nested(seed):
    return {"metrics": {"acc": 0.75}, "note": "nested"}

def a_list(seed):
    return [0.5]

def a_flag(seed):
    return {"acc": True}

def not_finite(seed):
    return {"acc": float("nan")}

def crash(seed):
    raise RuntimeError("boom in the cell")

def exits(seed):
    sys.exit(2)

def records(seed):
    import mlplan
    mlplan.record_result("plan.yaml", hypothesis="H1", metrics={"acc": 0.11}, note="recorded")

def records_and_returns_it_again(seed):
    records(seed)
    return {"acc": 0.11, "loss": 2}

def records_and_returns_another(seed):
    records(seed)
    return {"acc": 0.22}
"""


@pytest.fixture
def plan(tmp_path: Path) -> Iterator[Path]:
    """A plan's folder with a module of entry points beside it (forgotten afterwards)."""
    (tmp_path / "cellfuncs.py").write_text(MODULE, encoding="utf-8")
    path = tmp_path / "plan.yaml"
    path.write_text("# the cell reads only its folder\n", encoding="utf-8")
    yield path
    sys.modules.pop("cellfuncs", None)


def spec(plan: Path, **fields: Any) -> CellSpec:
    base: dict[str, Any] = {
        "plan": str(plan),
        "plan_sha256": "0" * 64,
        "submission": "sub-1",
        "subject": "H1",
        "params": {"seed": 1},
        "entry_point": None,
        "command": None,
        "result": str(plan.parent / "result.json"),
        "workdir": str(plan.parent),
    }
    return CellSpec(**{**base, **fields})


def test_an_entry_point_gets_the_cells_params_and_gives_numbers(plan: Path) -> None:
    outcome = cell.execute(spec(plan, entry_point="cellfuncs:good", params={"seed": 3}))
    assert outcome == CellOutcome(True, metrics={"acc": 0.53, "n": 3.0}, params={"seed": 3})
    assert isinstance(outcome.metrics["n"], float)


def test_an_entry_point_may_return_its_metrics_under_a_metrics_key(plan: Path) -> None:
    outcome = cell.execute(spec(plan, entry_point="cellfuncs:nested"))
    assert outcome.ok
    assert outcome.metrics == {"acc": 0.75}
    assert outcome.note == "nested"


@pytest.mark.parametrize(
    ("function", "error"),
    [
        (
            "a_list",
            "H1 (cellfuncs:a_list) gave list; it must give a mapping of metric key to value",
        ),
        (
            "a_flag",
            "H1 (cellfuncs:a_flag) gave acc=True; a metric is a number "
            "(expected a number, got true/false)",
        ),
        (
            "not_finite",
            "H1 (cellfuncs:not_finite) gave acc=nan; a metric is a finite number "
            "(nan is not a finite number)",
        ),
        ("crash", "H1 (cellfuncs:crash) failed: RuntimeError: boom in the cell"),
        (
            "exits",
            "H1 (cellfuncs:exits) called sys.exit(2) instead of returning its metrics; "
            "nothing was logged",
        ),
        ("missing", "'cellfuncs' has no function 'missing'"),
    ],
)
def test_an_entry_point_that_gives_no_metrics_fails_the_cell_saying_why(
    plan: Path, function: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = cell.execute(spec(plan, entry_point=f"cellfuncs:{function}"))
    assert outcome == CellOutcome(False, error=error)
    if function == "crash":  # the user's traceback goes to the cell's log
        assert "RuntimeError: boom in the cell" in capsys.readouterr().err


def test_a_command_word_is_filled_with_params_as_yaml_would_read_them_back(plan: Path) -> None:
    words = cell.command_argv(
        spec(
            plan,
            params={"lr": 1e-05, "seed": 3, "name": "a b"},
            command=["python", "train.py", "--lr={lr}", "{seed}", "{name}", "{{literal}}"],
        )
    )
    assert words == [sys.executable, "train.py", "--lr=1e-05", "3", "a b", "{literal}"]
    where = spec(plan, command=["tool", "{result}", "{workdir}", "{python}"])
    assert cell.command_argv(where) == ["tool", where.result, where.workdir, sys.executable]


def command(plan: Path, code: str, **fields: Any) -> CellOutcome:
    """A cell whose command is ``python script.py {result}``, the script being ``code``."""
    script = plan.parent / "script.py"
    script.write_text(code, encoding="utf-8")
    return cell.execute(spec(plan, command=["python", str(script), "{result}"], **fields))


WRITE = "import json, sys; open(sys.argv[1], 'w').write(json.dumps({document}));"


def test_a_command_writes_its_metrics_and_may_add_params_but_not_move_its_slot(
    plan: Path,
) -> None:
    document = {"metrics": {"acc": 0.9}, "params": {"seed": "1.0", "layers": 4}}
    outcome = command(plan, WRITE.format(document=document))
    # "1.0" and 1 are one slot: the script's params add to the cell's, which win.
    assert outcome == CellOutcome(True, metrics={"acc": 0.9}, params={"seed": 1, "layers": 4})
    moved = command(plan, WRITE.format(document={"metrics": {"acc": 0.9}, "params": {"seed": 2}}))
    assert moved == CellOutcome(
        False, error="the cell for seed=1 reported seed=2; nothing was logged"
    )


def test_a_command_that_wrote_its_result_counts_whatever_its_exit_status(plan: Path) -> None:
    outcome = command(plan, WRITE.format(document={"acc": 0.5}) + " sys.exit(3)")
    assert outcome == CellOutcome(True, metrics={"acc": 0.5}, params={"seed": 1})


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("import sys; sys.exit(3)", "the command exited with status 3"),
        ("pass", "the command exited with status 0 but wrote no result: write the metrics"),
        (WRITE.format(document={"acc": "high"}), "H1's result file {result} gave acc='high'"),
        (WRITE.format(document=[1, 2]), "H1's result file {result} gave list; it must give"),
        (WRITE.format(document={"ok": False, "error": "out of memory"}), "out of memory"),
        ("import sys; open(sys.argv[1], 'w').write('{not json')", "its result file {result} is"),
    ],
)
def test_a_command_without_usable_metrics_fails_the_cell_saying_why(
    plan: Path, code: str, error: str
) -> None:
    outcome = command(plan, code)
    assert not outcome.ok
    assert outcome.error.startswith(error.format(result=plan.parent / "result.json"))


def test_a_command_that_cannot_start_says_which(plan: Path) -> None:
    outcome = cell.execute(spec(plan, command=["./no-such-program", "{seed}"]))
    assert outcome == CellOutcome(
        False, error="cannot start './no-such-program': No such file or directory"
    )


@pytest.fixture
def cell_process(plan: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What main() changes (the environment, the working folder) is put back afterwards."""
    monkeypatch.chdir(plan.parent.parent)
    for name in spec(plan).environment():
        monkeypatch.setenv(name, "before")
    monkeypatch.delenv(cell.ENV_DRIVER, raising=False)
    return plan


def test_the_cell_process_runs_the_spec_beside_the_plan_and_writes_its_result(
    cell_process: Path,
) -> None:
    plan = cell_process
    (plan.parent / "where.py").write_text(
        "import os\ndef here(seed):\n    return {'in_plan_folder': float(os.getcwd() == "
        f"{str(plan.parent)!r}), 'told': float(os.environ['MLPLAN_SUBMISSION'] == 'sub-1')}}\n",
        encoding="utf-8",
    )
    written = plan.parent / "spec.json"
    spec(plan, entry_point="where:here").write(written)
    try:
        assert cell.main([str(written)]) == 0
    finally:
        sys.modules.pop("where", None)
    assert read_outcome(plan.parent / "result.json") == CellOutcome(
        True, metrics={"in_plan_folder": 1.0, "told": 1.0}, params={"seed": 1}
    )


def test_a_failed_cell_exits_1_with_its_error_in_the_result(cell_process: Path) -> None:
    written = cell_process.parent / "spec.json"
    spec(cell_process, entry_point="cellfuncs:crash").write(written)
    assert cell.main([str(written)]) == 1
    document = json.loads((cell_process.parent / "result.json").read_text(encoding="utf-8"))
    assert document == {
        "ok": False,
        "error": "H1 (cellfuncs:crash) failed: RuntimeError: boom in the cell",
    }


def test_the_cell_process_wants_exactly_one_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert cell.main([]) == 2
    assert capsys.readouterr().err == "usage: python -m mlplan._run.cell SPEC_PATH\n"


def test_a_result_file_is_read_back_only_when_it_is_a_cell_result(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    assert read_outcome(path) is None  # none yet: the cell ended without one
    write_outcome(path, CellOutcome(True, metrics={"acc": 0.5}, params={"seed": 2}))
    assert read_outcome(path) == CellOutcome(True, metrics={"acc": 0.5}, params={"seed": 2})
    cases = {
        '{"ok": false}': "the cell reported failure",
        '{"ok": "yes"}': f"its result file {path} is not a cell result",
        "[true]": f"its result file {path} is not a cell result",
        '{"ok": true, "metrics": [1]}': f"its result file {path} has no metrics mapping",
        '{"ok": true, "metrics": {}, "params": 3}': f"its result file {path} has no metrics",
        "\xff": f"its result file {path} is not JSON (",
    }
    for text, error in cases.items():
        path.write_bytes(text.encode("latin-1"))
        outcome = read_outcome(path)
        assert outcome is not None
        assert not outcome.ok
        assert outcome.error.startswith(error), text


def test_a_result_file_too_large_to_be_a_result_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    with path.open("wb") as handle:
        handle.truncate(RESULT_LIMIT + 1)  # sparse: no megabyte written
    assert read_outcome(path) == CellOutcome(
        False, error=f"its result file {path} is {RESULT_LIMIT + 1} bytes, not a result"
    )


def test_a_script_knows_it_runs_in_a_cell_of_its_own_plan_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = tmp_path / "plan.yaml"
    monkeypatch.delenv(ENV_RESULT, raising=False)
    monkeypatch.delenv(ENV_PLAN, raising=False)
    assert in_cell(plan) is None
    monkeypatch.setenv(ENV_RESULT, str(tmp_path / "r.json"))
    monkeypatch.setenv(ENV_PLAN, str(tmp_path / "other" / ".." / "plan.yaml"))
    assert in_cell(plan) == tmp_path / "r.json"
    monkeypatch.setenv(ENV_PLAN, str(tmp_path / "another.yaml"))
    assert in_cell(plan) is None


def test_a_spec_round_trips_and_gives_the_cell_its_environment(tmp_path: Path) -> None:
    original = spec(tmp_path / "plan.yaml", entry_point="m:f", params={"lr": 0.1, "seed": 2})
    original.write(tmp_path / "spec.json")
    assert CellSpec.read(tmp_path / "spec.json") == original
    environment = original.environment()
    assert environment[ENV_RESULT] == original.result
    assert environment[ENV_PLAN] == original.plan
    assert os.environ.get(ENV_PLAN) != original.plan  # reading the spec set nothing


CELL_PLAN = """\
schema_version: 1
id: cells
title: Cells
problem: {statement: s, audience: a, why_now: w}
goals:
  software: [x]
  metrics: [{statement: s, metric: acc, target: 0.05}]
metrics:
  - {key: acc, direction: higher, description: d, bounds: [0, 1]}
experiment:
  data_motivation: d
  baselines:
    - {id: B1, description: b, reported: {source: paper, metrics: {acc: {value: 0.5}}}}
  hypotheses:
    - id: H1
      statement: s
      method: m
      metrics: [acc]
      baselines: [B1]
      success_criteria: [{metric: acc, better_than: B1}]
      timebox: {days: 10, start: 2026-11-25}
      on_success: {description: d, then: ship}
      on_failure: {description: d, then: stop}
      entry_point: "cellfuncs:records"
software_design: {crawl: c, walk: w, run: r}
considerations:
  launch_criteria: [x]
  what_could_go_wrong: {products_affected: p, customer_impact: c, monitoring: m, rollback: r}
  security: s
  privacy: p
"""


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("records", CellOutcome(True, metrics={"acc": 0.11}, params={"seed": 1}, note="recorded")),
        (
            "records_and_returns_it_again",
            CellOutcome(
                True, metrics={"acc": 0.11, "loss": 2.0}, params={"seed": 1}, note="recorded"
            ),
        ),
        (
            "records_and_returns_another",
            CellOutcome(
                False,
                error="H1 (cellfuncs:records_and_returns_another) gave acc=0.22 after acc=0.11 in "
                "the same cell; a cell of `mlplan run` is one slot and gives one result, so the "
                "cell fails and nothing of it is logged. Give each result its own cell (a "
                "condition or a pair value in the plan), or give the slot one result (a mean over "
                "folds, say)",
            ),
        ),
    ],
)
def test_what_an_entry_point_records_is_its_result_and_a_different_return_fails_the_cell(
    plan: Path, monkeypatch: pytest.MonkeyPatch, function: str, expected: CellOutcome
) -> None:
    """An entry point that called mlplan.record_result and returned nothing lost its result
    ("gave NoneType"); one that returned another result had the recorded one silently replaced
    (issue 16). What it records is the cell's, and a return that differs fails the cell."""
    plan.write_text(CELL_PLAN, encoding="utf-8")
    cell_spec = spec(plan, entry_point=f"cellfuncs:{function}")
    monkeypatch.chdir(plan.parent)
    for name, value in cell_spec.environment().items():
        monkeypatch.setenv(name, value)
    assert cell.execute(cell_spec) == expected


def test_an_oversized_result_file_is_refused_unread(tmp_path: Path) -> None:
    """A command that left a 400 MB result file (sparse here) once took the driver to 835 MB
    reading it whole before its size was checked (the re-check of issue 16)."""
    import tracemalloc

    from mlplan._run.cell import _command_result

    result = tmp_path / "result.json"
    with result.open("wb") as handle:
        handle.truncate(400 << 20)
    tracemalloc.start()
    try:
        outcome = _command_result(result, "B1")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome is not None and not outcome.ok
    assert "bytes, not a result" in outcome.error
    assert peak < 1 << 20
