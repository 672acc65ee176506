"""Where mlplan writes its locks, and what it says when it cannot (issue 16's adversarial pass).

`decide` once made `.mlplan/<name>.lock` beside any file it was pointed at (/etc/shadow
included) before reading it, and a `.mlplan` that is a file, a lock that is a symlink loop,
a lock held past its timeout, or a plan path that loops all ended in exit 3 ("a bug").
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Capsys, MakePlan, run

from mlplan._record import locks
from mlplan.errors import MlplanError

DECIDE = ("decide", "H1", "--decision", "Wait for more runs.")


@contextlib.contextmanager
def held(path: Path) -> Iterator[None]:
    """``path`` locked by another thread while the body runs (filelock's locks are re-entrant
    only per object, so another thread stands for another process)."""
    from filelock import FileLock

    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with FileLock(str(path)):
            taken.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(10)
        yield
    finally:
        release.set()
        thread.join()


def decide(capsys: Capsys, plan: Path) -> tuple[int, str, str]:
    return run(capsys, DECIDE[0], plan, *DECIDE[1:])


def test_a_file_that_is_not_a_plan_gets_nothing_written_beside_it(
    tmp_path: Path, capsys: Capsys
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    notes = other / "notes.txt"
    notes.write_text("hello\n")
    for argv in (DECIDE, ("amend", "H1", "--reason", "Looser."), ("amend", "H1", "--rename",
                 "H1b", "--reason", "Clearer.")):  # fmt: skip
        code, _, err = run(capsys, argv[0], notes, *argv[1:])
        assert code == 1, (argv, err)
        assert "bug" not in err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    assert notes.read_text() == "hello\n"


@pytest.mark.parametrize("kind", ["file", "dangling link", "fifo"])
def test_a_store_folder_that_is_not_a_folder_is_one_message(
    make_plan: MakePlan, capsys: Capsys, kind: str
) -> None:
    import os

    plan = make_plan()
    home = plan.parent / ".mlplan"
    if kind == "file":
        home.write_text("x\n")
    elif kind == "fifo":
        os.mkfifo(home)
    else:
        home.symlink_to(plan.parent / "nowhere")
    before = plan.read_bytes()
    code, _, err = decide(capsys, plan)
    assert code == 1, err
    assert f"{home} is not a folder" in err and "move it away" in err
    assert "bug" not in err
    assert plan.read_bytes() == before


def test_a_lock_that_is_a_symlink_loop_is_one_message(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    home = plan.parent / ".mlplan"
    home.mkdir()
    lock = home / f"{plan.name}.lock"
    lock.symlink_to(home / "loop")
    (home / "loop").symlink_to(lock)
    code, _, err = decide(capsys, plan)
    assert code == 1, err
    assert f"could not take the lock {lock}" in err and "bug" not in err


def test_a_lock_held_past_its_timeout_is_one_message(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:

    plan = make_plan()
    monkeypatch.setattr(locks, "PLAN_TIMEOUT_S", 0.2)
    (plan.parent / ".mlplan").mkdir()
    before = plan.read_bytes()
    with held(plan.parent / ".mlplan" / f"{plan.name}.lock"):
        code, _, err = decide(capsys, plan)
    assert code == 1, err
    assert "has held" in err and "nothing was written" in err and "bug" not in err
    assert plan.read_bytes() == before


def test_a_missing_plan_and_a_plan_path_that_loops_are_named_as_such(
    tmp_path: Path, capsys: Capsys
) -> None:
    code, _, err = decide(capsys, tmp_path / "nope.yaml")
    assert code == 1 and "nope.yaml: no such file" in err
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    code, _, err = decide(capsys, tmp_path / "a.yaml")
    assert code == 1 and "cannot be followed to a file" in err and "bug" not in err


def test_a_result_with_a_store_folder_that_is_a_file_is_refused_aloud(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    (plan.parent / ".mlplan").write_text("x\n")
    code, out, err = run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.5",
                         "-m", "recall.loyal=0.9", "-p", "seed=1")  # fmt: skip
    assert code == 1, (out, err)
    assert "Logged" not in out and "bug" not in err
    assert "nothing was saved" in err


def test_a_site_that_cannot_be_written_is_one_message(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path
) -> None:
    """A read-only output folder ended in exit 3; a file where the folder's parent should be
    is the same failure for root, whom file modes do not stop."""
    plan = make_plan()
    (tmp_path / "afile").write_text("x\n")
    code, _, err = run(capsys, "site", plan, "-o", tmp_path / "afile" / "site")
    assert code == 1, err
    assert f"could not write the site in {tmp_path / 'afile' / 'site'}" in err
    assert "bug" not in err


def test_a_plan_that_cannot_be_rewritten_is_one_message(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk, a read-only folder or a sticky bit refusing the rename ended in exit 3
    (the re-check of issue 16); the rewrite's own error is the environment's."""
    import errno

    from mlplan._api import decisions

    def full(*_: object) -> bytes:
        raise OSError(errno.ENOSPC, "No space left on device", str(plan.parent / "tmp123"))

    plan = make_plan()
    before = plan.read_bytes()
    monkeypatch.setattr(decisions, "rewrite_keeping_edits", full)
    code, _, err = decide(capsys, plan)
    assert code == 1, err
    assert f"could not write {plan}" in err and "No space left on device" in err
    assert "bug" not in err and plan.read_bytes() == before


def test_an_amendment_or_rename_dated_after_today_is_a_usage_error(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    import datetime as dt

    from helpers import TODAY

    plan = make_plan()
    before = plan.read_bytes()
    later = (TODAY + dt.timedelta(days=1)).isoformat()
    for argv in (["--reason", "Looser."], ["--rename", "H1b", "--reason", "Clearer."]):
        code, _, err = run(capsys, "amend", plan, "H1", *argv, "--date", later)
        assert code == 2, (argv, err)
        assert "after today" in err
    assert plan.read_bytes() == before


def test_a_store_lock_held_too_long_says_so_and_keeps_the_result(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It once said "check that the database is intact" about a healthy store whose lock
    another process held (the re-check of issue 16)."""

    plan = make_plan()
    assert run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.5",
               "-m", "recall.loyal=0.9", "-p", "seed=1")[0] == 0  # fmt: skip
    monkeypatch.setattr(locks, "STORE_TIMEOUT_S", 0.2)
    with held(plan.parent / ".mlplan" / "store.lock"):
        code, out, err = run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6",
                             "-m", "recall.loyal=0.9", "-p", "seed=2")  # fmt: skip
    assert "is being written by another process" in err, (code, out, err)
    assert "intact" not in err
    assert list((plan.parent / ".mlplan" / "outbox").glob("*.json"))  # kept, not lost


def test_a_cell_lock_under_a_store_folder_that_is_a_file_names_the_file(tmp_path: Path) -> None:
    home = tmp_path / ".mlplan"
    home.write_text("x\n")
    with pytest.raises(MlplanError, match=rf"{home} is not a folder"):
        locks.cell_lock(home, "B1-1")


def test_a_database_named_directly_keeps_artifacts_in_the_plan_s_folder(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--tracking-uri sqlite:///team.db` once made ./mlruns in whatever folder the user was in
    (MLflow's default artifact root): nothing may be written outside the plan's folder and
    the store the user named."""
    plan = make_plan()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    code, _, err = run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.5",
                       "-m", "recall.loyal=0.9", "-p", "seed=1", "--tracking-uri", uri)  # fmt: skip
    assert code == 0, err
    assert run(capsys, "render", plan, "-o", plan.parent / "doc.md", "--tracking-uri", uri)[0] == 0
    assert list(elsewhere.iterdir()) == []
    assert list((plan.parent / ".mlplan" / "artifacts").rglob("doc.md"))
