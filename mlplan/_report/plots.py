"""One PNG per hypothesis: one panel per check (guardrails included) showing what decided it.

matplotlib is imported here, inside the function, and only when a doc is rendered with a log.
PNGs are written without the software version so the same results give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplan._judge.results import Result
from mlplan._judge.verdicts import Check, Verdict
from mlplan._plan.models import Plan
from mlplan._text import plural

__all__ = ["ForestRow", "forest_rows", "plot_hypotheses"]

_COLOURS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "inconclusive": "#f9a825",
    "running": "#1565c0",
    "overdue": "#6a1b9a",
    "blocked": "#757575",
    "pending": "#757575",
}


def plot_hypotheses(
    plan: Plan, results: Sequence[Result], verdicts: Sequence[Verdict], folder: Path
) -> dict[str, str]:
    """Write ``<folder>/<hypothesis>.png`` for each hypothesis with results; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: dict[str, str] = {}
    for verdict in verdicts:
        runs = [r for r in results if r.kind == "hypothesis" and r.subject == verdict.hypothesis]
        if not runs:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        figure = _figure(plt, verdict, _pair_key(plan, verdict.hypothesis))
        path = folder / f"{verdict.hypothesis}.png"
        figure.savefig(path, dpi=100, metadata={"Software": None})
        plt.close(figure)
        written[verdict.hypothesis] = str(path)
    return written


def _pair_key(plan: Plan, hypothesis: str) -> str:
    own = next((h for h in plan.experiment.hypotheses if h.id == hypothesis), None)
    if own is not None and own.overrides_pair_by:
        return own.pair_by or ""
    return plan.experiment.pair_by or ""


_MAX_PANELS = 24
_OUTCOME_COLOURS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "unclear": "#f9a825",
    "missing": "#757575",
}
_BLUE = "#1565c0"
_RED = "#c62828"


# The page in inches, laid out by hand: a layout engine (tight or constrained) measures every
# text once more before drawing and took half of the drawing time (benchmarks/bench_render.py).
# Each panel's cell: its title on top (up to three lines), the plot, then the x-axis and the
# legend below it.
_CELL_W, _CELL_H = 4.6, 3.9
_LEFT, _RIGHT, _TOP, _BOTTOM = 0.85, 0.25, 0.8, 0.95
_SUPTITLE = 0.45
_FOREST_LEFT, _FOREST_ROW, _FOREST_TOP, _FOREST_BOTTOM = 3.4, 0.28, 0.35, 0.6


def _figure(plt: Any, verdict: Verdict, pair_by: str) -> Any:
    """A forest plot of every check on top, then one panel per check, guardrails included:
    what the test saw, its interval and the threshold. The worst checks come first when there
    are more than fit. Legends go below their plot, never over the data."""
    checks = list(verdict.checks)
    if len(checks) > _MAX_PANELS:
        rank = {"fail": 0, "unclear": 1, "missing": 2, "pass": 3}
        checks = sorted(checks, key=lambda c: rank[c.outcome])[:_MAX_PANELS]
    forest = forest_rows(verdict.checks)
    columns = min(3, max(1, len(checks)))
    rows = max(1, -(-len(checks) // columns))
    width = max(_CELL_W * columns, _FOREST_LEFT + 4.0)
    forest_h = _FOREST_TOP + _FOREST_ROW * len(forest) + _FOREST_BOTTOM if forest else 0.0
    height = _SUPTITLE + forest_h + _CELL_H * rows
    figure = plt.figure(figsize=(width, height))

    def add_axes(left: float, bottom: float, w: float, h: float) -> Any:  # inches from bottom-left
        return figure.add_axes((left / width, bottom / height, w / width, h / height))

    if forest:
        top = height - _SUPTITLE - _FOREST_TOP
        plot_h = _FOREST_ROW * len(forest)
        _forest(add_axes(_FOREST_LEFT, top - plot_h, width - _FOREST_LEFT - _RIGHT, plot_h), forest)
    cell_w = width / columns
    for index, check in enumerate(checks):
        row, column = divmod(index, columns)
        cell_top = height - _SUPTITLE - forest_h - row * _CELL_H
        plot_h = _CELL_H - _TOP - _BOTTOM
        axis = add_axes(
            column * cell_w + _LEFT, cell_top - _TOP - plot_h, cell_w - _LEFT - _RIGHT, plot_h
        )
        _panel(axis, check, pair_by, legend_at=-0.42 / plot_h)
    label = "confirmatory" if verdict.confirmatory else "exploratory"
    shown = (
        ""
        if len(checks) == len(verdict.checks)
        else f" ({len(checks)} of {plural(len(verdict.checks), 'check')})"
    )
    figure.suptitle(
        f"{verdict.hypothesis}: {verdict.status} ({label}){shown}",
        color=_COLOURS[verdict.status],
        fontsize=11,
        y=1 - 0.12 / height,
        va="top",
    )
    return figure


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


# Matplotlib's tick locator computes the span of the y values and fails when it overflows
# (±1.7e308 spans past the float range); a panel whose values reach beyond this says so instead.
_PLOTTABLE = 1e150


def _plottable(check: Check) -> bool:
    shown = [*check.points, *check.reference_points]
    shown += [v for v in (check.low, check.high, check.estimate, check.limit) if v is not None]
    shown += [check.threshold] if check.threshold is not None else []
    return all(abs(v) <= _PLOTTABLE for v in shown if math.isfinite(v))


def _unplottable(axis: Any) -> None:
    axis.text(0.5, 0.5, "values too large to plot", ha="center", va="center", fontsize=8)
    axis.set_xticks([])
    axis.set_yticks([])


def _panel(axis: Any, check: Check, pair_by: str, legend_at: float = -0.2) -> None:
    colour = _OUTCOME_COLOURS[check.outcome]
    shown: list[float] = []
    if not _plottable(check):
        _unplottable(axis)
    elif check.paired or (check.baseline is not None and not check.reference_points):
        shown = _differences(axis, check, pair_by)
    elif check.reference_points:
        shown = _two_groups(axis, check)
    else:
        shown = _values(axis, check)
    if _plottable(check) and not [v for v in shown if math.isfinite(v)]:
        axis.text(0.5, 0.5, "no values to plot", ha="center", va="center", fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([])
    _y_range(axis, shown)
    what = f"{check.test}, n = {check.n}" if check.test else check.note
    axis.set_title(
        _wrap(f"{check.outcome.upper()}: {check.description}") + f"\n{_wrap(what)}",
        fontsize=8,
        color=colour,
    )
    axis.tick_params(labelsize=7)
    _legend_below(axis, legend_at)


def _legend_below(axis: Any, at: float, columns: int = 2) -> None:
    """Below the axes and their x labels (``at``: in axes heights), so it never covers a
    point."""
    if axis.get_legend_handles_labels()[0]:
        axis.legend(
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, at),
            ncols=columns,
            frameon=False,
        )


def _y_range(axis: Any, values: Sequence[float]) -> None:
    """Every value drawn (points, interval, threshold) inside the axis with a margin; one value
    alone (an exact check) gets a span round it rather than matplotlib's ±5% of nothing."""
    shown = [v for v in values if math.isfinite(v)]
    if not shown:
        return
    low, high = min(shown), max(shown)
    pad = (high - low) * 0.12 or abs(low) * 0.1 or 1.0
    axis.set_ylim(low - pad, high + pad)


def _band(axis: Any, low: float | None, high: float | None, centre: float | None, x: Any) -> None:
    if low is None or high is None or centre is None:
        return
    axis.fill_between(x, [low, low], [high, high], color=_BLUE, alpha=0.15, label="95% CI")
    axis.plot(x, [centre, centre], color=_BLUE, linewidth=1.2, label="estimate")


def _limit(axis: Any, value: float | None, label: str) -> None:
    if value is not None:
        axis.axhline(value, color=_RED, linestyle="--", linewidth=1.2, label=label)


def _positions(keys: Sequence[str]) -> tuple[list[float], list[str]] | None:
    """x positions for pair-key values: the values themselves when all are numbers (seed 0–4),
    else evenly spaced in natural order; and the tick labels. None without keys."""
    if not keys:
        return None
    try:
        return [float(key) for key in keys], list(keys)
    except ValueError:
        order = sorted(keys, key=lambda key: (len(key), key))
        return [float(order.index(key)) for key in keys], list(keys)


def _single(axis: Any, label: str) -> list[float]:
    axis.set_xticks([0.0], [label], fontsize=8)
    axis.set_xlim(-1.0, 1.0)
    return [0.0]


def _differences(axis: Any, check: Check, pair_by: str) -> list[float]:
    """Paired (or against an exact baseline): each pair's difference at its pair-key value,
    the interval of their mean and the limit they are held against."""
    points = list(check.points)
    keyed = _positions(check.point_keys) if len(check.point_keys) == len(points) else None
    if keyed is not None:
        xs, labels = keyed
        if len(set(xs)) <= 12:
            axis.set_xticks(xs, labels)
        axis.set_xlabel(pair_by or "pair key", fontsize=8)
        span = [min(xs) - 0.4, max(xs) + 0.4]
    elif len(points) == 1:
        xs = _single(axis, "the result")
        span = [-0.6, 0.6]
    else:
        xs = [float(i) for i in range(1, len(points) + 1)]
        axis.set_xlabel("runs, in order of value", fontsize=8)
        axis.xaxis.get_major_locator().set_params(integer=True)
        span = [0.6, max(len(points), 1) + 0.4]
    if points:
        axis.plot(xs, points, "o", color=_BLUE, label=check.effect_label or "difference")
    _band(axis, check.low, check.high, check.estimate, span)
    _limit(axis, check.limit, "threshold")
    axis.set_ylabel(_wrap(check.effect_label or check.metric, 34), fontsize=8)
    return [*points, *_drawn(check.low, check.high, check.estimate, check.limit)]


def _drawn(*values: float | None) -> list[float]:
    return [v for v in values if v is not None]


def _two_groups(axis: Any, check: Check) -> list[float]:
    """Unpaired (Welch): both groups, the threshold in the metric's unit, and the interval
    of the difference shown around the hypothesis's mean."""
    hyp, ref = list(check.points), list(check.reference_points)
    axis.plot([1] * len(hyp), hyp, "o", color=_BLUE, alpha=0.7, label="hypothesis runs")
    axis.plot([2] * len(ref), ref, "s", color="#616161", alpha=0.7, label=f"{check.baseline} runs")
    offset = None
    if check.threshold is not None and check.limit is not None:
        offset = check.threshold - check.limit  # scale × the baseline's mean
    drawn = [*hyp, *ref, *_drawn(check.threshold)]
    if offset is not None and check.low is not None and check.high is not None:
        centre = offset + check.estimate if check.estimate is not None else None
        _band(axis, offset + check.low, offset + check.high, centre, [0.75, 1.25])
        drawn += [offset + check.low, offset + check.high]
    _limit(axis, check.threshold, "threshold")
    axis.set_xticks([1, 2], ["hypothesis", check.baseline or "baseline"], fontsize=8)
    axis.set_xlim(0.4, 2.6)
    axis.set_ylabel(check.metric, fontsize=8)
    return drawn


def _values(axis: Any, check: Check) -> list[float]:
    """An absolute threshold: the runs (in order of value: the test does not pair them), the
    interval of their mean and the threshold; one exact value is a point."""
    points = list(check.points)
    if len(points) == 1:
        xs = _single(axis, "the result")
        span = [-0.6, 0.6]
    else:
        xs = [float(i) for i in range(1, len(points) + 1)]
        span = [0.6, max(len(points), 1) + 0.4]
        axis.set_xlabel("runs, in order of value", fontsize=8)
        axis.xaxis.get_major_locator().set_params(integer=True)
    if points:
        axis.plot(xs, points, "o", color=_BLUE, label="runs" if len(points) > 1 else "value")
    _band(axis, check.low, check.high, check.estimate, span)
    _limit(axis, check.threshold, "threshold")
    axis.set_ylabel(check.metric, fontsize=8)
    return [*points, *_drawn(check.low, check.high, check.estimate, check.threshold)]


# ----------------------------------------------------------------------------- the forest plot


@dataclass(frozen=True)
class ForestRow:
    """One check as a forest plot shows it: its estimate and interval as distances from its
    limit, signed so that right of zero is the side that passes (a check that must stay below
    its limit is mirrored). ``low``/``high`` are None for a value with no interval (an exact
    check), drawn as a point."""

    check: Check
    estimate: float
    low: float | None
    high: float | None


def forest_rows(checks: Sequence[Check]) -> list[ForestRow]:
    """Every check with an estimate and a limit, as mlplan._site.svg's forest plot shapes it."""
    rows = []
    for check in checks:
        if check.estimate is None or check.limit is None:
            continue
        sign = 1.0 if check.above else -1.0
        estimate = sign * (check.estimate - check.limit)
        ends: list[float | None] = [None, None]
        if check.low is not None and check.high is not None:
            ends = sorted(sign * (v - check.limit) for v in (check.low, check.high))  # type: ignore[assignment]
        values = [v for v in (estimate, *ends) if v is not None]
        if all(math.isfinite(v) and abs(v) <= _PLOTTABLE for v in values):
            rows.append(ForestRow(check, estimate, ends[0], ends[1]))
    return rows


def _forest(axis: Any, rows: Sequence[ForestRow]) -> None:
    """Each check's estimate (a square) and labelled interval against its threshold, the line
    at zero: a forest plot (Lewis & Clarke, BMJ 2001). Checks have different units, so the
    x-axis is each check's distance from its own threshold; right of the line passes."""
    ys = list(range(len(rows), 0, -1))
    for y, row in zip(ys, rows, strict=True):
        colour = _OUTCOME_COLOURS[row.check.outcome]
        if row.low is not None and row.high is not None:
            axis.plot([row.low, row.high], [y, y], color=colour, linewidth=2)
        axis.plot([row.estimate], [y], "s", color=colour, markersize=6)
    axis.axvline(0.0, color=_RED, linestyle="--", linewidth=1.2)
    axis.set_yticks(ys, [_clip(row.check.description, 60) for row in rows], fontsize=7)
    axis.set_ylim(0.4, len(rows) + 0.6)
    kinds = sorted({row.check.interval for row in rows if row.check.interval}) or ["interval"]
    axis.set_xlabel(
        f"distance from the threshold (■ estimate, — {' / '.join(kinds)}); "
        "right of the dashed line passes",
        fontsize=8,
    )
    axis.tick_params(labelsize=7)
    axis.set_title("every check against its threshold", fontsize=9)


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
