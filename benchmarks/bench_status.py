"""How long `mlplan status` takes on a small plan with a current local copy of its results,
against `mlplan validate` on the same plan. A script, not a test:

    python benchmarks/bench_status.py [--repeats 15] [--warmups 2] [--plan FILE] [--quick]

Both sides run as fresh processes, so both pay for starting Python, pydantic and the plan:

- ``mlplan status PLAN``, plain, as a user types it between writes: the results come from the
  local copy beside the plan (``.mlplan/cache``, revalidated against the store's revision tag
  without importing MLflow), so what is timed is start-up, the plan, the verdicts (kept from
  the warm-ups while nothing the judge reads changes: mlplan/_report/verdict_cache.py) and
  the table;
- ``mlplan validate PLAN``: the same start-up and plan, no judge.

By default the plan is a copy of examples/ridge with its results logged once into a fresh
embedded store in a temporary folder (``examples/ridge/run.py --out DIR``: ~1–5 minutes;
``--quick`` logs its 3-split version instead). ``--plan FILE`` times that plan and its store
as they are (the warm-ups bring its local copy up to date).

Medians of wall and CPU time (user + system of the child) of --repeats runs after --warmups
discarded ones; the commands alternate. Target: status ≤ 2× validate (wall); exits 1 above.
If it is above, profile with ``python -X importtime -m mlplan status PLAN``.
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
from collections.abc import Sequence
from pathlib import Path

TARGET = 2.0
RIDGE = Path(__file__).resolve().parent.parent / "examples" / "ridge"
# What `status` prints when it judged the local copy: the benchmark refuses to time a status
# that read the store (MLflow's import alone would be most of what it measured).
READ_THE_COPY = "results read from the local copy"
# Users run from compiled bytecode (pip writes it at install); with PYTHONDONTWRITEBYTECODE
# set, as on some CI images, every start recompiles and the ratio measures the compiler. The
# warm-ups write it. No telemetry from MLflow when logging the example.
ENVIRONMENT = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def mlplan_command(*argv: str) -> list[str]:
    """The installed entry point beside ``sys.executable``, else ``python -m mlplan``."""
    entry_point = Path(sys.executable).with_name("mlplan")
    if entry_point.is_file():
        return [str(entry_point), *argv]
    return [sys.executable, "-m", "mlplan", *argv]


def logged_ridge(folder: Path, *, quick: bool) -> Path:
    """examples/ridge copied into ``folder`` with its results logged once into a fresh embedded
    store there, by the example's own script."""
    command = [sys.executable, str(RIDGE / "run.py"), "--out", str(folder)]
    if quick:
        command.append("--quick")
    print(f"logging the ridge study: {' '.join(command)}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, env=ENVIRONMENT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"logging the ridge study failed ({result.returncode}):\n{result.stderr}")
    print(f"  logged in {time.perf_counter() - started:.0f} s", flush=True)
    return folder / "plan.yaml"


def run(command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=ENVIRONMENT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result


def timed(command: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``command``.

    CPU time is reported beside the wall time because the development machine is shared:
    other processes stretch the wall time of both sides, far less their CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run(command, cwd)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(
    commands: Sequence[Sequence[str]], cwd: Path, repeats: int
) -> list[tuple[float, float]]:
    """The median wall and CPU time of each command. Runs alternate between the commands, so
    that a change in the machine's load during the benchmark weighs on every side alike."""
    times: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(repeats):
        for command, samples in zip(commands, times, strict=True):
            samples.append(timed(command, cwd))
    return [
        (statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples))
        for samples in times
    ]


def warm_up(commands: Sequence[Sequence[str]], cwd: Path, warmups: int) -> None:
    """Compile the bytecode, bring the local copy up to date, and check that status then
    reads it."""
    for _ in range(max(warmups, 1)):
        for command in commands:
            run(command, cwd)
    status = run(commands[0], cwd)
    if READ_THE_COPY not in status.stderr + status.stdout:
        raise SystemExit(
            "status did not read the local copy of the results (no store beside the plan, or "
            f"its revision changes between runs?):\n{status.stderr}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--plan", type=Path, help="Time this plan instead of examples/ridge.")
    parser.add_argument(
        "--quick", action="store_true", help="Log the ridge study's 3-split version."
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(
        prefix="mlplan-bench-", ignore_cleanup_errors=True
    ) as temporary:
        if args.plan:
            plan = args.plan.resolve()
        else:
            plan = logged_ridge(Path(temporary) / "ridge", quick=args.quick)
        status = mlplan_command("status", str(plan))
        validate = mlplan_command("validate", str(plan))
        print(f"plan: {plan} ({plan.stat().st_size:,} bytes)")
        print(f"status:   {' '.join(status)}")
        print(f"validate: {' '.join(validate)}")
        print(f"{args.repeats} runs each after {args.warmups} warm-ups")
        warm_up([status, validate], plan.parent, args.warmups)
        (status_wall, status_cpu), (validate_wall, validate_cpu) = medians(
            [status, validate], plan.parent, args.repeats
        )

    ratio, cpu_ratio = status_wall / validate_wall, status_cpu / validate_cpu
    verdict = "OK" if ratio <= TARGET else "ABOVE TARGET: profile with python -X importtime"
    print("                    wall        CPU")
    print(f"median status:   {status_wall * 1000:7.1f} ms {status_cpu * 1000:7.1f} ms")
    print(f"median validate: {validate_wall * 1000:7.1f} ms {validate_cpu * 1000:7.1f} ms")
    print(f"ratio:           {ratio:7.2f}x   {cpu_ratio:7.2f}x  (target <= {TARGET}x)  {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
