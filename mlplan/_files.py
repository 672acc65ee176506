"""Writing files so that an interruption never leaves a half-written one behind."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mlplan.errors import MlplanError, OutputError

__all__ = [
    "STORE_DIR",
    "ConcurrentEditError",
    "EditRefusedError",
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


def _keep_owner(handle: int, path: Path) -> None:
    """Give the new file the old one's owner and group, as far as this process may.

    A file created by mlplan belongs to whoever runs it: root running `decide` on a plan a team
    shares (nobody:nogroup, 664) would leave it root's, and the team without write access. Root
    may give it any owner; anyone may give it a group they are in, and nothing else (EPERM).
    """
    try:
        old = path.stat()
    except OSError:
        return  # a new name: the creator's owner and group are right
    owner = old.st_uid if os.geteuid() == 0 else -1
    with contextlib.suppress(PermissionError):
        os.fchown(handle, owner, old.st_gid)


def _temporary_copy(path: Path, data: bytes) -> tuple[Path, os.stat_result]:
    """A file beside ``path`` holding ``data`` on disk, with the old file's owner, group and
    mode (or the user's umask); its name and identity."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _new_file_mode(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        _keep_owner(handle, path)
        os.fchmod(handle, mode)  # after fchown, which may clear set-id bits
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            identity = os.fstat(stream.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise
    return Path(temporary), identity


def write_atomically(path: Path, content: str | bytes) -> None:
    """Replace ``path`` with ``content`` in one step: readers see the old file or the new one.

    The new file keeps the old one's permissions, owner and group (as far as this process may:
    _keep_owner), or gets the user's umask (_new_file_mode).
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary, _ = _temporary_copy(path, data)
    try:
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def write_new(path: Path, content: str | bytes) -> None:
    """Create ``path``; fail with FileExistsError rather than overwrite anything (a symbolic
    link included, even one pointing nowhere: O_EXCL does not follow it)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as stream:
        stream.write(data)


# How long a replaced file is watched for writes that were already on their way to it: an
# editor that opened the old file just before the rename writes into it just after.
SETTLE_S = 0.02
_MAX_ROUNDS = 200
# Longer before giving up on a change: the text put back must be the other program's last.
_PUT_BACK_SETTLE_S = 5 * SETTLE_S


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
    mlplan's: whatever they write to the old file between our read and our rename lands in a
    file no name points to any more, and so does a write from a program that opened the old
    file just before the rename. So the old file stays open across the rename and is read
    again afterwards, until it stops changing (_carry_late_writes): what was appended to it is
    appended to the new file; a text rewritten in place gets the change again (or, if the
    change no longer applies to it, is put back under the name and EditRefusedError says so).
    Making the change again for every append would take as long as the first time, during
    which a busy writer appends again: it would never end.

    A file replaced by another (an editor saving by rename) before ours is renamed over it is
    read and changed again: the name is checked just before the rename (_replace_if_still).
    What POSIX leaves open is the moment between that check and the rename (two system calls,
    microseconds): a save by rename landing exactly there is replaced by ours. Closing it needs
    an atomic compare-and-rename, which POSIX lacks (Linux's renameat2 RENAME_EXCHANGE would
    do). A save by rename just after ours is the other program's to make: it is kept, and
    ConcurrentEditError says the entry may be missing. Returns the bytes the change wrote.
    """
    for _ in range(_MAX_ROUNDS):
        with path.open("rb") as old:
            current = old.read()
            new = change(current)
            ours = _replace_if_still(path, new, os.fstat(old.fileno()))
            if ours is None:
                continue  # replaced meanwhile (an editor saving by rename): start from that
            return _carry_late_writes(path, old, _Written(current, new, new, ours), change)
    raise ConcurrentEditError(f"{path} kept being replaced while mlplan was writing it")


class EditRefusedError(MlplanError):
    """Another program rewrote the file meanwhile and the change no longer applies to its
    text: that text was put back and nothing of mlplan's was written."""


def _replace_if_still(path: Path, data: bytes, expected: os.stat_result) -> os.stat_result | None:
    """Rename a file holding ``data`` over ``path`` if ``path`` is still the file ``expected``;
    the identity of the new file, or None (nothing replaced) if another took the name."""
    temporary, identity = _temporary_copy(path, data)  # the fsync: the longest step
    try:
        if not _same_identity(path, expected):
            temporary.unlink()
            return None
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    if not _same_identity(path, identity):
        raise ConcurrentEditError(
            f"{path} was replaced by another program right after mlplan wrote it"
        )
    return identity


def _same_identity(path: Path, expected: os.stat_result) -> bool:
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (expected.st_dev, expected.st_ino)


@dataclass
class _Written:
    """Where a rewrite stands: the old file's text the change was made on, the change's
    result, what the new file holds (the result and what was carried over since), and the new
    file's identity."""

    base: bytes
    changed: bytes
    holds: bytes
    identity: os.stat_result


def _carry_late_writes(
    path: Path, old: BinaryIO, written: _Written, change: Callable[[bytes], bytes]
) -> bytes:
    """Bring to ``path`` whatever reached the replaced file ``old`` after its text was read,
    until it stops changing; the change's last result."""
    for _ in range(_MAX_ROUNDS):
        time.sleep(SETTLE_S)
        now = _whole(old)
        if now == written.base:
            return written.changed
        if now.startswith(written.base):
            late = now[len(written.base) :]
            with path.open("ab") as stream:
                stream.write(late)
            written = _Written(now, written.changed, written.holds + late, written.identity)
        elif now == _whole(old, after=SETTLE_S):  # rewritten in place, and done writing
            written = _change_again(path, old, now, written, change)
    raise ConcurrentEditError(f"{path} kept changing while mlplan was writing it")


def _whole(stream: BinaryIO, after: float = 0.0) -> bytes:
    time.sleep(after)
    stream.seek(0)
    return stream.read()


def _change_again(
    path: Path, old: BinaryIO, text: bytes, written: _Written, change: Callable[[bytes], bytes]
) -> _Written:
    """Make the change again on ``text``, which another program wrote in place into the file
    mlplan replaced, and write it under the name; if the change fails on it, put ``text``
    under the name (nobody's edit is lost; the entry is not written) and refuse."""
    if not _still_holds(path, written):
        raise ConcurrentEditError(
            f"{path} was rewritten by one program and replaced by another while mlplan wrote it"
        )
    try:
        changed = change(text)
    except BaseException as error:
        _put_back(path, text, written, old)
        if not isinstance(error, Exception):
            raise  # interrupted: the other program's text is back, nothing of ours is
        # Any failure counts: the change worked on the text it was made for, so what fails
        # is the other program's text (half a plan, say), not mlplan.
        reason = str(error) if isinstance(error, MlplanError) else _first_line(error)
        raise EditRefusedError(
            f"{path} was rewritten by another program while mlplan wrote it, and the entry "
            f"does not fit its new text ({reason}). Its text was put back and nothing was "
            "written: check the plan and run this again"
        ) from None
    identity = _replace_if_still(path, changed, written.identity)
    if identity is None:
        raise ConcurrentEditError(f"{path} was replaced by another program meanwhile")
    return _Written(text, changed, changed, identity)


def _first_line(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def _still_holds(path: Path, written: _Written) -> bool:
    try:
        return _same_identity(path, written.identity) and path.read_bytes() == written.holds
    except OSError:
        return False


def _put_back(path: Path, text: bytes, written: _Written, old: BinaryIO) -> None:
    """Put ``text`` (what another program wrote in place into ``old``) under the name, and
    again whatever it writes there next, until it has written nothing for a while: a slow
    editor may have truncated the file and not yet written the rest."""
    identity = written.identity
    for _ in range(_MAX_ROUNDS):
        identity_now = _replace_if_still(path, text, identity)
        if identity_now is None:
            raise ConcurrentEditError(f"{path} was replaced by another program meanwhile")
        identity = identity_now
        later = _whole(old, after=_PUT_BACK_SETTLE_S)
        if later == text:
            return
        text = later
    raise ConcurrentEditError(f"{path} kept changing while mlplan was putting its text back")
