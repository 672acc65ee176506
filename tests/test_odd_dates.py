"""Odd dates in a plan (issue 16): a value YAML's own constructors cannot build, and dates whose
arithmetic leaves Python's calendar, are located validate errors (exit 1), never a crash (exit
3) with a crash log left in the temp folder."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import TODAY, Capsys, MakePlan, edited, run

# H1's timebox line in the test plan: `timebox: {days: 10, start: <date>}`.
H1_START = re.compile(r"(timebox: \{days: 10, start: )([0-9-]+)")


@pytest.fixture(autouse=True)
def crash_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The folder a crash log would be written to; the test fails if one appears."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert not list(folder.glob("mlplan-crash-*")), "a crash log was written"


def with_h1_start(make_plan: MakePlan, start: str) -> tuple[Path, int]:
    """The test plan with H1's start written as ``start``, and that line's number."""
    plan = make_plan()
    text = plan.read_text()
    found = H1_START.search(text)
    assert found is not None
    plan.write_text(text[: found.start(2)] + start + text[found.end(2) :])
    return plan, text[: found.start()].count("\n") + 1


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("!!timestamp notadate", "is not a valid timestamp"),
        ("!!timestamp 99999-01-01", "is not a valid timestamp"),
        ("!!bool maybe", "is not a valid bool"),
        ("!!timestamp 2026-01-01T10:00:00+99:00", "is not a valid value"),
        ("!!timestamp 0000-01-01", "is not a valid value"),
        ("!!int abc", "is not a plain decimal number"),
    ],
)
def test_a_value_its_tag_cannot_build_is_a_located_error(
    make_plan: MakePlan, capsys: Capsys, value: str, said: str
) -> None:
    plan, line = with_h1_start(make_plan, value)
    for command in ("validate", "status", "render"):
        code, _, err = run(capsys, command, plan)
        assert code == 1, err
        assert f"{plan}:{line}:" in err
        assert said in err
        assert "bug in mlplan" not in err


@pytest.mark.parametrize("start", ["9999-12-30", "9999-12-22", "9999-12-31"])
def test_a_timebox_ending_after_the_calendar_is_a_located_error(
    make_plan: MakePlan, capsys: Capsys, start: str
) -> None:
    plan, line = with_h1_start(make_plan, start)
    code, _, err = run(capsys, "validate", plan)
    assert code == 1, err
    assert f"{plan}:{line}:" in err
    assert "ends 10 days later, after 9999-12-31" in err
    for command in ("status", "render", "publish"):
        code, _, err = run(capsys, command, plan)
        assert code == 1, (command, err)
        assert "bug in mlplan" not in err


def test_a_timebox_ending_on_the_last_date_is_judged(make_plan: MakePlan, capsys: Capsys) -> None:
    plan, _ = with_h1_start(make_plan, "9999-12-21")  # deadline 9999-12-31
    code, out, err = run(capsys, "status", plan, "--json", "--today", "9999-12-31")
    assert code == 0, err
    assert '"deadline": "9999-12-31"' in out
    code, out, err = run(capsys, "status", plan, "--json", "--today", "0001-01-01")
    assert code == 0, err
    assert '"days_left": 3652058' in out


def test_decisions_at_the_ends_of_the_calendar(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()
    code, _, err = run(capsys, "decide", plan, "H1", "--decision", "wait", "--date", "0001-01-01")
    assert code == 0, err
    # A decision is dated no later than today: the calendar's last day needs a clock there.
    code, _, err = run(capsys, "decide", plan, "H1", "--decision", "x", "--date", "9999-12-31")
    assert code == 2 and "after today" in err, err
    monkeypatch.setenv("MLPLAN_TODAY", "9999-12-31")
    code, _, err = run(capsys, "decide", plan, "H1", "--decision", "wait", "--date", "9999-12-31")
    assert code == 0, err
    monkeypatch.setenv("MLPLAN_TODAY", TODAY.isoformat())
    for argv in (["render", plan], ["validate", plan], ["status", plan, "--today", "9999-12-31"]):
        code, _, err = run(capsys, *argv)
        assert code == 0, (argv, err)
    # Back at TODAY the last decision lies in the future: the gate says so, at its line.
    code, _, err = run(capsys, "status", plan, "--check")
    assert code == 1
    assert "the decision on H1 is dated 9999-12-31, after today" in err
    err = run(capsys, "status", plan, "--check", "--today", "9999-12-31")[2]
    assert "after today" not in err and "is overdue" in err  # on that day: only its deadlines


def test_a_decision_dated_past_the_calendar_is_a_located_error(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    assert run(capsys, "decide", plan, "H1", "--decision", "wait")[0] == 0
    text = plan.read_text()
    found = re.search(r"date: (\d{4}-\d\d-\d\d)", text)
    assert found is not None
    edited(plan, found.group(0), "date: 10000-01-01")
    line = text[: found.start()].count("\n") + 1
    code, _, err = run(capsys, "status", plan)
    assert code == 1, err
    assert f"{plan}:{line}:" in err
