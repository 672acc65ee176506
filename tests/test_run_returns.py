"""`mlplan run` for every hypothesis of a worked project: a hypothesis's own condition values
(crossed with its pair key; {} varies none; null is one cell outside the condition), a
hypothesis of exact metrics run once per condition, part of the matrix by params, and what an
entry point may return ({metric: value}, or metrics with params and a note), refused with one
clear message when it is anything else."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
from helpers import Capsys, run
from run_plans import hypothesis, write_plan

from mlplan import run_plan
from mlplan._judge.results import Result
from mlplan._plan.load import load_plan
from mlplan._run.cell import execute
from mlplan._run.matrix import expand
from mlplan._run.spec import CellSpec, result_of

DESIGN = (
    "  pair_values: [0, 1]\n  multiplicity: none\n"
    "  conditions: [lam]\n  condition_values: {lam: [0.1, 1.0]}\n"
)


def _result(subject: str, **params: str) -> Result:
    return Result(
        run_id=f"r-{subject}-{params}",
        kind="hypothesis",
        subject=subject,
        metrics={"acc": 0.5},
        logged_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        params=params,
    )


def _plan(tmp_path: Path, *hypotheses: str, design: str = DESIGN, metrics: str = "") -> Path:
    plan = write_plan(tmp_path, design=design, hypotheses="".join(hypotheses))
    if metrics:  # extra metric declarations, after acc's
        text = plan.read_text()
        anchor = "bounds: [0, 1]}\n"
        plan.write_text(text.replace(anchor, anchor + metrics, 1))
    return plan


def test_a_hypothesis_s_own_condition_values_replace_the_experiment_s(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        hypothesis("H1", 'entry_point: "study:model"\n      condition_values: {lam: [1.0]}'),
        hypothesis("H2", 'entry_point: "study:model"\n      condition_values: {}'),
    )
    matrix = expand(load_plan(plan).plan, ["H1", "H2"], [], [])
    assert [cell.label for cell in matrix.cells] == [
        "H1 · seed=0, lam=1.0",  # its own values, crossed with the pair key
        "H1 · seed=1, lam=1.0",
        "H2 · seed=0",  # {}: no condition varied
        "H2 · seed=1",
        "B1 · seed=0, lam=1.0",  # the baseline at the slots it is compared on
        "B1 · seed=1, lam=1.0",
        "B1 · seed=0",
        "B1 · seed=1",
    ]


def _exact_plan(tmp_path: Path, how: str, *others: str) -> Path:
    """A plan whose H1 is judged on an exact metric only (coef_diff, at most 0)."""
    exact = "  - {key: coef_diff, direction: lower, description: d, exact: true}\n"
    h1 = hypothesis("H1", how).replace("[acc]", "[coef_diff]")
    h1 = h1.replace("{metric: acc, better_than: B1}", "{metric: coef_diff, at_most: 0}")
    return _plan(tmp_path, h1, *others, metrics=exact)


def test_a_hypothesis_of_exact_metrics_runs_once_per_condition(tmp_path: Path) -> None:
    how = 'entry_point: "study:model"\n      condition_values: {lam: [1.0, 7.0, null]}'
    loaded = load_plan(_exact_plan(tmp_path, how)).plan
    matrix = expand(loaded, ["H1"], [], [])
    # Every seed gives an exact figure the same value: no seed axis, like an exact baseline;
    # the null is one cell without lam, and the baseline is not run there.
    assert [cell.label for cell in matrix.cells] == [
        "H1 · lam=1.0",
        "H1 · lam=7.0",
        "H1",
        "B1 · lam=1.0",
        "B1 · lam=7.0",
    ]
    # A result that carries lam is never the cell planned without it, and the other way.
    done = expand(loaded, ["H1"], [], [_result("H1", lam="7")]).done
    assert [cell.label for cell in done] == ["H1 · lam=7.0"]
    done = expand(loaded, ["H1"], [], [_result("H1", x="1/6")]).done
    assert [cell.label for cell in done] == ["H1"]


def test_a_null_condition_value_is_refused_where_cells_are_paired(
    tmp_path: Path, capsys: Capsys
) -> None:
    how = 'entry_point: "study:model"\n      condition_values: {lam: [1.0, null]}'
    plan = _plan(tmp_path, hypothesis("H1", how))
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "a cell without 'lam' would share its seed's slot" in err
    assert f"plan.yaml:{_line(plan, 'condition_values: {lam: [1.0, null]}')}:" in err


def test_part_of_the_matrix_by_params(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path, hypothesis("H1", 'entry_point: "study:model"\n      condition_values: {}')
    )
    report = run_plan(plan, ["H1"], dry_run=True, params={"seed": "1.0"})  # any written form
    assert [cell.label for cell in report.matrix.cells] == ["H1 · seed=1", "B1 · seed=1"]
    assert not (tmp_path / ".mlplan" / "mlflow.db").exists()


def _line(plan: Path, text: str) -> int:
    return next(n for n, line in enumerate(plan.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("{lr: [1]}", "'lr' is not a declared condition"),
        ("{lam: [1.0, 1]}", "is the same value as item 0"),
        ("{lam: []}", "no values planned for 'lam'"),
        ("{lam: [[1]]}", "expected a whole number"),
    ],
)
def test_bad_condition_values_are_refused_where_they_are_written(
    tmp_path: Path, capsys: Capsys, values: str, message: str
) -> None:
    how = f'entry_point: "study:model"\n      condition_values: {values}'
    plan = _plan(tmp_path, hypothesis("H1", how))
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert message in err
    assert f"plan.yaml:{_line(plan, f'condition_values: {values}')}:" in err


def test_a_command_cannot_name_a_condition_a_cell_may_lack(tmp_path: Path, capsys: Capsys) -> None:
    how = 'command: "python t.py {seed} {lam}"\n      condition_values: {lam: [1.0, null]}'
    plan = _plan(tmp_path, hypothesis("H1", how))
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "{lam}" in err
    assert f"plan.yaml:{_line(plan, 'python t.py')}:" in err


def test_a_result_s_two_forms() -> None:
    assert result_of({"acc": 1}, "H1").metrics == {"acc": 1.0}
    full = result_of(
        {"metrics": {"acc": 0.5}, "params": {"t": 2.5, "model": "OLS", "n": 3}, "note": "why"},
        "H1",
    )
    assert (full.metrics, full.params, full.note) == (
        {"acc": 0.5},
        {"t": 2.5, "model": "OLS", "n": 3},
        "why",
    )
    assert result_of({"metrics": {"acc": 0.5}}, "H1").params == {}


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ({"metrics": {"acc": 0.5}, "param": {"t": 1}}, "gave 'param' beside 'metrics'"),
        ({"metrics": {"acc": 0.5}, "params": [1]}, "gave params of type list"),
        ({"metrics": {"acc": 0.5}, "params": {"t": [1]}}, "gave t=[1]; a param is"),
        ({"metrics": {"acc": 0.5}, "params": {"t": math.nan}}, "gave t=nan; a param is"),
        ({"metrics": {"acc": 0.5}, "params": {"t": None}}, "gave t=None; a param is"),
        ({"metrics": {"acc": 0.5}, "note": 3}, "gave a note of type int"),
        ({"metrics": {"acc": "high"}}, "gave acc='high'; a metric is a number"),
        ([0.5], "gave list; it must give a mapping"),
    ],
)
def test_a_bad_return_is_refused_with_one_message(returned: Any, message: str) -> None:
    with pytest.raises(ValueError, match=r"^H1 \(study:model\) gave") as refused:
        result_of(returned, "H1 (study:model)")
    assert message in str(refused.value)


def _spec(tmp_path: Path, module: str, body: str, params: dict[str, Any]) -> CellSpec:
    # A module name of its own: the cell imports it in this process, and an import is cached.
    (tmp_path / f"{module}.py").write_text(body)
    return CellSpec(
        plan=str(tmp_path / "plan.yaml"),
        plan_sha256="x",
        submission="s",
        subject="H1",
        params=params,
        entry_point=f"{module}:cell",
        command=None,
        result=str(tmp_path / "result.json"),
        workdir=str(tmp_path),
    )


def test_a_cell_adds_what_its_entry_point_returns_to_its_own_params(tmp_path: Path) -> None:
    body = (
        "def cell(seed):\n"
        "    return {'metrics': {'acc': 0.5 + seed}, 'params': {'family': 'receipt'},"
        " 'note': f'seed {seed}'}\n"
    )
    outcome = execute(_spec(tmp_path, f"adds_{tmp_path.name}", body, {"seed": 0}))
    assert outcome.ok, outcome.error
    assert (outcome.params, outcome.note) == ({"family": "receipt", "seed": 0}, "seed 0")


def test_a_cell_that_reports_another_slot_is_refused(tmp_path: Path) -> None:
    body = "def cell(seed):\n    return {'metrics': {'acc': 0.5}, 'params': {'seed': 1.0}}\n"
    outcome = execute(_spec(tmp_path, f"moves_{tmp_path.name}", body, {"seed": 0}))
    assert not outcome.ok
    assert outcome.error == "the cell for seed=0 reported seed=1.0; nothing was logged"
    body = "def cell(seed):\n    return {'metrics': {'acc': 0.5}, 'params': {'seed': '0'}}\n"
    assert execute(_spec(tmp_path, f"same_{tmp_path.name}", body, {"seed": 0})).ok


STUDY = """\
def baseline(seed=None, lam=None):
    return {"acc": 0.5, "coef_diff": 1.0}

def model(lam=None):
    if lam is None:
        return {"metrics": {"coef_diff": 0}, "params": {"x": "1/6"}, "note": "the check"}
    return {"metrics": {"coef_diff": 0}, "params": {"t": lam * 2}, "note": f"lam {lam}"}

def broken(seed):
    return {"metrics": {"acc": 0.8}, "params": {"t": [1, 2]}}
"""


BY_API = """\
import mlplan

mlplan.record_result("plan.yaml", hypothesis="H3", metrics={"acc": 0.7}, note="from the script")
"""


@pytest.mark.slow
def test_run_records_each_cell_s_params_and_note_and_refuses_a_bad_return(
    tmp_path: Path, capsys: Capsys
) -> None:
    from mlplan._api import journal_for

    plan = _exact_plan(
        tmp_path,
        'entry_point: "study:model"\n      condition_values: {lam: [1.5, null]}',
        hypothesis("H2", 'entry_point: "study:broken"\n      condition_values: {}'),
        hypothesis("H3", 'command: "python by_api.py"\n      condition_values: {}'),
    )
    (tmp_path / "study.py").write_text(STUDY)
    (tmp_path / "by_api.py").write_text(BY_API)
    code, _, err = run(capsys, "run", plan, "H1", "H2", "H3", "-j", "1")
    assert code == 1  # H2's cells failed, the others were logged
    assert "H2 · seed=0" in err and "gave t=[1, 2]; a param is" in err
    logged = {
        (r.subject, r.params.get("lam")): r for r in journal_for(plan, refresh=True).results()
    }
    # H1's exact metric: a cell per λ and the one outside (null), no seed; B1 at H1's λ and
    # at H2's seeds.
    assert {key for key in logged if key[0] == "H1"} == {("H1", None), ("H1", "1.5")}
    with_lam, check = logged[("H1", "1.5")], logged[("H1", None)]
    assert (with_lam.params["t"], with_lam.note) == ("3.0", "lam 1.5")
    assert (check.params["x"], check.note) == ("1/6", "the check")
    assert logged[("B1", "1.5")].note.startswith("measured by running study:baseline")
    # A script that records its result inside a cell hands its note to the driver too.
    assert logged[("H3", None)].note == "from the script"


def test_a_worked_projects_cell_shape_runs_end_to_end_in_the_fast_tier(tmp_path: Path) -> None:
    """What the ridge example's quick run proves (now in the slow tier), on two cells: a
    hypothesis's own condition values reach the entry point, and the params and note it
    returns are on the logged run."""
    from mlplan._api import journal_for

    plan = _exact_plan(tmp_path, 'entry_point: "study:model"\n      condition_values: {lam: [1.5]}')
    (tmp_path / "study.py").write_text(STUDY)
    report = run_plan(plan, ["H1"], jobs=2)
    assert report.ok
    (h1,) = [r for r in journal_for(plan, refresh=True).results() if r.subject == "H1"]
    assert (h1.params["lam"], h1.params["t"], h1.note) == ("1.5", "3.0", "lam 1.5")
