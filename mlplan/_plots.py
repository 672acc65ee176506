"""One PNG per hypothesis: its results against the threshold and the baselines.

matplotlib is imported here, inside the function, and only when a doc is rendered with a log.
PNGs are written without the software version so the same results give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlplan._judge import Verdict
from mlplan._models import Plan
from mlplan._results import Result

__all__ = ["plot_hypotheses"]

_COLOURS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "inconclusive": "#f9a825",
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
        figure = _figure(plt, plan, verdict, runs)
        path = folder / f"{verdict.hypothesis}.png"
        figure.savefig(path, dpi=80, metadata={"Software": None})
        plt.close(figure)
        written[verdict.hypothesis] = str(path)
    return written


def _figure(plt: Any, plan: Plan, verdict: Verdict, runs: Sequence[Result]) -> Any:
    metrics = list(
        dict.fromkeys(check.metric for check in verdict.checks if check.kind == "criterion")
    )
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        _panel(axis, plan, verdict, runs, metric)
    figure.suptitle(f"{verdict.hypothesis}: {verdict.status}", color=_COLOURS[verdict.status])
    figure.tight_layout()
    return figure


def _panel(axis: Any, plan: Plan, verdict: Verdict, runs: Sequence[Result], metric: str) -> None:
    measured = [r.metrics[metric] for r in runs if metric in r.metrics and not r.reported]
    reported = [r.metrics[metric] for r in runs if metric in r.metrics and r.reported]
    if measured:
        axis.plot(range(1, len(measured) + 1), measured, "o", color="#1565c0", label="runs")
    if reported:
        start = len(measured) + 1
        axis.plot(
            range(start, start + len(reported)),
            reported,
            "D",
            mfc="none",
            color="#1565c0",
            label="reported",
        )
    _interval(axis, verdict, metric)
    axis.xaxis.get_major_locator().set_params(integer=True)
    drawn: set[str] = set()
    for check in verdict.checks:
        if check.metric != metric or check.kind != "criterion":
            continue
        if check.threshold is not None:
            axis.axhline(
                check.threshold,
                color="#c62828",
                linestyle="--",
                linewidth=1,
                label=f"threshold{f' vs {check.baseline}' if check.baseline else ''}",
            )
        if check.baseline and check.reference is not None and check.baseline not in drawn:
            drawn.add(check.baseline)
            axis.axhline(
                check.reference.mean,
                color="#616161",
                linestyle=":",
                linewidth=1,
                label=f"baseline {check.baseline}",
            )
    direction = plan.metric(metric).direction
    axis.set_title(f"{metric} ({direction} is better)", fontsize=9)
    axis.set_xlabel("result #", fontsize=8)
    axis.tick_params(labelsize=7)
    axis.legend(fontsize=7, loc="best")


def _interval(axis: Any, verdict: Verdict, metric: str) -> None:
    """The mean the judge used, and its 95% interval when there are several runs."""
    value = next((c.value for c in verdict.checks if c.metric == metric and c.value), None)
    if value is None or value.runs < 2 or value.low is None or value.high is None:
        return
    axis.axhspan(value.low, value.high, color="#1565c0", alpha=0.12, label="95% interval")
    axis.axhline(value.mean, color="#1565c0", linewidth=1, label="mean")
