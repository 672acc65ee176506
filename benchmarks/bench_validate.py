"""How long `mlplan validate` takes on the largest realistic plan, against the import floor.
A script, not a test:

    python benchmarks/bench_validate.py [--repeats 15] [--warmups 2] [--keep DIR]

Both sides run as fresh processes, so both pay for starting Python:

- ``mlplan validate PLAN`` on a plan with 60 hypotheses, 40 metrics and 20 baselines (the
  installed ``mlplan`` entry point beside ``sys.executable``, else ``python -m mlplan``);
- the floor, ``python -c "import pydantic, yaml, jinja2, typer"``: what any CLI built on these
  libraries pays before it reads a byte;
- for reference, the floor plus one pydantic model defined and used.

Medians of --repeats runs after --warmups discarded ones; the commands alternate.
Target: validate ≤ 1.5× the floor.
If it is above, profile with ``python -X importtime -m mlplan validate PLAN``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TARGET = 1.5
HYPOTHESES = 60
METRICS = 40
BASELINES = 20
FLOOR = [sys.executable, "-c", "import pydantic, yaml, jinja2, typer"]
# For reference, not the target: the floor plus defining and using one pydantic model. `import
# pydantic` is lazy; the first BaseModel loads pydantic's model machinery and discovers its
# plugins (importlib.metadata), which any pydantic-based CLI pays before its own models.
ONE_MODEL = [
    sys.executable,
    "-c",
    "import pydantic, yaml, jinja2, typer\nclass M(pydantic.BaseModel):\n    x: int\nM(x=1)",
]
# Users run from compiled bytecode (pip writes it at install). With PYTHONDONTWRITEBYTECODE
# set, as on some CI images, an editable checkout or a uv-installed venv compiles every module
# on every start, and both sides of the ratio measure the compiler: the warm-ups write it here.
BYTECODE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def big_plan() -> str:
    """A plan as large as real ones get; valid and without warnings, as a finished plan is
    (an invalid one stops early; a warning per hypothesis measures the printing)."""
    metrics = [f"m{i:02d}.{'val' if i % 2 else 'test'}" for i in range(METRICS)]
    lines = [
        "schema_version: 1",
        "id: bench-validate",
        "title: Benchmark plan at the size of the largest real ones",
        "owners: [Ada Lovelace <ada@example.com>, Grace Hopper]",
        "problem:",
        "  statement: Support tickets wait too long before anyone reads them.",
        "  audience: The support team.",
        "  why_now: Volume doubled after the launch.",
        "goals:",
        "  software: [A ticket classifier., A sorted queue., A weekly report.]",
        "  metrics:",
    ]
    for i in range(10):
        lines += [
            f"    - statement: Raise {metrics[i]} by 5% on urgent tickets without hurting others.",
            f"      metric: {metrics[i]}",
            '      target: "5%"',
            "      segment: urgent tickets",
            '      guardrail: {metrics: "m*.val", max_drop: "2%"}',
        ]
    lines += ["  trade_offs: [Precision may drop by up to 5%.]", "metrics:"]
    for i, key in enumerate(metrics):
        direction = "lower" if i % 5 == 4 else "higher"
        # Bounds from 0, as a careful plan declares them for scores and latencies: without
        # them every relative margin gets a warning (120 here), which is not the plan measured.
        lines.append(
            f"  - {{key: {key}, direction: {direction}, unit: '', bounds: [0, .inf], "
            f"description: Metric number {i} of the benchmark plan.}}"
        )
    lines += [
        "experiment:",
        "  data_motivation: Each late urgent ticket costs a customer.",
        "  baselines:",
    ]
    for b in range(BASELINES):
        lines += [
            f"    - id: B{b:02d}",
            f"      description: Heuristic baseline number {b}, e.g. keyword rules.",
            f"      entry_point: bench_baselines:baseline_{b}",
        ]
    lines.append("  hypotheses:")
    start = dt.date(2026, 1, 5)
    for h in range(HYPOTHESES):
        own = [metrics[(h + k) % METRICS] for k in range(4)]
        baselines = [f"B{(h + k) % BASELINES:02d}" for k in range(3)]
        success = f"H{h + 1:02d}" if h + 1 < HYPOTHESES else "ship"
        failure = f"H{h + 2:02d}" if h + 2 < HYPOTHESES else "stop"
        lines += [
            f"    - id: H{h:02d}",
            f"      statement: Change number {h} improves {own[0]} over {baselines[0]} by 5%.",
            f"      method: Train variant {h} of the model and evaluate it on the test split.",
            f"      metrics: [{', '.join(own)}]",
            f"      baselines: [{', '.join(baselines)}]",
            "      success_criteria:",
            f"        - {{metric: {own[0]}, better_than: [{baselines[0]}, {baselines[1]}], "
            'by: "5%"}',
            f"        - {{metric: {own[1]}, at_least: 0.6}}",
            f"        - {{metric: {own[2]}, at_most: 120}}",
            "      guardrails:",
            f'        - {{metrics: "m*.val", against: {baselines[0]}, max_drop: "2%"}}',
            f"      timebox: {{days: 10, start: {start + dt.timedelta(days=h)}}}",
            f"      on_success: {{description: Go on with the next change., then: {success}}}",
            f"      on_failure: {{description: Skip one change., then: {failure}}}",
        ]
    lines += [
        "software_design:",
        "  crawl: Score last month offline.",
        "  walk: A service behind a feature flag.",
        "  run: Weekly retraining.",
        "considerations:",
        "  launch_criteria: [Two good weeks in shadow mode.]",
        "  what_could_go_wrong:",
        "    products_affected: The support queue.",
        "    customer_impact: Urgent tickets wait longer.",
        "    monitoring: Daily recall on a labelled sample.",
        "    rollback: Turn the flag off.",
        "  security: Stays inside the support system.",
        "  privacy: Names are stripped before training.",
        "experiment_log:",
        "  entries:",
    ]
    lines += [
        f"    - {{date: {start + dt.timedelta(days=d)}, text: Note {d}., hypothesis: H{d:02d}}}"
        for d in range(30)
    ]
    lines.append("  decisions:")
    lines += [
        f"    - {{date: {start + dt.timedelta(days=d)}, hypothesis: H{d:02d}, decision: Go on.}}"
        for d in range(20)
    ]
    return "\n".join(lines) + "\n"


def validate_command(plan: Path) -> list[str]:
    entry_point = Path(sys.executable).with_name("mlplan")
    if entry_point.is_file():
        return [str(entry_point), "validate", str(plan)]
    return [sys.executable, "-m", "mlplan", "validate", str(plan)]


def timed(command: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``command``.

    CPU time is reported beside the wall time because the development machine is shared:
    other processes stretch the wall time of both sides, far less their CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, env=BYTECODE_ENV, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def medians(
    commands: Sequence[Sequence[str]], cwd: Path, repeats: int, warmups: int
) -> list[tuple[float, float]]:
    """The median wall and CPU time of each command. Runs alternate between the commands, so
    that a change in the machine's load during the benchmark weighs on every side alike."""
    for _ in range(warmups):
        for command in commands:
            timed(command, cwd)
    times: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(repeats):
        for command, samples in zip(commands, times, strict=True):
            samples.append(timed(command, cwd))
    return [
        (statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples))
        for samples in times
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="Write the plan here instead of a temp dir.")
    parser.add_argument(
        "--plan", type=Path, help="Validate this plan instead of the generated 60-hypothesis one."
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mlplan-bench-") as temporary:
        folder: Path = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        plan = args.plan.resolve() if args.plan else folder / "plan.yaml"
        if not args.plan:
            plan.write_text(big_plan(), encoding="utf-8")
        command = validate_command(plan)
        size = f"{HYPOTHESES} hypotheses, {METRICS} metrics, {BASELINES} baselines"
        print(f"plan: {plan} ({plan.stat().st_size:,} bytes{'' if args.plan else ', ' + size})")
        print(f"validate: {' '.join(command)}")
        print(f"floor:    {' '.join(FLOOR[:2])} {FLOOR[2]!r}")
        print(f"{args.repeats} runs each after {args.warmups} warm-ups")

        validate, floor, one_model = medians(
            [command, FLOOR, ONE_MODEL], folder, args.repeats, args.warmups
        )

    ratio, cpu_ratio = validate[0] / floor[0], validate[1] / floor[1]
    verdict = "OK" if ratio <= TARGET else "ABOVE TARGET: profile with python -X importtime"
    print("                    wall        CPU")
    print(f"median validate: {validate[0] * 1000:7.1f} ms {validate[1] * 1000:7.1f} ms")
    print(f"median floor:    {floor[0] * 1000:7.1f} ms {floor[1] * 1000:7.1f} ms")
    print(
        f"one BaseModel:   {one_model[0] * 1000:7.1f} ms {one_model[1] * 1000:7.1f} ms"
        f"  ({one_model[0] / floor[0]:.2f}x the floor: pydantic's model machinery, for reference)"
    )
    print(f"ratio:           {ratio:7.2f}x   {cpu_ratio:7.2f}x  (target <= {TARGET}x)  {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
