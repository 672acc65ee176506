"""What `mlplan run` adds per cell over spawning the cells yourself. A script, not a test:

    python benchmarks/bench_run.py [--cells 100] [--jobs 2] [--repeats 3]

Three ways to run CELLS trivial cells (an entry point returning ``{"acc": ...}`` for one seed)
and log one MLflow run per cell into a fresh embedded store:

1. ``mlplan run -j JOBS`` (a fresh process per cell, results logged by the driver through the
   journal: outbox, one-per-slot check, the run, the plan artifact);
2. a bare script that spawns one process per cell (JOBS at a time) and logs the same runs with
   MLflow's client (create the run, log the batch, upload the plan, finish it);
3. the same bare logging with the cells in a ``ProcessPoolExecutor`` of JOBS workers (no fresh
   process per cell: the figure a process pool would give, which cannot isolate cells).

Target: (1 − 2) / CELLS ≤ 0.15 s per cell on 2 cores. Each side is a fresh Python process (all
pay for importing MLflow and creating the store). Medians of --repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REPORTED_B1 = (
    "    - {id: B1, description: b, reported: {source: s, metrics: {acc: {value: 0.5}}}}\n"
)
STUDY = "def trivial(seed):\n    return {'acc': 0.5 + seed / 1000}\n"


def _plan(folder: Path, cells: int) -> Path:
    sys.path.insert(0, str(REPO / "tests"))
    from run_plans import hypothesis, write_plan  # the tests' plan: one H1, a reported B1

    return write_plan(
        folder,
        design=f"  pair_values: {list(range(cells))}\n",
        baselines=REPORTED_B1,
        hypotheses=hypothesis("H1", 'entry_point: "study:trivial"'),
        study=STUDY,
    )


BARE = textwrap.dedent(
    """
    import json, subprocess, sys, time
    from concurrent.futures import ThreadPoolExecutor, ProcessPoolExecutor
    from pathlib import Path
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    folder, cells, jobs, mode = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    sys.path.insert(0, str(folder))
    (folder / ".store").mkdir()
    client = MlflowClient(tracking_uri=f"sqlite:///{folder / '.store' / 'mlflow.db'}")
    experiment = client.create_experiment("bare", artifact_location=(folder / ".store").as_uri())

    def spawn(seed):
        code = f"import json, study; print(json.dumps(study.trivial({seed})))"
        out = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                             text=True, check=True).stdout
        return seed, json.loads(out)

    def in_pool(seed):
        import study
        return seed, study.trivial(seed)

    def log(seed, metrics):
        run = client.create_run(experiment, run_name=f"H1 · seed={seed}")
        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, 0) for k, v in metrics.items()]
        client.log_batch(run.info.run_id, metrics=batch, params=[Param("seed", str(seed))])
        client.log_artifact(run.info.run_id, str(folder / "plan.yaml"), artifact_path="plan")
        client.set_terminated(run.info.run_id, "FINISHED")

    pool = ThreadPoolExecutor(jobs) if mode == "spawn" else ProcessPoolExecutor(jobs)
    work = spawn if mode == "spawn" else in_pool
    for seed, metrics in pool.map(work, range(cells)):
        log(seed, metrics)
    """
)


def _timed(argv: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def one_round(cells: int, jobs: int) -> dict[str, float]:
    times = {}
    with tempfile.TemporaryDirectory() as root:
        for side in ("mlplan", "spawn", "pool"):
            folder = Path(root) / side
            plan = _plan(folder, cells)
            if side == "mlplan":
                argv = [sys.executable, "-m", "mlplan", "run", str(plan), "-j", str(jobs)]
            else:
                argv = [sys.executable, "-c", BARE, str(folder), str(cells), str(jobs), side]
            times[side] = _timed(argv, folder)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rounds = [one_round(args.cells, args.jobs) for _ in range(args.repeats)]
    median = {side: statistics.median(r[side] for r in rounds) for side in rounds[0]}
    for side, seconds in median.items():
        each = seconds / args.cells
        print(f"{side:>7}: {seconds:7.2f} s for {args.cells} cells ({each:.3f} s/cell)")
    for bare in ("spawn", "pool"):
        extra = (median["mlplan"] - median[bare]) / args.cells
        print(f"mlplan run over bare {bare}: {extra:+.3f} s per cell")


if __name__ == "__main__":
    main()
