"""The locks mlplan takes, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlplan._files import STORE_DIR

__all__ = ["plan_lock"]


@contextmanager
def plan_lock(target: Path) -> Iterator[None]:
    """Serialise writers of one plan file (two `mlplan decide` at once keep both entries)."""
    from filelock import FileLock

    home = target.parent / STORE_DIR
    home.mkdir(exist_ok=True)
    with FileLock(str(home / f"{target.name}.lock"), timeout=60):
        yield
