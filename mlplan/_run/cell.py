"""One cell of `mlplan run`: ``python -m mlplan._run.cell SPEC_PATH``.

A fresh process per cell, so nothing a cell does (``os._exit``, ``os.chdir``, a fork, a flood
on stdout, a crash) reaches another cell or the driver. It runs the subject's entry point with
the cell's params, or its command as an argv list (never a shell), and writes the result file
the spec names; it never opens the store. It dies with the driver: a driver killed with
``kill -9`` leaves no cell running on (the next `run` would start it a second time).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlplan._plan.keys import PLACEHOLDER
from mlplan._run.spec import (
    RESULT_LIMIT,
    CellOutcome,
    CellSpec,
    combined,
    read_outcome,
    result_of,
    write_outcome,
)

__all__ = ["fill", "main"]

ENV_DRIVER = "MLPLAN_DRIVER_PID"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def written(value: Any) -> str:
    """A param as a command word: 3, 0.1, 1e-05 as YAML would read it back, text as it is."""
    return repr(value) if isinstance(value, float) else str(value)


def fill(word: str, values: Mapping[str, str]) -> str:
    """One command word with each {name} replaced by its value; {{ and }} are braces."""

    def one(match: Any) -> str:
        token = str(match.group(0))
        if token in ("{{", "}}"):
            return token[0]
        return values[match.group(1)]

    return PLACEHOLDER.sub(one, word)


def command_argv(spec: CellSpec) -> list[str]:
    assert spec.command is not None
    values = {key: written(value) for key, value in spec.params.items()}
    values.update(result=spec.result, python=sys.executable, workdir=spec.workdir)
    words = [fill(word, values) for word in spec.command]
    if words[0] in ("python", "python3"):
        words[0] = sys.executable  # the interpreter mlplan runs in, not whichever is on PATH
    return words


def _die_with(parent: int) -> None:
    """End this process when the driver ends, however it ends (SIGKILL included)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(70)  # the driver is already gone

    def watch() -> None:  # where prctl is missing (macOS): notice the orphaning within 0.5 s
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(70)

    threading.Thread(target=watch, name="mlplan driver watch", daemon=True).start()


def _child_dies_with_me() -> None:
    # Runs in the command's process before exec: it goes when this cell goes.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def run_command(spec: CellSpec) -> CellOutcome:
    words = command_argv(spec)
    try:
        process = subprocess.Popen(words, preexec_fn=_child_dies_with_me)  # noqa: PLW1509
    except OSError as error:
        return CellOutcome(False, error=f"cannot start {words[0]!r}: {error.strerror or error}")
    code = process.wait()
    found = _command_result(Path(spec.result), spec.subject)
    if found is not None:
        return found if found.ok or code == 0 else CellOutcome(False, error=found.error)
    if code != 0:
        return CellOutcome(False, error=f"the command exited with status {code}")
    return CellOutcome(
        False,
        error="the command exited with status 0 but wrote no result: write the metrics as "
        "JSON to the file MLPLAN_RESULT names ({result} in the command), or call "
        "mlplan.log_result in the script",
    )


def _command_result(path: Path, subject: str) -> CellOutcome | None:
    """What a command left in its result file: a cell result (mlplan.log_result writes one),
    or a result as an entry point returns it, ``{"acc": 0.91}`` or ``{"metrics": {...},
    "params": {...}, "note": "..."}`` (the contract in ``mlplan._run.spec``)."""
    import json

    if not path.is_file():
        return None
    try:
        if path.stat().st_size > RESULT_LIMIT:  # said by read_outcome, never read whole:
            return read_outcome(path)  # a 400 MB file once took the driver to 835 MB
        document = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return read_outcome(path)  # says what is wrong with it
    if isinstance(document, dict) and "ok" in document:
        return read_outcome(path)
    try:
        return result_of(document, f"{subject}'s result file {path}")
    except ValueError as error:
        return CellOutcome(False, error=str(error))


def run_entry_point(spec: CellSpec) -> CellOutcome:
    from mlplan._record.entry_points import load

    assert spec.entry_point is not None
    what = f"{spec.subject} ({spec.entry_point})"
    function: Callable[..., Any] = load(spec.entry_point, Path(spec.plan).parent)
    try:
        returned = function(**spec.params)
    except SystemExit as error:
        return CellOutcome(
            False,
            error=f"{what} called sys.exit({error.code!r}) instead of returning its metrics; "
            "nothing was logged",
        )
    except Exception as error:
        traceback.print_exc()
        return CellOutcome(False, error=f"{what} failed: {type(error).__name__}: {error}")
    # What it recorded with mlplan.log_result while it ran (into this cell's result file, which
    # writing the outcome would overwrite): with nothing returned, that is the result; with a
    # result returned too, the two must be one (a cell is one slot).
    recorded = _command_result(Path(spec.result), spec.subject)
    if returned is None and recorded is not None:
        return recorded
    try:
        return combined(recorded, result_of(returned, what), what)
    except ValueError as error:
        return CellOutcome(False, error=str(error))


def _with_cell_params(spec: CellSpec, outcome: CellOutcome) -> CellOutcome:
    """The outcome with the cell's own params: they name its slot, and what the cell reports
    adds to them, never moves it."""
    from mlplan._plan.keys import canonical

    if not outcome.ok:
        return outcome
    for key, value in spec.params.items():
        if key in outcome.params and canonical(written(outcome.params[key])) != canonical(
            written(value)
        ):
            return CellOutcome(
                False,
                error=f"the cell for {key}={written(value)} reported "
                f"{key}={written(outcome.params[key])}; nothing was logged",
            )
    return replace(outcome, params={**outcome.params, **spec.params})


def execute(spec: CellSpec) -> CellOutcome:
    from mlplan.errors import MlplanError

    try:
        outcome = run_command(spec) if spec.command is not None else run_entry_point(spec)
    except MlplanError as error:
        return CellOutcome(False, error=str(error))
    return _with_cell_params(spec, outcome)


def main(args: list[str]) -> int:
    if len(args) != 1:
        print("usage: python -m mlplan._run.cell SPEC_PATH", file=sys.stderr)
        return 2
    driver = os.environ.get(ENV_DRIVER)
    if driver and driver.isdigit():
        _die_with(int(driver))
    spec = CellSpec.read(Path(args[0]))
    os.environ.update(spec.environment())
    os.chdir(Path(spec.plan).parent)  # `python train.py` and data paths resolve beside the plan
    outcome = execute(spec)
    write_outcome(Path(spec.result), outcome)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
