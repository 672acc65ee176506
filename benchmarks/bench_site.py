"""How long `mlplan site` takes on a team's portfolio (issue 19).

    python benchmarks/bench_site.py [--plans 50] [--hypotheses 10] [--results 20] [--repeats 3]
                                    [--keep DIR]

Builds ``--plans`` plans of ``--hypotheses`` hypotheses with ``--results`` results each, in
embedded stores (tests/browser/portfolio.py), then times, each in a fresh process as a user
runs it: a cold build into an empty folder with no local copy of any plan's results (every
``.mlplan/cache`` removed first), a rebuild with nothing changed, and a rebuild after one plan
file changed. Targets on the 2-core CI machine: cold ≤ 60 s, unchanged ≤ 3 s, one changed
≤ 5 s. Prints the median of ``--repeats`` runs of each, wall and CPU (user + system of the
build's process): on a shared machine the wall time says as much about the others' load
(printed with it) as about the build. ``--keep DIR`` keeps the generated plans in DIR and
reuses them when DIR already holds them (writing them takes a minute or more).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 25)
TARGETS = {"cold": 60.0, "unchanged": 3.0, "one changed": 5.0}


def _cpu_of_children() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _site(plans: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one `mlplan site` process."""
    command = [sys.executable, "-m", "mlplan", "site", str(plans), "-o", str(out)]
    environment = {**os.environ, "MLPLAN_TODAY": TODAY.isoformat()}
    environment["MLFLOW_DISABLE_TELEMETRY"] = "true"
    cpu = _cpu_of_children()
    started = time.perf_counter()
    subprocess.run(command, check=True, env=environment, capture_output=True)
    return time.perf_counter() - started, _cpu_of_children() - cpu


def _no_local_copies(plans: Path) -> None:
    for cache in plans.glob("*/.mlplan/cache"):
        shutil.rmtree(cache)


def _portfolio(root: Path, args: argparse.Namespace) -> list[Path]:
    """The plans under ``root``: those already there when --keep named a folder that
    holds them, else newly written."""
    from browser.portfolio import make_portfolio

    found = sorted(root.glob("plan*/plan.yaml"))
    if found:
        print(f"{len(found)} plans reused from {root}", flush=True)
        return found
    started = time.perf_counter()
    plans = make_portfolio(
        root, args.plans, hypotheses=args.hypotheses, results=args.results, today=TODAY
    )
    print(
        f"{len(plans)} plans × {args.hypotheses} hypotheses × {args.results} results "
        f"built in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return plans


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f}, {five:.1f}, {fifteen:.1f} on {os.cpu_count()} CPUs"


def _touch_one(plan: Path, round_: int) -> None:
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("title: ", f"# edited {round_}\ntitle: ", 1), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--hypotheses", type=int, default=10)
    parser.add_argument("--results", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the generated plans here (reused if there)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    with tempfile.TemporaryDirectory(prefix="bench-site-") as folder:
        root = Path(folder)
        plans_folder = args.keep.resolve() if args.keep else root / "plans"
        plans = _portfolio(plans_folder, args)
        walls: dict[str, list[float]] = {name: [] for name in TARGETS}
        cpus: dict[str, list[float]] = {name: [] for name in TARGETS}
        for round_ in range(args.repeats):
            out = root / f"site{round_}"
            shutil.rmtree(out, ignore_errors=True)
            # Every cold build is the very first one: no plan has a local copy of its results
            # (the site never writes one, but a `status` run between rounds would).
            _no_local_copies(plans_folder)
            for name in TARGETS:
                if name == "one changed":
                    _touch_one(plans[round_ % len(plans)], round_)
                wall, cpu = _site(plans_folder, out)
                walls[name].append(wall)
                cpus[name].append(cpu)
            print(
                f"round {round_ + 1}: "
                + ", ".join(
                    f"{name} {walls[name][-1]:.2f} s ({cpus[name][-1]:.2f} s CPU)"
                    for name in TARGETS
                )
                + f"; {_load()}",
                flush=True,
            )
    failed = False
    for name, values in walls.items():
        median = statistics.median(values)
        verdict = "ok" if median <= TARGETS[name] else "OVER TARGET"
        failed |= median > TARGETS[name]
        print(
            f"{name:12} median {median:6.2f} s wall, {statistics.median(cpus[name]):6.2f} s CPU "
            f"(target ≤ {TARGETS[name]:.0f} s) {verdict}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
