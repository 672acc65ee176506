"""Run the ridge-regression study end to end through mlplan: baselines, hypotheses' results,
verdicts, design doc.

    python examples/ridge/run.py            # writes design.md, design_plots/ and figures/ here
    python examples/ridge/run.py --quick --out DIR   # 3 splits and 2 λ values, same code paths

Every result runs through `mlplan run` (``mlplan.run_plan``): plan.yaml plans the splits
(pair_values) and H1's λ values (its own condition_values), and says how each hypothesis and
baseline produces one result (entry_point, command); each entry point returns its metrics with
the params and note its run carries.

Every figure in the design doc is measured from mlxtend's copy of the Boston housing data;
nothing is reported from elsewhere. The computation and each cell's result live in
ridge_study.py (which never imports mlplan); this script runs the matrix and renders.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import mlplan

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

if TYPE_CHECKING:  # mypy resolves modules from the repository root
    from examples.ridge import ridge_study as rs
else:
    import ridge_study as rs

#: What a plan folder needs: the plan, and the module its baselines' entry points name.
PLAN_FILES = ("plan.yaml", "ridge_study.py")
#: The quick path (for tests): 3 splits and 2 λ values instead of 10 and 4, planned so by
#: the quick plan (written into --out).
QUICK_SEEDS: tuple[int, ...] = (0, 1, 2)
QUICK_LAMBDAS: tuple[float, ...] = (7.0, 199.0)


def _prepare(out: Path, *, quick: bool) -> Path:
    """The plan to log against, in ``out``, with a fresh store. The quick plan is the same
    plan with only the first splits and two λ planned (pair_values, runs, H1's
    condition_values), so `mlplan run` runs those and the verdicts are judged on them."""
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() != HERE:
        for name in PLAN_FILES:  # entry points import ridge_study from the plan's folder
            shutil.copy2(HERE / name, out / name)
    if quick:
        _write_quick_plan(out / "plan.yaml")
    # This example's own demo store, embedded beside the plan: always start from scratch so
    # the design doc shows exactly one run of the study.
    shutil.rmtree(out / ".mlplan", ignore_errors=True)
    return out / "plan.yaml"


def _write_quick_plan(plan: Path) -> None:
    text = (HERE / "plan.yaml").read_text(encoding="utf-8")
    seeds = f"  pair_values: {list(rs.DEFAULT_SEEDS)}\n  runs: {len(rs.DEFAULT_SEEDS)}\n"
    lambdas = f"condition_values: {{lambda: {_written(rs.CONSTRAINT_LAMBDAS)}}}"
    for full in (seeds, lambdas):
        if full not in text:
            raise mlplan.MlplanError(f"{HERE / 'plan.yaml'} no longer plans {full.strip()!r}")
    text = text.replace(seeds, f"  pair_values: {list(QUICK_SEEDS)}\n  runs: {len(QUICK_SEEDS)}\n")
    text = text.replace(lambdas, f"condition_values: {{lambda: {_written(QUICK_LAMBDAS)}}}")
    plan.write_text(text, encoding="utf-8")


def _written(lambdas: Sequence[float]) -> str:
    """H1's planned λ values as plan.yaml writes them: each λ, then null (the Lagrange check)."""
    return "[" + ", ".join([*map(repr, lambdas), "null"]) + "]"


def _run_matrix(plan: Path) -> None:
    """Every result, through `mlplan run`: plan.yaml plans the splits (pair_values), H1's λ
    values and its Lagrange check (H1's condition_values) and says how each hypothesis and
    baseline produces one result; ridge_study's entry points return their params and notes."""
    # One cell at a time: the design doc lists each subject's results in logging order, and a
    # committed doc must come out the same on every run.
    report = mlplan.run_plan(plan, ["H1", "H2", "H3", "H4", "B-mean", "B-ols"], jobs=1)
    if not report.ok:  # each failed cell: what went wrong, and its log file
        raise mlplan.MlplanError(
            "; ".join(f"{c.cell.label} failed: {c.error} (log: {c.log})" for c in report.failed)
        )


def _write_figures(folder: Path, seeds: Sequence[int]) -> None:
    """The study's own plots (the design doc links only mlplan's per-hypothesis plots)."""
    rs.plot_ridge_trace(folder / "ridge_trace.png")
    rs.plot_test_mse(folder / "test_mse_vs_lambda.png")
    # H3's criterion and guardrail, then H4's, as in plan.yaml.
    rs.plot_paired_gains(folder / "paired_gains.png", seeds, thresholds=(1.0, -1.0, -5.0, -5.0))


@contextlib.contextmanager
def _replayed(plan: Path) -> Iterator[None]:
    """Log as of the day the plan's experiment log was last written (its last decision): the
    study is replayed, and a hypothesis the log closes takes no results after the day it was
    closed. Verdicts and the doc are still judged as of --today (or today)."""
    decisions = mlplan.load_plan(plan).plan.experiment_log.decisions
    before = os.environ.get("MLPLAN_TODAY")
    if decisions:
        os.environ["MLPLAN_TODAY"] = max(d.date for d in decisions).isoformat()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MLPLAN_TODAY", None)
        else:
            os.environ["MLPLAN_TODAY"] = before


def run(out: Path = HERE, *, today: dt.date | None = None, quick: bool = False) -> Path:
    """Run the whole study into ``out`` and return the rendered design doc's path."""
    if quick and out.resolve() == HERE:
        raise mlplan.MlplanError("--quick writes a smaller plan: give it --out FOLDER")
    plan = _prepare(out, quick=quick)
    seeds = QUICK_SEEDS if quick else rs.DEFAULT_SEEDS
    with _replayed(plan):
        _run_matrix(plan)
    _write_figures(out / "figures", seeds)
    doc = out / "design.md"
    mlplan.render_design_doc(plan, doc, today=today)
    return doc


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date written YYYY-MM-DD, got {text!r}"
        ) from None


def _where(out: Path) -> tuple[str, str]:
    """Where the results went, and how to browse them: the server or store that
    MLFLOW_TRACKING_URI names (as mlplan itself decides), else the embedded store beside the
    plan."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri.startswith(("http://", "https://")):
        return uri, f"open {uri} in a browser"
    store = uri or f"sqlite:///{(out / '.mlplan' / 'mlflow.db').resolve()}"
    return store, f"mlflow ui --backend-store-uri {store}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=HERE, help="folder for plan, store and doc")
    parser.add_argument("--today", type=_date, default=None, help="judge as of YYYY-MM-DD")
    parser.add_argument("--quick", action="store_true", help="3 splits and 2 λ values")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    try:
        doc = run(out, today=args.today, quick=args.quick)
    except mlplan.MlplanError as error:  # e.g. a server that does not answer: one message
        print(f"error: {error}", file=sys.stderr)
        return 1
    store, browse = _where(doc.parent)
    print(f"design doc:   {doc}")
    print(f"MLflow store: {store}")
    for verdict in mlplan.status(out / "plan.yaml", today=args.today).verdicts:
        step = verdict.next_hypothesis or verdict.next_action or "-"
        print(f"  {verdict.hypothesis}: {verdict.status} ({verdict.reason}); next: {step}")
    print(f"open the store: {browse}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
