"""`mlplan new --template EXAMPLE`: a worked project as a usable starting point."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import cli

import mlplan
from mlplan._plan.scaffold import scaffold
from mlplan._resources import example_names

ROOT = Path(__file__).resolve().parent.parent
STARTED_ON = dt.date(2027, 3, 1)


def starts(data: dict[str, Any]) -> list[dt.date]:
    return [h["timebox"]["start"] for h in data["experiment"]["hypotheses"]]


@pytest.mark.parametrize("example", example_names())
def test_the_example_starts_today_without_its_history(example: str, tmp_path: Path) -> None:
    made = scaffold("mine", template=example, directory=tmp_path, today=STARTED_ON)
    new = yaml.safe_load(made.plan.read_text(encoding="utf-8"))
    old = yaml.safe_load((ROOT / "examples" / example / "plan.yaml").read_text(encoding="utf-8"))

    assert min(starts(new)) == STARTED_ON
    shift = STARTED_ON - min(starts(old))
    assert starts(new) == [start + shift for start in starts(old)]  # spacing kept
    assert new["experiment_log"] == {"entries": [], "decisions": []}
    assert new["id"] == "mine"
    for data in (new, old):  # everything else is the example's
        del data["experiment_log"], data["id"]
        for hypothesis in data["experiment"]["hypotheses"]:
            del hypothesis["timebox"]["start"]
    assert new == old
    loaded = mlplan.load_plan(made.plan)  # a valid plan, nothing overdue on day one
    assert all(h.timebox.deadline >= STARTED_ON for h in loaded.plan.experiment.hypotheses)


@pytest.mark.parametrize("example", example_names())
def test_the_study_modules_come_along_and_are_bundled(example: str, tmp_path: Path) -> None:
    made = scaffold("mine", template=example, directory=tmp_path, today=STARTED_ON)
    modules = {
        b.entry_point.partition(":")[0]
        for b in mlplan.load_plan(made.plan).plan.experiment.baselines
        if b.entry_point
    }
    assert modules
    bundled = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    force = bundled["targets"]["wheel"]["force-include"]
    for module in modules:
        copied = tmp_path / f"{module}.py"
        original = ROOT / "examples" / example / f"{module}.py"
        assert copied.read_bytes() == original.read_bytes()
        assert force[f"examples/{example}/{module}.py"] == (
            f"mlplan/_data/examples/{example}/{module}.py"
        )


def test_an_existing_study_module_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ridge_study.py").write_text("# mine\n")
    assert cli("new", "mine", "--template", "ridge", "--dir", tmp_path) == 0
    assert (tmp_path / "ridge_study.py").read_text() == "# mine\n"
    assert "kept the existing" in capsys.readouterr().err


def test_new_writes_a_gitignore_for_the_store(tmp_path: Path) -> None:
    assert cli("new", "a", "--dir", tmp_path) == 0
    assert ".mlplan/" in (tmp_path / ".gitignore").read_text().splitlines()


def test_new_extends_a_gitignore_in_its_own_line_endings(tmp_path: Path) -> None:
    ignore = tmp_path / ".gitignore"
    ignore.write_bytes(b"*.pyc\r\nbuild/")
    assert cli("new", "a", "--dir", tmp_path) == 0
    assert ignore.read_bytes() == b"*.pyc\r\nbuild/\r\n.mlplan/\r\n"
    assert cli("new", "b", "--dir", tmp_path) == 0  # already ignored: left alone
    assert ignore.read_bytes() == b"*.pyc\r\nbuild/\r\n.mlplan/\r\n"


@pytest.mark.slow
def test_baseline_run_works_from_the_new_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "elsewhere"
    assert cli("new", "study", "--template", "ridge", "--dir", folder) == 0
    capsys.readouterr()
    assert cli("baseline", "run", folder / "study.yaml", "B-ols-orig") == 0
    assert "Baseline B-ols-orig" in capsys.readouterr().out


@pytest.mark.parametrize("template", ["blank", "gcn_extractor", "ridge"])
def test_a_new_plan_declares_a_planned_n_so_it_comes_out_confirmatory(
    template: str, tmp_path: Path
) -> None:
    # Without a planned n a verdict is exploratory and validate warns (issue 17). The
    # lighttrack starter's H4 and H5 are judged on reported figures, which need no n.
    from mlplan._judge.settings import settings_for
    from mlplan._plan.rules import find_warnings

    made = scaffold("mine", template=template, directory=tmp_path, today=STARTED_ON)
    plan = mlplan.load_plan(made.plan).plan
    assert all(settings_for(plan, h).design for h in plan.experiment.hypotheses)
    assert not [m for _, m, _ in find_warnings(plan) if "no planned n" in m]
