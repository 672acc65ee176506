"""What the driver asks of a backend (the local one, Slurm's): start a cell's argv, say when
it ended. A backend never reads a result or touches the store: the driver does both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlplan._run.spec import CellSpec

__all__ = ["Backend", "CellJob", "Ended"]


class CellJob(Protocol):
    """One started cell, as its backend tracks it."""

    spec: CellSpec
    log: Path  # where its output goes: the tail of a failure is read from here
    timed_out: bool
    cancelled: bool  # stopped by the driver (Ctrl-C), not by itself

    @property
    def tags(self) -> dict[str, str]:
        """What the backend adds to the logged run's tags (a Slurm job id), unprefixed."""


@dataclass(frozen=True)
class Ended:
    job: CellJob
    status: int  # the cell process's exit status; -N when a signal N ended it
    seconds: float
    reason: str = ""  # the backend's words for a failure (a Slurm state), when it has them

    @property
    def timed_out(self) -> bool:
        return self.job.timed_out

    @property
    def cancelled(self) -> bool:
        return self.job.cancelled


class Backend(Protocol):
    jobs: int  # cells at a time

    @property
    def running(self) -> Sequence[CellJob]: ...

    @property
    def free(self) -> int: ...

    def submit(self, spec_path: Path, spec: CellSpec, log: Path) -> CellJob: ...

    def flush(self) -> Sequence[CellJob]:
        """The cells submitted since the last flush, now started (Slurm: one job array)."""
        ...

    def poll(self) -> list[Ended]: ...

    def cancel(self) -> None: ...

    def kill(self) -> None: ...
