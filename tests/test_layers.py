"""Imports run one way: the package's layers, read from the source with ``ast``.

Every import counts, function-level ones included (a lazy import is still a dependency); only
imports under ``if TYPE_CHECKING:`` are left out, since they never run. Layers, lowest first
(CONTRIBUTING.md draws them): the shared helpers, the plan, the judge, the record, the report,
the site (above the report), the API, the public package (``mlplan``, lazy names over the API
and below), and the command line on top. A module may import its own layer or lower ones, and
no two modules may import each other, however indirectly.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from helpers import REPO

PACKAGE = REPO / "mlplan"
LAYERS = [
    (
        "base",
        ("mlplan.errors", "mlplan._clock", "mlplan._files", "mlplan._text", "mlplan._resources"),
    ),
    ("plan", ("mlplan._plan",)),
    ("judge", ("mlplan._judge",)),
    ("record", ("mlplan._record",)),
    ("report", ("mlplan._report",)),
    ("run", ("mlplan._run",)),
    ("site", ("mlplan._site",)),
    ("api", ("mlplan._api",)),
    ("public", ("mlplan",)),
    ("cli", ("mlplan._cli", "mlplan.__main__")),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, layer index)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), index)
    assert best[1] >= 0, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, here: str) -> Iterator[str]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking_only(child):
            yield from (m for other in child.orelse for m in _imports(other, here))
            continue
        if isinstance(child, ast.Import):
            yield from (alias.name for alias in child.names if alias.name.startswith("mlplan"))
        elif (
            isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("mlplan")
        ):
            for alias in child.names:  # `from mlplan._judge import stats` imports a module
                full = f"{child.module}.{alias.name}"
                yield full if full in MODULES else child.module
        yield from _imports(child, here)


MODULES = {module_name(path) for path in PACKAGE.rglob("*.py")}


def graph() -> dict[str, set[str]]:
    return {
        module_name(path): set(_imports(ast.parse(path.read_text("utf-8")), module_name(path)))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        layer(module)


def test_imports_only_go_down_the_layers() -> None:
    upward = sorted(
        f"{module} ({LAYERS[layer(module)][0]}) imports {target} ({LAYERS[layer(target)][0]})"
        for module, targets in graph().items()
        for target in targets
        if layer(target) > layer(module)
    )
    assert upward == []


def test_no_import_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the trail, 2 done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if target == node:
                continue
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_checker_sees_an_upward_and_a_circular_import(tmp_path: Path) -> None:
    # The test above must be able to fail: a lazy import from the judge up to the record.
    source = "def f():\n    from mlplan._record.journal import Journal\n"
    found = set(_imports(ast.parse(source), "mlplan._judge.verdicts"))
    assert found == {"mlplan._record.journal"}
    assert layer("mlplan._record.journal") > layer("mlplan._judge.verdicts")
    guarded = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mlplan._api\n"
    assert set(_imports(ast.parse(guarded), "mlplan._text")) == set()
