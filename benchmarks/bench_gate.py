"""What the gate pays for judging the store itself (issue 16). A script, not a test:

    python -m benchmarks.bench_gate [--runs 2000] [--repeats 7] [--keep DIR]

On an embedded store with RUNS results, the medians (wall clock and CPU) of:

- ``mlplan status PLAN`` with a current local copy: what `status --check` and the CI gate read
  before issue 16 (the .mlplan/cache copy, trusted by the store's revision tag);
- ``mlplan status PLAN --check``: what they read now, the store's own tables through the
  embedded fast path (plain SQL, no MLflow import);
- ``mlplan status PLAN --check`` with the fast path disabled (an unknown schema revision):
  MLflow's own search, the price the fast path saves.

Each is a fresh process, as a gate runs it. Run from the repository root.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_tracking import build_store, replicate_runs

NO_FAST_PATH = (
    "import sys; import mlplan._record.store.embedded as e; e.KNOWN_REVISIONS = frozenset(); "
    "from mlplan._cli import main; sys.exit(main(sys.argv[1:]))"
)


def median_seconds(command: list[str], repeats: int) -> tuple[float, float]:
    """Medians of wall-clock and CPU seconds of the command's process, after one warm-up; a
    check may exit 1 (the plan needs attention): only 0 and 1 are accepted."""
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    walls, cpus = [], []
    for attempt in range(repeats + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, env=environment, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{command} exited {done.returncode}: {done.stderr.decode()}")
        if attempt:  # the first is the warm-up: bytecode, the page cache, the local copy
            walls.append(wall)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the store in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        plan = folder / "plan.yaml"
        if not (folder / ".mlplan" / "mlflow.db").is_file():
            print(f"building a store of {args.runs} runs in {folder}", flush=True)
            build_store(folder, min(args.runs, 200))
            replicate_runs(folder / ".mlplan" / "mlflow.db", args.runs)
        mlplan = [sys.executable, "-m", "mlplan", "status", str(plan), "--today", "2026-11-25"]
        rows = {
            "status, current local copy (the gate before)": mlplan,
            "status --check, embedded fast path (the gate now)": [*mlplan, "--check"],
            "status --check through MLflow (no fast path)": [
                sys.executable,
                "-c",
                NO_FAST_PATH,
                *mlplan[3:],
                "--check",
            ],
        }
        for name, command in rows.items():
            wall, cpu = median_seconds(command, args.repeats)
            print(
                f"{name}: wall {wall:.3f} s, CPU {cpu:.3f} s (medians of {args.repeats})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
