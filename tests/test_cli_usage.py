"""What a person reads after a usage error, and in a command's usage line."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import Capsys, MakePlan, run


def test_a_usage_error_in_a_command_points_at_that_commands_help(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    code, _, err = run(capsys, "run", make_plan(), "H9")
    assert code == 2
    assert "'H9'" in err
    assert err.strip().endswith("Try 'mlplan run --help' for help.")


@pytest.mark.parametrize(
    ("argv", "switch"),
    [
        (["decide", "H1", "--decision", "x", "--date", "2999-01-01"], "(--date DAY)"),
        (["decide", "H1", "--decision", " "], "(--decision TEXT)"),
        (["decide", "H1", "--decision", "x", "--close", "abandoned"], "(--rationale TEXT)"),
    ],
)
def test_a_library_usage_error_names_the_switch_and_the_commands_help(
    make_plan: MakePlan, capsys: Capsys, argv: list[str], switch: str
) -> None:
    """A command registered without a name (`decide`) once pointed at 'mlplan --help', and a
    refused date read "(date)" where the switch is --date."""
    code, _, err = run(capsys, argv[0], make_plan(), *argv[1:])
    assert code == 2
    assert switch in err
    assert err.strip().endswith("Try 'mlplan decide --help' for help.")


def test_a_usage_error_in_a_subcommand_names_the_whole_command(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    code, _, err = run(capsys, "baseline", "run", make_plan(), "--param", "no-equals-sign")
    assert code == 2
    assert err.strip().endswith("Try 'mlplan baseline run --help' for help.")


def test_a_usage_error_before_any_command_points_at_the_top_help(
    tmp_path: Path, capsys: Capsys
) -> None:
    code, _, err = run(capsys, "--no-such-switch")
    assert code == 2
    assert "mlplan run --help" not in err


@pytest.mark.parametrize(
    ("command", "usage"),
    [(["run"], "PLAN [ID]..."), (["validate"], "PLAN..."), (["baseline", "run"], "[ID]...")],
)
def test_usage_lines_show_each_argument_once(
    command: list[str], usage: str, capsys: Capsys
) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    # Recent typer writes a required argument in braces ({PLAN}); older releases do not.
    first = out.splitlines()[0].replace("{", "").replace("}", "")
    assert first.endswith(usage), first
    assert "]...]..." not in first and "....." not in first
