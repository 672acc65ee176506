"""Run the graph-convolution extractor study end to end through mlplan: baselines, hypotheses'
results, verdicts, design doc.

    python examples/gcn_extractor/run.py            # writes design.md beside plan.yaml
    python examples/gcn_extractor/run.py --quick --out /tmp/gcn

Every result runs through `mlplan run` (``mlplan.run_plan``): each hypothesis's and
baseline's entry point on each seed plan.yaml plans (pair_values; the quick run asks for seed
0's cells). H1's subject is the text-only model, which is also baseline B-text: H1's cell fits
it again (the same figures). H2 runs the text+graph model per seed; H3 the same model trained
on two layout families and tested on the third (seed s holds out family s: its cell reports
the family as a param). The paper's F1 table could not be confirmed from its text, so no
reported figures are logged; the plan quotes only its abstract's claim.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import mlplan

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

if TYPE_CHECKING:  # mypy resolves modules from the repository root (explicit_package_bases)
    from examples.gcn_extractor import extractor_study as es
else:
    import extractor_study as es

SEEDS = (0, 1, 2)
QUICK_SEEDS = (0,)
STUDY_FILES = ("plan.yaml", "extractor_study.py")
SUBJECTS = ["H1", "H2", "H3", "B-rules", "B-text"]
# Figure legend name of each subject's method (H2 and H3 test the same text+graph model).
METHOD_OF = {
    "B-rules": "keyword_rules",
    "B-text": "text_only",
    "H2": "text_plus_graph",
    "H3": "text_plus_graph",
}


class _Log:
    """Each run id by (subject, seed), as `mlplan run` logged it.

    mlplan stamps each result to the microsecond, so the rendered log lists results in
    logging order and the committed doc can be compared with a fresh run.
    """

    def __init__(self, plan: Path) -> None:
        self.plan = plan
        self.runs: dict[tuple[str, int], str] = {}

    def metrics(self, subject: str, seed: int) -> dict[str, float]:
        """The metrics of one logged run, as the store holds them."""
        run_id = self.runs[(subject, seed)]
        found = [r for r in mlplan.status(self.plan).results if r.run_id == run_id]
        if len(found) != 1:
            raise RuntimeError(f"run {run_id} not found in the store of {self.plan}")
        return dict(found[0].metrics)


def _run_matrix(log: _Log, seeds: Sequence[int], *, quick: bool) -> None:
    """Every hypothesis and baseline on every planned seed, through `mlplan run` (plan.yaml's
    pair_values and entry points); the quick run asks for its seeds' cells only."""
    # The plan's three seeds stay planned (runs: 3): the quick run is their start.
    parts: list[dict[str, int] | None] = [{"seed": seed} for seed in seeds] if quick else [None]
    for part in parts:
        # One cell at a time: the design doc lists each subject's results in logging order.
        report = mlplan.run_plan(log.plan, SUBJECTS, jobs=1, params=part)
        if not report.ok:  # each failed cell: what went wrong, and its log file
            raise mlplan.MlplanError(
                "; ".join(f"{c.cell.label} failed: {c.error} (log: {c.log})" for c in report.failed)
            )
    for result in mlplan.status(log.plan).results:
        log.runs[(result.subject, int(result.params["seed"]))] = result.run_id


def _figures(log: _Log, seeds: Sequence[int], folder: Path) -> None:
    """Study plots from the logged figures: per-field F1 in distribution and on the held-out
    family (means over seeds), and macro-F1 per held-out family."""
    folder.mkdir(parents=True, exist_ok=True)
    subjects = ("B-rules", "B-text", "H2", "H3")
    logged = {(s, seed): log.metrics(s, seed) for s in subjects for seed in seeds}

    def mean(subject: str, *, unseen: bool) -> dict[str, float]:
        """Mean over seeds of the subject's in-distribution or held-out-family metrics, keyed
        as in distribution (``f1.total``) either way."""
        keys = [k for k in logged[(subject, seeds[0])] if k.startswith(es.UNSEEN_PREFIX) == unseen]
        return {
            key.removeprefix(es.UNSEEN_PREFIX): sum(logged[(subject, s)][key] for s in seeds)
            / len(seeds)
            for key in keys
        }

    seen = {METHOD_OF[s]: mean(s, unseen=False) for s in ("B-rules", "B-text", "H2")}
    unseen = {METHOD_OF[s]: mean(s, unseen=True) for s in ("B-rules", "B-text", "H3")}
    by_family = {
        METHOD_OF[s]: {
            es.held_out_family(seed): logged[(s, seed)][es.UNSEEN_PREFIX + "f1_macro"]
            for seed in seeds
        }
        for s in ("B-rules", "B-text", "H3")
    }
    runs = f"mean of {len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    es.plot_field_f1(seen, folder / "field_f1.png", title=f"In distribution (H1, H2): {runs}")
    es.plot_field_f1(
        unseen,
        folder / "unseen_layout_f1.png",
        title=f"Held-out layout family (H3): {runs}, one family each",
    )
    families = [es.held_out_family(seed) for seed in seeds]
    es.plot_grouped_bars(
        by_family,
        families,
        folder / "unseen_by_family.png",
        ylabel="macro-F1",
        title="Macro-F1 on the held-out layout family (H3)",
    )


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
    """Run the study into ``out`` and return the path of the rendered design doc.

    ``quick`` runs seed 0 only (classic held out in H3): the same code paths, for tests.
    """
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if out != HERE:
        # Entry points are imported from the plan's folder: copy the study module with the plan.
        for name in STUDY_FILES:
            shutil.copyfile(HERE / name, out / name)
    # This example's own demo store, embedded beside the plan: start from a fresh one each time
    # so the doc shows exactly this run's results.
    shutil.rmtree(out / ".mlplan", ignore_errors=True)
    seeds = QUICK_SEEDS if quick else SEEDS
    log = _Log(out / "plan.yaml")
    with _replayed(log.plan):
        _run_matrix(log, seeds, quick=quick)
    _figures(log, seeds, out / "figures")
    doc = out / "design.md"
    mlplan.render_design_doc(out / "plan.yaml", doc, today=today)
    return doc


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
    parser = argparse.ArgumentParser(description="Run the graph-convolution extractor study.")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for plan, store and doc")
    parser.add_argument("--today", type=dt.date.fromisoformat, help="judge as of YYYY-MM-DD")
    parser.add_argument("--quick", action="store_true", help="seed 0 only (for tests)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        doc = run(args.out, today=args.today, quick=args.quick)
    except mlplan.MlplanError as error:  # e.g. a server that does not answer: one message
        print(f"error: {error}", file=sys.stderr)
        return 1
    plan = doc.parent / "plan.yaml"
    store, browse = _where(doc.parent)
    print(f"design doc:   {doc} ({time.perf_counter() - started:.0f} s)")
    print(f"study plots:  {doc.parent / 'figures'}")
    print(f"MLflow store: {store}")
    for verdict in mlplan.status(plan, today=args.today).verdicts:
        step = verdict.next_hypothesis or verdict.next_action or "-"
        print(f"  {verdict.hypothesis}: {verdict.status} ({verdict.reason}); next: {step}")
    print(f"open the store: {browse}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
