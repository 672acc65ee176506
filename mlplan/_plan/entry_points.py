"""Entry points checked without running them: does ``module:function`` name something real?

`mlplan run` imports an entry point in a cell, a process of its own, found first in the plan's
folder and then on the import path (mlplan._record.entry_points). A typo there used to surface
only at run time, once per cell, after each cell's start-up. Here `validate` looks without
importing anything (importing would run the user's code, and `validate` stays fast): a module
beside the plan is read with `ast` and its top-level names compared with the function's; a
module elsewhere is only looked up (importlib's ``find_spec`` of the top-level name, which
executes nothing).
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import sys
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import NamedTuple

from mlplan._plan.models import Baseline, Hypothesis, Plan
from mlplan._text import did_you_mean
from mlplan.errors import Route, Severity

__all__ = ["EntryPointFinding", "entry_point_findings"]

MAX_LISTED = 8  # a study module can hold dozens of functions; a hint names a few


class EntryPointFinding(NamedTuple):
    route: Route
    message: str
    hint: str
    severity: Severity


def entry_point_findings(
    plan: Plan, folder: Path, subjects: Collection[str] | None = None
) -> Iterator[EntryPointFinding]:
    """One finding per entry point that cannot be what it names (``folder``: the plan's), of
    every subject or of ``subjects`` only."""
    design = plan.experiment
    declared: list[tuple[Route, Baseline | Hypothesis]] = [
        (("experiment", "baselines", i), b) for i, b in enumerate(design.baselines)
    ]
    declared += [(("experiment", "hypotheses", i), h) for i, h in enumerate(design.hypotheses)]
    for route, subject in declared:
        if subject.entry_point is not None and (subjects is None or subject.id in subjects):
            finding = _check(subject.entry_point, folder)
            if finding is not None:
                message, hint, severity = finding
                yield EntryPointFinding((*route, "entry_point"), message, hint, severity)


def _check(entry_point: str, folder: Path) -> tuple[str, str, Severity] | None:
    module_name, _, function = entry_point.partition(":")
    beside_plan = folder.joinpath(*module_name.split(".")).with_suffix(".py")
    if beside_plan.is_file():
        return _check_source(beside_plan, function)
    if _findable(module_name.split(".")[0], folder):
        return None  # installed or on the path: importing it to look would run its code
    modules = sorted(path.stem for path in folder.glob("*.py"))
    return (
        f"no module {module_name!r} beside the plan ({folder}) or on this Python's path",
        (did_you_mean(module_name, modules, listed_as="modules beside the plan") + "; or ")
        * bool(modules)
        + "put the module beside the plan, or install it where `mlplan run` runs",
        # A warning, not an error: the cells may run where the module is installed.
        "warning",
    )


def _check_source(path: Path, function: str) -> tuple[str, str, Severity] | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as error:
        return (f"cannot read {path.name}: {error}", "fix the module", "warning")
    names = set(_top_level_names(tree))
    if function in names or "__getattr__" in names or "*" in names:
        return None  # defined, or made at import time in a way only running it would show
    functions = sorted(
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not node.name.startswith("_")
    )
    return (
        f"{path.name} (beside the plan) defines no {function!r}",
        _hint(function, functions),
        "error",
    )


def _hint(function: str, functions: list[str]) -> str:
    close = difflib.get_close_matches(function, functions, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    if not functions:
        return f"define {function}(**params) there, returning {{metric: value}}"
    shown = ", ".join(functions[:MAX_LISTED]) + (", ..." if len(functions) > MAX_LISTED else "")
    return f"its functions: {shown}"


def _top_level_names(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from (alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            yield from (n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try)):  # `if HAVE_X: def f(): ...` and the like
            yield from _top_level_names(ast.Module(body=_branches(node), type_ignores=[]))


def _branches(node: ast.If | ast.Try) -> list[ast.stmt]:
    if isinstance(node, ast.If):
        return [*node.body, *node.orelse]
    handlers = [statement for handler in node.handlers for statement in handler.body]
    return [*node.body, *handlers, *node.orelse, *node.finalbody]


def _findable(top_level: str, folder: Path) -> bool:
    if top_level in sys.modules or (folder / top_level).is_dir():
        return True
    try:
        return importlib.util.find_spec(top_level) is not None
    except (ImportError, ValueError):
        return False
