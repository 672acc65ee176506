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
