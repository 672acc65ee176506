"""`mlplan new` writes only new files in the folder it is given: never through a symbolic link,
never over a file, never half a project (issue 16, adversarial pass)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from helpers import run

from mlplan._plan.scaffold import SCHEMA_FILE

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "project"
    made.mkdir()
    return made


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def refused(capsys: Capsys, *argv: object) -> str:
    """Run ``mlplan ARGV``, expect a refusal (exit 1, no traceback); its message."""
    code, out, err = run(capsys, *argv)
    assert code == 1, err
    assert "Traceback" not in err and "internal error" not in err
    assert "Created" not in out
    return err


@pytest.mark.parametrize(
    ("template", "name"), [("ridge", "ridge_study.py"), ("blank", SCHEMA_FILE)]
)
def test_a_dangling_link_where_new_writes_is_refused_before_anything_is_written(
    folder: Path, tmp_path: Path, capsys: Capsys, template: str, name: str
) -> None:
    outside = tmp_path / "outside.py"
    (folder / name).symlink_to(outside)
    err = refused(capsys, "new", "mine", "-t", template, "-d", folder)
    assert name in err and "symbolic link" in err and "Nothing was written" in err
    assert not outside.exists()
    assert names(folder) == [name]


def test_a_link_to_an_existing_file_is_kept_not_written_through(
    folder: Path, tmp_path: Path, capsys: Capsys
) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (folder / SCHEMA_FILE).symlink_to(outside)
    code, _, err = run(capsys, "new", "mine", "-d", folder)
    assert code == 0, err
    assert outside.read_text() == "{}"
    assert f"kept the existing {folder / SCHEMA_FILE}" in err


def test_a_dangling_link_named_as_the_plan_is_refused(
    folder: Path, tmp_path: Path, capsys: Capsys
) -> None:
    (folder / "mine.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    err = refused(capsys, "new", "mine", "-d", folder)
    assert "already exists (a symbolic link to" in err
    assert not (tmp_path / "elsewhere.yaml").exists()
    assert names(folder) == ["mine.yaml"]


@pytest.mark.parametrize("name", [".gitignore", SCHEMA_FILE])
def test_a_directory_where_new_writes_a_file_is_refused_and_nothing_is_written(
    folder: Path, capsys: Capsys, name: str
) -> None:
    (folder / name).mkdir()
    err = refused(capsys, "new", "mine", "-d", folder)
    assert f"{folder / name} is a directory" in err and "Nothing was written" in err
    assert names(folder) == [name]
    (folder / name).rmdir()  # fixed, the same command works: nothing was left behind
    assert run(capsys, "new", "mine", "-d", folder)[0] == 0


def test_a_hard_linked_gitignore_is_left_whole_and_named(
    folder: Path, tmp_path: Path, capsys: Capsys
) -> None:
    other = tmp_path / "other-ignore"
    other.write_text("*.pyc\n")
    os.link(other, folder / ".gitignore")
    code, _, err = run(capsys, "new", "mine", "-d", folder)
    assert code == 0, err
    assert (folder / ".gitignore").samefile(other)
    assert other.read_text() == "*.pyc\n"
    assert "2 hard links" in err and ".mlplan/" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="only root could rewrite a read-only file")
def test_a_read_only_gitignore_is_left_alone_even_by_root(folder: Path, capsys: Capsys) -> None:
    ignore = folder / ".gitignore"
    ignore.write_text("*.pyc\n")
    ignore.chmod(0o444)
    inode = ignore.stat().st_ino
    code, _, err = run(capsys, "new", "mine", "-d", folder)
    assert code == 0, err
    assert ignore.read_text() == "*.pyc\n" and ignore.stat().st_ino == inode
    assert stat.S_IMODE(ignore.stat().st_mode) == 0o444
    assert "read-only" in err and ".mlplan/" in err


def test_a_failed_write_removes_what_new_created(
    folder: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / ".gitignore").write_text("*.pyc\n")

    def full_disk(path: Path, content: str | bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mlplan._plan.scaffold.write_atomically", full_disk)
    err = refused(capsys, "new", "mine", "-t", "ridge", "-d", folder)
    assert "No space left on device" in err and "nothing was written" in err
    assert names(folder) == [".gitignore"]
