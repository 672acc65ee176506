"""The CLI's console (mlplan._cli.console) without rich at start-up: rich's colour rules
(FORCE_COLOR, NO_COLOR, TERM=dumb, a terminal), styles it does not know and markup handed to
rich, JSON printed plain or highlighted, and a stdout whose reader went away (a closed pipe)
dropping output instead of failing the command."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from mlplan._cli import console
from mlplan._cli.console import Console

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def plain(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_force_color_colours_the_styles_the_cli_uses(
    plain: None, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    Console(stderr=True).print("refused", style="bold red", markup=False)
    assert capsys.readouterr().err == "\x1b[1;31mrefused\x1b[0m\n"


@pytest.mark.parametrize(("name", "value"), [("NO_COLOR", ""), ("TERM", "dumb")])
def test_no_color_or_a_dumb_terminal_prints_plain_text_even_on_a_terminal(
    plain: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv(name, value)
    Console(stderr=True).print("note", style="yellow", markup=False)
    assert terminal.getvalue() == "note\n"


def test_a_terminal_gets_colour_and_a_pipe_does_not(
    plain: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    Console(stderr=True).print("ok", style="green")
    assert terminal.getvalue() == "\x1b[32mok\x1b[0m\n"
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    Console(stderr=True).print("ok", style="green")
    assert pipe.getvalue() == "ok\n"


def test_a_style_or_markup_it_does_not_know_goes_through_rich(plain: None, capsys: Capsys) -> None:
    shown = Console(stderr=True)
    shown.print("[bold]H1[/bold] passed")  # markup: rich reads the tags
    shown.print("slanted", style="italic")  # a style outside the module's table
    shown.print("[not markup]", markup=False)  # brackets printed as they are
    assert capsys.readouterr().err == "H1 passed\nslanted\n[not markup]\n"


def test_json_is_indented_and_keeps_its_characters_when_plain(plain: None, capsys: Capsys) -> None:
    Console().print_json(json.dumps({"plan": "café", "n": [1, 2]}))
    out = capsys.readouterr().out
    assert out == '{\n  "plan": "café",\n  "n": [\n    1,\n    2\n  ]\n}\n'


def test_json_is_highlighted_when_colour_is_forced(
    plain: None, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    Console().print_json(json.dumps({"plan": "café"}))
    out = capsys.readouterr().out
    assert "\x1b[" in out  # rich's highlighting
    assert "café" in out
    without_codes = json.loads(_strip_ansi(out))
    assert without_codes == {"plan": "café"}


def test_a_status_spinner_is_richs(plain: None) -> None:
    status = Console(stderr=True).status("reading the store")
    assert type(status).__module__ == "rich.status"
    assert status.status == "reading the store"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _ClosedPipe:
    """A stdout whose reader has gone: every write and flush raises BrokenPipeError; it has
    no file descriptor to point at /dev/null."""

    encoding = None

    def __init__(self) -> None:
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


def test_a_closed_pipe_drops_the_rest_of_the_output_without_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe = _ClosedPipe()
    monkeypatch.setattr("sys.stdout", pipe)
    stdout: Any = console._Stdout()
    assert stdout.encoding == "utf-8"  # a stream that names none
    assert stdout.isatty()
    assert stdout.write("first line\n") == len("first line\n")  # as if written
    assert stdout.broken
    assert not stdout.isatty()
    stdout.write("second line\n")
    stdout.flush()
    assert pipe.writes == 1  # nothing more was tried once the reader had gone


def test_a_pipe_closed_before_a_flush_is_noticed_there(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = _ClosedPipe()
    monkeypatch.setattr("sys.stdout", pipe)
    stdout: Any = console._Stdout()
    stdout.flush()
    assert stdout.broken
    stdout.write("dropped\n")
    assert pipe.writes == 0


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("closed", [">&-", "2>&-"], ids=["stdout", "stderr"])
def test_a_command_started_with_a_stream_closed_exits_with_its_own_code(
    make_plan: Any, tmp_path: Any, closed: str
) -> None:
    """`mlplan decide ... >&-` recorded the decision, then exited 3 calling it a bug (Python
    sets a stream it was started without to None); the re-check of issue 16 found it."""
    import shlex
    import subprocess
    import sys

    plan = make_plan()
    mlplan = f"{shlex.quote(sys.executable)} -m mlplan"
    quoted = shlex.quote(str(plan))
    decide = subprocess.run(
        f"{mlplan} decide {quoted} H1 --decision 'Wait.' {closed}", shell=True, check=False
    )
    assert decide.returncode == 0
    assert plan.read_text().count("decision: Wait.") == 1
    for path, code in ((quoted, 0), (shlex.quote(str(tmp_path / "nope.yaml")), 1)):
        done = subprocess.run(f"{mlplan} validate {path} {closed}", shell=True, check=False)
        assert done.returncode == code, path
