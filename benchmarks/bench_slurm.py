"""The Slurm backend's overhead, on the single-node test cluster, two ways.

1. The backend: N trivial cells through ``mlplan._run.slurm`` against bare submitit
   ``map_array`` running the same argvs.
2. The whole of ``mlplan run --executor slurm`` (``run_plan``: a plan of N seeds, each cell
   run by its array task in a fork of itself, each result logged by the driver through the
   journal into an embedded store) against bare submitit ``map_array`` of the same function
   plus the same MLflow runs logged with MLflow's client.

Both sides submit one job array of N tasks; each task runs the same child process (a fresh
Python that writes a small result JSON) and both wait the way their API waits, polling once a
second (submitit's ``job.result()``; mlplan's ``wait(interval_s=1)``). mlplan's side also
records the job ids durably, asks squeue for states and checks the result files. The rounds
alternate, so drift on the shared machine hits both sides alike. Target: median ratio ≤ 1.2.

Needs root and ``apt-get install -y slurm-wlm munge``: it starts its own cluster (as the tests
do), unless SLURM_CONF already names a running one.

    python benchmarks/bench_slurm.py [--cells 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from slurm.slurm_cluster import single_node_cluster  # noqa: E402

from mlplan._run import slurm  # noqa: E402

RESOURCES = slurm.SlurmResources(time_min=10, cpus=1, job_name="bench")


def argv(result: Path) -> list[str]:
    code = f"import pathlib; pathlib.Path({str(result)!r}).write_text('{{\"score\": 1.0}}')"
    return [sys.executable, "-c", code]


def run_argv(command: list[str]) -> int:
    """What a bare submitit user submits: the command, as a child process on the node."""
    return subprocess.run(command, check=True).returncode


def bare_submitit(folder: Path, cells: int) -> float:
    import submitit

    started = time.perf_counter()
    executor = submitit.SlurmExecutor(folder=folder / "logs", python=sys.executable)
    executor.update_parameters(time=RESOURCES.time_min, cpus_per_task=1, job_name="bench")
    jobs = executor.map_array(run_argv, [argv(folder / f"r{i}.json") for i in range(cells)])
    codes = [job.result() for job in jobs]
    elapsed = time.perf_counter() - started
    assert codes == [0] * cells
    return elapsed


def through_mlplan(folder: Path, cells: int) -> float:
    results = [folder / f"r{i}.json" for i in range(cells)]
    started = time.perf_counter()
    jobs = slurm.submit(
        [argv(path) for path in results],
        folder=folder / "jobs",
        env={},
        resources=RESOURCES,
        results=results,
    )
    statuses = slurm.wait(jobs, interval_s=1.0)
    elapsed = time.perf_counter() - started
    assert [status.state for status in statuses] == ["done"] * cells, statuses
    return elapsed


def model(seed: int) -> dict[str, float]:
    """The cell both sides of the second comparison run (mlplan's from study.py)."""
    return {"acc": 0.8 + seed / 100}


STUDY = "def model(seed):\n    return {'acc': 0.8 + seed / 100}\n"
REPORTED = (
    "    - {id: B1, description: b, reported: {source: paper, metrics: {acc: {value: 0.5}}}}\n"
)


def bare_submitit_logged(folder: Path, cells: int) -> float:
    """map_array of the function, then one MLflow run per result, as a user would log them."""
    import submitit
    from mlflow.tracking import MlflowClient

    started = time.perf_counter()
    executor = submitit.SlurmExecutor(folder=folder / "logs", python=sys.executable)
    executor.update_parameters(time=RESOURCES.time_min, cpus_per_task=1, job_name="bench")
    jobs = executor.map_array(model, list(range(cells)))
    client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.create_experiment("bench")
    for seed, job in enumerate(jobs):
        metrics = job.result()
        run = client.create_run(experiment, run_name=f"H1 · seed={seed}")
        client.log_param(run.info.run_id, "seed", seed)
        for key, value in metrics.items():
            client.log_metric(run.info.run_id, key, value)
        client.set_terminated(run.info.run_id)
    return time.perf_counter() - started


def mlplan_run(folder: Path, cells: int) -> float:
    from run_plans import write_plan

    from mlplan._api import run_plan

    design = f"  pair_values: {list(range(cells))}\n"
    plan = write_plan(folder, design=design, baselines=REPORTED, study=STUDY)
    last: dict[str, float] = {}  # when each kind of event last came, from the start

    def heard(event: dict[str, object]) -> None:
        last[str(event["event"])] = time.perf_counter() - started

    started = time.perf_counter()
    report = run_plan(
        plan, ["H1"], executor="slurm", slurm={"time": RESOURCES.time_min}, on_event=heard
    )
    elapsed = time.perf_counter() - started
    assert report.count("logged") == cells and report.ok, report.to_dict()
    print(
        f"  (last cell ended at {last['cell_ended']:.2f} s, last logged at "
        f"{last['cell_logged']:.2f} s, finished at {elapsed:.2f} s)",
        flush=True,
    )
    return elapsed


@contextmanager
def cluster(root: Path) -> Iterator[None]:
    import os

    if os.environ.get("SLURM_CONF"):
        yield
        return
    with single_node_cluster(root):
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    sides = (
        ("bare submitit", bare_submitit),
        ("mlplan._run.slurm", through_mlplan),
        ("bare submitit + MLflow logging", bare_submitit_logged),
        ("mlplan run --executor slurm", mlplan_run),
    )
    times: dict[str, list[float]] = {name: [] for name, _ in sides}
    with tempfile.TemporaryDirectory(prefix="bench-slurm-") as scratch:
        root = Path(scratch)
        with cluster(root / "cluster"):
            for round_ in range(options.rounds):
                for index, (name, side) in enumerate(sides):
                    folder = root / f"side{index}-{round_}"
                    folder.mkdir()
                    times[name].append(side(folder, options.cells))
                    print(f"round {round_ + 1}: {name}: {times[name][-1]:.2f} s", flush=True)
    medians = {name: statistics.median(found) for name, found in times.items()}
    print(f"\n{options.cells} cells, {options.rounds} rounds (median wall time, submit to done)")
    for name, median in medians.items():
        print(f"  {name}: {median:.2f} s")
    for ours, bare in ((1, 0), (3, 2)):
        ratio = medians[sides[ours][0]] / medians[sides[bare][0]]
        # Each round's own ratio: the two sides ran back to back, under the same load.
        paired = statistics.median(
            a / b for a, b in zip(times[sides[ours][0]], times[sides[bare][0]], strict=True)
        )
        print(
            f"  ratio {sides[ours][0]} / {sides[bare][0]}: {ratio:.2f} "
            f"(median of the rounds' own ratios {paired:.2f}; target ≤ 1.2)"
        )


if __name__ == "__main__":
    main()
