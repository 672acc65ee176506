"""Run the ridge-regression study end to end through mlplan: baselines, hypotheses' results,
verdicts, design doc.

    python examples/ridge/run.py            # writes design.md, design_plots/ and figures/ here
    python examples/ridge/run.py --quick --out DIR   # 3 splits and 2 λ values, same code paths

The per-split baselines run through `mlplan run` (``mlplan.run_plan``): plan.yaml plans the
splits (pair_values) and says how each baseline produces one result (entry_point, command).
The rest is logged here, each with a comment saying why it is not a cell of the matrix.

Every figure in the design doc is measured here from mlxtend's copy of the Boston housing data;
nothing is reported from elsewhere. The computation lives in ridge_study.py (which never imports
mlplan); this script only decides what is logged against which hypothesis or baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
#: The quick path (for tests): 3 splits and 2 λ values instead of 10 and 4; the quick plan
#: plans the 3 splits only (written into --out).
QUICK_SEEDS: tuple[int, ...] = (0, 1, 2)
QUICK_LAMBDAS: tuple[float, ...] = (7.0, 199.0)
#: The metrics each kind of result logs; all are declared in plan.yaml.
PREDICTION = ("test_mse", "test_rmse")
PAIRED = (*PREDICTION, "test_mse.top_quartile")
CONSTRAINED = ("max_abs_coef_diff", "rss_excess_pct")


def _pick(metrics: Mapping[str, float], keys: Iterable[str]) -> dict[str, float]:
    return {key: float(metrics[key]) for key in keys}


def _prepare(out: Path, *, quick: bool) -> Path:
    """The plan to log against, in ``out``, with a fresh store. The quick plan is the same
    plan with only the first splits planned (pair_values and runs), so `mlplan run` runs
    those and the verdicts are judged on them."""
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
    full = f"  pair_values: {list(rs.DEFAULT_SEEDS)}\n  runs: {len(rs.DEFAULT_SEEDS)}\n"
    if full not in text:
        raise mlplan.MlplanError(f"{HERE / 'plan.yaml'} no longer plans {full.strip()!r}")
    quick = f"  pair_values: {list(QUICK_SEEDS)}\n  runs: {len(QUICK_SEEDS)}\n"
    plan.write_text(text.replace(full, quick), encoding="utf-8")


class _Log:
    """Logs through mlplan, a baseline (ids ``B-...``) or a hypothesis result.

    mlplan stamps each result to the microsecond, so the rendered log lists one subject's
    results in logging order, as the committed doc does.
    """

    def __init__(self, plan: Path) -> None:
        self.plan = plan

    def __call__(
        self, subject: str, metrics: Mapping[str, float], *, params: Mapping[str, Any], note: str
    ) -> None:
        if subject.startswith("B-"):
            mlplan.record_result(
                self.plan, baseline=subject, metrics=metrics, params=params, note=note
            )
        else:
            mlplan.record_result(
                self.plan, hypothesis=subject, metrics=metrics, params=params, note=note
            )

    def baseline_entry_point(self, baseline: str) -> None:
        mlplan.run_baselines(self.plan, [baseline])


def _log_constrained_view(log: _Log, lambdas: Sequence[float]) -> None:
    """H1 and its baseline B-rescaled: one result per λ, plus the Lagrange check."""
    for lam in lambdas:
        base = rs.rescaled_ols_candidate(lam)
        log(
            "B-rescaled",
            _pick(base, CONSTRAINED),
            params={"lambda": lam, "t": base["t"]},
            note=f"OLS shrunk uniformly onto Σβ² = t = {base['t']:.4g} (t of ridge at λ = {lam:g})",
        )
        check = rs.constrained_equivalence(lam)
        params = {"lambda": lam, "t": check["t"], "dual_lambda": check["dual_lambda"]}
        note = f"λ = {lam:g}: t = Σβ² = {check['t']:.4g}; SLSQP given t only"
        multiplier = check.get("slsqp_multiplier")
        if multiplier is not None:  # scipy ≥ 1.15 reports the KKT multiplier
            params["slsqp_multiplier"] = multiplier
            # Four significant digits: SLSQP's tolerance leaves the ones below build-dependent.
            note += f"; its KKT multiplier is {multiplier:#.4g} (= λ)"
        log(
            "H1",
            _pick(check, (*CONSTRAINED, "dual_lambda_abs_diff")),
            params=params,
            note=note,
        )
    exact = rs.lagrange_solution()
    log(
        "H1",
        _pick(rs.lagrange_error(), ("lagrange_abs_error",)),
        params={key: str(value) for key, value in exact.items()},
        note=(
            "sympy, max x·y²·z³ s.t. x + y + z = 1: "
            f"x = {exact['x']}, y = {exact['y']}, z = {exact['z']}, f = {exact['f']}, "
            f"multiplier {exact['multiplier']}; bordered Hessian minors "
            f"{exact['bordered_minor_3']} > 0 and {exact['bordered_minor_4']} < 0: a maximum"
        ),
    )


def _log_original(log: _Log) -> None:
    """H2: the original study reproduced, against the baselines on its own split."""
    log.baseline_entry_point("B-mean-orig")
    log.baseline_entry_point("B-ols-orig")
    chosen = rs.original_choice()
    clean = rs.original_study_no_leak()
    log(
        "H2",
        {"orig_test_mse": chosen["test_mse"]},
        params={
            "lambda": chosen["lambda"],
            "selected_on": "test set (argmin of test MSE)",
            "lambda_grid": "0, 1, ..., 199",
            "scaling": "sklearn.preprocessing.scale on all 506 rows",
            "split": f"train_test_split(test_size={rs.TEST_SIZE}, random_state={rs.ORIGINAL_SEED})",
            "runner_up_lambda": chosen["runner_up_lambda"],
            "no_leak_best_lambda": clean["best_lambda"],
            "leak_max_abs_test_mse_diff": clean["max_abs_test_mse_diff"],
        },
        note=(
            f"original study reproduced: λ = {chosen['lambda']:g} has the lowest test MSE of "
            f"λ = 0…199, so it was chosen on the test set (λ = {chosen['runner_up_lambda']:g} is "
            f"{chosen['runner_up_gap']:.1g} worse). Scaler fitted on the training rows only: "
            f"best λ = {clean['best_lambda']:g}, curve moves by ≤ "
            f"{clean['max_abs_test_mse_diff']:.2f}"
        ),
    )


def _run_baselines_per_split(plan: Path) -> None:
    """B-mean and B-ols: one result per planned split, through `mlplan run` (plan.yaml's
    pair_values and each baseline's entry_point or command)."""
    # One cell at a time: the design doc lists each subject's results in logging order, and a
    # committed doc must come out the same on every run.
    report = mlplan.run_plan(plan, ["B-mean", "B-ols"], jobs=1)
    if not report.ok:  # each failed cell: what went wrong, and its log file
        raise mlplan.MlplanError(
            "; ".join(f"{c.cell.label} failed: {c.error} (log: {c.log})" for c in report.failed)
        )


def _log_splits(log: _Log, seeds: Sequence[int]) -> None:
    """H3 and H4: one result each per evaluation split, logged here.

    Not through `mlplan run`: the experiment's condition (λ, H1's) is experiment-wide, so a
    runner on H3 or H4 would need λ's values planned and would run them once per λ, which
    they do not take. Their notes quote OLS on the same split (B-ols's result).
    """
    for seed in seeds:
        split = {"seed": seed, "test_size": rs.TEST_SIZE}
        ols = rs.ols_paired(seed)
        ridge = rs.ridge_cv_vs_ols(seed)
        dip = 100.0 * (ridge["cv_mse_lambda_0"] - ridge["cv_mse"]) / ridge["cv_mse_lambda_0"]
        log(
            "H3",
            _pick(ridge, PAIRED),
            params={
                **split,
                "cv_lambda": ridge["lambda"],
                "cv_folds": rs.CV_FOLDS,
                "cv_mse": ridge["cv_mse"],
                "cv_mse_lambda_0": ridge["cv_mse_lambda_0"],
            },
            note=(
                f"split {seed}: λ = {ridge['lambda']:g} by {rs.CV_FOLDS}-fold CV on the training "
                f"part (its CV MSE is {dip:.2f}% below λ = 0's); OLS on this split: "
                f"test_mse = {ols['test_mse']:.4g}"
            ),
        )
        log(
            "H4",
            _pick(rs.ols_without(seed, ("B",)), PAIRED),
            params={**split, "model": "OLS", "dropped": "B", "n_features": 12},
            note=(
                f"split {seed}: OLS on the 12 features other than B; OLS on all 13: "
                f"test_mse = {ols['test_mse']:.4g}"
            ),
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
    log = _Log(plan)
    with _replayed(plan):
        _log_constrained_view(log, QUICK_LAMBDAS if quick else rs.CONSTRAINT_LAMBDAS)
        _log_original(log)
        _run_baselines_per_split(plan)
        _log_splits(log, seeds)
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
