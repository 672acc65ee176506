"""The Slurm backend's overhead: N trivial cells through ``mlplan._run.slurm`` against bare
submitit ``map_array`` running the same argvs, on the single-node test cluster.

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
    with tempfile.TemporaryDirectory(prefix="bench-slurm-") as scratch:
        root = Path(scratch)
        with cluster(root / "cluster"):
            bare: list[float] = []
            ours: list[float] = []
            for round_ in range(options.rounds):
                for name, side, times in (
                    ("bare submitit", bare_submitit, bare),
                    ("mlplan", through_mlplan, ours),
                ):
                    folder = root / f"{name.replace(' ', '-')}-{round_}"
                    folder.mkdir()
                    times.append(side(folder, options.cells))
                    print(f"round {round_ + 1}: {name}: {times[-1]:.2f} s", flush=True)
    bare_median, our_median = statistics.median(bare), statistics.median(ours)
    print(f"\n{options.cells} cells, {options.rounds} rounds (median wall time, submit to done)")
    print(f"  bare submitit map_array: {bare_median:.2f} s")
    print(f"  mlplan._run.slurm:       {our_median:.2f} s")
    print(f"  ratio: {our_median / bare_median:.2f} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
