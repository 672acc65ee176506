"""How a Slurm job's status is read from squeue and submitit's pickle, without a cluster.

The real cluster tier (tests/slurm/) found the race these pin down: a cell killed by scancel
writes its failure pickle while slurmctld still says RUNNING, so the first poll after the kill
must not report Slurm's state as FAILED when Slurm is about to say CANCELLED.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mlplan._run import slurm
from mlplan._run.slurm import SlurmJob


def job_with_pickle(tmp_path: Path, outcome: str, detail: str) -> SlurmJob:
    job = SlurmJob(job_id="7_0", argv=["true"], folder=tmp_path)
    job.result_pickle.write_bytes(pickle.dumps((outcome, detail)))
    return job


def squeue_says(monkeypatch: pytest.MonkeyPatch, state: str) -> None:
    monkeypatch.setattr(slurm, "_slurm_states", lambda ids: dict.fromkeys(ids, (state, "None")))


def test_a_failure_pickle_waits_for_slurms_final_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_with_pickle(tmp_path, "error", "CellFailedError: the cell was killed by signal 15")
    squeue_says(monkeypatch, "RUNNING")
    (status,) = slurm.poll([job], grace_s=60)
    assert status.state == "running"
    squeue_says(monkeypatch, "CANCELLED")
    (status,) = slurm.poll([job], grace_s=60)
    assert (status.state, status.slurm_state) == ("failed", "CANCELLED")
    assert status.reason == "the cell was killed by signal 15"


def test_a_failure_pickle_is_reported_once_the_grace_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_with_pickle(tmp_path, "error", "CellFailedError: the cell exited with status 2")
    squeue_says(monkeypatch, "COMPLETING")
    (status,) = slurm.poll([job], grace_s=0)
    assert (status.state, status.slurm_state) == ("failed", "FAILED")


def test_a_job_this_driver_cancelled_is_cancelled_even_before_slurm_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_with_pickle(tmp_path, "error", "CellFailedError: the cell was killed by signal 15")
    job.cancelled = True
    squeue_says(monkeypatch, "COMPLETING")
    (status,) = slurm.poll([job], grace_s=0)
    assert (status.state, status.slurm_state) == ("failed", "CANCELLED")


def test_a_success_pickle_is_done_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = job_with_pickle(tmp_path, "success", "")
    squeue_says(monkeypatch, "COMPLETING")
    (status,) = slurm.poll([job], grace_s=60)
    assert status.state == "done"


def test_results_reads_the_pickles_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_squeue(ids: object) -> dict[str, tuple[str, str]]:
        raise AssertionError("results must not ask Slurm")

    monkeypatch.setattr(slurm, "_slurm_states", no_squeue)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    done = job_with_pickle(tmp_path / "a", "success", "")
    failed = job_with_pickle(tmp_path / "b", "error", "CellFailedError: the cell exited with 2")
    waiting = SlurmJob(job_id="9_0", argv=["true"], folder=tmp_path)
    # A failure waits for poll, which asks Slurm how the job ended.
    assert [s.state for s in slurm.results([done, failed, waiting])] == [
        "done",
        "running",
        "running",
    ]


STUDY = """\
import os, signal

def model(seed):
    os.chdir("..")
    os.environ["MLPLAN_LEAK"] = "from the cell"
    if seed == 1:
        os._exit(0)
    if seed == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"acc": seed}
"""


def forked_cell(tmp_path: Path, seed: int) -> tuple[list[str], str]:
    """A `python -m mlplan._run.cell SPEC` argv for study.model(seed), and its result path."""
    from mlplan._run.spec import CellSpec, argv

    (tmp_path / "study.py").write_text(STUDY)
    result = tmp_path / f"result-{seed}.json"
    spec = CellSpec(
        plan=str(tmp_path / "plan.yaml"),
        plan_sha256="0" * 64,
        submission=f"s{seed}",
        subject="H1",
        params={"seed": seed},
        entry_point="study:model",
        command=None,
        result=str(result),
        workdir=str(tmp_path),
    )
    spec.write(tmp_path / f"spec-{seed}.json")
    return argv(tmp_path / f"spec-{seed}.json"), str(result)


def test_a_forked_cell_runs_in_its_own_process(tmp_path: Path) -> None:
    import json
    import os

    before = (Path.cwd(), os.environ.get("MLPLAN_LEAK"))
    command, result = forked_cell(tmp_path, 0)
    assert slurm.run_cell_forked(command, {"MLPLAN_CELL": "x"}, result) == 0
    assert json.loads(Path(result).read_text())["metrics"] == {"acc": 0}
    # The cell's chdir and environment stayed in the fork: the task (here, pytest) is as it was.
    assert (Path.cwd(), os.environ.get("MLPLAN_LEAK")) == before


@pytest.mark.parametrize(
    ("seed", "reason"),
    [(1, "the cell exited 0 without writing its result"), (2, "killed by signal 9")],
)
def test_a_forked_cell_that_exits_or_crashes_fails_its_task(
    tmp_path: Path, seed: int, reason: str
) -> None:
    command, result = forked_cell(tmp_path, seed)
    with pytest.raises(slurm.CellFailedError, match=reason):
        slurm.run_cell_forked(command, {}, result)


def test_slurms_time_limit_warning_reads_as_the_time_limit() -> None:
    # USR2 is the signal submitit asks Slurm to send before the limit; a forked cell keeps its
    # default action, so the cell dies of it (found by the slurm tier: "killed by signal 12").
    import signal as signals

    with pytest.raises(slurm.CellFailedError, match="time limit"):
        slurm._judged(-signals.SIGUSR2, None)
    with pytest.raises(slurm.CellFailedError, match="killed by signal 9"):
        slurm._judged(-signals.SIGKILL, None)
