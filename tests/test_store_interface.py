"""The store is one narrow interface: mlplan's own code asks a store only for what the Store
protocol offers, MlflowStore provides it, and only the store package imports MLflow."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from helpers import REPO, MakePlan

from mlplan._plan.load import load_plan
from mlplan._record.location import locate_store
from mlplan._record.store import MlflowStore, Store, open_store

PACKAGE = REPO / "mlplan"
STORE_PACKAGE = PACKAGE / "_record" / "store"


def _protocol_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(Store) if not name.startswith("_")}


def test_the_factory_returns_a_store(make_plan: MakePlan) -> None:
    plan = make_plan()
    store: Store = open_store(load_plan(plan).plan, locate_store(plan))  # mypy checks this
    assert isinstance(store, Store)
    assert isinstance(store, MlflowStore)
    assert _protocol_methods() <= set(dir(MlflowStore))


def _modules_outside_the_store() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if not p.is_relative_to(STORE_PACKAGE)]


def test_mlplans_code_asks_a_store_only_for_what_the_protocol_offers() -> None:
    """Every ``<x>.store.<name>`` or ``store.<name>`` outside the store package."""
    asked: dict[str, str] = {}
    for path in _modules_outside_the_store():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            named_store = (isinstance(owner, ast.Name) and owner.id == "store") or (
                isinstance(owner, ast.Attribute) and owner.attr == "store"
            )
            if named_store:
                asked[node.attr] = f"{path.relative_to(REPO)}:{node.lineno}"
    beyond = {name: where for name, where in asked.items() if name not in _protocol_methods()}
    assert beyond == {}
    assert asked  # the scan found the journal's calls


def test_only_the_store_package_imports_mlflow() -> None:
    importers = []
    for path in _modules_outside_the_store():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if isinstance(node, ast.stmt) and any(
                name.split(".")[0] in ("mlflow", "sqlalchemy") for name in names
            ):
                importers.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert importers == []
