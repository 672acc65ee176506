"""The Slurm backend on a real single-node cluster: cells as job-array tasks, their results,
jobs that die without one, a driver that restarts, and a cluster that is not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slurm.slurm_cluster import Cluster, write_conf

from mlplan._run import slurm
from mlplan._run.slurm import JobStatus, SlurmJob, SlurmResources, SlurmUnavailable
from mlplan.errors import MlplanError

pytestmark = pytest.mark.slurm

RESOURCES = SlurmResources(time_min=5, cpus=1, job_name="mlplan-test")
# Slurm notices a dead job within seconds; the bound leaves room for a busy 2-core machine.
BOUND_S = 60.0


@pytest.fixture(autouse=True)
def _nothing_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """Cancel every job a test leaves behind: the session's two CPUs are shared by all."""
    yield
    if "slurm_cluster" in request.fixturenames:
        subprocess.run(["scancel", "--user", str(os.getuid())], check=False)


def cell(code: str) -> list[str]:
    """A cell's argv: a fresh Python running ``code`` (as mlplan runs `-m mlplan._run.cell`)."""
    return [sys.executable, "-c", code]


def writes(result: Path, extra: str = "") -> list[str]:
    """A cell that writes its result file: the env var it was given and its Slurm ids."""
    return cell(
        "import json, os, pathlib\n"
        f"{extra}\n"
        "data = {k: os.environ.get(k) for k in ('MLPLAN_CELL', 'SLURM_ARRAY_TASK_ID', "
        "'SLURM_JOB_ID')}\n"
        f"pathlib.Path({str(result)!r}).write_text(json.dumps(data))\n"
    )


def wait_for(jobs: list[SlurmJob], state: str, *, within: float = BOUND_S) -> list[JobStatus]:
    """Poll until every job is in ``state`` (failing the test after ``within`` seconds)."""
    deadline = time.monotonic() + within
    while True:
        statuses = slurm.poll(jobs, grace_s=5)
        if all(status.state == state for status in statuses):
            return statuses
        assert time.monotonic() < deadline, statuses
        time.sleep(0.5)


def test_cells_run_on_the_node_and_write_their_results(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    results = [tmp_path / f"result-{i}.json" for i in range(3)]
    jobs = slurm.submit(
        [writes(path) for path in results],
        folder=tmp_path / "jobs",
        env={"MLPLAN_CELL": "from-the-driver"},
        resources=RESOURCES,
        results=results,
    )
    statuses = slurm.wait(jobs, timeout_s=BOUND_S, interval_s=0.5)
    assert [status.state for status in statuses] == ["done"] * 3, statuses
    array = jobs[0].job_id.partition("_")[0]
    assert [job.job_id for job in jobs] == [f"{array}_{i}" for i in range(3)]
    for i, path in enumerate(results):
        data = json.loads(path.read_text())
        assert data["MLPLAN_CELL"] == "from-the-driver"
        assert data["SLURM_ARRAY_TASK_ID"] == str(i)
    # Every id is on disk, so a driver started later knows them.
    recorded = json.loads((tmp_path / "jobs" / "jobs.json").read_text())
    assert [job["job_id"] for job in recorded["jobs"]] == [job.job_id for job in jobs]
    assert recorded["pending"] == {}


def test_a_cell_that_exits_without_its_result_or_fails_is_reported_failed(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    results = [tmp_path / "silent.json", tmp_path / "crash.json", tmp_path / "fine.json"]
    argvs = [
        cell("import os; os._exit(0)"),
        cell("import sys; print('the model diverged', file=sys.stderr); sys.exit(3)"),
        writes(results[2]),
    ]
    started = time.monotonic()
    jobs = slurm.submit(
        argvs, folder=tmp_path / "jobs", env={}, resources=RESOURCES, results=results
    )
    statuses = slurm.wait(jobs, timeout_s=BOUND_S, interval_s=0.5)
    assert time.monotonic() - started < BOUND_S
    silent, crash, fine = statuses
    assert (silent.state, silent.slurm_state) == ("failed", "FAILED"), silent
    assert "exited 0 without writing its result" in silent.reason
    assert (crash.state, crash.reason) == ("failed", "the cell exited with status 3"), crash
    assert "the model diverged" in crash.job.stderr.read_text()
    assert fine.state == "done", fine


def test_a_job_killed_with_scancel_is_reported_failed(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    jobs = slurm.submit(
        [cell("import time; time.sleep(300)")] * 2,
        folder=tmp_path / "jobs",
        env={},
        resources=RESOURCES,
        results=[tmp_path / "a.json", tmp_path / "b.json"],
    )
    deadline = time.monotonic() + BOUND_S
    while any(status.slurm_state != "RUNNING" for status in slurm.poll(jobs)):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    # One killed from outside, as a person would; the other through the backend.
    subprocess.run(["scancel", jobs[0].job_id], check=True)
    slurm.cancel(jobs[1:])
    statuses = wait_for(jobs, "failed", within=30)
    for status in statuses:
        assert status.slurm_state == "CANCELLED", status
        # Slurm's SIGTERM reaches the cell, and the task may say so before it goes.
        assert status.reason in {
            "the cell was killed by signal 15",
            "the job was cancelled (scancel, or an administrator)",
        }, status


def test_jobs_cancelled_while_queued_are_reported_failed_at_once(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    """A queued array task that is cancelled leaves no record in slurmctld at all."""
    held = SlurmResources(time_min=5, job_name="mlplan-test")
    folder = tmp_path / "jobs"
    jobs = slurm.submit([cell("pass")] * 3, folder=folder, env={}, resources=held)
    subprocess.run(["scontrol", "hold", jobs[0].job_id.partition("_")[0]], check=True)
    slurm.cancel(jobs[:2])
    statuses = wait_for(jobs[:2], "failed", within=10)
    assert {status.slurm_state for status in statuses} == {"CANCELLED"}
    assert all(job.cancelled for job in slurm.reattach(folder)[:2])
    subprocess.run(["scontrol", "release", jobs[0].job_id.partition("_")[0]], check=True)
    (last,) = slurm.wait(jobs[2:], timeout_s=BOUND_S, interval_s=0.5)
    assert last.state == "done", last


@pytest.mark.slow
def test_a_job_past_its_time_limit_is_reported_failed(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    limited = SlurmResources(time_min=1, job_name="mlplan-test")  # Slurm counts in minutes
    started = time.monotonic()
    jobs = slurm.submit(
        [cell("import time; time.sleep(600)")],
        folder=tmp_path / "jobs",
        env={},
        resources=limited,
        results=[tmp_path / "never.json"],
    )
    (status,) = wait_for(jobs, "failed", within=60 + BOUND_S)
    # Slurm's warning signal comes up to 90 s early (submitit's default): the task fails
    # itself then (FAILED), or Slurm kills it at the limit (TIMEOUT).
    assert status.slurm_state in {"FAILED", "TIMEOUT"}, status
    assert "time limit" in status.reason, status
    assert time.monotonic() - started < 60 + BOUND_S


def test_a_restarted_driver_reattaches_and_does_not_resubmit(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    """A driver process submits, starts waiting, and is killed with SIGKILL; a new one reattaches
    to the jobs still queued or running and submits nothing."""
    folder = tmp_path / "jobs"
    gate = tmp_path / "go"  # the cells wait for it, so they are queued or running at restart
    results = [tmp_path / f"r{i}.json" for i in range(3)]
    hold = f"import pathlib, time\nwhile not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.2)"
    driver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, pathlib, sys\n"
            "from mlplan._run import slurm\n"
            "argvs, results, folder = json.loads(sys.argv[1])\n"
            "jobs = slurm.submit(argvs, folder=pathlib.Path(folder), env={}, "
            "resources=slurm.SlurmResources(time_min=5, job_name='mlplan-test'), "
            "results=[pathlib.Path(r) for r in results])\n"
            "slurm.wait(jobs)\n",
            json.dumps(
                [[writes(p, extra=hold) for p in results], list(map(str, results)), str(folder)]
            ),
        ]
    )
    record = folder / "jobs.json"
    deadline = time.monotonic() + BOUND_S
    while not (record.exists() and json.loads(record.read_text())["jobs"]):
        assert driver.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1)  # the driver is polling now
    driver.kill()
    driver.wait()
    before = _queue_of("mlplan-test")

    jobs = slurm.reattach(folder)
    assert len(jobs) == 3
    assert [job.result for job in jobs] == results
    assert all(status.state == "running" for status in slurm.poll(jobs))
    assert _queue_of("mlplan-test") == before  # nothing new was submitted
    assert sorted(job.job_id for job in jobs) == [
        job_id for job_id in before if job_id.partition("_")[0] == jobs[0].job_id.partition("_")[0]
    ]

    gate.touch()
    statuses = slurm.wait(jobs, timeout_s=BOUND_S, interval_s=0.5)
    assert [status.state for status in statuses] == ["done"] * 3, statuses
    assert slurm.reattach(folder) == jobs  # and reattaching again still finds the same three


def test_an_interrupted_submission_is_found_by_its_batch_token(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    """The driver died after sbatch and before recording the ids: reattach finds them."""
    folder = tmp_path / "jobs"
    results = [tmp_path / "r0.json", tmp_path / "r1.json"]
    jobs = slurm.submit(
        [writes(path) for path in results],
        folder=folder,
        env={},
        resources=RESOURCES,
        results=results,
    )
    record_path = folder / "jobs.json"
    record = json.loads(record_path.read_text())
    token = _token_of(jobs[0])
    lost = {token: {"argvs": [job.argv for job in jobs], "results": [str(p) for p in results]}}
    record_path.write_text(json.dumps({**record, "jobs": [], "pending": lost}))

    found = slurm.reattach(folder)
    assert [job.job_id for job in found] == [job.job_id for job in jobs]
    assert json.loads(record_path.read_text())["pending"] == {}
    statuses = slurm.wait(found, timeout_s=BOUND_S, interval_s=0.5)
    assert [status.state for status in statuses] == ["done", "done"]


def test_a_job_slurm_no_longer_knows_fails_after_the_grace(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    """Past MinJobAge (or never taken) a job has left squeue; with no pickle it is failed."""
    ghost = SlurmJob("999999_0", ["true"], tmp_path)
    (first,) = slurm.poll([ghost], grace_s=1)
    assert first.state == "running"  # the file system may still be catching up
    time.sleep(1.2)
    (status,) = slurm.poll([ghost], grace_s=1)
    assert status.state == "failed"
    assert "no longer known to Slurm" in status.reason


def _queue_of(name: str) -> list[str]:
    listed = subprocess.run(
        ["squeue", "--states=all", "--array", "--noheader", "--name", name, "--format=%i"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(listed.stdout.split())


def _token_of(job: SlurmJob) -> str:
    shown = subprocess.run(
        ["squeue", "--array", "--noheader", "--states=all", "--jobs", job.job_id, "--format=%k"],
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout.split()[0].removeprefix("mlplan-batch=")


# -- no cluster ---------------------------------------------------------------------------------


def test_no_sbatch_on_the_path_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SlurmUnavailable) as raised:
        slurm.submit([cell("pass")], folder=tmp_path / "jobs", env={}, resources=RESOURCES)
    assert isinstance(raised.value, MlplanError)
    message = str(raised.value)
    assert "sbatch" in message and "not found on PATH" in message
    assert "--executor local" in message


@pytest.mark.usefixtures("slurm_commands")
def test_a_configuration_pointing_nowhere_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "nowhere" / "slurm.conf"))
    with pytest.raises(SlurmUnavailable) as raised:
        slurm.submit([cell("pass")], folder=tmp_path / "jobs", env={}, resources=RESOURCES)
    message = str(raised.value)
    assert f"SLURM_CONF names {tmp_path / 'nowhere' / 'slurm.conf'}, which does not exist" in (
        message
    )


@pytest.mark.usefixtures("slurm_commands")
def test_a_controller_that_does_not_answer_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid slurm.conf whose slurmctld is not running (nothing listens on its port)."""
    monkeypatch.setenv("SLURM_CONF", str(write_conf(tmp_path / "down")))
    folder = tmp_path / "jobs"
    with pytest.raises(SlurmUnavailable) as raised:
        slurm.submit([cell("pass")], folder=folder, env={}, resources=RESOURCES)
    message = str(raised.value)
    assert "sbatch could not reach a cluster" in message
    assert "scontrol ping" in message and "--executor local" in message
    # Nothing was left pending: the next driver has nothing to look for.
    assert json.loads((folder / "jobs.json").read_text()) == {
        "version": 1,
        "jobs": [],
        "pending": {},
    }
