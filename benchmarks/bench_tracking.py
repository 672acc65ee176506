"""How much mlplan adds on top of MLflow itself. A script, not a test:

    python benchmarks/bench_tracking.py [--store embedded|postgres] [--runs 10000]
                                        [--repeats 7] [--keep DIR] [--skip-log]

1. ``mlplan status`` on a plan with RUNS results against a bare script that pages through the
   same runs with ``MlflowClient.search_runs``. Timed twice: as a user meets it (the local copy
   of the results is current: target ≤ 0.5× the bare paging) and with ``--refresh`` (every
   run read from the store, as after a write).
2. ``mlplan log-result`` against a bare script making the same MLflow calls: find the
   experiment, create the run, log the batch, upload the plan, finish the run (target: ≤ 1.2×).

``--store embedded`` uses the plan's sqlite store; ``--store postgres`` creates a fresh
database on 127.0.0.1:5432 (user postgres, trust; dropped afterwards unless --keep), fills it,
and times both sides against ``mlflow server`` on it (2 workers). Writing 10,000 runs through
mlplan takes ~40 minutes on a busy 2-core machine, so ``--copy-from DIR`` instead copies the
rows of an embedded store built by ``--store embedded --keep DIR`` into the new database, table
by table (same MLflow schema, same rows).

Both sides run as fresh processes, so both pay for starting Python and importing mlflow: the
ratio is what a user waits for. Medians of --repeats runs after one warm-up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
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


def build_store(folder: Path, runs: int, uri: str | None = None) -> Path:
    """A plan with ``runs`` results, written through mlplan's own store (one process)."""
    from mlplan._judge.results import ResultKind
    from mlplan._plan.load import load_plan
    from mlplan._record.journal import Journal

    plan = folder / "plan.yaml"
    plan.write_text(PLAN)
    journal = Journal(load_plan(plan), uri)
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


def replicate_runs(sqlite_db: Path, runs: int) -> None:
    """Grow an embedded store to ``runs`` runs by copying the rows of the runs mlplan wrote,
    each copy under a new run id and submission id (writing 100,000 runs through MLflow one by
    one would take hours here). Then change the plan's revision, as any write would."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{sqlite_db}")
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    per_run = [t for t in metadata.sorted_tables if "run_uuid" in t.c and t.name != "runs"]
    with engine.begin() as connection:
        originals = [
            dict(r._mapping) for r in connection.execute(sa.select(metadata.tables["runs"]))
        ]
        rows = {
            t.name: [dict(r._mapping) for r in connection.execute(sa.select(t))] for t in per_run
        }
        by_run = {t: _group(rows[t], "run_uuid") for t in rows}
        have = len(originals)
        while have < runs:
            batch = originals[: runs - have]
            fresh = {run["run_uuid"]: uuid.uuid4().hex for run in batch}
            connection.execute(
                metadata.tables["runs"].insert(),
                [{**run, "run_uuid": fresh[run["run_uuid"]]} for run in batch],
            )
            for table in per_run:
                copied = [
                    _renamed(row, fresh[old])
                    for old in fresh
                    for row in by_run[table.name].get(old, [])
                ]
                for start in range(0, len(copied), 5_000):
                    connection.execute(table.insert(), copied[start : start + 5_000])
            have += len(batch)
        connection.execute(
            sa.text("UPDATE experiment_tags SET value = :v WHERE key = 'mlplan.revision'"),
            {"v": uuid.uuid4().hex},
        )


def _group(rows: list[dict[str, object]], key: str) -> dict[object, list[dict[str, object]]]:
    grouped: dict[object, list[dict[str, object]]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


def _renamed(row: dict[str, object], run_id: str) -> dict[str, object]:
    row = {**row, "run_uuid": run_id}
    if row.get("key") == "mlplan.submission_id":
        row["value"] = uuid.uuid4().hex
    return row


def copy_rows(sqlite_db: Path, backend: str) -> None:
    """Copy every MLflow row of an embedded store into a fresh database MLflow has set up."""
    import sqlalchemy as sa
    from mlflow.tracking import MlflowClient
    from sqlalchemy.dialects import postgresql

    MlflowClient(tracking_uri=backend).search_experiments()  # creates MLflow's tables
    source = sa.create_engine(f"sqlite:///{sqlite_db}")
    target = sa.create_engine(backend)
    metadata = sa.MetaData()
    metadata.reflect(bind=target)
    with source.connect() as reading, target.begin() as writing:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(row._mapping) for row in reading.execute(sa.select(table))]
            # Rows MLflow made when it set up the database (experiment 0, the default
            # workspace) are there already.
            insert = postgresql.insert(table).on_conflict_do_nothing()
            for start in range(0, len(rows), 5_000):
                writing.execute(insert, rows[start : start + 5_000])
        writing.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), "
                "(SELECT max(experiment_id) FROM experiments))"
            )
        )


def median_seconds(command: list[str], repeats: int) -> tuple[float, float]:
    """Medians of wall-clock and CPU (user + system) seconds of the command's process.

    CPU time is reported too because on a shared machine the wall clock mostly measures the
    neighbours: it is what the command itself costs."""
    # Users run from compiled bytecode (pip writes it at install); with PYTHONDONTWRITEBYTECODE
    # set, as on some CI images, an editable checkout recompiles mlplan on every start and the
    # ratio measures the compiler. The warm-up writes it.
    environment = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    subprocess.run(command, check=True, capture_output=True, env=environment)  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=environment)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def compare(name: str, ours: list[str], bare: list[str], repeats: int) -> None:
    (mlplan_s, mlplan_cpu), (bare_s, bare_cpu) = (
        median_seconds(ours, repeats),
        median_seconds(bare, repeats),
    )
    print(
        f"{name}: wall mlplan {mlplan_s:.3f} s, bare MLflow {bare_s:.3f} s, "
        f"ratio {mlplan_s / bare_s:.2f}×; CPU mlplan {mlplan_cpu:.3f} s, "
        f"bare {bare_cpu:.3f} s, ratio {mlplan_cpu / bare_cpu:.2f}× (medians of {repeats})",
        flush=True,
    )


@contextlib.contextmanager
def postgres_database(name: str, keep: bool) -> Iterator[str]:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True
    ) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            if not keep:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def mlflow_server(backend: str, folder: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [
        *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
        *("--backend-store-uri", backend, "--workers", "2"),
        *("--artifacts-destination", str(folder / "server-artifacts")),
    ]
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(command, env=environment, stdout=log, stderr=log, cwd=folder)
    try:
        for _ in range(600):
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=1):
                break
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def measure(
    plan: Path, uri: str, runs: int, repeats: int, skip_log: bool, *, embedded: bool = False
) -> None:
    mlplan = [sys.executable, "-m", "mlplan"]
    where = [] if embedded else ["--tracking-uri", uri]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, store {uri}", flush=True)
    raw = [sys.executable, "-c", RAW_SEARCH, uri]
    status = [*mlplan, "status", str(plan), "--json", *where]
    compare(f"status over {runs} runs (local copy current)", status, raw, repeats)
    compare(f"status over {runs} runs (--refresh)", [*status, "--refresh"], raw, repeats)
    if not skip_log:
        # A new value each time (the process id): the same result logged again is recognised
        # and not written, which would time a lookup against the bare side's write.
        log = [*mlplan, "log-result", str(plan), "-H", "H1", *where]
        new_value = ["sh", "-c", f"exec {shlex.join(log)} -m accuracy=0.$$"]
        compare("log-result", new_value, [sys.executable, "-c", RAW_LOG, uri, str(plan)], repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["embedded", "postgres"], default="embedded")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the store in this folder")
    parser.add_argument("--skip-log", action="store_true", help="time status only")
    parser.add_argument("--copy-from", type=Path, help="postgres: copy this embedded store")
    parser.add_argument(
        "--grow", action="store_true", help="embedded: copy the store's runs up to --runs"
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mlplan-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    plan = folder / "plan.yaml"
    if args.store == "embedded":
        if not (folder / ".mlplan" / "mlflow.db").is_file():
            print(f"Building a store with {args.runs} runs in {folder} …", flush=True)
            build_store(folder, args.runs)
        if args.grow:
            print(f"Growing the store to {args.runs} runs by copying its rows …", flush=True)
            replicate_runs(folder / ".mlplan" / "mlflow.db", args.runs)
        uri = f"sqlite:///{folder / '.mlplan' / 'mlflow.db'}"
        measure(plan, uri, args.runs, args.repeats, args.skip_log, embedded=True)
        return 0
    name = f"mlplan_bench_{args.runs}" if args.keep else f"mlplan_bench_{uuid.uuid4().hex[:8]}"
    with postgres_database(name, keep=args.keep is not None) as backend:
        if args.copy_from is not None and not plan.is_file():
            print(f"Copying {args.copy_from} into PostgreSQL database {name} …", flush=True)
            copy_rows(args.copy_from / ".mlplan" / "mlflow.db", backend)
            plan.write_text(PLAN)
        elif not plan.is_file():
            print(f"Building {args.runs} runs in PostgreSQL database {name} …", flush=True)
            build_store(folder, args.runs, backend)
        with mlflow_server(backend, folder) as url:
            measure(plan, url, args.runs, args.repeats, args.skip_log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
