"""The command line is a client of the public package: every command is one public call.

Read from the source with ``ast``, as tests/test_layers.py reads layers: every import in
mlplan/_cli counts, function-level and ``if TYPE_CHECKING:`` ones included (an annotation that
needs a private type is a public function returning one). Allowed: the public package
``mlplan`` (names it exports), ``mlplan.errors``, the CLI's own modules, the standard library,
and typer and rich, which draw the terminal.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from helpers import REPO, run

import mlplan

CLI = REPO / "mlplan" / "_cli"
THIRD_PARTY = {"typer", "rich", "click"}


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import in the file."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}:{node.lineno}: a relative import"
            found.append((node.lineno, node.module or "", [a.name for a in node.names]))
    return found


def refused(module: str, names: list[str]) -> list[str]:
    top = module.split(".", maxsplit=1)[0]
    if module == "mlplan":
        return [name for name in names if name not in mlplan.__all__]
    if module == "mlplan.errors" or module.startswith("mlplan._cli"):
        return []
    if top in sys.stdlib_module_names or top in THIRD_PARTY or top == "__future__":
        return []
    return [module]


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda path: path.name)
def test_the_cli_imports_only_the_public_package(path: Path) -> None:
    wrong = [
        f"{path.name}:{line}: {module} {refused(module, names)}"
        for line, module, names in imports(path)
        if refused(module, names)
    ]
    assert not wrong, "the CLI reaches past the public package:\n" + "\n".join(wrong)


def test_the_cli_uses_only_public_names_of_mlplan() -> None:
    """``mlplan._api`` spelled as an attribute would slip past the import check."""
    source = (CLI / "__init__.py").read_text(encoding="utf-8")
    used = {
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "mlplan"
    }
    assert used, "the check found no mlplan.X at all: it reads the wrong file"
    assert used <= {*mlplan.__all__}, used - {*mlplan.__all__}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from mlplan._api import publish", ["mlplan._api"]),
        ("from mlplan import log_result", ["log_result"]),  # deprecated, so not for the CLI
        ("import mlplan._report.status", ["mlplan._report.status"]),
        ("from mlplan import status", []),
        ("from mlplan.errors import UsageError", []),
    ],
)
def test_the_check_refuses_what_it_should(tmp_path: Path, source: str, expected: list[str]) -> None:
    path = tmp_path / "cli.py"
    path.write_text(source + "\n", encoding="utf-8")
    [(_, module, names)] = imports(path)
    assert refused(module, names) == expected


def test_a_library_error_names_parameters_and_the_cli_adds_its_switches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.yaml"  # never read: the call is refused first
    with pytest.raises(mlplan.UsageError) as refusal:
        mlplan.record_result(plan, hypothesis="H1", baseline="B1", metrics={"recall": 0.9})
    assert str(refusal.value) == "give exactly one of a hypothesis or a baseline"
    assert refusal.value.arguments == ("hypothesis", "baseline")
    code, _, err = run(capsys, "log-result", plan, "-H", "H1", "-B", "B1", "-m", "recall=0.9")
    assert code == 2
    assert (
        "give exactly one of a hypothesis or a baseline (-H/--hypothesis H, -B/--baseline B)" in err
    )
