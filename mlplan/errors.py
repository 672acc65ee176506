"""The errors mlplan raises.

Every error a user can fix derives from :class:`MlplanError`; the CLI turns those into one
message and exit code 1. Anything else is a bug in mlplan and exits with code 3.

    MlplanError
    ├── UsageError         the call itself is wrong (arguments that conflict or are missing)
    ├── PlanError          a plan file is unreadable or invalid; carries every problem found
    ├── ScaffoldError      `mlplan new` refused a name, a template or an existing file
    ├── ResultError        a result that does not fit the plan (unknown id or metric, NaN, ...)
    ├── OutputError        an output path that mlplan must not replace (the plan, a device, ...)
    ├── BaselineError      a baseline's entry point is missing, fails, or returns bad data
    └── TrackingError      the MLflow store refused a request
        └── StoreUnreachableError   the store could not be used; results wait in the outbox
            └── StoreAuthError      it refused the credentials or the permission; results wait
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Literal

__all__ = [
    "BaselineError",
    "MlplanError",
    "OutputError",
    "PlanError",
    "Problem",
    "ResultError",
    "Route",
    "ScaffoldError",
    "Severity",
    "StoreAuthError",
    "StoreUnreachableError",
    "TrackingError",
    "UsageError",
]

# How bad a problem is: an error makes a plan invalid; a warning is reported and let through
# (`mlplan validate --strict` turns warnings about goals and TODOs into errors).
Severity = Literal["error", "warning"]
# The way from the document root to a value: mapping keys and list indexes, e.g.
# ("experiment", "hypotheses", 0, "id"). Locations, problems and checks all speak in routes.
Route = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a plan, located in its file.

    ``path`` is the route from the document root to the offending value, in the manner of
    pre-commit's ``==> At key: repos ==> At index 0`` so a reader can find it without a line
    number, and ``line``/``column`` (1-based) let an editor jump straight to it.
    """

    file: str
    line: int
    column: int
    message: str
    path: Route = ()
    hint: str = ""
    severity: Severity = "error"

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def route(self) -> str:
        steps = [
            f"At index {step}" if isinstance(step, int) else f"At key: {step}" for step in self.path
        ]
        return " ".join(f"==> {step}" for step in steps)

    def format(self) -> str:
        lines = [f"{self.where()}: {self.severity}: {self.message}"]
        if self.path:
            lines.append(f"    {self.route()}")
        if self.hint:
            lines.append(f"    hint: {self.hint}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": list(self.path),
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


class MlplanError(Exception):
    """A problem the user can fix. The message says what, where, and what to do.

    Messages speak the library's language; ``arguments`` names the parameters of the call that
    the fix involves (``"hypothesis"``, ``"reason"``), so that the command line can add its
    own switches for them when it prints the message."""

    arguments: tuple[str, ...] = ()

    def __init__(self, *args: object, arguments: Sequence[str] = ()) -> None:
        super().__init__(*args)
        self.arguments = tuple(arguments)


@dataclass
class PlanError(MlplanError):
    """A plan file could not be loaded; ``problems`` lists every error found, not only the first."""

    file: Path
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        body = "\n".join(problem.format() for problem in self.problems)
        return f"{self.file}: {count} {noun}\n{body}"


class UsageError(MlplanError):
    """The call itself is wrong: arguments that conflict, or a required one missing.

    The command line exits with code 2 for these, as for any other usage mistake."""


class ScaffoldError(MlplanError):
    """``mlplan new`` refused to write a plan."""


class UnknownTemplateError(ScaffoldError, UsageError):
    """``mlplan new --template`` named a template that does not exist."""


class ResultError(MlplanError):
    """A result does not fit the plan it is logged against."""


class NotCountedError(ResultError):
    """A result was written, but another one holds its slot (the same pair key and
    conditions) and came first: ``run_id`` is kept, tagged ``mlplan.duplicate_of`` =
    ``counted``, and is not judged. Nothing to retry; to replace the counted result, log
    again with ``replace=`` and ``reason=``."""

    def __init__(self, message: str, run_id: str, counted: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.counted = counted


class OutputError(MlplanError):
    """An output path mlplan refuses to replace: the plan it reads, a device, a symlink."""


class BaselineError(MlplanError):
    """A baseline's entry point could not be run or returned something unusable."""


class TrackingError(MlplanError):
    """The MLflow store could not be reached or refused a request."""


class StoreUnreachableError(TrackingError):
    """The store could not take a result (down, stalled, locked, unwritable); it waits in the
    outbox for that store."""


class StoreAuthError(StoreUnreachableError):
    """The tracking server refused the credentials (401) or the permission (403).

    A kind of unreachable: the result waits in the outbox for that server until the user has
    set their credentials, rather than being lost."""

    def __init__(self, message: str, status: int = HTTPStatus.UNAUTHORIZED) -> None:
        super().__init__(message)
        # 403: the server knows the account, which may read but not write. Reading commands
        # go on without delivering (a reader still sees the verdicts); 401 stops everything.
        self.status = status
