"""Writing files so that an interruption never leaves a half-written one behind."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mlplan.errors import OutputError

__all__ = ["STORE_DIR", "write_atomically", "write_new", "write_output"]


# The folder beside a plan that holds mlplan's own state: the embedded store, the outbox,
# the local copy of results and the locks.
STORE_DIR = ".mlplan"


def write_output(path: Path, content: str, *, protect: Sequence[Path] = ()) -> None:
    """Write a file the user named, atomically, after checking it is safe to replace.

    Writing is a rename over the old file, so a device (``-o /dev/null``), a symlink or the
    plan being read would be replaced, not written to: each is refused with a message instead.
    """
    check_output(path, protect)
    try:
        write_atomically(path, content)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None


def check_output(path: Path, protect: Sequence[Path] = ()) -> None:
    """Raise OutputError unless ``path`` is a new name or an ordinary file mlplan may replace."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise OutputError(
            f"{path} is a symbolic link (to {path.readlink()}); mlplan replaces files whole "
            "and would replace the link, not write to its target: name the target itself"
        )
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise OutputError(f"{path} is {kind}; give the name of a file to write")
    for protected in protect:
        if _same_file(path, protected):
            raise OutputError(
                f"{path} is the plan being read ({protected}); writing there would replace "
                "it: choose another output name"
            )


def _same_file(path: Path, other: Path) -> bool:
    try:
        return path.resolve() == other.resolve() or path.samefile(other)
    except OSError:
        return False


def _new_file_mode(path: Path) -> int:
    # mkstemp creates 0600; the file should look like any other the user creates (their umask),
    # or keep the mode it had.
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: Path, content: str | bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``content`` in one step: readers see the old file or the new one.

    ``mode`` sets the new file's permissions (a temporary file starts as 0600).
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _new_file_mode(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, mode)
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
