"""How long `mlplan render` of the ridge worked example takes, and where the time goes (issue 19).

    python benchmarks/bench_render.py [--store DIR] [--repeats 5]

Without ``--store`` it first runs ``examples/ridge/run.py --quick`` into a temporary folder
(about 20 s; not timed). Then, each in a fresh process as a user runs it, the median of
``--repeats`` runs of:

- ``render``: ``mlplan render plan.yaml -o design.md`` (the whole command: start-up, reading
  the store, judging, the PNGs, and the doc's snapshot kept in the store);
- ``render --no-log``: the plan alone (start-up, templates), the floor under the above;
- in one process, split (CPU time): ``import matplotlib.pyplot``, the PNGs
  (``plot_hypotheses``), and the snapshot (``journal.snapshot``: the doc and its PNGs logged
  as one MLflow run's artifacts).

Wall and CPU seconds are both printed: on a shared machine the wall time grows with the
neighbours' load and the CPU time does not.

Target on the 2-core CI machine: render ≤ 2.5 s.
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

REPO = Path(__file__).resolve().parent.parent
TARGET = 2.5

_SPLIT = """
import sys, time
from pathlib import Path
plan, out = Path(sys.argv[1]), Path(sys.argv[2])
from mlplan._api import journal_for
from mlplan._judge.verdicts import judge
from mlplan import _clock
journal = journal_for(plan)
results = journal.results()
verdicts = judge(journal.plan, results, _clock.today())
clock = time.process_time if "--cpu" in sys.argv else time.perf_counter
started = clock()
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot
imported = clock()
from mlplan._report.plots import plot_hypotheses
written = plot_hypotheses(journal.plan, results, verdicts, out / "plots")
drawn = clock()
doc = out / "doc.md"
doc.write_text("# a doc\\n", encoding="utf-8")
journal.snapshot(doc, [Path(p) for p in written.values()])
kept = clock()
print(imported - started, drawn - imported, kept - drawn, len(written))
"""


def _environment() -> dict[str, str]:
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    environment["PYTHONPATH"] = str(REPO) + os.pathsep + environment.get("PYTHONPATH", "")
    return environment


def _timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run: on a shared machine the CPU
    time is the figure that does not depend on the neighbours' load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=cwd, env=_environment(), capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _store(into: Path) -> Path:
    script = REPO / "examples" / "ridge" / "run.py"
    subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(into)],
        check=True,
        env=_environment(),
        capture_output=True,
    )
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="a folder run.py --quick --out wrote")
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = arguments.store or _store(Path(scratch) / "ridge")
        mlplan = [sys.executable, "-m", "mlplan", "render", "plan.yaml"]
        out = Path(scratch) / "out"
        out.mkdir()
        render, plan_only, split = [], [], []
        for _ in range(arguments.repeats):
            render.append(_timed([*mlplan, "-o", str(out / "design.md")], folder))
            plan_only.append(_timed([*mlplan, "--no-log", "-o", str(out / "plan.md")], folder))
            done = subprocess.run(
                [sys.executable, "-c", _SPLIT, "plan.yaml", str(out), "--cpu"],
                check=True,
                cwd=folder,
                env=_environment(),
                capture_output=True,
                text=True,
            )
            split.append([float(v) for v in done.stdout.split()[:3]])
    median = statistics.median
    print(f"medians of {arguments.repeats} runs, wall and CPU (user + system) seconds")
    for what, runs in (("render (whole command)", render), ("render --no-log (floor)", plan_only)):
        wall, cpu = median(r[0] for r in runs), median(r[1] for r in runs)
        print(f"{what:<27} wall {wall:6.2f}  cpu {cpu:6.2f}  (target ≤ {TARGET} s)")
    for index, what in enumerate(("import matplotlib.pyplot", "the PNGs", "the snapshot")):
        print(f"  {what:<25} cpu {median(row[index] for row in split):6.2f}")


if __name__ == "__main__":
    main()
