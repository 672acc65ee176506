"""Files mlplan reads and writes: never the plan, a device or a symlink's target by accident;
never a hang on a pipe; output that survives a closed pipe and an ASCII terminal. Special
files are made in tmp_path (os.mkfifo, symlinks); nothing here points at /dev."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Capsys, MakePlan, run

from mlplan._report.doc import cell, text


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize("command", ["render", "schema"])
def test_an_output_never_replaces_the_plan(
    make_plan: MakePlan, capsys: Capsys, command: str
) -> None:
    plan = make_plan()
    before = plan.read_bytes()
    argv = (
        ["render", plan, "--no-log", "-o", plan] if command == "render" else ["schema", "-o", plan]
    )
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert "error:" in err
    assert plan.read_bytes() == before


def test_an_output_never_replaces_a_symlink_or_its_target(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path
) -> None:
    plan = make_plan()
    target = tmp_path / "kept.md"
    target.write_text("mine\n")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    code, _, err = run(capsys, "render", plan, "--no-log", "-o", link)
    assert code == 1
    assert "symbolic link" in err
    assert link.is_symlink()
    assert target.read_text() == "mine\n"


@pytest.mark.parametrize("command", ["render", "schema"])
def test_an_output_that_is_a_fifo_is_refused_without_blocking(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path, command: str
) -> None:
    plan = make_plan()
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    argv = (
        ["render", plan, "--no-log", "-o", fifo] if command == "render" else ["schema", "-o", fifo]
    )
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert "not a regular file" in err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_schema_output_replaces_only_a_schema(capsys: Capsys, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    code, _, err = run(capsys, "schema", "-o", notes)
    assert code == 1
    assert "not a JSON schema" in err
    assert notes.read_text() == "my notes\n"
    schema = tmp_path / "plan.schema.json"
    assert run(capsys, "schema", "-o", schema)[0] == 0
    assert run(capsys, "schema", "-o", schema)[0] == 0  # its own earlier output: replaced


def test_the_rendered_doc_follows_the_umask(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path, umask_022: None
) -> None:
    plan = make_plan()
    doc = tmp_path / "design.md"
    assert run(capsys, "render", plan, "--no-log", "-o", doc)[0] == 0
    assert stat.S_IMODE(doc.stat().st_mode) == 0o644
    doc.chmod(0o600)  # a mode the user chose is kept
    assert run(capsys, "render", plan, "--no-log", "-o", doc)[0] == 0
    assert stat.S_IMODE(doc.stat().st_mode) == 0o600


def test_a_fifo_as_the_plan_is_refused_without_blocking(capsys: Capsys, tmp_path: Path) -> None:
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    outcome: list[tuple[int, str, str]] = []
    worker = threading.Thread(target=lambda: outcome.append(run(capsys, "validate", fifo)))
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # unblock the reader so the test run can end, then fail
        with fifo.open("w") as writer:
            writer.write("x")
        worker.join()
        pytest.fail("validate blocked on a FIFO")
    [(code, _, err)] = outcome
    assert code == 1
    assert "not a regular file" in err


def test_dollars_never_open_maths_on_github() -> None:
    assert "$" not in cell("costs $5 and $6")
    assert "$" not in text("a $x$ b")
    assert "&#36;5" in cell("$5")


def test_counts_are_spelled_in_the_singular_when_there_is_one(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    plan.write_text(plan.read_text().replace("direction: lower", "direction: up"))
    code, _, err = run(capsys, "validate", plan)
    assert code == 1
    assert "(1 error)" in err


def _mlplan(*argv: str, **environment: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **environment}
    return subprocess.run(
        [sys.executable, "-m", "mlplan", *argv],
        check=False,
        env=env,
        capture_output=True,
        timeout=120,
    )


def test_a_closed_pipe_does_not_change_the_exit_code(make_plan: MakePlan) -> None:
    plan = make_plan()
    # A doc far larger than a pipe's buffer (64 KiB), so the writer meets the closed pipe.
    long = "Customers leave without warning. " * 8000
    plan.write_text(plan.read_text().replace("Customers leave without warning.", long, 1))
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    # `mlplan render plan | head -c 10`: the reader goes away while the doc is written.
    process = subprocess.Popen(
        [sys.executable, "-m", "mlplan", "render", str(plan), "--no-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before anything is written: every write meets a closed pipe
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_an_ascii_terminal_gets_escapes_not_a_crash(make_plan: MakePlan) -> None:
    plan = make_plan(text=None)
    plan.write_text(plan.read_text().replace("title: Churn model", "title: Churn λ model ✓"))
    for argv in (["validate", str(plan)], ["render", str(plan), "--no-log"]):
        done = _mlplan(*argv, PYTHONIOENCODING="ascii")
        assert done.returncode == 0, done.stderr.decode()
        assert b"Traceback" not in done.stderr


BASELINES = """\
import sys, time

def usage_drop():
    sys.exit(0)

def slow():
    time.sleep(60)
    return {"recall": 0.5}
"""


@pytest.mark.parametrize(
    ("entry_point", "argv", "message"),
    [
        ("usage_drop", [], "called sys.exit(0)"),
        ("slow", ["--timeout", "1"], "did not finish within 1 s"),
    ],
)
def test_a_baseline_that_exits_or_hangs_logs_nothing_and_says_so(
    make_plan: MakePlan, capsys: Capsys, entry_point: str, argv: list[str], message: str
) -> None:
    plan = make_plan()
    (plan.parent / "churn_baselines.py").write_text(BASELINES)
    plan.write_text(
        plan.read_text().replace("churn_baselines:usage_drop", f"churn_baselines:{entry_point}")
    )
    code, _, err = run(capsys, "baseline", "run", plan, "B1", *argv)
    assert code == 1
    assert message in err
    assert not (plan.parent / ".mlplan" / "mlflow.db").exists()


def test_an_unknown_subject_lists_the_known_ones_in_plain_english(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    code, _, err = run(capsys, "log-result", plan, "-H", "H3", "-m", "recall=0.5")
    assert code == 1
    assert "known hypotheses: H1, H2" in err
    assert "hypothesiss" not in err


def test_a_typo_among_several_baselines_runs_none_of_them(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    """`baseline run PLAN B1 B1 Bx`: the unknown id is refused before B1 runs, so no result is
    logged behind an error message (the CLI fuzzer found B1 logged, then exit 1)."""
    plan = make_plan()
    (plan.parent / "churn_baselines.py").write_text(BASELINES)
    code, _, err = run(capsys, "baseline", "run", plan, "B1", "B1", "Bx")
    assert code == 1
    assert "no baseline 'Bx'" in err
    assert not (plan.parent / ".mlplan" / "mlflow.db").exists()


def test_a_baseline_without_an_entry_point_among_several_runs_none_of_them(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    """`baseline run PLAN B1 B2` where B2 has no entry point: refused before B1 runs (the CLI
    fuzzer found B1 logged, then exit 1 saying B2 declares none)."""
    plan = make_plan()
    (plan.parent / "churn_baselines.py").write_text(BASELINES)
    code, _, err = run(capsys, "baseline", "run", plan, "B1", "B2")
    assert code == 1
    assert "baseline B2 declares no entry_point" in err
    assert not (plan.parent / ".mlplan" / "mlflow.db").exists()
