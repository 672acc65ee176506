"""Writing files so that an interruption never leaves a half-written one behind."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from mlplan.errors import OutputError

__all__ = [
    "STORE_DIR",
    "check_rewritable",
    "rewrite_keeping_edits",
    "write_atomically",
    "write_new",
    "write_output",
]


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


def write_atomically(path: Path, content: str | bytes) -> None:
    """Replace ``path`` with ``content`` in one step: readers see the old file or the new one.

    The new file keeps the old one's permissions, or gets the user's umask (_new_file_mode).
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


# How long a replaced file is watched for writes that were already on their way to it: an
# editor that opened the old file just before the rename writes into it just after.
SETTLE_S = 0.02
_MAX_ROUNDS = 200


class ConcurrentEditError(OSError):
    """The file was rewritten (not appended to) by someone else while mlplan replaced it."""


def check_rewritable(path: Path) -> None:
    """Raise OutputError unless mlplan may replace ``path`` (a plan file) by a new one.

    A file without its owner's write permission is refused (the permission bits are read, not
    ``os.access``: root may write anything, yet a read-only plan says "do not edit"). A file
    with several hard links is refused too: replacing it would leave the other names holding
    the old text, silently, and writing in place would lose the atomic write that keeps an
    interrupted `decide` from leaving half a plan behind.
    """
    info = path.stat()
    if not info.st_mode & stat.S_IWUSR:
        raise OutputError(
            f"{path} is read-only; mlplan leaves it as it is. Make it writable "
            f"(chmod u+w {path}) to record the entry, or add it by hand"
        )
    if info.st_nlink > 1:
        raise OutputError(
            f"{path} has {info.st_nlink} hard links; replacing it would cut it off from the "
            "others, which would keep the old text. Record the entry through a plan file "
            "with one link (a symbolic link is fine), or add it by hand"
        )


def rewrite_keeping_edits(path: Path, change: Callable[[bytes], bytes]) -> bytes:
    """Replace ``path`` by ``change(its bytes)`` without losing another process's edits.

    Someone else's writes (an editor saving, a script appending) are not serialised with
    mlplan's: whatever they append to the old file between our read and our rename lands in a
    file no name points to any more, and so does a write from a program that opened the old
    file just before the rename. So the old file stays open across the rename and is read
    again afterwards, until it stops growing: what reached it late is appended to the new file
    (as it was appended to the old one). Making the change again would take as long as the
    first time, during which a busy writer appends again: it would never end. A file replaced
    by another (an editor saving by rename) before ours is written is read and changed again;
    a file changed in place other than by appending is an error. Returns the bytes the change
    wrote.
    """
    for _ in range(_MAX_ROUNDS):
        with path.open("rb") as old:
            current = old.read()
            new = change(current)
            if not _same_inode(path, old.fileno()):
                continue  # replaced meanwhile (an editor saving by rename): start from that
            write_atomically(path, new)  # the same inode, so the same mode (_new_file_mode)
            return _carry_late_writes(path, old, current, new)
    raise ConcurrentEditError(f"{path} kept being replaced while mlplan was writing it")


def _same_inode(path: Path, descriptor: int) -> bool:
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    then = os.fstat(descriptor)
    return (now.st_dev, now.st_ino) == (then.st_dev, then.st_ino)


def _carry_late_writes(path: Path, old: BinaryIO, current: bytes, new: bytes) -> bytes:
    """Append to ``path`` whatever reached the replaced file ``old`` after ``current`` was
    read, until it stops growing."""
    for _ in range(_MAX_ROUNDS):
        time.sleep(SETTLE_S)
        late = old.read()  # from where the last read stopped: what arrived since
        if os.pread(old.fileno(), len(current), 0) != current:
            raise ConcurrentEditError(f"{path} was rewritten by another program meanwhile")
        if not late:
            return new
        current += late
        with path.open("ab") as now:
            now.write(late)
    raise ConcurrentEditError(f"{path} kept growing while mlplan was writing it")
