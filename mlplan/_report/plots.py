"""One PNG per hypothesis: one panel per check (guardrails included) showing what decided it.

matplotlib is imported here, inside the function, and only when a doc is rendered with a log.
PNGs are written without the software version so the same results give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlplan._judge.results import Result
from mlplan._judge.verdicts import Check, Verdict
from mlplan._plan.models import Plan
from mlplan._text import plural

__all__ = ["plot_hypotheses"]

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
        figure = _figure(plt, verdict)
        path = folder / f"{verdict.hypothesis}.png"
        figure.savefig(path, dpi=100, metadata={"Software": None})
        plt.close(figure)
        written[verdict.hypothesis] = str(path)
    return written


_MAX_PANELS = 24
_OUTCOME_COLOURS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "unclear": "#f9a825",
    "missing": "#757575",
}


def _figure(plt: Any, verdict: Verdict) -> Any:
    """One panel per check, guardrails included: what the test saw, its interval and the
    threshold. The worst checks come first when there are more than fit."""
    checks = list(verdict.checks)
    if len(checks) > _MAX_PANELS:
        rank = {"fail": 0, "unclear": 1, "missing": 2, "pass": 3}
        checks = sorted(checks, key=lambda c: rank[c.outcome])[:_MAX_PANELS]
    columns = min(3, max(1, len(checks)))
    rows = max(1, -(-len(checks) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False)
    for axis in axes.flat[len(checks) :]:
        axis.set_visible(False)
    for axis, check in zip(axes.flat, checks, strict=False):
        _panel(axis, check)
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
    )
    figure.tight_layout()
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


def _panel(axis: Any, check: Check) -> None:
    colour = _OUTCOME_COLOURS[check.outcome]
    if not _plottable(check):
        _unplottable(axis)
    elif check.paired or (check.baseline is not None and not check.reference_points):
        _differences(axis, check)
    elif check.reference_points:
        _two_groups(axis, check)
    else:
        _values(axis, check)
    what = f"{check.test}, n = {check.n}" if check.test else check.note
    axis.set_title(
        _wrap(f"{check.outcome.upper()}: {check.description}") + f"\n{_wrap(what)}",
        fontsize=8,
        color=colour,
    )
    axis.tick_params(labelsize=7)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=7, loc="best")


def _band(axis: Any, low: float | None, high: float | None, centre: float | None, x: Any) -> None:
    if low is None or high is None or centre is None:
        return
    axis.fill_between(x, [low, low], [high, high], color="#1565c0", alpha=0.15, label="95% CI")
    axis.plot(x, [centre, centre], color="#1565c0", linewidth=1.2, label="estimate")


def _limit(axis: Any, value: float | None, label: str) -> None:
    if value is not None:
        axis.axhline(value, color="#c62828", linestyle="--", linewidth=1.2, label=label)


def _differences(axis: Any, check: Check) -> None:
    """Paired (or against an exact baseline): each pair's difference, the interval of their
    mean and the limit they are held against."""
    points = list(check.points)
    xs = list(range(1, len(points) + 1))
    if points:
        axis.plot(xs, points, "o", color="#1565c0", label=check.effect_label or "difference")
    span = [0.6, max(len(points), 1) + 0.4]
    _band(axis, check.low, check.high, check.estimate, span)
    _limit(axis, check.limit, "threshold")
    axis.set_xlabel("pair #" if check.paired else "run #", fontsize=8)
    axis.set_ylabel(check.effect_label or check.metric, fontsize=8)
    axis.xaxis.get_major_locator().set_params(integer=True)


def _two_groups(axis: Any, check: Check) -> None:
    """Unpaired (Welch): both groups, the threshold in the metric's unit, and the interval
    of the difference shown around the hypothesis's mean."""
    hyp, ref = list(check.points), list(check.reference_points)
    axis.plot([1] * len(hyp), hyp, "o", color="#1565c0", alpha=0.7, label="hypothesis runs")
    axis.plot([2] * len(ref), ref, "s", color="#616161", alpha=0.7, label=f"{check.baseline} runs")
    offset = None
    if check.threshold is not None and check.limit is not None:
        offset = check.threshold - check.limit  # scale × the baseline's mean
    if offset is not None and check.low is not None and check.high is not None:
        centre = offset + check.estimate if check.estimate is not None else None
        _band(axis, offset + check.low, offset + check.high, centre, [0.75, 1.25])
    _limit(axis, check.threshold, "threshold")
    axis.set_xticks([1, 2], ["hypothesis", check.baseline or "baseline"], fontsize=8)
    axis.set_xlim(0.4, 2.6)
    axis.set_ylabel(check.metric, fontsize=8)


def _values(axis: Any, check: Check) -> None:
    """An absolute threshold: the runs, the interval of their mean and the threshold."""
    points = list(check.points)
    xs = list(range(1, len(points) + 1))
    if points:
        axis.plot(xs, points, "o", color="#1565c0", label="runs")
    _band(axis, check.low, check.high, check.estimate, [0.6, max(len(points), 1) + 0.4])
    _limit(axis, check.threshold, "threshold")
    axis.set_xlabel("run #", fontsize=8)
    axis.set_ylabel(check.metric, fontsize=8)
    axis.xaxis.get_major_locator().set_params(integer=True)
