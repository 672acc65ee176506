"""Every lock mlplan takes, made here and nowhere else.

Three file locks, all under the plan's ``.mlplan`` folder, so they serialise processes as well
as threads. They may only be nested in this order, outermost first:

1. ``plan_lock(target)``: one writer of a plan *file* at a time (``mlplan decide``,
   ``mlplan amend``). Held while the plan's results are read to judge it, so everything below
   may be taken inside it.
2. ``cell_lock(home, slot)``: one process runs a cell of `mlplan run` (a subject's slot) on
   this host at a time. A try-lock by default (a cell locked elsewhere is being run there, so
   the driver defers it, and waits for it only once it has nothing else to do). Held from
   starting the cell's process until its result is logged, so the delivery's locks nest in it.
3. ``submission_lock(home, submission_id)``: one process delivers a given result at a time.
   A try-lock (it never waits: a result locked elsewhere is being delivered there, so it is
   skipped, and ``LockTakenError`` says so). A writer takes it *before* its outbox entry exists,
   so a sync in another process that finds the entry can never take it from under the writer
   (the CI failure of commit 0d23139: 8 parallel writers, one failed to lock its own entry).
4. ``store_lock(home)``: one writer of the embedded store at a time, and its creation (two
   processes creating a new sqlite store at once fail in MLflow's migrations; parallel writers
   meet "database is locked"). It waits up to two minutes, and it is re-entrant through the
   one object a store keeps: writing a run first opens the store, under the same lock.

Besides these, ``job_record_lock(folder)`` guards the Slurm backend's record of submitted job
ids; it is a leaf: held only around rewriting that one file, never with another lock taken
inside it.

Why this order: a lock that waits (plan, store), taken while holding a lock that ranks after
it, could make two processes each wait for what the other holds until the timeout. The store
lock is innermost: it is held only around MLflow calls, never around anything that takes
another lock. A submission lock is held for a whole delivery (outbox entry written, run
written, entry removed), so the store lock is taken inside it; a decision reads its plan's
results, which first delivers what waits, so both are taken inside the plan lock. The
submission lock never waits, so it cannot deadlock; what matters for it is *when* it is taken:
before its outbox entry exists (2. above).

Each lock is named (``ORDER``) and recorded while held, per thread, so a test can check the
order against a real run (tests/test_locks.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from mlplan._files import STORE_DIR
from mlplan.errors import MlplanError, StoreUnreachableError

if TYPE_CHECKING:
    from filelock import FileLock

__all__ = [
    "ORDER",
    "LockTakenError",
    "cell_lock",
    "held",
    "job_record_lock",
    "plan_lock",
    "store_lock",
    "submission_lock",
]

ORDER = ("plan", "cell", "submission", "store")  # outermost first
PLAN_TIMEOUT_S = 60
STORE_TIMEOUT_S = 120

# Called with (lock name, names already held by this thread) before a lock is taken; a test
# sets it to watch the nesting. None in normal use.
observer: Callable[[str, tuple[str, ...]], None] | None = None
_held = threading.local()


class LockTakenError(Exception):
    """A try-lock is held by another process (a result being delivered there)."""


def held() -> tuple[str, ...]:
    """The names of the locks this thread holds, outermost first."""
    stack: list[str] = getattr(_held, "stack", [])
    return tuple(stack)


@contextmanager
def _named(name: str, lock: FileLock, tried: bool = False) -> Iterator[None]:
    """Take ``lock``, recorded as ``name``. A ``tried`` lock that is taken elsewhere raises
    LockTakenError; a lock that waits and times out raises filelock's Timeout, as it always did."""
    from filelock import Timeout

    if observer is not None:
        observer(name, held())
    try:
        lock.acquire()
    except Timeout:
        if not tried:
            raise
        raise LockTakenError(name) from None
    stack: list[str] = _held.__dict__.setdefault("stack", [])
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()
        lock.release()


@contextmanager
def plan_lock(target: Path) -> Iterator[None]:
    """Serialise writers of one plan file (two `mlplan decide` at once keep both entries).

    A folder or lock mlplan cannot make, and a lock held past the timeout, are the user's
    environment: one message (MlplanError), never a traceback (issue 16: a read-only folder,
    a `.mlplan` that is a file, a lock file that is a symlink loop all ended in exit 3)."""
    from filelock import FileLock, Timeout

    home = target.parent / STORE_DIR
    path = home / f"{target.name}.lock"
    with ExitStack() as stack:  # errors of taking the lock only, not of the caller's body
        try:
            _made(home, MlplanError)
            stack.enter_context(_named("plan", FileLock(str(path), timeout=PLAN_TIMEOUT_S)))
        except Timeout:
            raise MlplanError(
                f"another process has held {path} for {PLAN_TIMEOUT_S} s while writing "
                f"{target.name} (a `decide` or `amend` of the same plan); nothing was written. "
                "Run this again once it is done"
            ) from None
        except OSError as error:
            raise MlplanError(_unlockable(path, error)) from None
        yield


def _made(home: Path, kind: type[MlplanError]) -> None:
    """Make the plan's .mlplan folder (or a folder in it) for a lock, or say why it cannot be."""
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        # The first thing on the way that exists: `.mlplan` itself may be the file in the
        # way of `.mlplan/locks` (a message once blamed `locks`).
        found = next((f for f in (home, *home.parents) if f.exists() or f.is_symlink()), home)
        if not found.is_dir():
            raise kind(
                f"{found} is not a folder, but mlplan keeps the plan's store and locks there; "
                "move it away, then run this again"
            ) from None
        raise kind(
            f"could not make {home} ({error.strerror or error}): mlplan keeps the plan's "
            f"store and locks there; make {home.parent} writable"
        ) from None


def _unlockable(path: Path, error: OSError) -> str:
    return (
        f"could not take the lock {path} ({error.strerror or error}); make sure it is a "
        f"regular file in a folder this user can write (remove it if it is a link)"
    )


def cell_lock(home: Path, slot: str, wait: bool = False) -> AbstractContextManager[None]:
    """One driver runs the cell ``slot`` on this host at a time; ``LockTakenError`` at once if
    another does, unless ``wait`` (then it waits as long as that cell runs)."""
    from filelock import FileLock

    folder = home / "locks"
    _made(folder, MlplanError)
    lock = FileLock(str(folder / f"cell-{slot}.lock"), timeout=-1 if wait else 0)
    return _checked(_named("cell", lock, tried=not wait), lock.lock_file, MlplanError)


@contextmanager
def _checked(
    taken: AbstractContextManager[None], path: str, kind: type[MlplanError]
) -> Iterator[None]:
    """``taken``, with an OSError of taking it (a lock file that is a link, a read-only
    folder) told as ``kind``; errors of the body pass through unchanged."""
    with ExitStack() as stack:
        try:
            stack.enter_context(taken)
        except TimeoutError:
            raise  # a store lock that waited too long: the caller's own message (outbox)
        except OSError as error:
            raise kind(_unlockable(Path(path), error)) from None
        yield


def submission_lock(home: Path, submission_id: str) -> AbstractContextManager[None]:
    """One process delivers a result at a time; ``LockTakenError`` at once if another does."""
    from filelock import FileLock

    folder = home / "locks"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return nullcontext()  # no outbox either, then: nothing another process could take
    return _named(
        "submission", FileLock(str(folder / f"{submission_id}.lock"), timeout=0), tried=True
    )


class StoreLock:
    """The embedded store's writer lock. Re-entrant: FileLock counts nested acquisitions of
    the same object, so a store keeps one and enters it as often as it likes."""

    def __init__(self, home: Path) -> None:
        from filelock import FileLock

        # Unreachable, not a bug: what was being written waits in the outbox, or is refused
        # aloud when the outbox cannot be written either.
        _made(home, StoreUnreachableError)
        self._lock = FileLock(str(home / "store.lock"), timeout=STORE_TIMEOUT_S)

    def __call__(self) -> AbstractContextManager[None]:
        return _checked(_named("store", self._lock), self._lock.lock_file, StoreUnreachableError)


def store_lock(home: Path) -> StoreLock:
    """The lock that creating and writing the embedded store in ``home`` take."""
    return StoreLock(home)


def job_record_lock(record: Path) -> AbstractContextManager[None]:
    """Two drivers sharing a Slurm job folder rewrite its record of job ids one at a time (a
    leaf lock: nothing else is taken while it is held)."""
    from filelock import FileLock

    return _named("job record", FileLock(str(record.with_name(f".{record.name}.lock"))))
