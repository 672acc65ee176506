"""`decide` and `amend` write into a file other people and programs also write: they must not
lose what others wrote, nor break what the file is (read-only, hard-linked, its line breaks, a
list with an anchor or a tag), nor write a plan no command would read again (issue 16)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from helpers import run

import mlplan
from mlplan._api.decisions import record_decision
from mlplan._files import EditRefusedError, rewrite_keeping_edits
from mlplan._plan.located_yaml import MAX_FILE_BYTES
from mlplan._plan.scaffold import scaffold
from mlplan._plan.text_edit import PlanText, append_to_list

ROOT = Path(__file__).resolve().parent.parent
Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def ridge(tmp_path: Path) -> Path:
    folder = tmp_path / "ridge"
    folder.mkdir()
    return Path(shutil.copy(ROOT / "examples/ridge/plan.yaml", folder / "plan.yaml"))


def decisions(plan: Path) -> list[str]:
    return [d.decision for d in mlplan.load_plan(plan).plan.experiment_log.decisions]


# ------------------------------------------------------------------- concurrent external edits

# An editor that appends one comment line every 3 ms until told to stop, then says how many.
EDITOR = """
import pathlib, sys, time
plan, stop = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
count = 0
while not stop.exists() or count < 40:
    with plan.open("a", encoding="utf-8") as stream:
        stream.write(f"# editor line {count}\\n")
    count += 1
    time.sleep(0.003)
print(count)
"""


def race_an_editor(plan: Path, decides: int = 6) -> tuple[int, list[int], list[str]]:
    """Run ``decides`` decisions while an editor appends; the lines it wrote, the ones still in
    the plan, and the decisions kept."""
    stop = plan.parent / "stop"
    stop.unlink(missing_ok=True)
    editor = subprocess.Popen(
        [sys.executable, "-c", EDITOR, str(plan), str(stop)], stdout=subprocess.PIPE, text=True
    )
    errors: list[BaseException] = []

    def decide(index: int) -> None:
        try:
            record_decision(plan, "H1", f"decision {index}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    try:
        threads = [threading.Thread(target=decide, args=(i,)) for i in range(decides)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop.touch()
        out, _ = editor.communicate(timeout=60)
    assert errors == []
    kept = [
        int(line.removeprefix("# editor line "))
        for line in plan.read_text(encoding="utf-8").splitlines()
        if line.startswith("# editor line ")
    ]
    return int(out), kept, decisions(plan)


def check_race(plan: Path, repetitions: int) -> None:
    pristine = plan.read_bytes()
    for _ in range(repetitions):
        plan.write_bytes(pristine)
        written, kept, decided = race_an_editor(plan)
        assert sorted(kept) == list(range(written)), f"lost {written - len(set(kept))} lines"
        assert sorted(d for d in decided if d.startswith("decision ")) == [
            f"decision {i}" for i in range(6)
        ]


@pytest.mark.slow  # ~2 s: a few decisions and a subprocess
def test_an_editor_appending_during_decides_loses_nothing(ridge: Path) -> None:
    check_race(ridge, repetitions=2)


@pytest.mark.chaos
def test_an_editor_appending_during_decides_loses_nothing_twenty_times(ridge: Path) -> None:
    check_race(ridge, repetitions=20)


# ------------------------------------------------------------------------------- the 2 MiB limit


@pytest.mark.slow  # reads a 2 MiB plan several times
def test_decide_refuses_to_grow_a_plan_past_the_size_every_command_reads(
    ridge: Path, capsys: Capsys
) -> None:
    text = ridge.read_text(encoding="utf-8")
    padding = "# " + "x" * 98 + "\n"
    room = MAX_FILE_BYTES - len(text.encode()) - 40  # the decision takes more than this
    last = "# " + "x" * (room % len(padding) - 3) + "\n"
    ridge.write_text(text + padding * (room // len(padding)) + last, encoding="utf-8")
    assert len(ridge.read_bytes()) == MAX_FILE_BYTES - 40
    assert mlplan.load_plan(ridge)  # readable before
    before = ridge.read_bytes()

    code, _, err = run(capsys, "decide", ridge, "H1", "--decision", "Stop here.")
    assert code == 1
    assert "2,097,152" in err and "nothing was written" in err
    assert "Traceback" not in err
    assert ridge.read_bytes() == before


# -------------------------------------------------------------------- what the file is, kept


def test_a_read_only_plan_is_refused_and_left_alone(ridge: Path, capsys: Capsys) -> None:
    ridge.chmod(0o444)
    before = ridge.read_bytes()
    inode = ridge.stat().st_ino
    code, _, err = run(capsys, "decide", ridge, "H1", "--decision", "x")
    assert code == 1
    assert "read-only" in err and "chmod u+w" in err
    assert ridge.read_bytes() == before
    assert ridge.stat().st_ino == inode
    assert stat.S_IMODE(ridge.stat().st_mode) == 0o444


def test_a_hard_linked_plan_is_refused_so_both_names_keep_one_text(
    ridge: Path, capsys: Capsys
) -> None:
    other = ridge.parent / "also.yaml"
    os.link(ridge, other)
    before = ridge.read_bytes()
    code, _, err = run(capsys, "decide", ridge, "H1", "--decision", "x")
    assert code == 1
    assert "hard links" in err
    assert ridge.read_bytes() == before == other.read_bytes()
    assert ridge.samefile(other)


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_a_plan_keeps_its_line_breaks(ridge: Path, newline: str) -> None:
    text = ridge.read_text(encoding="utf-8")
    ridge.write_bytes(text.replace("\n", newline).encode("utf-8"))
    record_decision(ridge, "H1", "Kept its line breaks.")
    raw = ridge.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"") if newline == "\r\n" else b"\n" not in raw
    assert raw.count(newline.encode()) > text.count("\n")
    assert decisions(ridge)[-1] == "Kept its line breaks."


def test_a_cr_only_text_splices_like_an_lf_one() -> None:
    lf = "a: 1\nexperiment_log:\n  decisions:\n    - {date: 2026-01-01}\n"
    entry = {"hypothesis": "H1"}
    path = ("experiment_log", "decisions")
    from_lf = append_to_list(PlanText.decode(lf.encode()), path, entry).encode()
    from_cr = append_to_list(PlanText.decode(lf.replace("\n", "\r").encode()), path, entry)
    assert from_cr.encode() == from_lf.replace(b"\n", b"\r")


@pytest.mark.parametrize(
    "key_line",
    ["  decisions: &d", "  decisions: !!seq", "  decisions: !!seq &d", "  decisions: &d !!seq"],
)
def test_a_decisions_list_with_an_anchor_or_a_tag_takes_the_entry(key_line: str) -> None:
    text = f"a: 1\nexperiment_log:\n{key_line}\n    - {{date: 2026-01-01}}\nz: 2\n"
    new = append_to_list(PlanText.decode(text.encode()), ("experiment_log", "decisions"), {"b": 3})
    assert new.text == text.replace("z: 2", "    - {b: 3}\nz: 2")
    assert yaml.safe_load(new.text)["experiment_log"]["decisions"] == [
        {"date": __import__("datetime").date(2026, 1, 1)},
        {"b": 3},
    ]


def test_an_anchored_list_that_is_also_aliased_is_refused() -> None:
    # Adding to a list that is used again elsewhere (*d) would add to both: refused, unwritten.
    text = "experiment_log:\n  decisions: &d\n    - {date: 2026-01-01}\ncopy: *d\n"
    with pytest.raises(mlplan.MlplanError, match="read back differently"):
        append_to_list(PlanText.decode(text.encode()), ("experiment_log", "decisions"), {"b": 3})


# ---------------------------------------------------------------------- a symlinked .gitignore


def test_a_symlinked_gitignore_inside_the_folder_stays_a_link(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    (folder / "shared").mkdir(parents=True)
    target = folder / "shared" / "ignore"
    target.write_text("*.pyc\n")
    (folder / ".gitignore").symlink_to("shared/ignore")
    made = scaffold("churn", directory=folder)
    assert (folder / ".gitignore").is_symlink()
    assert target.read_text() == "*.pyc\n.mlplan/\n"
    assert made.notes == ()


def test_a_symlinked_gitignore_outside_the_folder_is_left_and_named(
    tmp_path: Path, capsys: Capsys
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    outside = tmp_path / "global-ignore"
    outside.write_text("*.pyc\n")
    (folder / ".gitignore").symlink_to(outside)
    code, _, err = run(capsys, "new", "churn", "--dir", folder)
    assert code == 0
    assert (folder / ".gitignore").is_symlink()
    assert outside.read_text() == "*.pyc\n"
    assert "outside this folder" in err and ".mlplan/" in err


# ------------------------------------------------------------ the rewrite itself, step by step


def test_what_reaches_the_old_file_during_the_change_is_carried_over(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"a: 1\n")

    def change(raw: bytes) -> bytes:
        with path.open("ab") as editor:  # an editor appends while mlplan works
            editor.write(b"# late\n")
        return raw + b"b: 2\n"

    assert rewrite_keeping_edits(path, change) == b"a: 1\nb: 2\n"
    assert path.read_bytes() == b"a: 1\nb: 2\n# late\n"


def test_a_file_replaced_by_rename_meanwhile_is_changed_again(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"a: 1\n")
    seen: list[bytes] = []

    def change(raw: bytes) -> bytes:
        seen.append(raw)
        if len(seen) == 1:  # an editor saves its own version by rename, once
            saved = tmp_path / "saved"
            saved.write_bytes(b"a: 1\nc: 3\n")
            saved.replace(path)
        return raw + b"b: 2\n"

    rewrite_keeping_edits(path, change)
    assert seen == [b"a: 1\n", b"a: 1\nc: 3\n"]
    assert path.read_bytes() == b"a: 1\nc: 3\nb: 2\n"


def test_a_file_rewritten_in_place_meanwhile_gets_the_change_again(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"a: 1\n")

    def change(raw: bytes) -> bytes:
        if raw == b"a: 1\n":
            path.write_bytes(b"z: 9\n")  # truncated and rewritten, same inode
        return raw + b"b: 2\n"

    assert rewrite_keeping_edits(path, change) == b"z: 9\nb: 2\n"
    assert path.read_bytes() == b"z: 9\nb: 2\n"


def test_a_text_rewritten_in_place_the_change_no_longer_fits_is_put_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"a: 1\n")

    def change(raw: bytes) -> bytes:
        if raw == b"a: 1\n":
            path.write_bytes(b"z: 9\n")
            return raw + b"b: 2\n"
        raise mlplan.MlplanError("no key a")

    with pytest.raises(
        EditRefusedError, match=r"\(no key a\)\. Its text was put back and nothing was written"
    ):
        rewrite_keeping_edits(path, change)
    assert path.read_bytes() == b"z: 9\n"


def editor_during_fsync(monkeypatch: pytest.MonkeyPatch, edit: Callable[[], None]) -> None:
    """Make ``edit`` happen once, while mlplan's new file is being flushed to disk: after
    mlplan read the plan and before it renames its new file over it."""
    real_fsync, fired = os.fsync, list[int]()

    def fsync(descriptor: int) -> None:
        real_fsync(descriptor)
        if not fired:
            fired.append(descriptor)
            edit()

    monkeypatch.setattr(os, "fsync", fsync)


def test_decide_keeps_an_editor_s_text_rewritten_in_place_while_it_writes(
    ridge: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
) -> None:
    edited = ridge.read_text(encoding="utf-8").replace("\n", "\n# the editor's line\n", 1)

    def rewrite_in_place() -> None:
        with ridge.open("r+", encoding="utf-8") as stream:  # same inode, as VS Code saves
            stream.truncate(0)
            stream.write(edited)

    editor_during_fsync(monkeypatch, rewrite_in_place)
    code, _, err = run(capsys, "decide", ridge, "H1", "--decision", "Keep both.")
    assert (code, err) == (0, "")
    assert "# the editor's line" in ridge.read_text(encoding="utf-8")
    assert decisions(ridge)[-1] == "Keep both."


def test_decide_puts_back_an_editor_s_text_the_entry_no_longer_fits(
    ridge: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
) -> None:
    edited = b"experiment: {}\n"  # the editor emptied the plan: no hypothesis H1 any more

    def rewrite_in_place() -> None:
        with ridge.open("r+b") as stream:
            stream.truncate(0)
            stream.write(edited)

    editor_during_fsync(monkeypatch, rewrite_in_place)
    code, _, err = run(capsys, "decide", ridge, "H1", "--decision", "Lost?")
    assert code == 1, err
    assert "put back and nothing was written" in err and "Traceback" not in err
    assert ridge.read_bytes() == edited


def test_a_slow_editor_s_text_is_put_back_once_it_is_all_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The editor empties the file while mlplan flushes, and writes its text 60 ms later: the
    # empty text refuses the change, and what is put back is the text, not the emptiness.
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"a: 1\n")
    editor = path.open("r+b")

    def write_later() -> None:
        editor.write(b"a: 1\neditor: slow\n")
        editor.close()

    def truncate() -> None:
        editor.truncate(0)
        threading.Timer(0.06, write_later).start()

    def change(raw: bytes) -> bytes:
        if not raw:
            raise mlplan.MlplanError("an empty plan")
        return raw + b"b: 2\n"

    editor_during_fsync(monkeypatch, truncate)
    with pytest.raises(EditRefusedError, match="an empty plan"):
        rewrite_keeping_edits(path, change)
    assert path.read_bytes() == b"a: 1\neditor: slow\n"


def test_a_save_by_rename_while_mlplan_flushes_its_file_is_changed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "folder").mkdir()
    path = tmp_path / "folder" / "plan.yaml"
    path.write_bytes(b"a: 1\n")

    def save_by_rename() -> None:
        saved = path.parent / "saved"
        saved.write_bytes(b"a: 1\nc: 3\n")
        saved.replace(path)

    editor_during_fsync(monkeypatch, save_by_rename)
    rewrite_keeping_edits(path, lambda raw: raw + b"b: 2\n")
    assert path.read_bytes() == b"a: 1\nc: 3\nb: 2\n"
    assert [p.name for p in path.parent.iterdir()] == ["plan.yaml"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another owner")
def test_a_rewritten_plan_keeps_its_owner_and_group(ridge: Path) -> None:
    os.chown(ridge, 65534, 65534)  # nobody:nogroup, a team's shared plan
    ridge.chmod(0o664)
    record_decision(ridge, "H1", "Owner kept.")
    info = ridge.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o664)
    assert decisions(ridge)[-1] == "Owner kept."
