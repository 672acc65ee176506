"""Where mlplan's bundled files are: inside the installed package, or in the source checkout.

A wheel carries ``templates/`` and the example plans under ``mlplan/_data`` (see
pyproject.toml); an editable install or a checkout reads them from the repository's top level.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["example_names", "example_plan", "templates_dir"]

_CHECKOUT = Path(__file__).resolve().parent.parent


@cache
def _data_dir() -> Path | None:
    bundled = Path(str(resources.files("mlplan"))) / "_data"
    return bundled if bundled.is_dir() else None


def templates_dir() -> Path:
    data = _data_dir()
    return data / "templates" if data is not None else _CHECKOUT / "templates"


def _examples_dir() -> Path:
    data = _data_dir()
    return data / "examples" if data is not None else _CHECKOUT / "examples"


def example_names() -> list[str]:
    root = _examples_dir()
    if not root.is_dir():
        return []
    return sorted(child.name for child in root.iterdir() if (child / "plan.yaml").is_file())


def example_plan(name: str) -> Path:
    return _examples_dir() / name / "plan.yaml"
