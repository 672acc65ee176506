"""`mlplan run`: the matrix (subject × pair key × conditions, baselines included, canonical
values), the plan fields that say how a subject runs, and --dry-run. Pure or in-process: the
cells themselves run in tests/test_run_cells.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import Capsys, run
from run_plans import hypothesis, write_plan

from mlplan._judge.results import Result
from mlplan._plan.load import load_plan
from mlplan._run.cell import command_argv
from mlplan._run.matrix import expand
from mlplan._run.spec import CellSpec

CONDITIONS = (
    "  pair_values: [0, 1]\n  conditions: [lam]\n  condition_values: {lam: [0.1, 1.0e-3]}\n"
)


def _result(subject: str, kind: str = "hypothesis", **params: str) -> Result:
    return Result(
        run_id=f"r-{subject}-{params}",
        kind=kind,  # type: ignore[arg-type]
        subject=subject,
        metrics={"acc": 0.5},
        logged_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        params=params,
    )


def test_the_matrix_crosses_pair_values_and_conditions_for_hypotheses_and_baselines(
    tmp_path: Path,
) -> None:
    plan = load_plan(write_plan(tmp_path, design=CONDITIONS)).plan
    matrix = expand(plan, ["H1"], [], [])
    labels = [cell.label for cell in matrix.cells]
    assert labels == [
        "H1 · seed=0, lam=0.1",
        "H1 · seed=0, lam=0.001",
        "H1 · seed=1, lam=0.1",
        "H1 · seed=1, lam=0.001",
        "B1 · seed=0, lam=0.1",
        "B1 · seed=0, lam=0.001",
        "B1 · seed=1, lam=0.1",
        "B1 · seed=1, lam=0.001",
    ]
    # YAML's types are kept: an int seed is an int, a float lam a float.
    assert [type(v) for v in matrix.cells[0].params.values()] == [int, float]
    assert matrix.done == [] and matrix.manual == []


def test_a_logged_slot_is_done_whatever_form_its_values_were_logged_in(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path, design=CONDITIONS)).plan
    logged = [
        _result("H1", seed="0.0", lam="0.001"),  # 0 and 1e-3 as the command line wrote them
        _result("B1", "baseline", seed="1", lam="0.10"),
        _result("H1", seed="1"),  # no lam: it fills no slot of a design with conditions
    ]
    matrix = expand(plan, ["H1"], [], logged)
    assert [cell.label for cell in matrix.done] == [
        "H1 · seed=0, lam=0.001",
        "B1 · seed=1, lam=0.1",
    ]
    assert len(matrix.missing) == 6


def test_a_horizon_an_exact_baseline_and_a_baseline_without_a_way_to_run(tmp_path: Path) -> None:
    baselines = (
        '    - {id: B1, description: b, entry_point: "study:baseline", exact: true}\n'
        "    - {id: B2, description: by hand}\n"
    )
    plan = load_plan(
        write_plan(
            tmp_path,
            design="  pair_values: [5, 6, 7, 8]\n  runs: 3\n",
            baselines=baselines,
            hypotheses=hypothesis("H1", 'entry_point: "study:model"', "[B1, B2]"),
        )
    ).plan
    matrix = expand(plan, [], ["H1"], [])
    # runs: 3 takes the first three pair values; a deterministic baseline runs once.
    assert [cell.label for cell in matrix.cells] == [
        "H1 · seed=5",
        "H1 · seed=6",
        "H1 · seed=7",
        "B1",
    ]
    assert matrix.manual == ["B2"]


def test_a_command_is_an_argv_list_filled_word_by_word(tmp_path: Path) -> None:
    spec = CellSpec(
        plan=str(tmp_path / "plan.yaml"),
        plan_sha256="x",
        submission="s",
        subject="H1",
        params={"seed": 3, "lam": 1e-05, "name": "a b; rm -rf /"},
        entry_point=None,
        command=["python", "t.py", "--seed={seed}", "{lam}", "{name}", "{{literal}}", "{result}"],
        result="/r.json",
        workdir="/w",
    )
    words = command_argv(spec)
    assert words[2:] == ["--seed=3", "1e-05", "a b; rm -rf /", "{literal}", "/r.json"]
    assert words[0].endswith(("python", "python3")) and words[0] != "python"


def _line(plan: Path, text: str) -> int:
    lines = plan.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize(
    ("how", "message", "at"),
    [
        ('command: "python t.py --lr {lr}"', "{lr} in '{lr}' is not a run param", "command"),
        ('command: "python t.py {seed"', "a lone '{'", "command"),
        ('command: "python \'t.py"', "cannot be split into words", "command"),
        ("entry_point: study:model\n      command: [python]", "not both", "id: H1"),
    ],
)
def test_a_bad_run_declaration_is_refused_where_it_is_written(
    tmp_path: Path, capsys: Capsys, how: str, message: str, at: str
) -> None:
    plan = write_plan(tmp_path, hypotheses=hypothesis("H1", how))
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert message in err
    assert f"plan.yaml:{_line(plan, at)}:" in err


def test_a_hypothesis_that_pairs_needs_planned_pair_values(tmp_path: Path, capsys: Capsys) -> None:
    plan = write_plan(tmp_path, design="")
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "no pair_values are planned" in err
    assert f"plan.yaml:{_line(plan, 'study:model')}:" in err  # at H1's entry_point


def test_dry_run_prints_the_matrix_and_creates_no_store(tmp_path: Path, capsys: Capsys) -> None:
    plan = write_plan(tmp_path)
    code, out, _ = run(capsys, "run", plan, "--dry-run")
    assert code == 0
    assert "missing  H1 · seed=2" in out
    assert "6 cells, 6 missing" in out
    assert not (tmp_path / ".mlplan").exists()


def test_an_unknown_id_or_until_decided_is_a_usage_error(tmp_path: Path, capsys: Capsys) -> None:
    plan = write_plan(tmp_path)
    code, _, err = run(capsys, "run", plan, "H9")
    assert (code, "no hypothesis or baseline 'H9'" in err) == (2, True)
    code, _, err = run(capsys, "run", plan, "--until", "decided")
    assert (code, "sequential design" in err) == (2, True)


def test_the_slurm_section_is_checked_where_it_is_written(tmp_path: Path, capsys: Capsys) -> None:
    design = "  pair_values: [0]\n  execution:\n    slurm: {partition: gpu, time: 30, mem: 4GB}\n"
    plan = write_plan(tmp_path, design=design)
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "mem" in err and f"plan.yaml:{_line(plan, 'mem: 4GB')}:" in err
    plan.write_text(plan.read_text().replace("4GB", "4G"))
    assert run(capsys, "validate", plan)[0] == 0
    assert load_plan(plan).plan.experiment.execution.slurm is not None


def test_slurm_options_go_with_the_slurm_executor_only(tmp_path: Path, capsys: Capsys) -> None:
    plan = write_plan(tmp_path)
    code, _, err = run(capsys, "run", plan, "--partition", "gpu", "--mem", "4G")
    assert (code, "--partition, --mem only go with --executor slurm" in err) == (2, True)
    code, _, err = run(capsys, "run", plan, "--executor", "pbs")
    assert (code, "--executor 'pbs': give local or slurm" in err) == (2, True)
    code, _, err = run(capsys, "run", plan, "--executor", "slurm", "--mem", "4 GB")
    assert (code, "--mem '4 GB'" in err) == (2, True)
    assert not (tmp_path / ".mlplan").exists()
