"""Writing files so that an interruption never leaves a half-written one behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically", "write_new"]


def write_atomically(path: Path, content: str | bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``content`` in one step: readers see the old file or the new one.

    ``mode`` sets the new file's permissions (a temporary file starts as 0600).
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise


def write_new(path: Path, content: str) -> None:
    """Create ``path``; fail with FileExistsError rather than overwrite anything."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as stream:
        stream.write(content)
