"""How long `mlplan site` takes on a team's portfolio (issue 19).

    python benchmarks/bench_site.py [--plans 50] [--hypotheses 10] [--results 20] [--repeats 3]

Builds ``--plans`` plans of ``--hypotheses`` hypotheses with ``--results`` results each, in
embedded stores (tests/browser/portfolio.py), then times, each in a fresh process as a user
runs it: a cold build into an empty folder, a rebuild with nothing changed, and a rebuild after
one plan file changed. Targets on the 2-core CI machine: cold ≤ 60 s, unchanged ≤ 3 s, one
changed ≤ 5 s. Prints the median of ``--repeats`` runs of each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
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


def _site(plans: Path, out: Path) -> float:
    command = [sys.executable, "-m", "mlplan", "site", str(plans), "-o", str(out)]
    environment = {**os.environ, "MLPLAN_TODAY": TODAY.isoformat()}
    environment["MLFLOW_DISABLE_TELEMETRY"] = "true"
    started = time.perf_counter()
    subprocess.run(command, check=True, env=environment, capture_output=True)
    return time.perf_counter() - started


def _touch_one(plan: Path, round_: int) -> None:
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("title: ", f"# edited {round_}\ntitle: ", 1), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--hypotheses", type=int, default=10)
    parser.add_argument("--results", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from browser.portfolio import make_portfolio

    with tempfile.TemporaryDirectory(prefix="bench-site-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        plans = make_portfolio(
            root / "plans",
            args.plans,
            hypotheses=args.hypotheses,
            results=args.results,
            today=TODAY,
        )
        print(
            f"{len(plans)} plans × {args.hypotheses} hypotheses × {args.results} results "
            f"built in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        times: dict[str, list[float]] = {name: [] for name in TARGETS}
        for round_ in range(args.repeats):
            out = root / f"site{round_}"
            shutil.rmtree(out, ignore_errors=True)
            # The first cold build also fills each plan's local copy of its results, as any
            # first `status` would; every cold build after it reads through that copy.
            times["cold"].append(_site(root / "plans", out))
            times["unchanged"].append(_site(root / "plans", out))
            _touch_one(plans[round_ % len(plans)], round_)
            times["one changed"].append(_site(root / "plans", out))
            print(
                f"round {round_ + 1}: "
                + ", ".join(f"{name} {values[-1]:.2f} s" for name, values in times.items()),
                flush=True,
            )
    failed = False
    for name, values in times.items():
        median = statistics.median(values)
        verdict = "ok" if median <= TARGETS[name] else "OVER TARGET"
        failed |= median > TARGETS[name]
        print(f"{name:12} median {median:6.2f} s  (target ≤ {TARGETS[name]:.0f} s) {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
