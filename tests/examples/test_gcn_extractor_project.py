"""The GCN extractor worked project (examples/gcn_extractor) run end to end through mlplan.

The logged figures are checked against computations made here: the split by document and the
leave-one-family-out split rebuilt from their definitions, the classifiers fitted again, F1
from scikit-learn's ``f1_score``. Only the feature matrices and the rules come from the study
module (they *are* the methods under test). The verdicts are checked against a small judge
written here with scipy's t quantiles. The golden test regenerates the full design doc and
compares it with the committed one, byte for byte after masking run ids and logging dates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fnmatch
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from scipy import sparse, stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import MaxAbsScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

import mlplan
from mlplan import Plan, Result

if TYPE_CHECKING:  # mypy_path = tests: mypy knows this folder as `examples`
    from examples._helpers import (
        QUICK_TODAY,
        doc_differences,
        figure_differences,
        missing_quotes,
        outcomes,
        project_run,
        quoted_text,
        status,
        t_test,
    )
else:  # pytest puts this folder on sys.path
    from _helpers import (
        QUICK_TODAY,
        doc_differences,
        figure_differences,
        missing_quotes,
        outcomes,
        project_run,
        quoted_text,
        status,
        t_test,
    )

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gcn_extractor"
sys.path.insert(0, str(EXAMPLE))

if TYPE_CHECKING:  # mypy resolves modules from the repository root
    from examples.gcn_extractor import extractor_study as es
else:
    import extractor_study as es


FAMILIES = ("classic", "header_row", "receipt")
IN_DIST = [f"f1.{f}" for f in es.FIELDS] + ["f1_macro"]


# -- independent computations -----------------------------------------------------------------


def _f1(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    per_field = f1_score(gold, pred, labels=list(es.FIELDS), average=None, zero_division=0)
    out = {f"f1.{f}": float(v) for f, v in zip(es.FIELDS, per_field, strict=True)}
    out["f1_macro"] = float(np.mean(per_field))
    return out


def _gold(docs: Sequence[es.Document]) -> list[str]:
    return [s.label for d in docs for s in d.segments]


def _split(seed: int) -> tuple[list[es.Document], list[es.Document]]:
    """A third of the documents, drawn with the seeded permutation, is the test set."""
    docs = es.generate_documents(seed)
    order = np.random.default_rng([seed, 1]).permutation(len(docs))
    test_ids = set(order[: round(len(docs) / 3)].tolist())
    return (
        [d for k, d in enumerate(docs) if k not in test_ids],
        [d for k, d in enumerate(docs) if k in test_ids],
    )


def _leave_family_out(seed: int) -> tuple[list[es.Document], list[es.Document]]:
    """Seed s holds out family s (cyclically): train on the rest, test on all of it."""
    family = FAMILIES[seed % 3]
    docs = es.generate_documents(seed)
    return [d for d in docs if d.layout != family], [d for d in docs if d.layout == family]


def _fit(x_train: sparse.csr_matrix, y: list[str], x_test: sparse.csr_matrix) -> list[str]:
    with threadpool_limits(limits=1):
        model = LogisticRegression(C=1.0, max_iter=3000).fit(x_train, y)
        return [str(p) for p in model.predict(x_test)]


def _rules(docs: Sequence[es.Document]) -> dict[str, float]:
    return _f1(_gold(docs), [p for d in docs for p in es.rule_predictions(d)])


def _text(train: Sequence[es.Document], test: Sequence[es.Document]) -> dict[str, float]:
    pred = _fit(es._text_matrix(train), _gold(train), es._text_matrix(test))
    return _f1(_gold(test), pred)


def _graph(train: Sequence[es.Document], test: Sequence[es.Document]) -> dict[str, float]:
    graphs = {
        name: np.vstack([es.graph_features(d.segments) for d in docs])
        for name, docs in (("train", train), ("test", test))
    }
    scaler = MaxAbsScaler().fit(graphs["train"])
    x = {
        name: sparse.hstack(
            [es._text_matrix(docs), sparse.csr_matrix(scaler.transform(graphs[name]))],
            format="csr",
        )
        for name, docs in (("train", train), ("test", test))
    }
    return _f1(_gold(test), _fit(x["train"], _gold(train), x["test"]))


def _unseen(metrics: Mapping[str, float]) -> dict[str, float]:
    return {f"unseen.{k}": v for k, v in metrics.items()}


# -- the study's generator and feature builders, checked against their definitions ---------
# The figures below are recomputed from the study's documents and features (they are the data
# and the method under test); these checks make sure those are what the plan says they are.

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%b %d, %Y")
_MONEY = re.compile(r"^\$?(\d{1,3}(,\d{3})*|\d+)\.\d{2}( EUR)?$")


def _is_date(text: str) -> bool:
    for layout in _DATE_FORMATS:
        with contextlib.suppress(ValueError):
            dt.datetime.strptime(text, layout)
            return True
    return False


def test_gold_labels_agree_with_their_text() -> None:
    """Read independently, the gold date is a date, the total an amount, the invoice number
    holds digits and the parties are words, on (almost) every document: only the 3% OCR noise
    may garble one."""
    docs = es.generate_documents(0)
    gold = [{s.label: s.text for s in d.segments} for d in docs]
    assert sorted({d.layout for d in docs}) == list(FAMILIES)
    checks: dict[str, Callable[[str], bool]] = {
        "date": _is_date,
        "total": lambda text: bool(_MONEY.match(text)),
        "invoice_number": lambda text: any(c.isdigit() for c in text),
        "vendor": lambda text: sum(c.isalpha() for c in text) >= 3,
        "payer": lambda text: sum(c.isalpha() for c in text) >= 3,
    }
    for field, reads in checks.items():
        share = np.mean([reads(labels[field]) for labels in gold])
        assert share >= 0.9, (field, share)
    # Distractors exist: other dates and amounts the rules and models must tell apart.
    others = [s.text for d in docs for s in d.segments if s.label == es.OTHER]
    assert sum(map(_is_date, others)) > len(docs) / 2
    assert sum(bool(_MONEY.match(t)) for t in others) > 2 * len(docs)


def _moved(doc: es.Document, dx: float, dy: float) -> tuple[es.Segment, ...]:
    return tuple(dataclasses.replace(s, x=s.x + dx, y=s.y + dy) for s in doc.segments)


def test_text_features_see_only_the_text_and_graph_features_the_layout() -> None:
    """B-text and H1 must not see the layout; the graph features (H2, H3) must see it through
    relative positions only (r_ij), so shifting a whole page changes nothing."""
    doc = es.generate_documents(0)[0]
    shuffled = tuple(
        dataclasses.replace(s, x=float(k), y=float(-k)) for k, s in enumerate(doc.segments)
    )
    text = es._text_matrix([doc]).toarray()
    assert np.array_equal(
        text, es._text_matrix([dataclasses.replace(doc, segments=shuffled)]).toarray()
    )
    graph = es.graph_features(doc.segments)
    assert graph.shape[0] == len(doc.segments)
    np.testing.assert_allclose(es.graph_features(_moved(doc, 13.0, -7.0)), graph, atol=1e-9)
    assert not np.allclose(es.graph_features(shuffled), graph)


# -- an independent judge ---------------------------------------------------------------------


def _interval(values: Sequence[float]) -> tuple[float, float, float]:
    mean = float(np.mean(values))
    if len(values) == 1:
        return mean, mean, mean
    half = stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def _expected_checks(plan: Plan, hypothesis: str, results: Sequence[Result]) -> list[str]:
    """Every check's outcome, in the judge's order (criteria, then guardrails): paired on the
    seed (each seed is its own corpus and split), Student's t, Holm across failure tests."""

    def by_seed(subject: str, metric: str) -> dict[str, float]:
        return {r.params["seed"]: r.metrics[metric] for r in results if r.subject == subject}

    def paired(metric: str, baseline: str) -> list[float]:
        mine, theirs = by_seed(hypothesis, metric), by_seed(baseline, metric)
        assert set(mine) == set(theirs), (hypothesis, baseline, metric)
        return [mine[seed] - theirs[seed] for seed in sorted(mine)]

    h = plan.hypothesis(hypothesis)
    tests = []
    for c in h.success_criteria:
        if c.at_least is not None:
            values = list(by_seed(hypothesis, c.metric).values())
            tests.append(t_test(values, c.at_least, above=True, strict=False))
            continue
        assert c.better_than is not None and c.by is not None and not c.by.relative
        tests += [
            t_test(paired(c.metric, b), c.by.value, above=True, strict=True) for b in c.better_than
        ]
    targets = {c.metric for c in h.success_criteria}
    for g in h.guardrails:
        assert not g.max_drop.relative
        tests += [
            t_test(paired(m.key, g.against), -g.max_drop.value, above=True, strict=False)
            for m in plan.metrics
            if fnmatch.fnmatchcase(m.key, g.metrics) and m.key not in targets
        ]
    return outcomes(tests)


def _pairs(results: Sequence[mlplan.Result], hypothesis: str) -> int:
    return len({r.params.get("seed") for r in results if r.subject == hypothesis})


def _check_verdicts(plan_path: Path, today: dt.date) -> dict[str, str]:
    plan = mlplan.load_plan(plan_path).plan
    results = mlplan.status(plan_path).results
    statuses: dict[str, str] = {}
    for verdict in mlplan.status(plan_path, today=today).verdicts:
        expected = _expected_checks(plan, verdict.hypothesis, results)
        assert [c.outcome for c in verdict.checks] == expected, verdict.hypothesis
        short = _pairs(results, verdict.hypothesis) < (plan.experiment.runs or 0)
        assert verdict.status_ignoring_deadline == status(expected, short), verdict.hypothesis
        statuses[verdict.hypothesis] = verdict.status_ignoring_deadline
    return statuses


# -- quick run ------------------------------------------------------------------------------


JUDGED_ON = QUICK_TODAY


# The quick run costs ~12 s of one core: its tests are `slow` (CI runs them). The fast tier keeps
# one worked project end to end, ridge's quick run (tests/examples/test_ridge_project.py), and
# this project's study module piece by piece (tests/examples/test_extractor_study.py).
@pytest.fixture(scope="session")
def quick_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The quick run (seed 0) through the command line, once per session: the design doc's
    path and what the command printed."""
    run = project_run(tmp_path_factory, "gcn_extractor", quick=True)
    return run.doc, run.printed


@pytest.fixture
def quick(quick_cli: tuple[Path, str]) -> Path:
    return quick_cli[0]


def _by_subject(plan: Path) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    for result in mlplan.status(plan).results:
        out.setdefault(result.subject, []).append(result)
    return out


@pytest.mark.slow
def test_quick_run_writes_doc_store_and_figures(quick: Path) -> None:
    folder = quick.parent
    assert quick.name == "design.md" and quick.is_file()
    assert (folder / ".mlplan" / "mlflow.db").is_file()
    assert (folder / "extractor_study.py").is_file()
    for name in ("field_f1.png", "unseen_layout_f1.png", "unseen_by_family.png"):
        assert (folder / "figures" / name).read_bytes()[:4] == b"\x89PNG"
    for hypothesis in ("H1", "H2", "H3"):
        assert (folder / "design_plots" / f"{hypothesis}.png").is_file()
    text = quick.read_text()
    assert "judged as of 2026-11-27" in text
    assert "reported" not in text.split("### Results", 1)[1].replace("marked *reported*", "")


@pytest.mark.slow
def test_quick_run_logs_one_result_per_subject(quick: Path) -> None:
    subjects = _by_subject(quick.parent / "plan.yaml")
    assert {s: len(r) for s, r in subjects.items()} == {
        "B-rules": 1,
        "B-text": 1,
        "H1": 1,
        "H2": 1,
        "H3": 1,
    }
    assert not any(r.reported for runs in subjects.values() for r in runs)
    assert subjects["H3"][0].params == {"seed": "0", "held_out_family": "classic"}


@pytest.mark.slow
def test_quick_figures_match_independent_computation(quick: Path) -> None:
    logged = {s: dict(r[0].metrics) for s, r in _by_subject(quick.parent / "plan.yaml").items()}
    train, test = _split(0)
    assert not {d.doc_id for d in train} & {d.doc_id for d in test}
    unseen_train, unseen_test = _leave_family_out(0)
    expected_rules = {**_rules(test), **_unseen(_rules(unseen_test))}
    expected_text = {**_text(train, test), **_unseen(_text(unseen_train, unseen_test))}
    for subject, expected in (
        ("B-rules", expected_rules),
        ("B-text", expected_text),
        ("H1", {k: expected_text[k] for k in IN_DIST}),
        ("H2", _graph(train, test)),
        ("H3", _unseen(_graph(unseen_train, unseen_test))),
    ):
        assert logged[subject].keys() == expected.keys(), subject
        for key, value in expected.items():
            assert logged[subject][key] == pytest.approx(value, abs=1e-12), (subject, key)


@pytest.mark.slow
def test_quick_verdicts(quick: Path) -> None:
    statuses = _check_verdicts(quick.parent / "plan.yaml", JUDGED_ON)
    # Seed 0 alone: one pair per check, short of the planned runs: 3: nothing is decided yet.
    assert statuses == dict.fromkeys(("H1", "H2", "H3"), "running")


@pytest.mark.slow
def test_main_prints_verdicts_and_how_to_open_the_store(quick_cli: tuple[Path, str]) -> None:
    doc, printed = quick_cli
    assert f"design doc:   {doc} (" in printed
    for verdict in mlplan.status(doc.parent / "plan.yaml", today=JUDGED_ON).verdicts:
        assert f"  {verdict.hypothesis}: {verdict.status} (" in printed
    store = (doc.parent / ".mlplan" / "mlflow.db").resolve()
    assert f"mlflow ui --backend-store-uri sqlite:///{store}" in printed


# -- full run: verdicts and golden design doc -------------------------------------------------

COMMITTED = EXAMPLE / "design.md"
# What legitimately changes from one run to the next: MLflow run ids and the date each result
# was logged (first column of the results table). There is no wall-clock metric in this study.
RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")
LOGGED_ON = re.compile(r"^\| \d{4}-\d{2}-\d{2} \| `<run-id>` \|", re.MULTILINE)


def _mask(text: str) -> str:
    return LOGGED_ON.sub("| <logged> | `<run-id>` |", RUN_ID.sub("<run-id>", text))


@pytest.fixture(scope="session")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date]:
    """The full run (seeds 0-2), once per session, judged as of the committed doc's date."""
    run = project_run(tmp_path_factory, "gcn_extractor", quick=False)
    return run.doc, run.today


@pytest.mark.slow
def test_full_run_reproduces_the_committed_design_doc(full: tuple[Path, dt.date]) -> None:
    doc, _ = full
    fresh, committed = _mask(doc.read_text()), _mask(COMMITTED.read_text())
    assert fresh.count("<run-id>") == committed.count("<run-id>") > 0
    # Word for word; each number to the last digit shown (a rounding boundary may flip it).
    assert not doc_differences(fresh, committed)


@pytest.mark.slow
def test_full_verdicts(full: tuple[Path, dt.date]) -> None:
    doc, today = full
    statuses = _check_verdicts(doc.parent / "plan.yaml", today)
    assert statuses == {"H1": "failed", "H2": "succeeded", "H3": "inconclusive"}
    next_steps = {
        v.hypothesis: (v.next_hypothesis, v.next_action)
        for v in mlplan.status(doc.parent / "plan.yaml", today=today).verdicts
    }
    assert next_steps == {"H1": ("H2", None), "H2": ("H3", None), "H3": (None, None)}


@pytest.mark.slow
def test_full_run_rules_and_held_out_families(full: tuple[Path, dt.date]) -> None:
    """Every seed's rules figures, recomputed; H3 holds out each family once."""
    doc, _ = full
    subjects = _by_subject(doc.parent / "plan.yaml")
    assert {s: len(r) for s, r in subjects.items()} == dict.fromkeys(
        ("B-rules", "B-text", "H1", "H2", "H3"), 3
    )
    rules = sorted(subjects["B-rules"], key=lambda r: r.logged_at)
    for seed, result in enumerate(rules):
        expected = {**_rules(_split(seed)[1]), **_unseen(_rules(_leave_family_out(seed)[1]))}
        assert dict(result.metrics) == pytest.approx(expected, abs=1e-12), seed
    assert sorted(r.params["held_out_family"] for r in subjects["H3"]) == list(FAMILIES)
    # H1 is the text-only model: fitted again here for the seeds the quick run does not cover.
    h1 = {int(r.params["seed"]): r for r in subjects["H1"]}
    assert set(h1) == {0, 1, 2}
    for seed in (1, 2):
        expected = _text(*_split(seed))
        assert dict(h1[seed].metrics) == pytest.approx(expected, abs=1e-12), seed


@pytest.mark.slow
def test_committed_figures_are_regenerated(full: tuple[Path, dt.date]) -> None:
    """Every committed figure is regenerated, decodes and keeps its size (PNG bytes depend on
    the matplotlib and FreeType builds, so they are not compared)."""
    doc, _ = full
    for folder in ("figures", "design_plots"):
        assert not figure_differences(doc.parent / folder, EXAMPLE / folder), folder


def _means(runs: Sequence[Result], keys: Sequence[str]) -> list[float]:
    return [float(np.mean([r.metrics[k] for r in runs])) for k in keys]


def _by_seed(runs: Sequence[Result]) -> dict[int, Result]:
    """Seed of each run; the entry points' own runs (no seed param) are seed 0."""
    return {int(r.params.get("seed", "0")): r for r in runs}


@pytest.mark.slow
def test_numbers_quoted_in_the_plan_and_readme_are_the_measured_ones(
    full: tuple[Path, dt.date],
) -> None:
    """The README's two tables and bullets and the plan's experiment log, from the run."""
    doc, today = full
    subjects = _by_subject(doc.parent / "plan.yaml")
    readme = (EXAMPLE / "README.md").read_text("utf-8")
    table = [
        f"| {name} | " + " | ".join(f"{v:.3f}" for v in _means(subjects[s], IN_DIST)) + " |"
        for name, s in (
            ("B-rules", "B-rules"),
            ("B-text (= H1)", "H1"),
            ("text + graph (H2)", "H2"),
        )
    ]
    unseen = {s: _by_seed(subjects[s]) for s in ("B-rules", "B-text", "H3")}
    macro = "unseen.f1_macro"
    family_rows = [
        f"| {FAMILIES[seed]} (seed {seed}) | "
        + " | ".join(f"{unseen[s][seed].metrics[macro]:.3f}" for s in unseen)
        + " |"
        for seed in (0, 1, 2)
    ]
    means = {s: float(np.mean([r.metrics[macro] for r in unseen[s].values()])) for s in unseen}
    family_rows.append("| mean | " + " | ".join(f"{m:.3f}" for m in means.values()) + " |")
    _, h3_low, h3_high = _interval([r.metrics[macro] for r in unseen["H3"].values()])
    verdicts = {
        v.hypothesis: v for v in mlplan.status(doc.parent / "plan.yaml", today=today).verdicts
    }
    h2_checks = verdicts["H2"].checks
    assert all(c.outcome == "pass" for c in h2_checks)
    rules, text, graph = (_means(subjects[s], IN_DIST) for s in ("B-rules", "H1", "H2"))
    total, vendor, payer = (es.FIELDS.index(f) for f in ("total", "vendor", "payer"))
    receipt = unseen["H3"][2].metrics
    assert [receipt[f"unseen.f1.{f}"] for f in ("invoice_number", "payer", "total")] == [0.0] * 3
    assert min(r.metrics[k] for r in subjects["H2"] for k in IN_DIST) >= 0.96
    assert min(graph[:-1]) >= 0.98
    readme_quotes = [
        *table,
        *family_rows,
        f"**H1 {verdicts['H1'].status}**",
        f"total F1 {text[total]:.3f}",
        f"**H2 {verdicts['H2'].status}**: all {len(h2_checks)} checks pass",
        f"**H3 {verdicts['H3'].status}, closed as {verdicts['H3'].closed}** (it was *failed*",
        f"tops out at {h3_high:.3f} against {means['B-rules'] + 0.05:.3f} (the rules + 0.05)",
    ]
    assert not missing_quotes(readme, readme_quotes)
    plan_quotes = [
        f"macro-F1 {text[-1]:.3f} (mean of seeds 0-2) against {rules[-1]:.3f} for the rules",
        f"total F1 {text[total]:.3f}",
        f"total {graph[total]:.3f} against {rules[total]:.3f} for the rules and "
        f"{text[total]:.3f} for text-only",
        f"vendor {graph[vendor]:.3f} against {rules[vendor]:.3f} and {text[vendor]:.3f}",
        f"payer {graph[payer]:.3f} against {rules[payer]:.3f} and {text[payer]:.3f}",
        "macro-F1 is "
        + ", ".join(f"{unseen['H3'][s].metrics[macro]:.3f}" for s in (0, 1))
        + f" and {unseen['H3'][2].metrics[macro]:.3f}",
        f"mean {means['H3']:.3f}) against "
        + ", ".join(f"{unseen['B-rules'][s].metrics[macro]:.3f}" for s in (0, 1))
        + f" and {unseen['B-rules'][2].metrics[macro]:.3f} for the rules (mean "
        f"{means['B-rules']:.3f})",
        f"({h3_low:.3f} to {h3_high:.3f})",
        f"mean + 0.05 ({means['B-rules'] + 0.05:.3f})",
    ]
    assert not missing_quotes(quoted_text(doc.parent / "plan.yaml"), plan_quotes)
