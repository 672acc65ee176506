"""The public API: every exported name resolves, and importing mlplan stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mlplan


@pytest.mark.parametrize("name", mlplan.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(mlplan, name) is not None


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = mlplan.nonsense  # type: ignore[attr-defined]


def test_importing_mlplan_loads_only_what_is_used() -> None:
    probe = "import sys, mlplan; print(sorted(m for m in sys.modules if m.startswith('mlplan')))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['mlplan', 'mlplan.errors']"
