"""The doc's plots people can read (issue 19, item 2): the pair key's values on the x-axis, a
forest plot of every check, legends outside the data, one exact value as a point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, MakePlan

from mlplan._judge.results import Result
from mlplan._judge.verdicts import Verdict, judge
from mlplan._plan.load import load_plan
from mlplan._report.plots import _figure, forest_rows, plot_hypotheses

_START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _paired(make_plan: MakePlan, *, exact_b1: bool = False) -> Path:
    plan = make_plan()
    text = plan.read_text()
    if exact_b1:  # one exact value each side, nothing to pair
        return plan
    text = text.replace("      entry_point: churn_baselines:usage_drop\n      exact: true\n", "")
    text = text.replace(
        "  data_motivation: Each churner costs 300 EUR a year.\n",
        "  data_motivation: Each churner costs 300 EUR a year.\n  pair_by: seed\n",
    )
    plan.write_text(text)
    return plan


def _result(
    kind: str, subject: str, minute: int, params: dict[str, str], **metrics: float
) -> Result:
    return Result(
        run_id=f"{subject}-{minute}",
        kind=kind,  # type: ignore[arg-type]
        subject=subject,
        metrics=metrics,
        logged_at=_START + dt.timedelta(minutes=minute),
        params=params,
    )


def _verdict(plan: Path, results: list[Result]) -> Verdict:
    return judge(load_plan(plan).plan, results, TODAY)[0]


@pytest.fixture
def plt() -> Iterator[Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    yield pyplot
    pyplot.close("all")


def _seeded(seeds: list[int]) -> list[Result]:
    results = []
    for index, seed in enumerate(seeds):
        params = {"seed": str(seed)}
        theirs = {"recall": 0.6 + seed / 100, "recall.loyal": 0.9 - seed / 500}
        results.append(_result("baseline", "B1", index, params, **theirs))
        mine = {"recall": 0.7 - seed / 200, "recall.loyal": 0.89 + seed / 1000}
        results.append(_result("hypothesis", "H1", 100 + index, params, **mine))
    return results


def test_the_x_axis_is_the_pair_key(make_plan: MakePlan, plt: Any) -> None:
    """Seeds logged out of order (4, 0, 2) are drawn at 0, 2, 4 and labelled with the key's
    name, not as pair #1, #2, #3."""
    verdict = _verdict(_paired(make_plan), _seeded([4, 0, 2]))
    paired = [c for c in verdict.checks if c.paired and c.metric == "recall"]
    assert paired and paired[0].point_keys == ("4", "0", "2")
    figure = _figure(plt, verdict, "seed")
    panels = [a for a in figure.axes if a.get_xlabel() == "seed"]
    assert panels, [a.get_xlabel() for a in figure.axes]
    assert [t.get_text() for t in panels[0].get_xticklabels()] == ["4", "0", "2"]
    xs = sorted(float(x) for x in panels[0].lines[0].get_xdata())
    assert xs == [0.0, 2.0, 4.0]
    assert not any("pair #" in a.get_xlabel() for a in figure.axes)


def test_legends_sit_below_their_plot(make_plan: MakePlan, plt: Any) -> None:
    figure = _figure(plt, _verdict(_paired(make_plan), _seeded([0, 1, 2])), "seed")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    legends = [(a, a.get_legend()) for a in figure.axes if a.get_legend() is not None]
    assert legends
    for axis, legend in legends:
        box, plot = legend.get_window_extent(renderer), axis.get_window_extent(renderer)
        assert box.y1 <= plot.y0, "the legend overlaps its plot"


def test_a_forest_plot_shows_every_check(make_plan: MakePlan, plt: Any) -> None:
    verdict = _verdict(_paired(make_plan), _seeded([0, 1, 2, 3]))
    rows = forest_rows(verdict.checks)
    drawable = [c for c in verdict.checks if c.estimate is not None and c.limit is not None]
    assert len(rows) == len(drawable) >= 2
    for row in rows:  # right of zero is the side that passes
        if row.low is not None and row.check.outcome == "pass":
            assert row.low > 0
        if row.high is not None and row.check.outcome == "fail":
            assert row.high < 0
    figure = _figure(plt, verdict, "seed")
    (forest,) = [a for a in figure.axes if "threshold" in a.get_xlabel()]
    labels = [t.get_text() for t in forest.get_yticklabels()]
    assert labels == [row.check.description[:60] for row in rows]
    assert any(c.interval and c.interval in forest.get_xlabel() for c in verdict.checks)


def test_one_exact_value_is_a_point_on_a_sensible_axis(make_plan: MakePlan, plt: Any) -> None:
    """An exact baseline and one result: a point with a span round it and its threshold, no
    '0.96 … 1.04 run #' axis."""
    plan = _paired(make_plan, exact_b1=True)
    results = [
        _result("baseline", "B1", 0, {}, **{"recall": 0.5, "recall.loyal": 0.9}),
        _result("hypothesis", "H1", 1, {}, **{"recall": 0.7, "recall.loyal": 0.9}),
    ]
    verdict = _verdict(plan, results)
    figure = _figure(plt, verdict, "seed")
    panels = [a for a in figure.axes if "threshold" not in a.get_xlabel()]
    assert panels
    for axis in panels:
        assert [t.get_text() for t in axis.get_xticklabels()] == ["the result"]
        low, high = axis.get_ylim()
        for line in axis.lines:
            for y in line.get_ydata():
                assert low < float(y) < high  # inside, not on the edge


def test_pngs_are_written(make_plan: MakePlan, tmp_path: Path) -> None:
    plan = _paired(make_plan)
    loaded = load_plan(plan).plan
    results = _seeded([0, 1, 2])
    written = plot_hypotheses(loaded, results, judge(loaded, results, TODAY), tmp_path / "p")
    assert list(written) == ["H1"]
    assert Path(written["H1"]).read_bytes().startswith(b"\x89PNG")
