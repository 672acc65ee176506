"""`mlplan run` on real processes: cells that crash, hang, os._exit, flood stdout, chdir, fork
or run under resource limits leave mlplan's record and exit status as they should be; a
`run` killed with kill -9 resumes; two `run`s of one plan run no cell twice; Ctrl-C stops.

Issue 16's chaos tests of the executor: the claim is that the record is unaffected, not that
user code is sandboxed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO, Capsys, run
from run_plans import write_plan

from mlplan._api import journal_for
from mlplan._record.store.runs import plan_digest

pytestmark = pytest.mark.chaos

CHAOS = """\
import os, resource, sys, time

def good(seed):
    return {"acc": 0.5 + seed / 100}

def crash(seed):
    raise RuntimeError("boom in the cell")

def hang(seed):
    time.sleep(600)

def exit0(seed):
    os._exit(0)

def flood(seed):
    chunk = "x" * 1023 + "\\n"
    for _ in range(50 * 1024):
        sys.stdout.write(chunk)
    return {"acc": 0.6}

def chdir(seed):
    os.chdir("/")
    os.makedirs("/tmp/mlplan-chaos-other", exist_ok=True)
    os.chdir("/tmp/mlplan-chaos-other")
    open("plan.yaml", "w").write("not the plan")
    return {"acc": 0.61}

def fork(seed):
    if os.fork() == 0:  # a child that outlives the cell, holding its output open
        time.sleep(600)
        os._exit(0)
    return {"acc": 0.62}

def nproc(seed):
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    os.fork()
    return {"acc": 0.63}

def memory(seed):
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    block = bytearray(2 << 30)
    return {"acc": float(len(block))}

def fsize(seed):
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    return {"acc": 0.64}
"""
ONLY_H1 = (
    "    - {id: B1, description: b, reported: {source: paper, metrics: {acc: {value: 0.5}}}}\n"
)
NAMES = ("good", "crash", "hang", "exit0", "flood", "chdir", "fork", "nproc", "memory", "fsize")


def _baselines() -> str:
    return ONLY_H1 + "".join(
        f'    - {{id: B{name}, description: b, entry_point: "study:{name}"}}\n' for name in NAMES
    )


def _runs(plan: Path) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for result in journal_for(plan, refresh=True).results():
        found.setdefault(result.subject, []).append(dict(result.params))
    return found


def _running(plan: Path) -> list[str]:
    return [run.run_id for run in journal_for(plan, refresh=True).unfinished()]


def test_cells_that_misbehave_fail_alone_and_the_record_is_unaffected(
    tmp_path: Path, capsys: Capsys
) -> None:
    plan = write_plan(tmp_path, design="  pair_values: [0]\n", baselines=_baselines(), study=CHAOS)
    ids = [f"B{name}" for name in NAMES]
    started = time.monotonic()
    code, out, err = run(capsys, "run", plan, *ids, "-j", "2", "--timeout", "8", "--retries", "1")
    assert time.monotonic() - started < 120  # the forked child and the hang did not hold it up
    assert code == 1
    runs = _runs(plan)
    assert sorted(runs) == ["Bchdir", "Bflood", "Bfork", "Bgood", "Bnproc"]
    assert all(params == [{"seed": "0"}] for params in runs.values())  # each exactly once
    assert "Bcrash · seed=0 failed: Bcrash (study:crash) failed: RuntimeError: boom" in err
    assert "Bhang · seed=0 failed: did not finish within 8 s" in err
    assert "Bexit0 · seed=0 failed: exited with status 0 without a result" in err
    assert "Bmemory · seed=0 failed: Bmemory (study:memory) failed: MemoryError" in err
    # Python ignores SIGXFSZ: the cell's own result write fails (and so does its log).
    assert "Bfsize · seed=0 failed: exited with status 1 without a result" in err
    assert "its log: " in err
    assert "5 logged, 0 already in the store, 5 failed" in err
    # The cell that changed directory did not change which plan the run records.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / '.mlplan' / 'mlflow.db'}")
    [chdir] = client.search_runs(
        [client.get_experiment_by_name("mlplan/runs").experiment_id],  # type: ignore[union-attr]
        "tags.`mlplan.subject` = 'Bchdir'",
    )
    assert chdir.data.tags["mlplan.plan_sha256"] == plan_digest(plan)
    # The flood went to the cell's log, not through mlplan's memory or output.
    [flood_log] = (tmp_path / ".mlplan" / "runs").glob("*/Bflood-*/attempt-1/log.txt")
    assert flood_log.stat().st_size >= 50 << 20
    assert len(out) + len(err) < 100_000
    assert _running(plan) == []
    # Nothing the cells left behind is still running: the forked child went with its cell.
    left = subprocess.run(
        ["pgrep", "-f", "mlplan._run.cell"], capture_output=True, text=True, check=False
    )
    assert str(tmp_path) not in left.stdout
    # A second run retries only the failed cells and logs nothing twice.
    code, _, err = run(capsys, "run", plan, "Bgood", "Bcrash")
    assert code == 1
    assert "0 logged, 1 already in the store, 1 failed" in err
    # `baseline run` goes through the same executor: os._exit(0) is a failure, not exit 0.
    code, _, err = run(capsys, "baseline", "run", plan, "Bexit0", "Bchdir", "-p", "seed=3")
    assert code == 1
    assert "baseline Bexit0 · seed=3: exited with status 0 without a result" in err
    assert sorted(p["seed"] for p in _runs(plan)["Bchdir"]) == ["0", "3"]


def _driver(plan: Path, *argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.Popen(
        # H1 named: without ids only the active hypotheses run, and H1 may be decided early.
        [sys.executable, "-m", "mlplan", "run", str(plan), "H1", "--json", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=plan.parent,
    )


SLOW = """\
import os, time

def baseline(seed):
    return {"acc": 0.5 + seed / 100}

def model(seed):
    with open("ran.txt", "a") as ran:  # one line per execution of a cell
        ran.write(f"{seed} {os.getpid()}\\n")
    time.sleep(SECONDS)
    return {"acc": 0.8 + seed / 100}
"""
SEEDS = "  pair_values: [0, 1, 2, 3, 4, 5]\n"


def _slow_plan(folder: Path, seconds: float) -> Path:
    return write_plan(
        folder, design=SEEDS, baselines=ONLY_H1, study=SLOW.replace("SECONDS", str(seconds))
    )


def _executions(plan: Path) -> list[str]:
    path = plan.parent / "ran.txt"
    return (
        sorted(line.split()[0] for line in path.read_text().splitlines()) if path.exists() else []
    )


def test_a_run_killed_with_kill_9_resumes_and_counts_every_slot_once(tmp_path: Path) -> None:
    plan = _slow_plan(tmp_path, 1.0)
    driver = _driver(plan, "-j", "1")
    assert driver.stdout is not None
    logged: list[str] = []
    for line in driver.stdout:
        event = json.loads(line)
        if event["event"] == "cell_logged":
            logged.append(str(event["params"]["seed"]))
        if len(logged) == 2:
            break
    time.sleep(0.5)  # a cell is running now
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    time.sleep(1)
    resumed = _driver(plan, "-j", "2")
    _, errors = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, errors
    runs = _runs(plan)
    assert sorted(p["seed"] for p in runs["H1"]) == ["0", "1", "2", "3", "4", "5"]
    assert _running(plan) == []
    executed = _executions(plan)
    assert set(executed) == {"0", "1", "2", "3", "4", "5"}
    # A cell whose result was logged before the kill never ran again.
    assert all(executed.count(seed) == 1 for seed in logged)


def test_two_runs_of_one_plan_run_no_cell_twice(tmp_path: Path) -> None:
    plan = _slow_plan(tmp_path, 0.5)
    first, second = _driver(plan, "-j", "2"), _driver(plan, "-j", "2")
    for driver in (first, second):
        _, errors = driver.communicate(timeout=300)
        assert driver.returncode == 0, errors
    assert _executions(plan) == ["0", "1", "2", "3", "4", "5"]
    assert sorted(p["seed"] for p in _runs(plan)["H1"]) == ["0", "1", "2", "3", "4", "5"]
    assert _running(plan) == []


def test_ctrl_c_stops_the_cells_and_leaves_nothing_running(tmp_path: Path) -> None:
    plan = _slow_plan(tmp_path, 600)
    driver = _driver(plan, "-j", "2")
    assert driver.stdout is not None
    started = 0
    for line in driver.stdout:
        started += json.loads(line)["event"] == "cell_started"
        if started == 2:
            break
    time.sleep(1)
    stopped_at = time.monotonic()
    driver.send_signal(signal.SIGINT)
    rest, _ = driver.communicate(timeout=60)
    assert driver.returncode == 130
    assert time.monotonic() - stopped_at < 20
    events = [json.loads(line) for line in rest.splitlines()]
    assert [e["event"] for e in events].count("cell_cancelled") == 2
    assert events[-1]["interrupted"] is True
    left = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert left.stdout == ""
    assert not (tmp_path / ".mlplan" / "mlflow.db").exists() or _running(plan) == []


WAYS = """\
import json, os, sys
from pathlib import Path

def flaky(seed):
    marker = Path(f"tried-{seed}")
    if not marker.exists():  # the first attempt dies without a result
        marker.write_text("")
        os._exit(3)
    return {"acc": 0.7}
"""
BY_FILE = """\
import json, os, sys
seed = int(sys.argv[1])
with open(os.environ["MLPLAN_RESULT"], "w") as out:
    json.dump({"metrics": {"acc": 0.6 + seed / 100}, "params": {"extra": "x"}}, out)
"""
BY_API = """\
import sys
import mlflow
import mlplan
seed = int(sys.argv[sys.argv.index("--seed") + 1])
if seed == 0:
    mlplan.record_result("plan.yaml", hypothesis="H2", metrics={"acc": 0.9}, params={"seed": seed})
else:  # a training script's own MLflow run: inside a cell it lands in a scratch store
    with mlplan.start_run("plan.yaml", hypothesis="H2"):
        mlflow.log_metric("acc", 0.91)
        mlflow.log_param("lr", 0.01)
"""


@pytest.mark.slow
def test_a_command_returns_its_result_by_file_or_by_log_result_and_retries_retry(
    tmp_path: Path, capsys: Capsys
) -> None:
    from run_plans import hypothesis

    hypotheses = (
        hypothesis("H1", 'command: "python by_file.py {seed}"', "[B1]")
        + hypothesis("H2", "command: [python, by_api.py, --seed, '{seed}']", "[B1]")
        + hypothesis("H3", 'entry_point: "study:flaky"', "[B1]")
    )
    plan = write_plan(
        tmp_path,
        # Three roots: tested each at full α only when the plan says so (issue 17's rule).
        design="  pair_values: [0, 1]\n  multiplicity: none\n",
        baselines=ONLY_H1,
        hypotheses=hypotheses,
        study=WAYS,
    )
    (tmp_path / "by_file.py").write_text(BY_FILE)
    (tmp_path / "by_api.py").write_text(BY_API)
    code, out, err = run(capsys, "run", plan, "H1", "H2", "H3", "--retries", "1", "-j", "2")
    assert code == 0, err
    runs = _runs(plan)
    assert sorted((p["seed"], p.get("extra")) for p in runs["H1"]) == [("0", "x"), ("1", "x")]
    # Logged by the driver, once each: by log_result, and by start_run with its own param.
    assert sorted((p["seed"], p.get("lr")) for p in runs["H2"]) == [("0", None), ("1", "0.01")]
    assert sorted(p["seed"] for p in runs["H3"]) == ["0", "1"]  # each on its second attempt
    assert "H2 · seed=1" in out
    assert "  H2: " in out  # where each hypothesis stands after the run
    # Run names are the same whichever way the result arrived.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / '.mlplan' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mlplan/runs")
    assert experiment is not None
    names = sorted(r.info.run_name for r in client.search_runs([experiment.experiment_id]))
    assert names == [f"{h} · seed={s}" for h in ("H1", "H2", "H3") for s in (0, 1)]
    assert _running(plan) == []


GPU_STUDY = """\
import os, time

def model(seed):
    started = time.time()
    time.sleep(1)  # so that cells overlap
    with open("placed.txt", "a") as placed:
        placed.write(f"{os.environ['CUDA_VISIBLE_DEVICES']} {os.environ['OMP_NUM_THREADS']} "
                     f"{started} {time.time()}\\n")
    return {"acc": 0.5}
"""


@pytest.mark.slow
def test_each_running_cell_gets_its_own_gpus_and_a_share_of_the_cores(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlplan._run.local import cores

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    plan = write_plan(
        tmp_path,
        design="  pair_values: [0, 1, 2, 3]\n  execution: {gpus: 1}\n",
        baselines=ONLY_H1,
        study=GPU_STUDY,
    )
    code, out, err = run(capsys, "run", plan, "H1", "-j", "8", "--json")
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["jobs"] == 2  # two GPUs visible, one per cell
    placed = [line.split() for line in (tmp_path / "placed.txt").read_text().splitlines()]
    assert len(placed) == 4
    assert {device for device, *_ in placed} == {"3", "5"}
    assert {threads for _, threads, *_ in placed} == {str(max(1, cores() // 2))}
    for one in placed:  # cells that overlapped in time never shared a GPU
        for other in placed:
            overlap = float(one[2]) < float(other[3]) and float(other[2]) < float(one[3])
            assert one is other or not overlap or one[0] != other[0]


@pytest.mark.slow
def test_the_until_decided_hook_stops_a_hypothesis_after_the_deciding_wave(tmp_path: Path) -> None:
    """The hook sequential designs will use: asked after every wave of -j results."""
    from mlplan._run.driver import RunOptions, run_matrix

    plan = write_plan(tmp_path, design="  pair_values: [0, 1, 2, 3, 4, 5]\n", baselines=ONLY_H1)
    looks: list[int] = []

    def decided(journal: object, hypothesis: str) -> bool:
        looks.append(len(_runs(plan).get(hypothesis, [])))
        return len(looks) == 2  # the second look decides

    report = run_matrix(
        journal_for(plan), ["H1"], RunOptions(jobs=1, stop_when=decided), cells=None
    )
    assert looks == [1, 2]  # a look after each wave of one, never a result ahead of it
    assert sorted(p["seed"] for p in _runs(plan)["H1"]) == ["0", "1"]  # the planned order
    assert report.count("logged") == 2
    assert {r.error for r in report.cells if r.status == "skipped"} == {
        "H1 was decided before this cell ran"
    }
