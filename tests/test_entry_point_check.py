"""`validate` finds a mistyped entry point before `mlplan run` spends a cell on it.

A new user's typo (`study:gbost` for `study:gboost`) used to pass validate and fail at run
time, once per cell, each after a fresh interpreter's start-up.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from helpers import REPO, Capsys, run

RIDGE = REPO / "examples" / "ridge"


@pytest.fixture
def ridge(tmp_path: Path) -> Path:
    """The ridge plan and its study module, copied (nothing else: no store is needed)."""
    shutil.copy(RIDGE / "plan.yaml", tmp_path / "plan.yaml")
    shutil.copy(RIDGE / "ridge_study.py", tmp_path / "ridge_study.py")
    return tmp_path / "plan.yaml"


def with_entry_point(plan: Path, old: str, new: str) -> None:
    text = plan.read_text(encoding="utf-8")
    assert old in text
    plan.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(plan: Path, text: str) -> int:
    lines = plan.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_the_worked_plans_entry_points_all_resolve(ridge: Path, capsys: Capsys) -> None:
    code, out, err = run(capsys, "validate", ridge)
    assert code == 0
    assert "entry_point" not in out + err and "defines no" not in out + err


def test_a_mistyped_function_beside_the_plan_is_an_error_at_its_line(
    ridge: Path, capsys: Capsys
) -> None:
    with_entry_point(ridge, "ridge_study:original_ols", "ridge_study:original_osl")
    code, out, err = run(capsys, "validate", ridge)
    assert code == 1
    where = f"plan.yaml:{line_of(ridge, 'ridge_study:original_osl')}:"
    message = next(line for line in (out + err).splitlines() if "defines no" in line)
    assert where in message and "'original_osl'" in message
    assert "did you mean 'original_ols'?" in out + err


def test_a_mistyped_module_is_a_warning_that_names_the_modules_beside_the_plan(
    ridge: Path, capsys: Capsys
) -> None:
    with_entry_point(ridge, "ridge_study:original_ols", "ridge_stduy:original_ols")
    code, out, err = run(capsys, "validate", ridge)
    # A warning: the cells may run where such a module is installed.
    assert code == 0
    assert "no module 'ridge_stduy'" in out + err
    assert "did you mean 'ridge_study'?" in out + err


def test_names_made_at_import_time_are_not_second_guessed(ridge: Path, capsys: Capsys) -> None:
    module = ridge.parent / "ridge_study.py"
    module.write_text(
        module.read_text(encoding="utf-8") + "\ntry:\n    from math import hypot as late\n"
        "except ImportError:\n    late = None\n",
        encoding="utf-8",
    )
    with_entry_point(ridge, "ridge_study:original_ols", "ridge_study:late")
    code, _, _ = run(capsys, "validate", ridge)
    assert code == 0
    module.write_text("def __getattr__(name):\n    return print\n", encoding="utf-8")
    with_entry_point(ridge, "ridge_study:late", "ridge_study:anything")
    code, out, err = run(capsys, "validate", ridge)
    assert "anything" not in out + err


def test_an_installed_module_is_found_without_importing_it(ridge: Path, capsys: Capsys) -> None:
    # `json` is importable; `this` prints the Zen of Python when imported, so a check that
    # imported it would show on stdout.
    assert "this" not in sys.modules
    with_entry_point(ridge, "ridge_study:original_ols", "this:anything")
    code, out, err = run(capsys, "validate", ridge)
    assert code == 0 and "Beautiful is better" not in out + err
    assert "this" not in sys.modules


def test_run_refuses_a_missing_function_before_any_cell_starts(ridge: Path, capsys: Capsys) -> None:
    with_entry_point(ridge, "ridge_study:original_ols", "ridge_study:original_osl")
    code, out, err = run(capsys, "run", ridge, "B-ols-orig")
    assert code == 1
    assert "defines no 'original_osl'" in err and "did you mean 'original_ols'?" in err
    assert "Traceback" not in out + err
    assert not list(ridge.parent.glob(".mlplan/runs/*/*"))  # no cell started


def test_a_subject_the_run_does_not_touch_does_not_block_it(tmp_path: Path, capsys: Capsys) -> None:
    from run_plans import write_plan

    study = "def baseline(seed):\n    return {'acc': 0.5}\n"  # no `model`: H1 cannot run
    plan = write_plan(tmp_path, design="  pair_values: [0]\n", study=study)
    code, _, err = run(capsys, "run", plan, "B1", "--dry-run")
    assert code == 0, err
    code, _, err = run(capsys, "run", plan, "H1", "--dry-run")
    assert code == 1 and "defines no 'model'" in err
