"""What `mlplan run` prints and how it exits, whatever its cells did: --dry-run --json, the
per-cell lines and the summary, failed and cancelled cells on stderr, the live progress on a
terminal, and exit 1 for a failed cell, 130 for an interrupted run. The cells themselves are
the chaos and slow tiers'; here run_plan's report is given, so every branch of the printing is
reached in well under a second."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import Capsys, run
from run_plans import write_plan

import mlplan
from mlplan._cli import err
from mlplan._run.driver import CellReport, RunReport
from mlplan._run.matrix import Cell, Matrix

B1 = Cell("baseline", "B1", {"seed": 0})
H1 = Cell("hypothesis", "H1", {"seed": 0})
H1b = Cell("hypothesis", "H1", {"seed": 1})
H1c = Cell("hypothesis", "H1", {"seed": 2})


def test_dry_run_json_is_one_line_per_cell_saying_whether_it_is_done(
    tmp_path: Path, capsys: Capsys
) -> None:
    plan = write_plan(tmp_path)
    code, out, err_text = run(capsys, "run", plan, "--dry-run", "--json")
    assert (code, err_text) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    code, text, _ = run(capsys, "run", plan, "--dry-run")
    shown = [line.split("  ", 1)[1] for line in text.splitlines() if line.startswith("missing")]
    assert [line["cell"] for line in lines] == shown  # the same cells as the text lists
    assert {line["done"] for line in lines} == {False}
    assert {(line["kind"], line["subject"]) for line in lines} == {
        ("baseline", "B1"),
        ("hypothesis", "H1"),
    }
    assert sorted(line["params"]["seed"] for line in lines if line["subject"] == "H1") == [0, 1, 2]
    assert not (tmp_path / ".mlplan").exists()


def test_dry_run_names_a_subject_that_must_be_logged_by_hand(
    tmp_path: Path, capsys: Capsys
) -> None:
    plan = write_plan(tmp_path, baselines="    - {id: B1, description: b}\n")
    code, out, err_text = run(capsys, "run", plan, "--dry-run")
    assert code == 0
    assert "B1" not in out  # not a cell: nothing can run it
    assert err_text == "note: B1 declares no entry_point or command: log it by hand\n"


Fake = Callable[..., RunReport]


def given(monkeypatch: pytest.MonkeyPatch, report: RunReport, events: list[dict[str, Any]]) -> None:
    """`mlplan run` gets ``report`` from run_plan, after ``events`` went to its listener."""

    def run_plan(*args: Any, on_event: Callable[[dict[str, Any]], None], **kw: Any) -> RunReport:
        for event in events:
            on_event(event)
        return report

    monkeypatch.setattr(mlplan, "run_plan", run_plan)


def mixed() -> RunReport:
    matrix = Matrix(cells=[B1, H1, H1b, H1c], done=[B1], manual=["B2"])
    return RunReport(
        matrix,
        cells=[
            CellReport(B1, "skipped", run_id="r0"),
            CellReport(
                H1, "logged", run_id="r1", seconds=2.04, metrics={"acc": 0.912345}, ignored=["f1"]
            ),
            CellReport(H1b, "failed", error="boom in the cell", log="/logs/H1-1.log"),
            CellReport(H1c, "cancelled", error="the run was stopped"),
        ],
        statuses=[("H1", "running", "2 of 3 runs")],
    )


EVENTS: list[dict[str, Any]] = [
    {"event": "run_started", "cells": 3},
    {"event": "cell_started", "cell": "H1 · seed=0"},
    {"event": "cell_ended", "cell": "H1 · seed=0"},
    {"event": "cell_logged", "cell": "H1 · seed=0", "status": "logged"},
    {"event": "cell_failed", "cell": "H1 · seed=1", "status": "failed", "error": "boom\nline 2"},
    {"event": "cell_cancelled", "cell": "H1 · seed=2", "status": "cancelled"},
]


def test_a_run_prints_each_cell_and_a_summary_and_exits_1_when_a_cell_failed(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    given(monkeypatch, mixed(), EVENTS)
    code, out, err_text = run(capsys, "run", write_plan(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        "H1 · seed=0 (2.0 s): acc=0.9123 → run r1; ignored undeclared metrics: f1",
        "  H1: running (2 of 3 runs)",
    ]
    assert err_text.splitlines() == [
        "✗ H1 · seed=1 failed: boom in the cell",
        "  its log: /logs/H1-1.log",
        "✗ H1 · seed=2 cancelled: the run was stopped",
        "1 logged, 1 already in the store, 1 failed, 1 cancelled",
        "note: B2 declares no entry_point or command: log its results by hand",
    ]


def test_a_run_that_logged_everything_says_so_on_stdout_and_exits_0(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = RunReport(
        Matrix(cells=[H1], done=[], manual=[]),
        cells=[CellReport(H1, "logged", run_id="r1", seconds=0.5, metrics={"acc": 0.5})],
    )
    given(monkeypatch, report, [])
    code, out, err_text = run(capsys, "run", write_plan(tmp_path))
    assert (code, err_text) == (0, "")
    assert out.splitlines() == [
        "H1 · seed=0 (0.5 s): acc=0.5 → run r1",
        "1 logged, 0 already in the store, 0 failed",
    ]


def test_an_interrupted_run_exits_130(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = RunReport(Matrix(cells=[H1], done=[], manual=[]), interrupted=True)
    given(monkeypatch, report, [])
    code, out, _ = run(capsys, "run", write_plan(tmp_path))
    assert code == 130
    assert out == "0 logged, 0 already in the store, 0 failed\n"


def test_json_prints_each_event_as_a_line_and_no_summary(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    given(monkeypatch, mixed(), EVENTS)
    code, out, err_text = run(capsys, "run", write_plan(tmp_path), "--json")
    assert (code, err_text) == (1, "")
    assert [json.loads(line) for line in out.splitlines()] == EVENTS


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_a_live_count_and_each_failure_as_it_happens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr(err, "_rich", None)  # rich's console is made afresh on the terminal
    monkeypatch.setenv("TERM", "xterm")
    plan = write_plan(tmp_path)
    given(monkeypatch, mixed(), EVENTS)
    assert mlplan._cli.main(["run", str(plan)]) == 1
    shown = terminal.getvalue()
    # The failure is printed above the bar with its first line only.
    assert "✗ H1 · seed=1: boom" in shown
    assert "line 2" not in shown
    assert "1 logged, 1 already in the store, 1 failed, 1 cancelled" in shown
