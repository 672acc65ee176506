"""The command line: it maps switches onto library calls and nothing more.

Exit codes: 0 success, 1 invalid input or a failed check, 2 usage error, 3 an unexpected
internal error (details written to a log file), 130 interrupted. Heavy modules (mlflow,
matplotlib) are imported inside the commands that need them, never at start-up.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mlplan import __version__
from mlplan._render import render_markdown, write_markdown
from mlplan._scaffold import available_templates, new_plan
from mlplan._schema import plan_schema_json
from mlplan._validate import Report, validate_file
from mlplan.errors import MlplanError

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
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

PlanArgument = Annotated[
    Path, typer.Argument(help="The plan's YAML file.", show_default=False, metavar="PLAN")
]


def _version(value: bool) -> None:
    if value:
        out.print(f"mlplan {__version__}")
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
    if template not in available_templates():
        raise MlplanError(
            f"unknown template {template!r}; available: {', '.join(available_templates())}"
        )
    path = new_plan(name, template=template, directory=directory)
    out.print(f"Created {path}. Fill in every TODO, then run: mlplan validate {path}")


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="One or more plan files.", metavar="PLAN...")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on goals graded bad and on leftover TODOs.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Check plans: every problem with file:line:column, and each metric goal's grade."""
    reports = [validate_file(path, strict=strict) for path in paths]
    if as_json:
        out.print_json(json.dumps([report.to_dict() for report in reports]))
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
            f"✗ {report.path}: invalid ({len(errors)} errors)", style="bold red", markup=False
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
        Path | None, typer.Option("--output", "-o", help="Write here instead of to stdout.")
    ] = None,
) -> None:
    """Render the plan as a Markdown design doc, every section in template order."""
    from mlplan._load import load_plan

    markdown = render_markdown(load_plan(path).plan)
    if output is None:
        out.file.write(markdown)
    else:
        write_markdown(output, markdown)
        err.print(f"Wrote {output}", markup=False)


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of to stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of a plan, for editors."""
    text = plan_schema_json()
    if output is None:
        out.file.write(text)
    else:
        write_markdown(output, text)


def _crash_report(error: BaseException) -> Path:
    with tempfile.NamedTemporaryFile(
        "w", prefix="mlplan-crash-", suffix=".log", delete=False, encoding="utf-8"
    ) as handle:
        traceback.print_exception(error, file=handle)
    return Path(handle.name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising, so tests can call it directly."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args, prog_name="mlplan", standalone_mode=False)
    except MlplanError as error:
        err.print(f"error: {error}", style="red", markup=False)
        return EXIT_INVALID
    except typer.Exit as done:
        return done.exit_code
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted", style="red")
        return EXIT_INTERRUPTED
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
    return code if isinstance(code, int) else 0
