"""The Python API for training scripts and notebooks, and the workflows the CLI calls.

import mlplan

with mlplan.start_run("plan.yaml", hypothesis="H1", note="seed 3") as run:
    mlflow.autolog()                        # or mlflow.log_metric(...)
    train()

mlplan.log_result("plan.yaml", hypothesis="H1", metrics={"recall": 0.91})
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlplan._baselines import run_entry_point
from mlplan._journal import Delivery, Journal
from mlplan._judge import Verdict
from mlplan._load import load_plan
from mlplan._render import LogView, render_markdown, write_markdown
from mlplan._results import ResultKind
from mlplan.errors import MlplanError, TrackingError

__all__ = [
    "journal_for",
    "log_result",
    "publish",
    "read_log",
    "render_design_doc",
    "run_and_log_baseline",
    "run_baseline",
    "start_run",
    "verdicts",
]


def journal_for(
    plan: str | Path, tracking_uri: str | None = None, refresh: bool = False
) -> Journal:
    """``refresh`` reads every result from the store instead of the local copy (see _cache)."""
    return Journal(load_plan(plan), tracking_uri, refresh=refresh)


def _subject(hypothesis: str | None, baseline: str | None) -> tuple[ResultKind, str]:
    if (hypothesis is None) == (baseline is None):
        raise MlplanError("give exactly one of hypothesis= or baseline=")
    if hypothesis is not None:
        return "hypothesis", hypothesis
    assert baseline is not None
    return "baseline", baseline


def log_result(
    plan: str | Path,
    *,
    metrics: Mapping[str, float],
    hypothesis: str | None = None,
    baseline: str | None = None,
    note: str = "",
    params: Mapping[str, Any] | None = None,
    reported: bool = False,
    source: str = "",
    tracking_uri: str | None = None,
    replace: str = "",
    reason: str = "",
) -> str:
    """Log one result for a hypothesis (or a baseline); return its MLflow run id.

    One result per subject and pair key: a second one for the same key is refused unless it
    names the run it replaces (``replace=``) and why (``reason=``); logging the same values
    again logs nothing and returns the existing run's id.
    """
    kind, subject = _subject(hypothesis, baseline)
    journal = journal_for(plan, tracking_uri)
    submission = journal.submission(
        kind=kind,
        subject=subject,
        metrics=metrics,
        note=note,
        params=params,
        reported=reported,
        source=source,
        replaces=replace,
        reason=reason,
    )
    return journal.log(submission).run_id


@contextmanager
def start_run(
    plan: str | Path,
    *,
    hypothesis: str | None = None,
    baseline: str | None = None,
    note: str = "",
    tracking_uri: str | None = None,
) -> Iterator[Any]:
    """Open an MLflow run tied to a hypothesis; log into it as usual (autolog works).

    The run counts as a result once it finishes; a run that raises is marked FAILED by MLflow
    and is never judged.
    """
    kind, subject = _subject(hypothesis, baseline)
    journal = journal_for(plan, tracking_uri)
    with journal.active_run(journal.open_submission(kind, subject, note)) as run:
        yield run


def run_and_log_baseline(
    journal: Journal,
    baseline_id: str,
    params: Mapping[str, str] | None = None,
    *,
    replace: str = "",
    reason: str = "",
) -> tuple[Delivery, float, list[str]]:
    """Run a baseline's entry point with ``params`` as keyword arguments and log what it
    returns for the plan's declared metrics, with the params as the run's params."""
    journal.check_subject("baseline", baseline_id)
    folder = journal.loaded.path.parent
    ran = run_entry_point(journal.plan.baseline(baseline_id), folder, params)
    declared = {metric.key for metric in journal.plan.metrics}
    kept = {k: v for k, v in ran.metrics.items() if k in declared}
    ignored = sorted(k for k in ran.metrics if k not in declared)
    if not kept:
        raise MlplanError(
            f"baseline {baseline_id} returned none of the plan's metrics: "
            f"{', '.join(sorted(ran.metrics)) or 'nothing'}"
        )
    entry_point = journal.plan.baseline(baseline_id).entry_point
    submission = journal.submission(
        kind="baseline",
        subject=baseline_id,
        metrics=kept,
        note=f"measured by running {entry_point}",
        params=params,
        replaces=replace,
        reason=reason,
    )
    return journal.log(submission), ran.seconds, ignored


def run_baseline(
    plan: str | Path,
    baseline_id: str,
    tracking_uri: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    replace: str = "",
    reason: str = "",
) -> str:
    """Run a baseline's declared entry point (``params`` as keyword arguments) and log its
    result; return the run id."""
    shown = {key: str(value) for key, value in (params or {}).items()}
    journal = journal_for(plan, tracking_uri)
    delivery, _, _ = run_and_log_baseline(
        journal, baseline_id, shown, replace=replace, reason=reason
    )
    return delivery.run_id


def verdicts(
    plan: str | Path, *, tracking_uri: str | None = None, today: dt.date | None = None
) -> list[Verdict]:
    """Every hypothesis judged against its criteria and baselines, as of ``today``."""
    return journal_for(plan, tracking_uri).verdicts(today)[1]


def read_log(
    plan: str | Path,
    *,
    tracking_uri: str | None = None,
    read: bool | None = None,
    today: dt.date | None = None,
    plots_dir: Path | None = None,
    refresh: bool = False,
) -> LogView:
    """The experiment log for the design doc. ``read=None`` reads it when a store exists;
    an unreachable store gives a log marked unavailable rather than an error."""
    journal = Journal(load_plan(plan), tracking_uri, refresh=refresh)
    return _read_log(journal, read=read, today=today, plots_dir=plots_dir)


def _read_log(
    journal: Journal, *, read: bool | None, today: dt.date | None, plots_dir: Path | None
) -> LogView:
    location = journal.location
    if read is False or (read is None and not location.exists()):
        return LogView(
            reason="no MLflow store was found for this plan (none configured, "
            "and no embedded store beside it)"
        )
    try:
        results, judged = journal.verdicts(today)
    except TrackingError as error:
        return LogView(reason=f"{location.describe()} could not be read ({error})")
    from mlplan._decisions import frozen_review

    as_of = today or dt.date.today()
    review = frozen_review(journal.plan, results, judged, as_of)
    plots = {}
    if plots_dir is not None:
        from mlplan._plots import plot_hypotheses

        plots = plot_hypotheses(journal.plan, results, judged, plots_dir)
    return LogView(
        available=True,
        store=location.describe_for_doc(),
        results=results,
        verdicts=judged,
        plots=plots,
        as_of=as_of,
        review=review,
    )


def render_design_doc(
    plan: str | Path,
    output: Path | None = None,
    *,
    tracking_uri: str | None = None,
    read: bool | None = None,
    today: dt.date | None = None,
    refresh: bool = False,
) -> str:
    """Render the design doc; with ``output``, write it there with its plots beside it."""
    # Opens no store until the log is read.
    journal = Journal(load_plan(plan), tracking_uri, refresh=refresh)
    plots_dir = output.parent / f"{output.stem}_plots" if output is not None else None
    log = _read_log(journal, read=read, today=today, plots_dir=plots_dir)
    if output is not None and log.plots:
        relative = {h: Path(p).relative_to(output.parent).as_posix() for h, p in log.plots.items()}
        log = replace(log, plots=relative)
    markdown = render_markdown(journal.plan, log)
    if output is not None:
        write_markdown(output, markdown)
        if log.available:
            journal.snapshot(output, [output.parent / path for path in log.plots.values()])
    return markdown


def publish(
    plan: str | Path,
    *,
    tracking_uri: str | None = None,
    today: dt.date | None = None,
    refresh: bool = False,
) -> dict[str, str]:
    """Judge every hypothesis and write the verdicts to the experiment as tags; return them.

    The only call that writes verdicts: see mlplan._publish for why ``status`` does not.
    """
    from mlplan._publish import git_commit, verdict_tags

    journal = Journal(load_plan(plan), tracking_uri, refresh=refresh)
    day = today or dt.date.today()
    _, judged = journal.verdicts(day)
    tags = verdict_tags(journal.plan, judged, git_commit(journal.loaded.path), day)
    journal.store.publish(tags)
    return tags
