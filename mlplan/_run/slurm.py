"""The Slurm backend: cells as job-array tasks, submitted through submitit.

A cell is ``[sys.executable, "-m", "mlplan._run.cell", SPEC]``, which writes its result JSON
where its spec says. On Slurm each cell is one task of a job array (``submitit``'s
``map_array``, as Hydra's Slurm launcher does it): the task runs the argv on the node as a child
process (``mlplan run``'s cells in a fork of the task, which saves a fresh interpreter) and
never touches the store; the driver reads the result files.

The driver may die at any moment, so every job id is recorded in ``FOLDER/jobs.json`` as soon
as sbatch returns it, and ``reattach(FOLDER)`` gives back every job recorded there: a restarted
driver polls those instead of submitting them again. A submission cut short between sbatch and
the record is found again by the batch token it carries in its Slurm comment.

Whether a job is done is read without ``sacct`` (many test and small clusters run without
accounting, and submitit then cannot read a dead job's state): submitit's result pickle says how
the task ended; ``squeue --states=all`` says whether it is still queued or running, or how
Slurm ended it (CANCELLED, TIMEOUT, OUT_OF_MEMORY, ...) while slurmctld remembers it
(``MinJobAge``); a job that has left ``squeue`` with no pickle is looked up in ``sacct`` when
accounting answers, and is failed after a grace period otherwise. So a job that dies without
its result is reported failed within one poll of Slurm noticing, or ``grace_s`` at most.

submitit is imported only here, and only when a function needs it: ``pip install
'mlplan[slurm]'``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlplan.errors import MlplanError

__all__ = [
    "JobStatus",
    "SlurmError",
    "SlurmJob",
    "SlurmResources",
    "SlurmUnavailable",
    "cancel",
    "poll",
    "reattach",
    "results",
    "submit",
    "wait",
]

RECORD = "jobs.json"
INSTALL_HINT = "pip install 'mlplan[slurm]'"
LOCAL_HINT = "run on a Slurm login node, or use --executor local"
COMMAND_TIMEOUT_S = 60  # a busy controller answers slowly; a dead one must not hang the driver
# Slurm job states (squeue/sacct, long form). Anything else counts as still live.
ACTIVE = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}
    | {"REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"}
)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
DEFAULT_GRACE_S = 30.0  # a result pickle written on the node may take a while to show over NFS
State = Literal["done", "failed", "running"]


class SlurmError(MlplanError):
    """Slurm refused or failed a request (a bad partition, an unparseable answer, ...)."""


class SlurmUnavailable(SlurmError):  # noqa: N818 (the name the issue and callers use)
    """There is no usable Slurm cluster here: no sbatch, no configuration, or no controller."""


@dataclass(frozen=True)
class SlurmResources:
    """What each cell's job asks Slurm for (``execution:`` in the plan, or the command line)."""

    partition: str | None = None
    time_min: int = 60
    cpus: int = 1
    gpus: int = 0
    mem_gb: float | None = None
    job_name: str = "mlplan"
    mem: str | None = None  # as sbatch --mem writes it (4G, 500M); wins over mem_gb

    def parameters(self, comment: str) -> dict[str, Any]:
        """submitit's SlurmExecutor parameters; unset ones keep the cluster's defaults."""
        params: dict[str, Any] = {
            "time": self.time_min,
            "cpus_per_task": self.cpus,
            "job_name": self.job_name,
            "comment": comment,
        }
        if self.partition:
            params["partition"] = self.partition
        if self.gpus:
            params["gpus_per_node"] = self.gpus
        if self.mem is not None:
            params["mem"] = self.mem
        elif self.mem_gb is not None:
            params["mem"] = f"{max(1, round(self.mem_gb * 1024))}M"  # sbatch takes whole units
        return params


@dataclass
class SlurmJob:
    """One submitted cell: its Slurm id (``123_4`` in an array, ``123`` alone), argv, files."""

    job_id: str
    argv: list[str]
    folder: Path
    result: Path | None = None
    cancelled: bool = False  # by this backend's cancel()
    # When this driver first saw the job finished without a result pickle (for the grace).
    unsettled_since: float | None = field(default=None, compare=False, repr=False)

    def _file(self, suffix: str) -> Path:
        # submitit's JobPaths naming: %j_%t_<suffix>; one task per job.
        return self.folder / f"{self.job_id}_0_{suffix}"

    @property
    def stdout(self) -> Path:
        return self._file("log.out")

    @property
    def stderr(self) -> Path:
        return self._file("log.err")

    @property
    def result_pickle(self) -> Path:
        return self._file("result.pkl")

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "argv": self.argv,
            "result": None if self.result is None else str(self.result),
            "cancelled": self.cancelled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], folder: Path) -> SlurmJob:
        result = data.get("result")
        return cls(
            job_id=str(data["job_id"]),
            argv=[str(arg) for arg in data["argv"]],
            folder=folder,
            result=None if result is None else Path(result),
            cancelled=bool(data.get("cancelled", False)),
        )


@dataclass(frozen=True)
class JobStatus:
    """Where one job stands: ``state`` is ours, ``slurm_state`` Slurm's, ``reason`` why."""

    job: SlurmJob
    state: State
    slurm_state: str = ""
    reason: str = ""


# -- on the node ------------------------------------------------------------------------------


class CellFailedError(RuntimeError):
    """Raised on the node so Slurm records the job as FAILED and submitit pickles why."""


def run_cell(argv: list[str], env: dict[str, str], result: str | None) -> int:
    """Run one cell as a child process on the node (what each array task executes).

    The cell inherits the task's stdout and stderr (submitit's log files). A cell that exits
    non-zero, or exits 0 without writing its result, fails the task: checked here, on the node
    that wrote the file, so a network file system's lag cannot make it look missing.
    """
    code = subprocess.run(argv, env={**os.environ, **env}, check=False).returncode
    return _judged(code, result)


def _judged(code: int, result: str | None) -> int:
    """A cell's exit status and result file as the task's verdict: raises unless both are
    good, so the job ends FAILED with the reason in its pickle."""
    if code == -signal.SIGUSR2:
        # Slurm's warning before the time limit (submitit asks for USR2, 90 s ahead): it
        # reaches every process of the step, and a cell keeps the default action for it.
        raise CellFailedError("the cell reached the job's time limit (Slurm's warning, USR2)")
    if code < 0:
        raise CellFailedError(f"the cell was killed by signal {-code}")
    if code:
        raise CellFailedError(f"the cell exited with status {code}")
    if result is not None and not Path(result).exists():
        raise CellFailedError(f"the cell exited 0 without writing its result {result}")
    return code


def run_cell_forked(argv: list[str], env: dict[str, str], result: str | None) -> int:
    """Run one ``python -m mlplan._run.cell SPEC`` in a fork of this task (what each array
    task of ``mlplan run`` executes).

    The task is already a fresh process of its own, so the cell needs no fresh interpreter
    (its start and imports were a third of a trivial cell's time on the node): the task forks,
    the child runs the cell as ``mlplan._run.cell`` would, and this process judges how it ended
    as ``run_cell`` does. The fork keeps what a cell does to its process (``os._exit``, a
    crash, a ``chdir``) from taking the task's own verdict, its result pickle, with it.
    """
    if argv[1:3] != ["-m", "mlplan._run.cell"] or len(argv) != 4:
        return run_cell(argv, env, result)
    from mlplan._run import cell  # imported before the fork: the child starts with it

    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # or the child would print the task's buffered output a second time
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child leaves by os._exit; its work is checked)
        os._exit(_forked_child(cell.main, argv[3], env))
    _, status = os.waitpid(pid, 0)
    return _judged(os.waitstatus_to_exitcode(status), result)


def _forked_child(main: Any, spec_path: str, env: dict[str, str]) -> int:
    """The cell's side of the fork: the signals a fresh interpreter would have, then the cell."""
    code = 70
    try:
        # submitit's handlers (SIGTERM and SIGCONT ignored, SIGUSR2 requeues) belong to the
        # task: scancel and the time limit must end the cell as they ended a child Python.
        for number in (signal.SIGTERM, signal.SIGCONT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(number, signal.SIG_DFL)
        _die_with_parent()
        os.environ.update(env)
        code = int(main([spec_path]))
    except SystemExit as error:
        code = 0 if error.code is None else error.code if isinstance(error.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


def _die_with_parent() -> None:
    # The task killed outright (SIGKILL at the end of KillWait) takes its cell with it.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# -- submitting -------------------------------------------------------------------------------


def submit(
    argvs: Sequence[Sequence[str]],
    *,
    folder: Path,
    env: Mapping[str, str],
    resources: SlurmResources,
    results: Sequence[Path] | None = None,
    forked: bool = False,
) -> list[SlurmJob]:
    """Submit one job-array task per argv; record every job id in ``folder`` before returning.

    ``results``, one per argv, names the file each cell must write: a cell that exits 0
    without it is failed. ``env`` is added to each cell's environment (on top of the driver's,
    which sbatch passes on). ``forked`` runs argvs of ``python -m mlplan._run.cell SPEC`` in a
    fork of the task rather than a fresh interpreter (``run_cell_forked``). Raises
    SlurmUnavailable when there is no cluster to submit to.
    """
    if results is not None and len(results) != len(argvs):
        raise ValueError("submit: one result path per argv")
    if not argvs:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    executor = _executor(folder)
    token = uuid.uuid4().hex
    paths: list[str | None] = (
        [None] * len(argvs) if results is None else [str(path) for path in results]
    )
    lists = [[str(arg) for arg in argv] for argv in argvs]
    # The intent first: if the driver dies before the ids are recorded, reattach finds the
    # batch again by the token in its comment instead of letting it be submitted twice.
    _update_record(folder, pending={token: {"argvs": lists, "results": paths}})
    executor.update_parameters(**resources.parameters(comment=_comment(token)))
    try:
        function = run_cell_forked if forked else run_cell
        submitted = executor.map_array(function, lists, [dict(env)] * len(lists), paths)
    except Exception as error:  # submitit raises bare RuntimeErrors carrying sbatch's stderr
        _update_record(folder, settled=token)
        raise _submit_error(error) from error
    jobs = [
        SlurmJob(str(job.job_id), argv, folder, None if path is None else Path(path))
        for job, argv, path in zip(submitted, lists, paths, strict=True)
    ]
    _update_record(folder, jobs=jobs, settled=token)
    return jobs


def _executor(folder: Path) -> Any:
    try:
        import submitit
    except ImportError as error:
        raise SlurmUnavailable(
            f"--executor slurm needs submitit, which is not installed: {INSTALL_HINT}"
        ) from error
    check_available()
    return submitit.SlurmExecutor(folder=folder, python=sys.executable)


def check_available() -> None:
    """Raise SlurmUnavailable unless Slurm's commands are here (the controller is asked later:
    sbatch's own failure says best what is wrong with it)."""
    missing = [name for name in ("sbatch", "squeue", "scancel", "srun") if not shutil.which(name)]
    if missing:
        raise SlurmUnavailable(
            f"Slurm is not available here: {', '.join(missing)} not found on PATH; {LOCAL_HINT}"
        )
    # Checked here because sbatch, given a missing file, falls back to DNS lookups for a
    # configless cluster and takes a minute to say so.
    conf = os.environ.get("SLURM_CONF")
    if conf and not Path(conf).is_file():
        raise SlurmUnavailable(
            f"Slurm is not available here: SLURM_CONF names {conf}, which does not exist; "
            f"point it at the cluster's slurm.conf, or {LOCAL_HINT}"
        )


def _submit_error(error: Exception) -> SlurmError:
    text = " ".join(str(error).split())
    unreachable = (
        "configuration source",
        "contact slurm controller",
        "connect failure",
        "Unable to contact",
        "slurm.conf",
        "Connection refused",
        "Zero Bytes were transmitted",
        "munge",
    )
    if any(marker.lower() in text.lower() for marker in unreachable):
        return SlurmUnavailable(
            f"Slurm is not available here: sbatch could not reach a cluster ({_tail(text)}); "
            f"check SLURM_CONF and that slurmctld is up (`scontrol ping`), or {LOCAL_HINT}"
        )
    return SlurmError(f"Slurm refused the submission: {_tail(text)}")


def _tail(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


def _comment(token: str) -> str:
    return f"mlplan-batch={token}"


# -- the record -------------------------------------------------------------------------------


def _read_record(folder: Path) -> dict[str, Any]:
    path = folder / RECORD
    if not path.exists():
        return {"version": 1, "jobs": [], "pending": {}}
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SlurmError(f"{path}: unreadable record of submitted jobs ({error})") from error
    return data


def _update_record(
    folder: Path,
    *,
    jobs: Sequence[SlurmJob] = (),
    pending: Mapping[str, Any] | None = None,
    settled: str | None = None,
    cancelled: Sequence[str] = (),
) -> None:
    """Add jobs and submission intents to the record, atomically and durably (fsync, rename),
    under a lock so two drivers sharing a folder cannot lose each other's ids."""
    from mlplan._record.locks import job_record_lock

    with job_record_lock(folder / RECORD):
        _rewrite_record(folder, jobs, pending, settled, cancelled)


def _rewrite_record(
    folder: Path,
    jobs: Sequence[SlurmJob],
    pending: Mapping[str, Any] | None,
    settled: str | None,
    cancelled: Sequence[str],
) -> None:
    record = _read_record(folder)
    record["jobs"] = [*record["jobs"], *(job.to_dict() for job in jobs)]
    for entry in record["jobs"]:
        if entry["job_id"] in cancelled:
            entry["cancelled"] = True
    record["pending"] = {**record["pending"], **(pending or {})}
    if settled is not None:
        record["pending"].pop(settled, None)
    path = folder / RECORD
    partial = path.with_name(f".{RECORD}.{os.getpid()}.tmp")
    with partial.open("w", encoding="utf-8") as stream:
        json.dump(record, stream, indent=1)
        stream.flush()
        os.fsync(stream.fileno())
    partial.replace(path)


def reattach(folder: Path) -> list[SlurmJob]:
    """Every job recorded in ``folder``, for a restarted driver to poll instead of resubmit.

    A submission interrupted before its ids were recorded is looked up by its batch token; its
    jobs are recorded now. One that Slurm never took leaves nothing, so its cells are
    submitted again by whoever finds them without a result."""
    record = _read_record(folder)
    for token, intent in dict(record["pending"]).items():
        ids = _ids_by_comment(_comment(token))
        found = [
            SlurmJob(job_id, argv, folder, None if path is None else Path(path))
            for job_id, argv, path in _match_tasks(ids, intent["argvs"], intent["results"])
        ]
        _update_record(folder, jobs=found, settled=token)
    return [SlurmJob.from_dict(data, folder) for data in _read_record(folder)["jobs"]]


def _ids_by_comment(comment: str) -> list[str]:
    lines = _squeue(["--user", str(os.getuid()), "--format=%i|%k"])
    return [line.split("|")[0] for line in lines if line.partition("|")[2].strip() == comment]


def _match_tasks(
    ids: list[str], argvs: list[list[str]], results: list[str | None]
) -> list[tuple[str, list[str], str | None]]:
    # An array of n tasks is 123_0 … 123_(n-1) in argv order; a single job is plain 123.
    by_task: dict[int, str] = {}
    for job_id in ids:
        _, _, task = job_id.partition("_")
        by_task[int(task) if task.isdigit() else 0] = job_id
    return [(by_task[i], argvs[i], results[i]) for i in sorted(by_task) if i < len(argvs)]


# -- watching ---------------------------------------------------------------------------------


def poll(jobs: Sequence[SlurmJob], *, grace_s: float = DEFAULT_GRACE_S) -> list[JobStatus]:
    """Where each job stands now: one squeue call for all of them, then their pickles."""
    states = _slurm_states([job.job_id for job in jobs])
    return [_status(job, states.get(job.job_id), grace_s) for job in jobs]


def results(jobs: Sequence[SlurmJob]) -> list[JobStatus]:
    """Where each job stands by its result pickle alone, without asking Slurm: done where the
    task pickled its success, running otherwise (a failure waits for ``poll``, which needs
    Slurm's word on how the job ended). A file read per job: cheap enough to ask often."""
    statuses: list[JobStatus] = []
    for job in jobs:
        ended = _read_pickle(job.result_pickle)
        done = ended is not None and ended[0] == "success"
        statuses.append(JobStatus(job, "done", "COMPLETED") if done else JobStatus(job, "running"))
    return statuses


def wait(
    jobs: Sequence[SlurmJob],
    *,
    timeout_s: float | None = None,
    interval_s: float = 1.0,
    grace_s: float = DEFAULT_GRACE_S,
) -> list[JobStatus]:
    """Poll until no job is running (or ``timeout_s`` passes: then some may still be)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        statuses = poll(jobs, grace_s=grace_s)
        if all(status.state != "running" for status in statuses):
            return statuses
        if deadline is not None and time.monotonic() >= deadline:
            return statuses
        time.sleep(interval_s)


def cancel(jobs: Sequence[SlurmJob]) -> None:
    """scancel every job given; ones already finished are left as they are."""
    ids = [job.job_id for job in jobs]
    if not ids:
        return
    check_available()
    # A task cancelled while queued vanishes from slurmctld at once (no accounting keeps it):
    # remembering that we cancelled it lets poll say so instead of "no longer known".
    for folder in {job.folder for job in jobs}:
        _update_record(folder, cancelled=[job.job_id for job in jobs if job.folder == folder])
    for job in jobs:
        job.cancelled = True
    # scancel complains about jobs that already ended (and exits 1): that is not a failure.
    _command(["scancel", *ids], tolerate_failure=True)


def _status(job: SlurmJob, slurm: tuple[str, str] | None, grace_s: float) -> JobStatus:
    state, reason = slurm or ("", "")
    ended = _read_pickle(job.result_pickle)
    if ended is not None:
        outcome, detail = ended
        if outcome == "success":
            return JobStatus(job, "done", state or "COMPLETED")
        # The cell's own account of a failure (submitit's pickle) can land before slurmctld
        # records why the job ended: a job killed by scancel is still RUNNING or COMPLETING
        # for a moment. Slurm's final word (CANCELLED, TIMEOUT, ...) says more, so wait for it.
        if state in ACTIVE and not _settled(job, grace_s):
            return JobStatus(job, "running", state, "finished; waiting for Slurm's final state")
        return JobStatus(job, "failed", _failed_state(state, job), _last_line(detail))
    if state in ACTIVE:
        return JobStatus(job, "running", state, reason)
    if state and state != "COMPLETED":
        return JobStatus(job, "failed", state, _why(state, reason))
    if not state and job.cancelled:
        return JobStatus(job, "failed", "CANCELLED", "the job was cancelled by mlplan")
    if not state:
        state = _sacct_state(job.job_id)
        if state and state not in ACTIVE and state != "COMPLETED":
            return JobStatus(job, "failed", state, _why(state, ""))
    # Finished (or forgotten by slurmctld) with no pickle yet: allow the file system its lag.
    if not _settled(job, grace_s):
        return JobStatus(job, "running", state or "UNKNOWN", "finished; waiting for its result")
    where = f"; see {job.stderr}" if job.stderr.exists() else ""
    known = (
        f"ended {state}"
        if state
        else "is no longer known to Slurm (cancelled while queued, or forgotten: MinJobAge)"
    )
    return JobStatus(job, "failed", state or "UNKNOWN", f"the job {known} without a result{where}")


def _settled(job: SlurmJob, grace_s: float) -> bool:
    """Whether ``grace_s`` has passed since this job was first seen between two states."""
    now = time.monotonic()
    if job.unsettled_since is None:
        job.unsettled_since = now
    return now - job.unsettled_since >= grace_s


def _failed_state(state: str, job: SlurmJob) -> str:
    if state and state not in ACTIVE and state != "COMPLETED":
        return state
    return "CANCELLED" if job.cancelled else "FAILED"


def _why(state: str, reason: str) -> str:
    words = {
        "CANCELLED": "the job was cancelled (scancel, or an administrator)",
        "TIMEOUT": "the job ran past its time limit",
        "OUT_OF_MEMORY": "the job ran out of memory",
        "NODE_FAIL": "the job's node failed",
        "PREEMPTED": "the job was preempted",
        "BOOT_FAIL": "the job's node failed to boot",
        "DEADLINE": "the job missed its deadline",
        "FAILED": "the job failed before its cell ran",
    }
    text = words.get(state.split(maxsplit=1)[0], f"the job ended {state}")
    return f"{text} ({reason})" if reason and reason not in {"None", "NonZeroExitCode"} else text


def _last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    message = lines[-1] if lines else "the job failed"
    # submitit's words when Slurm's warning signal (USR2, 90 s before the limit) reached it.
    if "timed-out" in message:
        return "the job reached its time limit"
    return message.split("CellFailedError: ", 1)[-1]


def _read_pickle(path: Path) -> tuple[str, Any] | None:
    try:
        with path.open("rb") as stream:
            data = pickle.load(stream)
    except FileNotFoundError:
        return None
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return ("error", f"unreadable result pickle {path}")
    return (str(data[0]), data[1])


def _slurm_states(ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """{job id: (state, reason)} for the jobs slurmctld still knows, finished ones included."""
    if not ids:
        return {}
    arrays = sorted({job_id.partition("_")[0] for job_id in ids})
    lines = _squeue(["--jobs", ",".join(arrays), "--format=%i|%T|%r"])
    states: dict[str, tuple[str, str]] = {}
    for line in lines:
        job_id, _, rest = line.partition("|")
        state, _, reason = rest.partition("|")
        states[job_id.strip()] = (state.strip(), reason.strip())
    # Tasks that never left the array's own record (all cancelled while queued, say) are
    # listed under the bare array id: that state is theirs.
    for job_id in ids:
        array = job_id.partition("_")[0]
        if job_id not in states and array in states:
            states[job_id] = states[array]
    return states


def _squeue(arguments: list[str]) -> list[str]:
    check_available()
    output = _command(
        ["squeue", "--states=all", "--array", "--noheader", *arguments],
        # squeue fails when none of the ids is known any more: that is an empty answer.
        tolerate=("Invalid job id",),
    )
    return [line for line in output.splitlines() if line.strip()]


def _sacct_state(job_id: str) -> str:
    """The final state from accounting, or "" where there is none (sacct disabled)."""
    if not shutil.which("sacct"):
        return ""
    try:
        output = _command(
            ["sacct", "--jobs", job_id, "--noheader", "--parsable2", "--format=JobID,State"]
        )
    except SlurmError:
        return ""
    for line in output.splitlines():
        found, _, state = line.partition("|")
        if found == job_id:
            return state.strip()
    return ""


def _command(
    argv: list[str], *, tolerate: tuple[str, ...] = (), tolerate_failure: bool = False
) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise SlurmUnavailable(
            f"`{argv[0]}` did not answer in {COMMAND_TIMEOUT_S} s: is slurmctld up? "
            "(`scontrol ping`)"
        ) from error
    if done.returncode == 0 or tolerate_failure:
        return done.stdout
    if any(marker in done.stderr for marker in tolerate):
        return ""
    raise _submit_error(RuntimeError(f"{argv[0]}: {done.stderr.strip()}"))
