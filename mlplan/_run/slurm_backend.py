"""The Slurm backend of `mlplan run --executor slurm`: the driver's cells as job arrays.

Cells submitted between two of the driver's polls go to Slurm as one job array
(``slurm.submit``, submitit's ``map_array``), each task running the cell's argv on a node and
writing the cell's result file; the task never opens the store (sqlite over a network file
system is unsafe), the driver reads the file and logs it. Every job id is recorded in one
folder under the plan's ``.mlplan/slurm/``, so a driver killed and started again adopts the
jobs still queued or running (and the finished ones whose result it never logged) instead of
submitting their cells again.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlplan._run import slurm
from mlplan._run.backend import Ended
from mlplan._run.local import THREAD_VARIABLES, pythonpath
from mlplan._run.matrix import slot_key
from mlplan._run.slurm import SlurmJob, SlurmResources
from mlplan._run.spec import CellSpec, argv

__all__ = ["SlurmCell", "SlurmExecutor"]

# The result pickles are read every POLL_INTERVAL_S, however often the driver asks: a cell
# that succeeded is logged within that. squeue, which says how the others stand (and costs
# slurmctld and this host a process each time: on a one-node cluster, the cells' own CPU), is
# asked every SQUEUE_INTERVAL_S, which bounds how late a failure is seen.
POLL_INTERVAL_S = 0.25
SQUEUE_INTERVAL_S = 2.0


@dataclass
class SlurmCell:
    """One cell on its way through Slurm; ``job`` is None until its array is submitted."""

    spec: CellSpec
    spec_path: Path
    log: Path
    job: SlurmJob | None = None
    started: float = field(default_factory=time.monotonic)
    timed_out: bool = False
    cancelled: bool = False

    @property
    def tags(self) -> dict[str, str]:
        return {"slurm_job_id": self.job.job_id} if self.job is not None else {}


class SlurmExecutor:
    """Submits cells as job-array tasks, ``jobs`` at most queued or running at a time."""

    def __init__(
        self,
        folder: Path,
        resources: SlurmResources,
        jobs: int,
        grace_s: float = slurm.DEFAULT_GRACE_S,
    ) -> None:
        slurm.check_available()
        self.folder = folder
        self.resources = resources
        self.jobs = max(1, jobs)
        self.grace_s = grace_s
        self.running: list[SlurmCell] = []
        self._waiting: list[SlurmCell] = []  # submitted to us, not yet to Slurm
        self._dropped: list[SlurmCell] = []  # cancelled before Slurm ever saw them
        self._polled = 0.0
        self._asked = 0.0  # when squeue was last asked

    @property
    def free(self) -> int:
        return self.jobs - len(self.running)

    def submit(self, spec_path: Path, spec: CellSpec, log: Path) -> SlurmCell:
        cell = SlurmCell(spec, spec_path, log)
        self.running.append(cell)
        self._waiting.append(cell)
        return cell

    def flush(self) -> list[SlurmCell]:
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return []
        try:
            jobs = slurm.submit(
                [argv(cell.spec_path) for cell in waiting],
                folder=self.folder,
                env=self._environment(),
                resources=self.resources,
                results=[Path(cell.spec.result) for cell in waiting],
                forked=True,
            )
        except BaseException:
            for cell in waiting:
                self.running.remove(cell)
            raise
        for cell, job in zip(waiting, jobs, strict=True):
            cell.job, cell.log = job, job.stderr
        return waiting

    def _environment(self) -> dict[str, str]:
        threads = str(self.resources.cpus)
        return {
            **{name: threads for name in THREAD_VARIABLES if name not in os.environ},
            # The task's mlplan is this one; a cell on a node has no driver process to die with.
            "PYTHONPATH": pythonpath(),
            "PYTHONUNBUFFERED": "1",
            "MLPLAN_DRIVER_PID": "",
        }

    def reattach(self, wanted: Callable[[CellSpec], bool]) -> list[SlurmCell]:
        """The recorded jobs of cells still ``wanted`` that Slurm has queued or running, or
        that finished with their result file: a restarted driver adopts these."""
        candidates: list[tuple[CellSpec, SlurmJob]] = []
        for job in slurm.reattach(self.folder):
            if job.cancelled or len(job.argv) < 1:
                continue
            try:
                spec = CellSpec.read(Path(job.argv[-1]))
            except (OSError, ValueError, TypeError):
                continue  # not a cell of ours, or its folder is gone
            if wanted(spec):
                candidates.append((spec, job))
        adopted: dict[str, SlurmCell] = {}
        statuses = slurm.poll([job for _, job in candidates], grace_s=self.grace_s)
        for (spec, job), status in zip(candidates, statuses, strict=True):
            live = status.state == "running" and status.slurm_state in slurm.ACTIVE
            done = status.state == "done" and Path(spec.result).exists()
            if not (live or done):
                continue
            # The latest job of a cell wins (a later attempt of one that failed before).
            adopted[f"{spec.subject} {slot_key(spec.params)}"] = SlurmCell(
                spec, Path(job.argv[-1]), job.stderr, job=job
            )
        for cell in adopted.values():
            self.running.append(cell)
        return list(adopted.values())

    def poll(self) -> list[Ended]:
        dropped, self._dropped = self._dropped, []
        ended = [Ended(cell, -15, time.monotonic() - cell.started) for cell in dropped]
        now = time.monotonic()
        submitted = [cell for cell in self.running if cell.job is not None]
        if not submitted or now - self._polled < POLL_INTERVAL_S:
            return ended
        self._polled = now
        jobs = [cell.job for cell in submitted if cell.job is not None]
        if now - self._asked >= SQUEUE_INTERVAL_S or any(cell.cancelled for cell in submitted):
            self._asked = now
            statuses = slurm.poll(jobs, grace_s=self.grace_s)
        else:
            statuses = slurm.results(jobs)
        for cell, status in zip(submitted, statuses, strict=True):
            if status.state == "running":
                continue
            self.running.remove(cell)
            if status.state == "done":
                ended.append(Ended(cell, 0, now - cell.started))
                continue
            cell.timed_out = status.slurm_state.startswith("TIMEOUT")
            where = f"Slurm job {status.job.job_id} {status.slurm_state}: {status.reason}"
            ended.append(Ended(cell, 1, now - cell.started, reason=where))
        return ended

    def cancel(self) -> None:
        """scancel every cell's job; cells not yet submitted are dropped."""
        for cell in self._waiting:
            cell.cancelled = True
            self.running.remove(cell)
            self._dropped.append(cell)
        self._waiting = []
        live = [cell for cell in self.running if cell.job is not None and not cell.cancelled]
        for cell in live:
            cell.cancelled = True
        slurm.cancel([cell.job for cell in live if cell.job is not None])

    def kill(self) -> None:
        self.cancel()


def resources(
    settings: object | None, overrides: dict[str, object], timeout: float | None
) -> SlurmResources:
    """The plan's execution.slurm with the command line's values over it; a --timeout in
    seconds becomes the job's time limit when neither gives one."""
    values: dict[str, object] = {}
    if settings is not None:
        for name in ("partition", "time", "cpus", "gpus", "mem"):
            values[name] = getattr(settings, name)
    given = {key: value for key, value in overrides.items() if value is not None}
    values.update(given)
    time_min = values.get("time")
    if "time" not in given and timeout is not None and (settings is None or time_min is None):
        time_min = max(1, math.ceil(timeout / 60))
    return SlurmResources(
        partition=_text(values.get("partition")),
        time_min=int(str(time_min)) if time_min is not None else 60,
        cpus=int(str(values.get("cpus") or 1)),
        gpus=int(str(values.get("gpus") or 0)),
        mem=_text(values.get("mem")),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
