"""The command line's wiring: exit codes, usage errors, internal errors, --version and --help.

Everything goes through ``mlplan._cli.main(argv)``, which returns the exit code; only
``python -m mlplan`` needs a fresh interpreter.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
import yaml
from helpers import REPO, Capsys, MakePlan, run

import mlplan
import mlplan._cli


def commands() -> Iterator[list[str]]:
    """Every command and subcommand, as argv prefixes, read from the app itself."""
    root = typer.main.get_command(mlplan._cli.app)

    def walk(group: object, prefix: list[str]) -> Iterator[list[str]]:
        for name, command in getattr(group, "commands", {}).items():
            yield [*prefix, name]
            yield from walk(command, [*prefix, name])

    yield from walk(root, [])


COMMANDS = list(commands())


def test_the_core_commands_are_all_there() -> None:
    names = {" ".join(argv) for argv in COMMANDS}
    assert {"new", "validate", "render", "schema", "baseline", "baseline run"} <= names


# --- exit code 0 -------------------------------------------------------------------------------


def test_version(capsys: Capsys) -> None:
    code, out, err = run(capsys, "--version")
    assert code == 0
    assert out == f"mlplan {mlplan.__version__}\n"
    assert err == ""


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(argv) for argv in COMMANDS])
def test_every_command_has_help(argv: list[str], capsys: Capsys) -> None:
    code, out, err = run(capsys, *argv, "--help")
    assert code == 0, err
    assert out.startswith(f"Usage: mlplan {' '.join(argv)} ")
    assert "--help" in out
    assert err == ""


def test_top_level_help_lists_the_commands(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    listed = re.findall(r"^  ([a-z-]+)\s", out.split("\nCommands:\n")[1], flags=re.MULTILINE)
    assert sorted(listed) == sorted(argv[0] for argv in COMMANDS if len(argv) == 1)


def test_a_valid_plan_exits_0(make_plan: MakePlan, capsys: Capsys) -> None:
    code, out, _ = run(capsys, "validate", str(make_plan()))
    assert code == 0
    assert ": valid" in out


# --- exit code 1: input the user can fix --------------------------------------------------------


def test_an_invalid_plan_exits_1(make_plan: MakePlan, capsys: Capsys) -> None:
    path = make_plan(text="schema_version: 1\nid: x\n")
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1
    assert out == ""
    assert f"{path}:1:1: error: missing required key 'title'" in err


def test_render_of_an_invalid_plan_exits_1_with_located_problems(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    path = make_plan(text="schema_version: 1\nid: x\ntitle: [a\n")
    code, out, err = run(capsys, "render", str(path))
    assert code == 1
    assert out == ""
    assert err.startswith(f"error: {path}: 1 problem\n{path}:3:8: error: YAML syntax error")
    assert "Traceback" not in err


def test_a_refused_name_exits_1(capsys: Capsys) -> None:
    code, _, err = run(capsys, "new", "../up")
    assert code == 1
    assert err.startswith("error: '../up' is not a plan name")


# --- exit code 2: usage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "No such command 'frobnicate'"),
        (["validate"], "Missing argument"),
        (["validate", "--nope", "plan.yaml"], "No such option: --nope"),
        (["new"], "Missing argument"),
        (["render", "a.yaml", "b.yaml"], "unexpected extra argument"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: Capsys) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Usage: mlplan" in err
    assert out == ""
    assert "Traceback" not in err


# --- exit code 3: a bug in mlplan ---------------------------------------------------------------


def test_an_unexpected_error_exits_3_with_a_crash_log(
    make_plan: MakePlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
) -> None:
    def broken(path: Path, *, strict: bool = False) -> None:
        raise RuntimeError("the checker fell over")

    monkeypatch.setattr(mlplan, "validate_file", broken)  # the CLI calls mlplan.validate_file
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the crash log lands here
    code, out, err = run(capsys, "validate", str(make_plan()))
    assert code == 3
    assert out == ""
    assert "internal error: RuntimeError: the checker fell over" in err
    assert "This is a bug in mlplan." in err
    assert "Traceback" not in err
    [log] = re.findall(r"Details: (\S+\.log)", err)
    assert Path(log).parent == tmp_path
    details = Path(log).read_text(encoding="utf-8")
    assert details.startswith("Traceback (most recent call last):")
    assert "RuntimeError: the checker fell over" in details
    assert "in broken" in details


def test_an_interrupt_exits_130(
    make_plan: MakePlan, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
) -> None:
    def interrupted(path: Path, *, strict: bool = False) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mlplan, "validate_file", interrupted)
    code, out, err = run(capsys, "validate", str(make_plan()))
    assert code == 130
    assert out == ""
    # typer turns Ctrl-C into a silent Exit(130) before main() can say "interrupted"
    assert "Traceback" not in err


# --- python -m mlplan --------------------------------------------------------------------------


def test_python_dash_m_mlplan_help(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlplan", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: mlplan [OPTIONS] COMMAND [ARGS]...")
    assert "validate" in result.stdout
    assert result.stderr == ""


# --- the pre-commit hook -----------------------------------------------------------------------


def test_the_pre_commit_hook_runs_validate_on_plan_files_only(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "mlplan-validate"
    assert hook["language"] == "python"
    assert hook["types"] == ["yaml"]
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

    def checked(name: str) -> bool:  # pre-commit's rule: search files, then exclude
        return bool(files.search(name)) and not exclude.search(name)

    for name in ["plan.yaml", "plan.yml", "ml/plan.yaml", "churn.plan.yaml", "a/b/x.plan.yml"]:
        assert checked(name), name
    for name in [
        "mlplan.yaml",
        "explain.yaml",
        "plans.yaml",
        "plan.yaml.j2",
        "ml/.plan.yaml",
        "docker-compose.yml",
        ".github/workflows/plan.yml",
        "mlplan.schema.json",
    ]:
        assert not checked(name), name
    # pre-commit appends the staged file names to the entry
    command = hook["entry"].split()
    assert command[0] == "mlplan"
    code, out, err = run(capsys, *command[1:], str(make_plan("a")), str(make_plan("b")))
    assert code == 0, err
    assert out.count(": valid") == 2
