"""The local backend: each cell a fresh process on this host, at most ``jobs`` at a time.

A process pool cannot give what a fresh process per cell gives: a cell's ``os._exit``,
``chdir``, fork or crash ends or changes that process only. Each cell starts in a session of
its own (so the terminal's Ctrl-C reaches the driver alone, and a timeout or a cancel kills
the cell with whatever it forked) and writes stdout and stderr to its log file (so a flood
fills a file, not the driver's memory, and a forked child holding the stream open blocks no
one).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlplan._run.backend import Ended
from mlplan._run.spec import CellSpec, argv
from mlplan.errors import BaselineError

__all__ = [
    "THREAD_VARIABLES",
    "Ended",
    "Job",
    "LocalExecutor",
    "cores",
    "pythonpath",
    "tail",
    "visible_gpus",
]

# Every BLAS and OpenMP runtime's thread count: j cells share the cores instead of each
# starting one thread per core (j × cores threads thrash).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
GRACE_S = 2.0  # between SIGTERM and SIGKILL when a cell is stopped
TAIL_BYTES = 2000


def cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)


def visible_gpus() -> list[str]:
    """The GPUs cells may use: CUDA_VISIBLE_DEVICES if set, else those nvidia-smi lists."""
    declared = os.environ.get("CUDA_VISIBLE_DEVICES")
    if declared is not None:
        return [device.strip() for device in declared.split(",") if device.strip()]
    try:
        listed = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(index) for index, line in enumerate(listed.splitlines()) if line.startswith("GPU")]


def tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The end of a log, however large the log (a 50 MB flood is not read whole)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return ("…" if size > limit else "") + text.strip()


@dataclass
class Job:
    spec: CellSpec
    log: Path
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)
    stopping_since: float | None = None
    timed_out: bool = False
    cancelled: bool = False
    devices: list[str] = field(default_factory=list)  # its CUDA_VISIBLE_DEVICES

    @property
    def tags(self) -> dict[str, str]:
        return {}


def pythonpath() -> str:
    # The cell must import this very mlplan, not another one installed in the environment.
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([here, *([rest] if rest else [])])


class LocalExecutor:
    """Starts cells as processes and reports them as they end."""

    def __init__(self, jobs: int, timeout: float | None = None, gpus: int = 0) -> None:
        self.gpus = gpus
        self.free_devices = visible_gpus() if gpus else []
        if gpus and len(self.free_devices) < gpus:
            raise BaselineError(
                f"each cell needs {gpus} GPU(s) (experiment.execution.gpus) but "
                f"{len(self.free_devices)} are visible (CUDA_VISIBLE_DEVICES or nvidia-smi -L)"
            )
        self.jobs = max(1, min(jobs, len(self.free_devices) // gpus) if gpus else jobs)
        self.timeout = timeout
        self.running: list[Job] = []
        self._started: list[Job] = []
        threads = str(max(1, cores() // self.jobs))
        self._environment = {
            **{name: threads for name in THREAD_VARIABLES if name not in os.environ},
            "MLPLAN_DRIVER_PID": str(os.getpid()),
            "PYTHONPATH": pythonpath(),
            "PYTHONUNBUFFERED": "1",  # the log's tail shows the last line printed
        }

    @property
    def free(self) -> int:
        return self.jobs - len(self.running)

    def submit(self, spec_path: Path, spec: CellSpec, log: Path) -> Job:
        environment = {**os.environ, **self._environment, **spec.environment()}
        devices = self.free_devices[: self.gpus]
        del self.free_devices[: self.gpus]
        if self.gpus:
            environment["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
        with log.open("wb") as output:
            process = subprocess.Popen(
                argv(spec_path),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=Path(spec.plan).parent,
                start_new_session=True,
            )
        job = Job(spec, log, process, devices=devices)
        self.running.append(job)
        self._started.append(job)
        return job

    def flush(self) -> list[Job]:
        """The cells started since the last flush (each started as it was submitted)."""
        started, self._started = self._started, []
        return started

    def poll(self) -> list[Ended]:
        """The cells that ended since the last poll; cells past the timeout are stopped."""
        ended = []
        now = time.monotonic()
        for job in list(self.running):
            status = job.process.poll()
            if status is None:
                self._enforce(job, now)
                continue
            _kill_group(job.process.pid, signal.SIGKILL)  # what it forked and left behind
            self.running.remove(job)
            self.free_devices += job.devices  # the next cell may have them
            ended.append(Ended(job, status, now - job.started))
        return ended

    def _enforce(self, job: Job, now: float) -> None:
        if job.stopping_since is not None:
            if now - job.stopping_since > GRACE_S:
                _kill_group(job.process.pid, signal.SIGKILL)
            return
        if self.timeout is not None and now - job.started > self.timeout:
            job.timed_out = True
            self._stop(job, now)

    def _stop(self, job: Job, now: float) -> None:
        job.stopping_since = now
        _kill_group(job.process.pid, signal.SIGTERM)

    def cancel(self) -> None:
        """Stop every running cell (SIGTERM, then SIGKILL after a grace period)."""
        now = time.monotonic()
        for job in self.running:
            if job.stopping_since is None:
                job.cancelled = True
                self._stop(job, now)

    def kill(self) -> None:
        for job in self.running:
            job.cancelled = True
            _kill_group(job.process.pid, signal.SIGKILL)


def _kill_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
