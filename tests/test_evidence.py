"""Evidence people can read (issue 19, item 2): the Results table's Δ against the same slot,
`status --format csv`, and `status` fitted to an 80-column terminal; on real embedded stores."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from helpers import TODAY, MakePlan, run

import mlplan
from mlplan._judge.results import Result
from mlplan._judge.verdicts import judge
from mlplan._plan.load import load_plan
from mlplan._report.doc import LogView, render_markdown
from mlplan._report.status import cell_width, wrap

Capsys = pytest.CaptureFixture[str]

# B1 measured per seed (not exact), H1 paired with it on the seed.
_PAIRED = (
    ("      entry_point: churn_baselines:usage_drop\n      exact: true\n", ""),
    (
        "  data_motivation: Each churner costs 300 EUR a year.\n",
        "  data_motivation: Each churner costs 300 EUR a year.\n  pair_by: seed\n",
    ),
)


def _plan(make_plan: MakePlan, *, paired: bool = True) -> Path:
    plan = make_plan()
    text = plan.read_text()
    for old, new in _PAIRED if paired else _PAIRED[:1]:
        assert old in text
        text = text.replace(old, new)
    plan.write_text(text)
    return plan


def _log(plan: Path, baseline: list[float], hypothesis: list[float]) -> None:
    for seed, value in enumerate(baseline):
        mlplan.record_result(plan, baseline="B1", metrics={"recall": value}, params={"seed": seed})
    for seed, value in enumerate(hypothesis):
        mlplan.record_result(
            plan, hypothesis="H1", metrics={"recall": value}, params={"seed": seed}
        )


def _results(baseline: list[float], hypothesis: list[float]) -> list[Result]:
    """The same results as _log, in memory: the doc's tables need no store to be checked."""
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    sides = [("baseline", "B1", baseline), ("hypothesis", "H1", hypothesis)]
    return [
        Result(
            run_id=f"{subject}-{seed}",
            kind=kind,  # type: ignore[arg-type]
            subject=subject,
            metrics={"recall": value},
            logged_at=start + dt.timedelta(minutes=len(values) * index + seed),
            params={"seed": str(seed)},
        )
        for index, (kind, subject, values) in enumerate(sides)
        for seed, value in enumerate(values)
    ]


def _results_table(plan: Path, results: list[Result]) -> list[dict[str, str]]:
    loaded = load_plan(plan).plan
    log = LogView(available=True, results=results, verdicts=judge(loaded, results, TODAY))
    doc = render_markdown(loaded, log)
    table = doc.split("### Results", 1)[1].split("\n\n")[2]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[2:]]


def test_a_paired_delta_is_against_the_same_slot(make_plan: MakePlan) -> None:
    """A hypothesis that scored what the baseline scored on every seed is +0.0% on each, not
    ±14% against the baseline's mean (issue 19)."""
    rows = _results_table(_plan(make_plan), _results([0.6, 0.7, 0.8], [0.6, 0.7, 0.8]))
    mine = [row for row in rows if row["Subject"] == "H1"]
    assert [row["Key"] for row in mine] == ["seed=0", "seed=1", "seed=2"]
    for row in mine:
        assert row["Δ vs baselines"] == "vs B1 (paired: same seed): recall +0.0%"
    assert {row["Δ vs baselines"] for row in rows if row["Subject"] == "B1"} == {"—"}


def test_an_unpaired_delta_is_against_the_mean_and_says_so(make_plan: MakePlan) -> None:
    rows = _results_table(_plan(make_plan, paired=False), _results([0.6, 0.7, 0.8], [0.77]))
    (mine,) = [row for row in rows if row["Subject"] == "H1"]
    assert mine["Δ vs baselines"] == "vs B1 (unpaired: mean of 3 runs): recall +10.0%"


def test_a_paired_result_without_its_partner_says_so(make_plan: MakePlan) -> None:
    rows = _results_table(_plan(make_plan), _results([0.6, 0.7], [0.6, 0.7, 0.9]))
    (lonely,) = [row for row in rows if row["Key"] == "seed=2"]
    assert lonely["Δ vs baselines"] == "vs B1: no result in this slot"


@pytest.mark.slow  # a real embedded store: a few seconds
def test_status_csv_has_one_row_per_result(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = _plan(make_plan)
    _log(plan, [0.6, 0.7], [0.65, 0.75])
    first = mlplan.record_result(
        plan, hypothesis="H1", metrics={"recall": -0.0}, params={"seed": 7}
    ).run_id
    mlplan.record_result(
        plan,
        hypothesis="H1",
        metrics={"recall": 0.5},
        params={"seed": 7},
        replace=first,
        reason="a bad split",
    )
    code, out, _ = run(capsys, "status", plan, "--format", "csv", "--today", TODAY)
    assert code == 0
    assert out.endswith("\r\n")  # RFC 4180 line ends
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert list(rows[0]) == [
        "subject",
        "kind",
        "seed",
        "recall",
        "run_id",
        "logged_at",
        "status",
    ]
    assert len(rows) == 6
    assert [(r["subject"], r["seed"]) for r in rows[:2]] == [("B1", "0"), ("B1", "1")]
    states = {r["run_id"]: r["status"] for r in rows}
    assert states[first] == "replaced"
    assert sorted(states.values()).count("counted") == 5
    assert {float(r["recall"]) for r in rows if r["subject"] == "B1"} == {0.6, 0.7}


@pytest.mark.slow  # a real embedded store: a few seconds
def test_csv_cells_cannot_become_formulas(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    text = plan.read_text().replace(
        "  data_motivation: Each churner costs 300 EUR a year.\n",
        "  data_motivation: Each churner costs 300 EUR a year.\n  conditions: [region]\n",
    )
    plan.write_text(text)
    for region in ('=HYPERLINK("http://x","y")', "@SUM(A1)", "+1+1", "-2+3", "-5"):
        mlplan.record_result(
            plan,
            hypothesis="H2",
            metrics={"recall": 0.5, "latency_ms": -0.25},
            params={"region": region},
        )
    code, out, _ = run(capsys, "status", plan, "--format", "csv", "--today", TODAY)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    regions = sorted(r["region"] for r in rows)
    # a number stays a number; text a spreadsheet would evaluate starts with an apostrophe
    assert regions == sorted(['\'=HYPERLINK("http://x","y")', "'@SUM(A1)", "'+1+1", "'-2+3", "-5"])
    assert {r["latency_ms"] for r in rows} == {"-0.25"}


# ------------------------------------------------------------------ status in 80 columns


def _status(capsys: Capsys, plan: Path, *extra: str) -> list[str]:
    code, out, err = run(capsys, "status", plan, "--today", TODAY, *extra)
    assert code == 0, err
    lines = out.splitlines() + err.splitlines()
    too_wide = [line for line in lines if cell_width(line) > 80]
    assert not too_wide, too_wide
    return out.splitlines()


@pytest.mark.slow  # a real embedded store: a few seconds
def test_status_fits_80_columns_and_keeps_what_matters(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    plan = _plan(make_plan)
    _log(plan, [0.6, 0.7, 0.8, 0.62], [0.7, 0.8, 0.9, 0.71])
    lines = _status(capsys, plan)
    text = "\n".join(lines)
    verdict = mlplan.status(plan, today=TODAY).verdicts[0]
    # One headline per hypothesis, starting at the margin, with its status.
    headlines = [line for line in lines if re.match(r"H\d ", line)]
    assert [h.split()[0] for h in headlines] == ["H1", "H2"]
    assert headlines[0].startswith(f"H1 {verdict.status} · 4 runs")
    # Each check: a line of its own, indented, with its test, n and interval in full.
    for check in verdict.checks:
        assert f"{check.test}, n = {check.n}" in " ".join(text.split())
        if check.low is not None and check.high is not None:
            assert f"[{check.low:.4g}, {check.high:.4g}]" in text.replace("\n      ", " ")
    # Short: a headline, two lines per check at most, and the α / runs-needed summary.
    block = lines[lines.index(headlines[0]) : lines.index(headlines[1])]
    assert len([line for line in block if line]) <= 1 + 2 * len(verdict.checks) + 2
    # -v adds each check's p-values, still inside 80 columns.
    verbose = "\n".join(_status(capsys, plan, "-v"))
    assert "p = " in verbose and "p = " not in text


@pytest.mark.slow  # a real embedded store: a few seconds
def test_status_wraps_to_a_wider_terminal(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    plan = _plan(make_plan)
    _log(plan, [0.6, 0.7, 0.8], [0.7, 0.8, 0.9])
    code, out, _ = run(capsys, "status", plan, "--today", TODAY)
    assert code == 0
    assert max(cell_width(line) for line in out.splitlines()) > 80


@pytest.mark.parametrize("width", [40, 41, 80])
def test_wrap_keeps_every_word_and_the_width(width: int) -> None:
    text = "✓ recall ≥ B1 + 5%: 漢字漢字漢字 paired t on seed, n = 3, " + "x" * 120 + " end"
    lines = wrap(text, width, "  ", "    ")
    assert all(cell_width(line) <= width for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())
    assert all(line.startswith("      ") for line in lines[1:])
