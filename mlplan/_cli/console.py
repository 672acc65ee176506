"""The few things the command line prints, without importing rich at start-up.

`import rich.console` costs ~30 ms of CPU, a tenth of what `mlplan validate` is allowed above
the import floor (issue 9), and validate only prints lines, some of them in one colour. Lines
are written here; rich is imported only for what needs it: the status table, the spinner of
`baseline run`, and JSON highlighted for a terminal.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import rich.console
    import rich.status

__all__ = ["Console", "plural"]


def plural(count: int, noun: str) -> str:
    """``1 error``, ``2 errors``: the nouns the command line counts are all regular."""
    return f"{count} {noun if count == 1 else noun + 's'}"


class _Stdout:
    """Standard output that a closed pipe cannot break.

    ``mlplan validate plan.yaml | head -1``: once ``head`` has its line it closes the pipe,
    and the next write raises BrokenPipeError. The command still finishes, with its own exit
    code; what the reader no longer wants is dropped. sys.stdout is looked up on every write
    so that tests capturing it see the output.
    """

    broken = False

    @property
    def _closed(self) -> bool:
        # `mlplan decide ... >&-`: started with no stdout, Python sets sys.stdout to None.
        # The command still runs and exits with its own code (it once recorded a decision,
        # then exited 3 calling it a bug, inviting the user to record it twice).
        return self.broken or sys.stdout is None

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                sys.stdout.write(text)
            except BrokenPipeError:
                self._close()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                self._close()

    def isatty(self) -> bool:
        return not self._closed and sys.stdout.isatty()

    @property
    def encoding(self) -> str:
        return getattr(sys.stdout, "encoding", None) or "utf-8"

    def _close(self) -> None:
        self.broken = True
        # Python flushes stdout once more at exit; point it at /dev/null so that flush
        # neither fails nor prints "Exception ignored ... BrokenPipeError".
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


_STDOUT = _Stdout()

# ANSI SGR codes of the styles the CLI uses; any other style goes through rich.
_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "magenta": "35"}


class Console:
    """The subset of ``rich.console.Console`` the CLI uses, with the same colour rules as rich:
    FORCE_COLOR forces colour, NO_COLOR removes it, and otherwise only a terminal gets it."""

    def __init__(self, *, stderr: bool = False) -> None:
        self.stderr = stderr
        self._rich: rich.console.Console | None = None

    @property
    def file(self) -> TextIO:
        # Looked up on each use, so that pytest's capsys and redirections see the output.
        if not self.stderr:
            return _STDOUT  # type: ignore[return-value]
        # Started with stderr closed (`2>&-`), Python sets sys.stderr to None: what would be
        # said is dropped, and the exit code still says how the command ended.
        return sys.stderr if sys.stderr is not None else io.StringIO()

    def print(self, *objects: Any, style: str | None = None, markup: bool | None = None) -> None:
        strings = [o for o in objects if isinstance(o, str)]
        text = " ".join(strings)
        codes = _codes(style)
        if len(strings) < len(objects) or codes is None or (markup is not False and "[" in text):
            self.rich.print(*objects, style=style, markup=markup)
            return
        if codes and self._colour():
            text = f"\x1b[{codes}m{text}\x1b[0m"
        self.file.write(text + "\n")

    def print_json(self, text: str) -> None:
        if self._colour():
            self.rich.print_json(text)  # highlighted
            return
        document = json.loads(text)
        self.file.write(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n")

    def status(self, message: str) -> rich.status.Status:
        return self.rich.status(message)

    @property
    def rich(self) -> rich.console.Console:
        if self._rich is None:
            from rich.console import Console as RichConsole

            self._rich = RichConsole(
                file=self.file, stderr=self.stderr, highlight=False, soft_wrap=True
            )
        return self._rich

    def _colour(self) -> bool:
        if os.environ.get("FORCE_COLOR"):
            return True
        if "NO_COLOR" in os.environ or os.environ.get("TERM") in {"dumb", "unknown"}:
            return False
        return self.file.isatty()


def _codes(style: str | None) -> str | None:
    """``"bold red"`` → ``"1;31"``; None for a style this module does not know."""
    words = (style or "").split()
    if any(word not in _SGR for word in words):
        return None
    return ";".join(_SGR[word] for word in words)
