"""Finding a declared entry point (mlplan._record.entry_points), in process: a module beside the
plan wins over sys.path and is read afresh each time, and a module that is missing, exits,
raises or lacks the function is one BaselineError that says which and where."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlplan._plan.models import Baseline
from mlplan._record.entry_points import load, require_entry_point
from mlplan.errors import BaselineError


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """The plan's folder; any module imported from it is forgotten afterwards."""
    before = set(sys.modules)
    path_before = list(sys.path)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("ep_"):
            del sys.modules[name]
    assert sys.path == path_before  # load() leaves the import path as it found it


def test_a_module_beside_the_plan_is_read_afresh_each_time(folder: Path) -> None:
    module = folder / "ep_fresh.py"
    module.write_text("def score(seed):\n    return {'acc': 0.5 + seed}\n", encoding="utf-8")
    assert load("ep_fresh:score", folder)(seed=1) == {"acc": 1.5}
    # Edited between two calls: the edit counts, not the module imported the first time.
    module.write_text("def score(seed):\n    return {'acc': seed * 2}\n", encoding="utf-8")
    assert load("ep_fresh:score", folder)(seed=1) == {"acc": 2}


def test_a_package_module_beside_the_plan_is_found_by_its_dotted_name(folder: Path) -> None:
    (folder / "ep_pkg").mkdir()
    (folder / "ep_pkg" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "ep_pkg" / "rules.py").write_text("def f():\n    return {'x': 3}\n", "utf-8")
    assert load("ep_pkg.rules:f", folder)() == {"x": 3}


def test_a_module_not_beside_the_plan_comes_from_sys_path(folder: Path) -> None:
    assert load("json:dumps", folder) is json.dumps


def test_a_missing_module_says_where_it_was_looked_for(folder: Path) -> None:
    with pytest.raises(BaselineError) as raised:
        load("ep_nowhere:f", folder)
    assert str(raised.value) == (
        "cannot import 'ep_nowhere' for entry point 'ep_nowhere:f' "
        f"(No module named 'ep_nowhere'); looked in {folder} and on sys.path"
    )


def test_a_module_that_exits_on_import_is_an_error_not_an_exit(folder: Path) -> None:
    (folder / "ep_exits.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    with pytest.raises(BaselineError) as raised:
        load("ep_exits:f", folder)
    assert str(raised.value) == (
        "importing 'ep_exits' for entry point 'ep_exits:f' called sys.exit(3); nothing was logged"
    )


def test_a_module_that_raises_on_import_names_its_error(folder: Path) -> None:
    (folder / "ep_broken.py").write_text("raise ValueError('no data here')\n", "utf-8")
    with pytest.raises(BaselineError) as raised:
        load("ep_broken:f", folder)
    assert str(raised.value) == (
        "importing 'ep_broken' for entry point 'ep_broken:f' failed: ValueError: no data here"
    )
    assert isinstance(raised.value.__cause__, ValueError)  # the user's traceback is kept


@pytest.mark.parametrize("body", ["", "f = 3\n"])
def test_a_module_without_the_function_says_so(folder: Path, body: str) -> None:
    (folder / "ep_nofunc.py").write_text(body, encoding="utf-8")
    with pytest.raises(BaselineError, match=r"^'ep_nofunc' has no function 'f'$"):
        load("ep_nofunc:f", folder)


def test_a_baseline_without_an_entry_point_says_how_to_log_it_by_hand() -> None:
    with pytest.raises(BaselineError) as raised:
        require_entry_point(Baseline(id="B2", description="Flag nobody."))
    assert str(raised.value).startswith("baseline B2 declares no entry_point: log its results")
    assert raised.value.arguments == ("baseline", "metrics")
    declared = Baseline(id="B1", description="A rule.", entry_point="rules:usage_drop")
    assert require_entry_point(declared) == "rules:usage_drop"
