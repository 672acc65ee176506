"""The command line: it maps switches onto library calls and nothing more.

Each command is one call of the public package (``mlplan.X``), never of a private module
(tests/test_cli_public.py): what the CLI can do, a notebook can do the same way. Library errors
name the parameters a fix involves; the CLI adds its switches for them (``_SWITCHES``).

Exit codes: 0 success, 1 invalid input or a failed check, 2 usage error, 3 an unexpected
internal error (details written to a log file), 130 interrupted. Heavy modules (mlflow,
matplotlib) are imported inside the commands that need them, never at start-up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import gc
import io
import json
import re
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import mlplan
from mlplan._cli.console import Console, plural
from mlplan.errors import MlplanError, UsageError

# `mlplan.X` imports X's module on first use (PEP 562): `--help` builds no pydantic model, and
# `validate` imports neither jinja2 (templates) nor the judge. Start-up time is a feature
# (benchmarks/README.md).
if TYPE_CHECKING:
    from mlplan import Report, RunReport, StatusReport

__all__ = ["app", "main"]

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="mlplan",
    help="Plan ML experiments as a checked document; judge them against results in MLflow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console()
err = Console(stderr=True)

PlanArgument = Annotated[
    Path, typer.Argument(help="The plan's YAML file.", show_default=False, metavar="PLAN")
]


def _version(value: bool) -> None:
    if value:
        out.print(f"mlplan {mlplan.__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Plan ML experiments as a checked document; judge them against results in MLflow."""


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="The plan's name; the file is NAME.yaml.")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="blank, or a worked project to start from.")
    ] = "blank",
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="Where to write the plan.", file_okay=False)
    ] = Path(),
) -> None:
    """Create a plan from a template, with guidance in every section."""
    made = mlplan.new_plan(name, template=template, directory=directory)
    out.print(f"Created {made.plan}.", markup=False)
    if made.written:
        out.print(f"Beside it: {', '.join(path.name for path in made.written)}", markup=False)
    for path in made.kept:
        err.print(f"kept the existing {path}; the template's copy was not written", markup=False)
    for note in made.notes:
        err.print(f"note: {note}", markup=False)
    if template == "blank":
        out.print(f"Fill in every TODO, then run: mlplan validate {made.plan}", markup=False)
    else:
        out.print(f"Next: mlplan validate {made.plan}", markup=False)


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="One or more plan files.", metavar="PLAN")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on goals graded bad and on leftover TODOs.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Check plans: every problem with file:line:column, and each metric goal's grade."""
    reports = [mlplan.validate_file(path, strict=strict) for path in paths]
    if as_json:
        out.print_json(json.dumps([report.to_dict() for report in reports], allow_nan=False))
    else:
        for report in reports:
            _print_report(report)
    if not all(report.valid for report in reports):
        raise typer.Exit(EXIT_INVALID)


def _print_report(report: Report) -> None:
    errors = [p for p in report.problems if p.severity == "error"]
    warnings = [p for p in report.problems if p.severity != "error"]
    for problem in [*errors, *warnings]:
        colour = "red" if problem.severity == "error" else "yellow"
        err.print(problem.format(), style=colour, markup=False)
    if not report.valid:
        err.print(
            f"✗ {report.path}: invalid ({plural(len(errors), 'error')})",
            style="bold red",
            markup=False,
        )
        return
    out.print(f"✓ {report.path}: valid", style="green", markup=False)
    for graded in report.grades:
        advice = f" ({graded.advice()})" if graded.missing else ""
        out.print(
            f"  goal {graded.index + 1}: {graded.grade}{advice}: {graded.goal.statement}",
            markup=False,
        )


@app.command()
def render(
    path: PlanArgument,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (plots beside it) instead of stdout."),
    ] = None,
    log: Annotated[
        bool | None,
        typer.Option(
            "--log/--no-log",
            help="Read the experiment log from MLflow; default: when the plan has a store.",
            show_default=False,
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    today: Today = None,
    refresh: Refresh = False,
) -> None:
    """Render the plan as a Markdown design doc, every section in template order.

    With -o, the doc (and its plots) is written first, then kept beside the results in the
    store. Exit 1 if the store refuses that copy: the message says the doc was written.
    """
    markdown = mlplan.render_design_doc(
        path, output, tracking_uri=tracking_uri, read=log, today=_today(today), refresh=refresh
    )
    if output is None:
        out.file.write(markdown)
    else:
        err.print(f"Wrote {output}", markup=False)


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of to stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of a plan, for editors."""
    schema = mlplan.plan_schema(output)
    if output is None:
        out.file.write(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    else:
        err.print(f"Wrote {output}", markup=False)


TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI; default: MLFLOW_TRACKING_URI, "
        "else an embedded store beside the plan.",
        show_default=False,
    ),
]
Refresh = Annotated[
    bool,
    typer.Option(
        "--refresh",
        help="Read every result from MLflow, not the local copy in .mlplan/cache "
        "(after editing runs outside mlplan, e.g. deleting one in the MLflow UI).",
    ),
]
Replace = Annotated[
    str,
    typer.Option(
        "--replace", help="The run this result replaces (same subject and key).", metavar="RUN"
    ),
]
Reason = Annotated[str, typer.Option("--reason", help="Why the replaced run no longer counts.")]
Today = Annotated[
    str | None,
    typer.Option(
        "--today", help="Judge as of this date (YYYY-MM-DD) instead of today.", show_default=False
    ),
]


def _pairs(items: list[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--{what} {item!r} is not KEY=VALUE, e.g. --{what} accuracy=0.91")
        if key.strip() in pairs:
            # The last one used to win silently: which of the two was meant is not ours to guess.
            raise UsageError(
                f"--{what} {key.strip()} is given twice ({key.strip()}={pairs[key.strip()]} and "
                f"{item.strip()}); give each key once"
            )
        pairs[key.strip()] = value.strip()
    return pairs


def _today(value: str | None) -> dt.date | None:
    if value is None:
        return None  # the library's today (MLPLAN_TODAY, else the clock)
    return _date(value, "--today")


@app.command("log-result")
def log_result(
    path: PlanArgument,
    hypothesis: Annotated[
        str | None, typer.Option("--hypothesis", "-H", help="The hypothesis this result tests.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", "-B", help="Log a baseline's result instead.")
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="KEY=VALUE; repeat for more.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE run parameter.")
    ] = None,
    note: Annotated[str, typer.Option("--note", "-n", help="What this run was.")] = "",
    run_id: Annotated[
        str, typer.Option("--run-id", help="Attach an existing MLflow run instead.")
    ] = "",
    reported: Annotated[
        bool, typer.Option("--reported", help="A figure not measured here (needs --source).")
    ] = False,
    source: Annotated[
        str, typer.Option("--source", help="Where a reported figure comes from.")
    ] = "",
    replace: Replace = "",
    reason: Reason = "",
    tracking_uri: TrackingUri = None,
) -> None:
    """Log a result for a hypothesis or a baseline as an MLflow run."""
    logged = mlplan.record_result(
        path,
        hypothesis=hypothesis,
        baseline=baseline,
        metrics=_pairs(metric or [], "metric"),
        params=_pairs(param or [], "param"),
        note=note,
        reported=reported,
        source=source,
        run_id=run_id,
        tracking_uri=tracking_uri,
        replace=replace,
        reason=reason,
    )
    if logged.deduplicated:
        out.print(f"Already logged: the same result is run {logged.run_id}", markup=False)
        return
    label = " (reported)" if logged.reported else ""
    out.print(
        f"Logged {logged.kind} {logged.subject}{label}: run {logged.run_id} in {logged.store}",
        markup=False,
    )


baseline_app = typer.Typer(help="Run heuristic baselines.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("run")
def baseline_run(
    path: PlanArgument,
    baseline_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Baseline ids; default: every baseline with an entry point.",
            metavar="ID",
            show_default=False,
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="KEY=VALUE passed to the entry point and logged."),
    ] = None,
    replace: Replace = "",
    reason: Reason = "",
    tracking_uri: TrackingUri = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", help="Give up on an entry point after this many seconds.", min=0),
    ] = 3600.0,
) -> None:
    """Run baselines' entry points and log their results (as `mlplan run PLAN B...`)."""
    outcomes = mlplan.run_baselines(
        path,
        baseline_ids or (),
        tracking_uri=tracking_uri,
        params=_pairs(param or [], "param"),
        replace=replace,
        reason=reason,
        timeout=timeout,
        on_start=lambda baseline_id: err.print(f"Running baseline {baseline_id}…", markup=False),
    )
    for outcome in outcomes:
        if outcome.deduplicated:
            out.print(
                f"Already logged: baseline {outcome.baseline} has a result for this slot, run "
                f"{outcome.run_id or '(logged meanwhile)'}; nothing was run",
                markup=False,
            )
            continue
        extra = f"; ignored undeclared metrics: {', '.join(outcome.ignored)}"
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in outcome.metrics.items())
        out.print(
            f"Baseline {outcome.baseline} ({outcome.seconds:.1f} s): {metrics} → "
            f"run {outcome.run_id}{extra if outcome.ignored else ''}",
            markup=False,
        )


class CloseAs(enum.StrEnum):
    abandoned = "abandoned"
    superseded = "superseded"


class StatusFormat(enum.StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


@app.command()
def status(
    path: PlanArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (as --format json).")] = False,
    output_format: Annotated[
        StatusFormat,
        typer.Option(
            "--format",
            help="table, json, markdown (GitHub, for a CI summary), or csv (one row per result).",
        ),
    ] = StatusFormat.table,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Each check's full explanation and every deviation line."
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 1 if anything is overdue, failed without a recorded decision, "
            "or has criteria changed after results without an amendment. Judges the store "
            "itself, never the local copy or the outbox; with a tracking server, refuses "
            "while files of the plan's .mlplan folder are tracked by git.",
        ),
    ] = False,
    require_store: Annotated[
        bool,
        typer.Option(
            "--require-store",
            help="With --check: also fail when there is no store or it holds no results.",
        ),
    ] = False,
    tracking_uri: TrackingUri = None,
    today: Today = None,
    refresh: Refresh = False,
) -> None:
    """Judge every hypothesis against its criteria and baselines."""
    report = mlplan.status(
        path,
        tracking_uri=tracking_uri,
        today=_today(today),
        require_store=require_store,
        refresh=refresh,
        check=check,
    )
    chosen = StatusFormat.json if as_json else output_format
    if chosen is StatusFormat.json:
        out.print_json(json.dumps(report.to_dict(), allow_nan=False))
    elif chosen is StatusFormat.markdown:
        out.file.write(report.to_markdown())
    elif chosen is StatusFormat.csv:
        out.file.write(report.to_csv())
    else:
        _print_status(report, verbose)
    _print_notes(report.store_notes, chosen is StatusFormat.table)
    if check and report.reasons:
        for reason in report.reasons:
            err.print(f"needs attention: {reason}", style="red", markup=False)
        raise typer.Exit(EXIT_INVALID)


def _print_notes(notes: list[str], fitted: bool) -> None:
    """The store's notes on stderr, wrapped to the terminal beside the fitted table."""
    import shutil
    import textwrap

    width = shutil.get_terminal_size((80, 24)).columns if fitted else 10**6
    for note in notes:
        for line in textwrap.wrap(f"note: {note}", width, subsequent_indent="  ") or [""]:
            err.print(line, style="yellow", markup=False)


_STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "inconclusive": "yellow",
    "running": "cyan",
    "overdue": "bold red",
    "blocked": "magenta",
    "pending": "dim",
}


def _print_status(report: StatusReport, verbose: bool) -> None:
    """One line per hypothesis and a short line per check, fitted to the terminal's width."""
    import shutil

    width = shutil.get_terminal_size((80, 24)).columns  # COLUMNS first, then the terminal
    for line, status in report.terminal_lines(width, verbose=verbose):
        style = "bold" if status == "title" else _STATUS_STYLE.get(status)
        out.print(line, style=style, markup=False)
    _print_changes(report)


def _print_changes(report: StatusReport) -> None:
    from rich.table import Table
    from rich.text import Text

    for change in report.review.unrecorded:
        table = Table(
            title=f"{change.hypothesis}: criteria changed since {change.since:%Y-%m-%d}, "
            "no amendment recorded",
            title_style="bold red",
        )
        for column in ("Setting", "Results were logged under", "The plan now says"):
            table.add_column(column)
        for where, old, new in change.changes:
            table.add_row(Text(where), Text(old), Text(new))
        out.print(table)


def _date(value: str | None, switch: str) -> dt.date | None:
    if value is None:
        return None
    # YYYY-MM-DD and only so (as MLPLAN_TODAY): Python also reads 20261207 and 2026-W49-1.
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
            raise ValueError(value)
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{switch} {value!r} is not a date written YYYY-MM-DD") from None


HypothesisArgument = Annotated[
    str, typer.Argument(help="The hypothesis id, e.g. H1.", show_default=False, metavar="H")
]
DateOption = Annotated[
    str | None,
    typer.Option(
        "--date", help="The entry's date (YYYY-MM-DD); default: today.", show_default=False
    ),
]


@app.command()
def decide(
    path: PlanArgument,
    hypothesis: HypothesisArgument,
    decision: Annotated[str, typer.Option("--decision", help="What was decided.")],
    rationale: Annotated[
        str | None, typer.Option("--rationale", help="Why.", show_default=False)
    ] = None,
    date: DateOption = None,
    tracking_uri: TrackingUri = None,
    close: Annotated[
        CloseAs | None,
        typer.Option(
            "--close",
            help="Also close the hypothesis: no more runs, its deadline no longer applies.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Record a decision in the plan's experiment log, with the verdict it was taken on."""
    entry = mlplan.decide(
        path,
        hypothesis,
        decision,
        rationale=rationale,
        date=_date(date, "--date"),
        tracking_uri=tracking_uri,
        close=None if close is None else close.value,
    )
    verdict = entry.verdict
    basis = f" (verdict {verdict.status}, n = {verdict.n})" if verdict is not None else ""
    closed = f" and closed it as {entry.closes}" if entry.closes else ""
    out.print(f"Recorded a decision on {hypothesis}{basis}{closed} in {path}", markup=False)


@app.command()
def amend(
    path: PlanArgument,
    hypothesis: HypothesisArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why the criteria changed.")],
    date: DateOption = None,
    tracking_uri: TrackingUri = None,
    rename: Annotated[
        str | None,
        typer.Option(
            "--rename",
            help="Rename the hypothesis to this id; its results count for the new id.",
            show_default=False,
            metavar="NEW",
        ),
    ] = None,
) -> None:
    """Record that a hypothesis's criteria changed after its results, and why; or rename it."""
    entries = mlplan.amend(
        path,
        hypothesis,
        reason,
        date=_date(date, "--date"),
        tracking_uri=tracking_uri,
        rename=rename,
    )
    if rename is not None:
        out.print(
            f"Renamed {hypothesis} to {rename} in {path}; its results count for {rename}",
            markup=False,
        )
    for entry in entries:
        out.print(f"Recorded an amendment of {entry.hypothesis} in {path}:", markup=False)
        for change in entry.changes:
            out.print(f"  {change}", markup=False)


@app.command()
def sync(path: PlanArgument, tracking_uri: TrackingUri = None) -> None:
    """Send results waiting in the outbox for this store; say what still waits, and why."""
    report = mlplan.sync(path, tracking_uri=tracking_uri)
    out.print(report.summary(), markup=False)
    for note in report.notes():
        err.print(f"note: {note}", style="yellow", markup=False)
    if not report.clean:
        raise typer.Exit(EXIT_INVALID)


@app.command()
def publish(
    path: PlanArgument,
    tracking_uri: TrackingUri = None,
    today: Today = None,
    refresh: Refresh = False,
) -> None:
    """Write the verdicts to the MLflow experiment as tags (mlplan.verdict.<H>)."""
    published = mlplan.publish(
        path, tracking_uri=tracking_uri, today=_today(today), refresh=refresh
    )
    verdicts = published.verdicts
    summary = ", ".join(f"{hypothesis} {status}" for hypothesis, status in verdicts.items())
    out.print(f"Published {len(verdicts)} verdicts: {summary}", markup=False)


# -- mlplan site (issue 19): one block, so that other commands can be added beside it --------


@app.command()
def site(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Plan files, or folders searched for plans.",
            show_default=False,
            metavar="PLAN_OR_DIR",
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The folder to write the site in.")
    ],
    tracking_uri: TrackingUri = None,
    today: Today = None,
) -> None:
    """Build a static site of every plan's hypotheses and verdicts (works from file://)."""
    report = mlplan.build_site(paths, output, tracking_uri=tracking_uri, today=_today(today))
    drawn = plural(len(report.rendered), "plan page")
    err.print(
        f"Wrote {report.index}: {drawn} drawn, {len(report.unchanged)} unchanged",
        markup=False,
    )
    for problem in report.problems:
        err.print(f"error: {problem}", style="red", markup=False)
    if report.problems:
        raise typer.Exit(EXIT_INVALID)


# --- mlplan run ----------------------------------------------------------------------------


@app.command("run")
def run_cells(
    path: PlanArgument,
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Hypothesis or baseline ids (a hypothesis brings the baselines it is compared "
            "with); default: the active hypotheses and their baselines.",
            metavar="ID",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", help="Cells at a time; default: the cores.", min=1),
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", help="Re-run a cell that produced no result.", min=0)
    ] = 0,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Stop a cell after this many seconds.", min=0),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the matrix and what is missing; run nothing.")
    ] = False,
    until: Annotated[
        str,
        typer.Option(
            "--until", help="all: the planned matrix; decided: stop at the first deciding look."
        ),
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per event.")] = False,
    tracking_uri: TrackingUri = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="local: processes on this host; slurm: Slurm job arrays (mlplan[slurm]).",
        ),
    ] = "local",
    partition: Annotated[
        str | None, typer.Option("--partition", help="Slurm: the partition.", show_default=False)
    ] = None,
    time_limit: Annotated[
        int | None,
        typer.Option("--time", help="Slurm: each cell's time limit in minutes.", min=1),
    ] = None,
    cpus: Annotated[int | None, typer.Option("--cpus", help="Slurm: CPUs per cell.", min=1)] = None,
    gpus: Annotated[int | None, typer.Option("--gpus", help="Slurm: GPUs per cell.", min=0)] = None,
    mem: Annotated[
        str | None,
        typer.Option("--mem", help="Slurm: memory per cell, e.g. 4G.", show_default=False),
    ] = None,
) -> None:
    """Run the plan's matrix: each missing cell in a fresh process, each result logged."""
    import re

    from mlplan import run_plan

    if executor not in ("local", "slurm"):
        raise UsageError(f"--executor {executor!r}: give local or slurm")
    cluster = {"partition": partition, "time": time_limit, "cpus": cpus, "gpus": gpus, "mem": mem}
    if executor == "local" and any(value is not None for value in cluster.values()):
        given = [f"--{k}" for k, v in cluster.items() if v is not None]
        raise UsageError(f"{', '.join(given)} only go with --executor slurm")
    if mem is not None and not re.fullmatch(r"[1-9][0-9]*[KMGT]?", mem):
        raise UsageError(f"--mem {mem!r}: give a whole amount with K, M, G or T, e.g. 4G")

    def call(**extra: Any) -> RunReport:
        return run_plan(
            path,
            ids or (),
            jobs=jobs,
            retries=retries,
            timeout=timeout,
            until=until,
            tracking_uri=tracking_uri,
            executor=executor,
            slurm=cluster,
            **extra,
        )

    if dry_run:
        _print_matrix(call(dry_run=True), as_json)
        return
    with _progress(as_json) as on_event:
        report = call(on_event=on_event)
    if not as_json:
        _print_run(report)
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.failed:
        raise typer.Exit(EXIT_INVALID)


def _print_matrix(report: RunReport, as_json: bool) -> None:
    done = {cell.key for cell in report.matrix.done}
    if as_json:
        for cell in report.matrix.cells:
            line = {
                "cell": cell.label,
                "kind": cell.kind,
                "subject": cell.subject,
                "params": cell.params,
                "done": cell.key in done,
            }
            out.file.write(json.dumps(line, ensure_ascii=False) + "\n")
        return
    for cell in report.matrix.cells:
        mark = "done   " if cell.key in done else "missing"
        out.print(f"{mark}  {cell.label}", markup=False)
    missing = len(report.matrix.cells) - len(done)
    out.print(f"{plural(len(report.matrix.cells), 'cell')}, {missing} missing", markup=False)
    for subject in report.matrix.manual:
        err.print(
            f"note: {subject} declares no entry_point or command: log it by hand",
            style="yellow",
            markup=False,
        )


@contextlib.contextmanager
def _progress(as_json: bool) -> Iterator[Callable[[dict[str, Any]], None]]:
    """--json: one line per event; a terminal: a live count; otherwise quiet."""
    if as_json:

        def line(event: dict[str, Any]) -> None:
            out.file.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
            out.file.flush()

        yield line
        return
    if not err.file.isatty():
        yield lambda event: None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    counts = {"logged": 0, "failed": 0, "skipped": 0, "running": 0}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err.rich, transient=True) as bar:
        task = bar.add_task("cells", total=None)

        def on_event(event: dict[str, Any]) -> None:
            kind = event["event"]
            if kind == "run_started":
                bar.update(task, total=event["cells"])
            elif kind == "cell_started":
                counts["running"] += 1
            elif kind == "cell_ended":
                counts["running"] -= 1
            elif kind in ("cell_logged", "cell_failed", "cell_skipped", "cell_cancelled"):
                status = event["status"] if event["status"] in counts else "failed"
                counts[status] += 1
                bar.advance(task)
                if kind == "cell_failed":
                    bar.console.print(
                        f"✗ {event['cell']}: {event['error'].splitlines()[0]}",
                        style="red",
                        markup=False,
                    )
            bar.update(task, description=", ".join(f"{v} {k}" for k, v in counts.items()))

        yield on_event


def _print_run(report: RunReport) -> None:
    for cell in report.cells:
        if cell.status == "logged":
            metrics = ", ".join(f"{k}={v:.4g}" for k, v in cell.metrics.items())
            extra = (
                f"; ignored undeclared metrics: {', '.join(cell.ignored)}" if cell.ignored else ""
            )
            out.print(
                f"{cell.cell.label} ({cell.seconds:.1f} s): {metrics} → run {cell.run_id}{extra}",
                markup=False,
            )
    for cell in report.failed:
        err.print(f"✗ {cell.cell.label} {cell.status}: {cell.error}", style="red", markup=False)
        if cell.log:
            err.print(f"  its log: {cell.log}", markup=False)
    summary = (
        f"{report.count('logged')} logged, {report.count('skipped')} already in the store, "
        f"{report.count('failed')} failed"
    )
    if report.count("cancelled"):
        summary += f", {report.count('cancelled')} cancelled"
    (err if report.failed else out).print(summary, markup=False)
    for hypothesis, status, reason in report.statuses:
        out.print(f"  {hypothesis}: {status} ({reason})", markup=False)
    for subject in report.matrix.manual:
        err.print(
            f"note: {subject} declares no entry_point or command: log its results by hand",
            style="yellow",
            markup=False,
        )


def _crash_report(error: BaseException) -> Path:
    with tempfile.NamedTemporaryFile(
        "w", prefix="mlplan-crash-", suffix=".log", delete=False, encoding="utf-8"
    ) as handle:
        traceback.print_exception(error, file=handle)
    return Path(handle.name)


def _help_command(args: Sequence[str]) -> str:
    """`mlplan run --help` after a usage error in `run`: the help that names the argument."""
    words: list[str] = []
    group: typer.Typer | None = app
    for arg in args:
        if arg.startswith("-") or group is None:
            break
        # A command registered without a name takes its function's (typer's own rule).
        names = {
            info.name or getattr(info.callback, "__name__", "").replace("_", "-")
            for info in group.registered_commands
        }
        subgroups = {info.name: info.typer_instance for info in group.registered_groups}
        if arg not in names and arg not in subgroups:
            break
        words.append(arg)
        group = subgroups.get(arg)
    return " ".join(["mlplan", *words, "--help"])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising, so tests can call it directly."""
    args = list(sys.argv[1:] if argv is None else argv)
    _tolerate_any_encoding()
    if argv is None:  # a process of its own, which exits after this one command
        _freeze_the_import_heap()
        _collect_rarely()
    try:
        # Ctrl-C never reaches an except here: typer (click) catches it inside app() and
        # returns 130 (tests/test_cli_core.py::test_an_interrupt_exits_130).
        code = app(args=args, prog_name="mlplan", standalone_mode=False)
    except UsageError as error:
        err.print(f"error: {_with_switches(error)}", style="red", markup=False)
        err.print(f"Try '{_help_command(args)}' for help.", markup=False)
        return EXIT_USAGE
    except MlplanError as error:
        err.print(f"error: {_with_switches(error)}", style="red", markup=False)
        return EXIT_INVALID
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as usage:  # bad switches or arguments: typer explains them
        show = getattr(usage, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {usage.format_message()}", markup=False)
        return int(getattr(usage, "exit_code", EXIT_USAGE))
    except Exception as error:
        log = _crash_report(error)
        err.print(
            f"internal error: {type(error).__name__}: {error}\n"
            f"This is a bug in mlplan. Details: {log}",
            style="red",
            markup=False,
        )
        return EXIT_INTERNAL
    finally:
        if argv is None or "mlflow" in sys.modules:
            _freeze_the_import_heap()
    return code if isinstance(code, int) else 0


# The library's parameters, as the commands spell them: the library names the parameters a fix
# involves (MlplanError.arguments), and its messages never name a switch.
_SWITCHES = {
    "hypothesis": "-H/--hypothesis H",
    "baseline": "-B/--baseline B",
    "metrics": "-m/--metric KEY=VALUE",
    "params": "-p/--param KEY=VALUE",
    "run_id": "--run-id ID",
    "reported": "--reported",
    "note": "-n/--note TEXT",
    "source": "--source TEXT",
    "replace": "--replace RUN",
    "reason": "--reason TEXT",
    "until": "--until",
    "name": "NAME",
    "directory": "-d/--dir",
    "date": "--date DAY",
    "rationale": "--rationale TEXT",
    "decision": "--decision TEXT",
}


def _with_switches(error: MlplanError) -> str:
    """The library's message, followed by the switches of the parameters it names."""
    switches = [_SWITCHES.get(name, name) for name in error.arguments]
    return f"{error} ({', '.join(switches)})" if switches else str(error)


def _tolerate_any_encoding() -> None:
    # Under PYTHONIOENCODING=ascii (or a C locale) a "✓" or a plan's "λ" cannot be encoded;
    # it is shown escaped rather than ending the command with UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            with contextlib.suppress(ValueError, io.UnsupportedOperation):
                reconfigure(errors="backslashreplace")


def _freeze_the_import_heap() -> None:
    # The collector otherwise walks every object the imports made, again and again: during the
    # command (~15 ms of `validate`) and in a final sweep at exit (~50 ms; 0.65-0.85 s after
    # mlflow). Frozen objects are never collected, so only a process about to exit does this
    # (and the tests' in-process calls after mlflow, as before).
    gc.freeze()


# Objects a young generation collection examines before it runs (CPython's default is 700).
YOUNG_GENERATION = 50_000


def _collect_rarely() -> None:
    # Each command imports its modules (pydantic's schema machinery, the judge, MLflow) after
    # the freeze above; nearly everything they allocate lives until exit, and at the default
    # threshold the collector walks it every 700 allocations: ~40 ms of a 60-hypothesis
    # `validate` (benchmarks/README.md). Collections still run, 70x less often, so a long
    # `status` keeps reclaiming cyclic garbage.
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
