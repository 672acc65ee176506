"""One clock: mlplan reads "today" in one place, tests never read the calendar (issue 14)."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest
from helpers import REPO, TODAY, MakePlan, run

from mlplan import _clock

CALENDAR_READS = {"today", "now", "utcnow", "fromtimestamp", "time"}


def _calls(path: Path, names: set[str]) -> list[str]:
    """``X.name()`` calls in a file, as ``file:line name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(REPO)}:{node.lineno} {node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
        and isinstance(node.func.value, ast.Name | ast.Attribute)
        and (getattr(node.func.value, "attr", None) or getattr(node.func.value, "id", ""))
        in {"date", "datetime", "dt", "time"}
    ]


def test_mlplan_reads_the_date_only_through_its_clock() -> None:
    # Instants (when a result was logged: datetime.now) are the wall clock's; dates are the clock's.
    found = [
        call
        for path in sorted((REPO / "mlplan").rglob("*.py"))
        if path.name != "_clock.py"
        for call in _calls(path, {"today"})
    ]
    assert found == []


def test_no_test_reads_the_calendar() -> None:
    found = [
        call
        for folder in ("tests", "benchmarks")
        for path in sorted((REPO / folder).rglob("*.py"))
        for call in _calls(path, CALENDAR_READS)
        if not (path.name == "bench_tracking.py" and call.endswith(" time"))  # timestamps
    ]
    assert found == []


def test_the_suite_runs_on_its_own_today() -> None:
    assert _clock.today() == TODAY


def test_the_clock_sets_today_for_every_command(
    make_plan: MakePlan, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()  # H1: 10 days from 5 days before TODAY
    code, out, _ = run(capsys, "status", plan, "--json")
    assert code == 0
    assert json.loads(out)["hypotheses"][0]["status"] == "pending"
    monkeypatch.setenv(_clock.ENV, (TODAY + dt.timedelta(days=3 * 365)).isoformat())
    code, out, _ = run(capsys, "status", plan, "--json")
    assert json.loads(out)["hypotheses"][0]["status"] == "overdue"


def test_a_malformed_clock_is_a_usage_error(
    make_plan: MakePlan, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()
    monkeypatch.setenv(_clock.ENV, "next tuesday")
    code, _, err = run(capsys, "status", plan)
    assert code == 2
    assert "MLPLAN_TODAY='next tuesday' is not a date written YYYY-MM-DD" in err
    assert "Traceback" not in err
