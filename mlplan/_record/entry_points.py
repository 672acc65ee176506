"""Finding a declared entry point (a baseline's or a hypothesis's).

An entry point is ``module:function``, found first in the plan's own folder (so a plan can
ship its baselines beside it) and then on the usual import path. It returns a mapping of
metric key to value, and takes the run's params as keyword arguments (``seed=3``), if any.
It is called in a cell of `mlplan run` (mlplan._run.cell), a process of its own: an
``os._exit``, a ``chdir`` or a hang there never reaches mlplan.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mlplan.errors import BaselineError

if TYPE_CHECKING:  # a cell imports this module; pydantic's import would cost it ~0.2 s
    from mlplan._plan.models import Baseline

__all__ = ["load", "require_entry_point"]


@contextmanager
def _importable_from(folder: Path) -> Iterator[None]:
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))


def _import(module_name: str, folder: Path) -> ModuleType:
    beside_plan = folder.joinpath(*module_name.split(".")).with_suffix(".py")
    if not beside_plan.is_file():
        return importlib.import_module(module_name)
    # Executed afresh from the plan's folder each time: a module of the same name imported
    # earlier (another plan's, or this one before an edit) must not answer for it.
    spec = importlib.util.spec_from_file_location(module_name, beside_plan)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load(entry_point: str, folder: Path) -> Callable[..., Any]:
    """The entry point's function, imported from ``folder`` (the plan's) or sys.path."""
    module_name, _, function_name = entry_point.partition(":")
    with _importable_from(folder):
        try:
            module = _import(module_name, folder)
        except ImportError as error:
            raise BaselineError(
                f"cannot import {module_name!r} for entry point {entry_point!r}"
                f" ({error}); looked in {folder} and on sys.path"
            ) from None
        except SystemExit as error:
            raise BaselineError(
                f"importing {module_name!r} for entry point {entry_point!r} called "
                f"sys.exit({error.code!r}); nothing was logged"
            ) from None
        except Exception as error:  # the module itself is broken: a user error, not ours
            raise BaselineError(
                f"importing {module_name!r} for entry point {entry_point!r} failed: "
                f"{type(error).__name__}: {error}"
            ) from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise BaselineError(f"{module_name!r} has no function {function_name!r}")
    return function  # type: ignore[no-any-return]


def require_entry_point(baseline: Baseline) -> str:
    """The baseline's entry point, or a BaselineError saying how to log it by hand."""
    if baseline.entry_point is None:
        raise BaselineError(
            f"baseline {baseline.id} declares no entry_point: log its results as results of "
            f"baseline {baseline.id}, with their metrics",
            arguments=("baseline", "metrics"),
        )
    return baseline.entry_point
