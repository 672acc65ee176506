"""How much mlplan adds on top of MLflow itself. A script, not a test:

    python benchmarks/bench_tracking.py [--runs 10000] [--repeats 7] [--keep DIR]

1. ``mlplan status`` on a plan with RUNS results against a bare script that pages through the
   same runs with ``MlflowClient.search_runs`` (target: ≤ 1.2×).
2. ``mlplan log-result`` against a bare script making the same MLflow calls: find the
   experiment, create the run, log the batch, upload the plan, finish the run (target: ≤ 1.2×).

Both sides run as fresh processes, so both pay for starting Python and importing mlflow: the
ratio is what a user waits for. Medians of --repeats runs after one warm-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAN = """\
schema_version: 1
id: bench
title: Benchmark plan
problem: {statement: S., audience: A., why_now: W.}
goals:
  software: [S.]
  metrics: [{statement: Raise accuracy by 5%., metric: accuracy, target: "5%"}]
metrics:
  - {key: accuracy, direction: higher, description: Accuracy.}
  - {key: loss, direction: lower, description: Loss.}
experiment:
  data_motivation: D.
  baselines: [{id: B1, description: Majority class.}]
  hypotheses:
    - id: H1
      statement: A model beats B1 by 5%.
      method: Train it.
      metrics: [accuracy, loss]
      baselines: [B1]
      success_criteria: [{metric: accuracy, better_than: B1, by: "5%"}]
      timebox: {days: 10, start: 2026-11-20}
      on_success: {description: Ship., then: ship}
      on_failure: {description: Stop., then: stop}
software_design: {crawl: C., walk: W., run: R.}
considerations:
  launch_criteria: [L.]
  what_could_go_wrong: {products_affected: P., customer_impact: C., monitoring: M., rollback: R.}
  security: S.
  privacy: P.
"""

RAW_SEARCH = """\
import sys
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
experiment = client.get_experiment_by_name("mlplan/bench")
count, token = 0, None
while True:
    page = client.search_runs([experiment.experiment_id],
        filter_string="tags.`mlplan.plan` = 'bench' and attributes.status = 'FINISHED'",
        max_results=10000, page_token=token)
    count += len(page)
    token = page.token
    if not token:
        break
print(count)
"""

RAW_LOG = """\
import sys, time
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
experiment = client.get_experiment_by_name("mlplan/bench")
run = client.create_run(experiment.experiment_id, run_name="H1 · hypothesis",
                        tags={"mlplan.plan": "bench", "mlplan.kind": "hypothesis",
                              "mlplan.subject": "H1"})
now = int(time.time() * 1000)
client.log_batch(run.info.run_id, metrics=[Metric("accuracy", 0.9, now, 0)], params=[])
client.log_artifact(run.info.run_id, sys.argv[2], artifact_path="plan")
client.set_terminated(run.info.run_id, "FINISHED")
"""


def build_store(folder: Path, runs: int) -> Path:
    """A plan with ``runs`` results, written through mlplan's own store (one process)."""
    from mlplan._journal import Journal
    from mlplan._load import load_plan
    from mlplan._results import ResultKind

    plan = folder / "plan.yaml"
    plan.write_text(PLAN)
    journal = Journal(load_plan(plan))
    store = journal.store
    started = time.perf_counter()
    for index in range(runs):
        kind: ResultKind = "baseline" if index % 10 == 0 else "hypothesis"
        submission = journal.submission(
            kind=kind,
            subject="B1" if kind == "baseline" else "H1",
            metrics={"accuracy": 0.5 + (index % 97) / 1000, "loss": 1.0 - (index % 89) / 1000},
        )
        store.log(submission)
        if index and index % 1000 == 0:
            print(f"  {index} runs written ({time.perf_counter() - started:.0f} s)", flush=True)
    return plan


def median_seconds(command: list[str], repeats: int) -> float:
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    subprocess.run(command, check=True, capture_output=True, env=environment)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=environment)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def compare(name: str, ours: list[str], bare: list[str], repeats: int) -> None:
    mlplan_s = median_seconds(ours, repeats)
    bare_s = median_seconds(bare, repeats)
    print(
        f"{name}: mlplan {mlplan_s:.3f} s, bare MLflow {bare_s:.3f} s, "
        f"ratio {mlplan_s / bare_s:.2f}× (median of {repeats})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the store in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mlplan-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    plan = folder / "plan.yaml"
    if not (folder / ".mlplan" / "mlflow.db").is_file():
        print(f"Building a store with {args.runs} runs in {folder} …", flush=True)
        build_store(folder, args.runs)
    uri = f"sqlite:///{folder / '.mlplan' / 'mlflow.db'}"
    mlplan = [sys.executable, "-m", "mlplan"]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, store {uri}")
    compare(
        f"status over {args.runs} runs",
        [*mlplan, "status", str(plan), "--json"],
        [sys.executable, "-c", RAW_SEARCH, uri],
        args.repeats,
    )
    compare(
        "log-result",
        [*mlplan, "log-result", str(plan), "-H", "H1", "-m", "accuracy=0.9"],
        [sys.executable, "-c", RAW_LOG, uri, str(plan)],
        args.repeats,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
