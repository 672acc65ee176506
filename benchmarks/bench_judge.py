"""How long the pure judge takes on 10,000 in-memory results. A script, not a test:

    python benchmarks/bench_judge.py [--results 10000] [--repeats 7]

The plan has 10 hypotheses paired by seed, each with two criteria (one against a baseline with
a relative margin, one absolute) and a guardrail over three metrics, along a decision graph;
the results are split evenly between the hypotheses and two baselines, one per seed. Target:
the median ≤ 0.3 s (no MLflow involved: this is the judge alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from typing import Any

import numpy as np

from mlplan import judge
from mlplan._judge.results import Result
from mlplan._plan.models import Plan

TARGET_S = 0.3
HYPOTHESES = 10


def plan() -> Plan:
    metrics = [{"key": "acc", "direction": "higher", "bounds": [0, 1], "description": "a"}]
    metrics += [
        {"key": f"recall.{i}", "direction": "higher", "bounds": [0, 1], "description": "r"}
        for i in range(3)
    ]
    hypotheses: list[dict[str, Any]] = []
    for i in range(HYPOTHESES):
        following = f"H{i + 1}" if i + 1 < HYPOTHESES else "ship"
        hypotheses.append(
            {
                "id": f"H{i}",
                "statement": "s",
                "method": "m",
                "metrics": ["acc"],
                "baselines": ["B0", "B1"],
                "success_criteria": [
                    {"metric": "acc", "better_than": "B0", "by": "2%"},
                    {"metric": "acc", "at_least": 0.5},
                ],
                "guardrails": [{"metrics": "recall.*", "against": "B1", "max_drop": 0.02}],
                "timebox": {"days": 30, "start": "2026-01-01"},
                "on_success": {"description": "next", "then": following},
                "on_failure": {"description": "stop", "then": "stop"},
            }
        )
    return Plan.model_validate(
        {
            "schema_version": 1,
            "id": "bench",
            "title": "Bench",
            "problem": {"statement": "p", "audience": "a", "why_now": "n"},
            "goals": {"software": ["m"], "metrics": [{"statement": "g"}]},
            "metrics": metrics,
            "experiment": {
                "data_motivation": "d",
                "pair_by": "seed",
                "baselines": [{"id": b, "description": b} for b in ("B0", "B1")],
                "hypotheses": hypotheses,
            },
            "software_design": {"crawl": "c", "walk": "w", "run": "r"},
            "considerations": {
                "launch_criteria": ["x"],
                "what_could_go_wrong": {
                    "products_affected": "n",
                    "customer_impact": "n",
                    "monitoring": "n",
                    "rollback": "n",
                },
                "security": "n",
                "privacy": "n",
            },
        }
    )


def results(count: int) -> list[Result]:
    rng = np.random.default_rng(0)
    subjects = [("baseline", "B0"), ("baseline", "B1")]
    subjects += [("hypothesis", f"H{i}") for i in range(HYPOTHESES)]
    per_subject = count // len(subjects)
    logged = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    made = []
    for kind, subject in subjects:
        for seed in range(per_subject):
            values = {"acc": float(rng.uniform(0.6, 0.9))}
            values |= {f"recall.{i}": float(rng.uniform(0.7, 0.9)) for i in range(3)}
            made.append(
                Result(
                    run_id=f"{subject}-{seed}",
                    kind="baseline" if kind == "baseline" else "hypothesis",
                    subject=subject,
                    metrics=values,
                    logged_at=logged,
                    params={"seed": str(seed)},
                )
            )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    the_plan, the_results = plan(), results(args.results)
    today = dt.date(2026, 1, 10)
    judge(the_plan, the_results[:50], today)  # warm-up: imports scipy, fills caches
    times, cpu = [], []
    for _ in range(args.repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        verdicts = judge(the_plan, the_results, today)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    median = statistics.median(times)
    # CPU time as well: on a shared machine the wall clock mostly measures the neighbours.
    print(
        f"judge: {len(the_results):,} results, {len(verdicts)} hypotheses, "
        f"{sum(len(v.checks) for v in verdicts)} checks: median {median:.3f} s wall "
        f"(min {min(times):.3f} s), {statistics.median(cpu):.3f} s CPU, over {args.repeats} "
        f"runs; target ≤ {TARGET_S} s"
    )
    if median > TARGET_S:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
