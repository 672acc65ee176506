"""`mlplan run --executor slurm` on a real single-node cluster: a plan run end to end and
judged, a job killed with scancel, a driver killed while its jobs are queued, and a cluster
that is not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO, Capsys, run
from run_plans import write_plan
from slurm.slurm_cluster import Cluster
from test_run_until import until_plan

from mlplan._api import journal_for, verdicts
from mlplan._run import slurm

pytestmark = pytest.mark.slurm

ONLY_H1 = (
    "    - {id: B1, description: b, reported: {source: paper, metrics: {acc: {value: 0.5}}}}\n"
)
STUDY = """\
import os, pathlib, time

def baseline(seed):
    return {"acc": 0.5 + seed / 100}

def model(seed):
    with open("ran.txt", "a") as ran:  # one line per execution of a cell
        ran.write(f"{seed} {os.environ.get('SLURM_JOB_ID')}\\n")
    pathlib.Path(f"started-{seed}").touch()
    time.sleep(300 if seed == HANG else SECONDS)
    return {"acc": 0.8 + seed / 100}
"""
BOUND_S = 180.0  # a busy 2-core machine, two cells at a time


@pytest.fixture(autouse=True)
def _nothing_left_running(slurm_cluster: Cluster) -> object:
    yield None
    subprocess.run(["scancel", "--user", str(os.getuid())], check=False)


def _plan(folder: Path, seeds: int, seconds: float = 0, hang: int = -1, **extra: str) -> Path:
    study = STUDY.replace("HANG", str(hang)).replace("SECONDS", str(seconds))
    design = f"  pair_values: {list(range(seeds))}\n" + extra.get("design", "")
    return write_plan(folder, design=design, baselines=extra.get("baselines", ONLY_H1), study=study)


def _runs(plan: Path) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for result in journal_for(plan, refresh=True).results():
        found.setdefault(result.subject, []).append(dict(result.params))
    return found


def _executions(plan: Path) -> list[str]:
    path = plan.parent / "ran.txt"
    return sorted(line.split()[0] for line in path.read_text().splitlines())


def _tags(plan: Path) -> list[dict[str, str]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mlplan/runs")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], "tags.`mlplan.kind` = 'hypothesis'")
    return [{"name": r.info.run_name or "", **r.data.tags} for r in runs]


def _driver(plan: Path, *argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [sys.executable, "-m", "mlplan", "run", str(plan), "H1", "--json"]
    return subprocess.Popen(
        [*command, "--executor", "slurm", "--time", "5", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=plan.parent,
    )


def _events(driver: subprocess.Popen[str], until: str, count: int) -> list[dict[str, object]]:
    """Read the driver's events until ``count`` of kind ``until`` have come."""
    assert driver.stdout is not None
    seen: list[dict[str, object]] = []
    for line in driver.stdout:
        seen.append(json.loads(line))
        if sum(event["event"] == until for event in seen) == count:
            return seen
    raise AssertionError(
        f"the driver ended first: {seen}, {driver.stderr and driver.stderr.read()}"
    )


def test_a_plan_runs_on_the_cluster_and_each_run_carries_its_job_id(
    slurm_cluster: Cluster, tmp_path: Path, capsys: Capsys
) -> None:
    plan = _plan(
        tmp_path, 3, baselines='    - {id: B1, description: b, entry_point: "study:baseline"}\n'
    )
    started = time.monotonic()
    code, out, err = run(capsys, "run", plan, "H1", "--executor", "slurm", "--time", "5")
    assert code == 0, err
    assert time.monotonic() - started < BOUND_S
    assert "6 logged, 0 already in the store" in out
    runs = _runs(plan)
    assert sorted(p["seed"] for p in runs["H1"]) == ["0", "1", "2"]
    assert sorted(p["seed"] for p in runs["B1"]) == ["0", "1", "2"]
    # Each run names its slot and carries the Slurm job (an array task) that measured it.
    tags = _tags(plan)
    assert sorted(t["name"] for t in tags) == ["H1 · seed=0", "H1 · seed=1", "H1 · seed=2"]
    executed = dict(line.split() for line in (tmp_path / "ran.txt").read_text().splitlines())
    for tag in tags:
        job_id = tag["mlplan.slurm_job_id"]
        array, _, task = job_id.partition("_")
        assert array.isdigit() and task.isdigit(), job_id
    assert len({t["mlplan.slurm_job_id"] for t in tags}) == 3
    assert sorted(executed) == ["0", "1", "2"]
    # The jobs never opened the store: the driver was its only writer (one store, here).
    assert sorted(p.name for p in tmp_path.rglob("*.db")) == ["mlflow.db"]
    code, out, _ = run(capsys, "status", plan, "--json")
    assert code == 0
    [row] = [h for h in json.loads(out)["hypotheses"] if h["hypothesis"] == "H1"]
    assert row["status"] != "pending"
    # A second run finds every cell in the store and submits nothing.
    code, _, err = run(capsys, "run", plan, "H1", "--executor", "slurm", "--json")
    assert code == 0
    assert _executions(plan) == ["0", "1", "2"]


CRASHING = """\
import os, signal

def model(seed):
    os.chdir("..")  # the cell's own process: no other cell, nor the task's verdict, sees it
    if seed == 1:
        os._exit(0)  # gone without a result, and with status 0
    if seed == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # a crash (SIGKILL: no core file)
    return {"acc": 0.8 + seed / 100}
"""


def test_a_cell_that_exits_or_crashes_fails_alone_and_is_reported_at_once(
    slurm_cluster: Cluster, tmp_path: Path, capsys: Capsys
) -> None:
    # Each task runs its cell in a fork of itself: the cell's os._exit or crash ends the
    # fork, and the task still says how its cell ended (no waiting out the grace for a
    # result pickle that never comes).
    plan = write_plan(
        tmp_path, design="  pair_values: [0, 1, 2]\n", baselines=ONLY_H1, study=CRASHING
    )
    started = time.monotonic()
    code, out, err = run(capsys, "run", plan, "H1", "--executor", "slurm", "--json")
    assert code == 1, err
    assert time.monotonic() - started < slurm.DEFAULT_GRACE_S
    events = [json.loads(line) for line in out.splitlines()]
    failed = {e["cell"]: str(e["error"]) for e in events if e["event"] == "cell_failed"}
    assert sorted(failed) == ["H1 · seed=1", "H1 · seed=2"], events
    assert "the cell exited 0 without writing its result" in failed["H1 · seed=1"]
    assert "the cell was killed by signal 9" in failed["H1 · seed=2"]
    assert [p["seed"] for p in _runs(plan)["H1"]] == ["0"]


def test_a_job_killed_with_scancel_is_reported_failed(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    plan = _plan(tmp_path, 3, hang=1)
    driver = _driver(plan)
    events = _events(driver, "cell_started", 3)
    [job] = [e["slurm_job_id"] for e in events if e.get("cell") == "H1 · seed=1"]
    deadline = time.monotonic() + BOUND_S
    while not (tmp_path / "started-1").exists():  # it runs, not just queued
        assert time.monotonic() < deadline and driver.poll() is None
        time.sleep(0.5)
    subprocess.run(["scancel", str(job)], check=True)
    rest, errors = driver.communicate(timeout=BOUND_S)
    assert driver.returncode == 1, errors
    ended = [json.loads(line) for line in rest.splitlines()]
    [failed] = [e for e in ended if e["event"] == "cell_failed"]
    assert failed["cell"] == "H1 · seed=1"
    error = str(failed["error"])
    assert error.startswith(f"Slurm job {job} "), error
    # scancel sends SIGTERM: submitit pickles the cell's death first, or squeue says CANCELLED.
    assert "CANCELLED" in error or "killed by signal 15" in error, error
    assert sorted(p["seed"] for p in _runs(plan)["H1"]) == ["0", "2"]


def test_a_driver_killed_while_its_jobs_are_queued_reattaches_and_logs_each_slot_once(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    plan = _plan(tmp_path, 6, seconds=2)
    first = _driver(plan)
    events = _events(first, "cell_started", 6)  # one array; two run, four wait
    first_jobs = {e["cell"]: e["slurm_job_id"] for e in events if e["event"] == "cell_started"}
    first.kill()  # SIGKILL: no clean-up of any kind
    first.wait(timeout=30)
    queued = subprocess.run(
        ["squeue", "--noheader", "--states=PENDING", "--format=%i"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert queued, "the jobs should outlive their driver, some still queued"
    second = _driver(plan)
    out, errors = second.communicate(timeout=BOUND_S)
    assert second.returncode == 0, errors
    after = [json.loads(line) for line in out.splitlines()]
    assert not [e for e in after if e["event"] == "cell_started"]  # nothing submitted again
    adopted = {e["cell"]: e["slurm_job_id"] for e in after if e["event"] == "cell_reattached"}
    assert adopted == first_jobs
    assert sorted(p["seed"] for p in _runs(plan)["H1"]) == ["0", "1", "2", "3", "4", "5"]
    assert _executions(plan) == ["0", "1", "2", "3", "4", "5"]  # each cell ran once
    assert sorted(t["mlplan.slurm_job_id"] for t in _tags(plan)) == sorted(
        str(job) for job in first_jobs.values()
    )


def test_until_decided_on_slurm_stops_at_the_deciding_look(
    slurm_cluster: Cluster, tmp_path: Path, capsys: Capsys
) -> None:
    plan = until_plan(tmp_path, {"H1": "clear;      sequential: {max_runs: 10}\n"})
    code, _, err = run(
        capsys, "run", plan, "H1", "--executor", "slurm", "-j", "2", "--until", "decided"
    )
    assert code == 0, err
    [verdict] = verdicts(plan)
    # Seeds 2 and 3 finish in the same wave, in either order: the look at n = 3 holds one of
    # them (looks follow the order results were logged), so the decision comes at 3 or 4.
    assert verdict.decided_at in (3, 4), verdict.reason
    # Waves of two job arrays: the second wave brought n to 4, its look decided, and no
    # third wave was submitted.
    assert sorted(int(p["seed"]) for p in _runs(plan)["H1"]) == [0, 1, 2, 3]
    assert len({t["mlplan.slurm_job_id"].partition("_")[0] for t in _tags(plan)}) == 2


def test_no_cluster_is_one_clear_message(
    slurm_commands: None, tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(tmp_path, 2)
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "nowhere" / "slurm.conf"))
    code, _, err = run(capsys, "run", plan, "H1", "--executor", "slurm")
    assert code == 1
    assert "Slurm is not available here: SLURM_CONF names" in err
    assert "--executor local" in err and "Traceback" not in err
    assert not (tmp_path / "ran.txt").exists()
