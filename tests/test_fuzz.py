"""Property-based fuzzing of plan files and command lines (hypothesis).

Invariants, for every input (decide, amend and publish included): the exit code is 0, 1, 2 or
130; there is never a traceback or "bug in mlplan"; no result is lost or duplicated (every
"Logged" adds one result to the store, every "kept in" one entry to the outbox, nothing else
changes their total); no file outside the plan's folder and the output named on the command
line is created, changed or removed; and the plan file changes only by a decide or amend that
succeeded, and then stays a valid plan.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlplan._cli import main
from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal
from mlplan.errors import MlplanError

pytestmark = pytest.mark.slow

MakePlan = Callable[..., Path]
Capsys = pytest.CaptureFixture[str]
EXIT_CODES = {0, 1, 2, 130}
FUZZ = settings(
    max_examples=int(os.environ.get("MLPLAN_FUZZ_EXAMPLES", "80")),
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

Snapshot = dict[Path, tuple[int, int, int]]


def snapshot(root: Path, skip: list[Path]) -> Snapshot:
    """Every file and folder under ``root`` but those under ``skip``: (mode, size, mtime)."""
    found: Snapshot = {}
    for folder, folders, files in os.walk(root):
        here = Path(folder)
        folders[:] = [f for f in folders if not any((here / f).is_relative_to(s) for s in skip)]
        for name in [*folders, *files]:
            path = here / name
            if any(path.is_relative_to(s) for s in skip):
                continue
            info = path.lstat()
            found[path] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def run(capsys: Capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean(code: int, err: str) -> None:
    assert code in EXIT_CODES, err
    assert "Traceback" not in err, err
    assert "bug in mlplan" not in err, err


# -- plan files -------------------------------------------------------------------------------

SCALARS = st.sampled_from(
    [
        "0", "-1", "1e400", ".nan", ".inf", "1e154", "''", "null", "[]", "{}", "~", "yes",
        "2026-02-30", "'$x$ and $y$'", "'a#b'", "'../etc'", "'a//b'", "'/abs'", "&a", "*a",
        "!!python/object:os.system", "'\u202e'", "'λ ✓'", "|", ">", "- x", "'%s%n'",
    ]
)  # fmt: skip


@st.composite
def mutated_plans(draw: st.DrawFn, base: str) -> str:
    lines = base.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        how = draw(st.sampled_from(["value", "delete", "duplicate", "indent", "text", "cut"]))
        if how == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[index] = f"{key}: {draw(SCALARS)}"
        elif how == "delete":
            del lines[index]
        elif how == "duplicate":
            lines.insert(index, line)
        elif how == "indent":
            lines[index] = " " * draw(st.integers(0, 7)) + line.lstrip()
        elif how == "text":
            lines[index] = line + draw(st.text(max_size=12))
        else:
            lines = lines[: index + 1]
        if not lines:
            lines = [""]
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))


def test_fuzzed_plans_never_crash_or_write(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path
) -> None:
    plan = make_plan()
    base = plan.read_text()

    examples: list[str] = []

    @FUZZ
    @given(text=mutated_plans(base))
    def check(text: str) -> None:
        examples.append(text)
        plan.write_text(text, encoding="utf-8")
        before = snapshot(tmp_path, [tmp_path / "home", plan])
        for argv in (["validate", str(plan)], ["render", str(plan), "--no-log"]):
            code, _, err = run(capsys, argv)
            assert_clean(code, err)
            assert code in {0, 1}
        assert snapshot(tmp_path, [tmp_path / "home", plan]) == before

    check()
    print(f"fuzzed {len(examples)} plan files, each through validate and render")


# -- command lines ------------------------------------------------------------------------------

KEYS = st.sampled_from(["recall", "recall.loyal", "latency_ms", "precision", "a#b", "../x", ""])
VALUES = st.sampled_from(["0.5", "0.91", "nan", "-inf", "1e400", "x", "", "=1", "0x10"])
JUNK = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8)


def pairs(flag: str) -> st.SearchStrategy[list[str]]:
    pair = st.builds(lambda k, v: f"{k}={v}", KEYS, VALUES) | KEYS | JUNK
    return st.lists(pair, max_size=3).map(lambda items: [x for i in items for x in (flag, i)])


def option(*choices: str) -> st.SearchStrategy[list[str]]:
    return st.sampled_from([[], *[[c] for c in choices]])


def maybe(flag: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), values.map(lambda v: [flag, v]))


@st.composite
def command_lines(draw: st.DrawFn, plan: str, dead: str) -> list[str]:
    subject = draw(st.sampled_from(["H1", "H2", "H9", "B1", "B2", "", "h1"]))
    uri = maybe("--tracking-uri", st.sampled_from([dead, "foo://bar", "http://u:pw@127.0.0.1:9"]))
    output = st.sampled_from(["out.md", "dir with space/my doc.md", plan, "plan-link.md", "fifo"])
    today = maybe("--today", st.sampled_from(["2026-11-25", "2027-01-01", "bad", "2026-02-30"]))
    command = draw(
        st.sampled_from(
            [
                *("log-result", "log-result", "status", "render", "sync"),
                *("validate", "baseline", "schema", "new", "junk", "run"),
                *("decide", "amend", "publish"),
            ]
        )
    )  # fmt: skip
    argv: list[str]
    if command == "log-result":
        which = draw(st.sampled_from(["-H", "-B", "-H -B", ""])).split()
        argv = [command, plan, *[x for flag in which for x in (flag, subject)]]
        argv += draw(pairs("-m")) + draw(pairs("-p"))
        argv += draw(maybe("--run-id", st.sampled_from(["0" * 32, "abc", ""])))
        argv += draw(option("--reported")) + draw(maybe("--source", JUNK))
        argv += draw(maybe("--note", JUNK))
    elif command == "status":
        argv = [command, plan, *draw(option("--json")), *draw(option("--check")), *draw(today)]
    elif command == "render":
        argv = [command, plan, *draw(option("--no-log", "--log")), *draw(maybe("-o", output))]
        argv += draw(today)
    elif command == "sync":
        argv = [command, plan]
    elif command in ("decide", "amend", "publish"):
        argv = _record_keeping(draw, command, plan, subject, today)
    elif command == "validate":
        argv = [command, plan, *draw(option("--strict")), *draw(option("--json"))]
    elif command == "baseline":
        argv = [
            "baseline",
            "run",
            plan,
            *draw(st.lists(st.sampled_from(["B1", "B2", "B9"]), max_size=2)),
        ]
    elif command == "run":
        argv = [
            command,
            plan,
            *draw(st.lists(st.sampled_from(["H1", "B1", "B2", "B9"]), max_size=2)),
        ]
        argv += draw(option("--dry-run", "--json")) + draw(
            maybe("-j", st.sampled_from(["1", "0", "x"]))
        )
    elif command == "schema":
        argv = [command, *draw(maybe("-o", output))]
    elif command == "new":
        argv = [
            command,
            draw(st.sampled_from(["fresh", "../up", "", "a b", "x" * 70])),
            "-d",
            str(Path(plan).parent),
        ]
        argv += draw(maybe("-t", st.sampled_from(["blank", "ridge", "nope"])))
    else:
        argv = [draw(JUNK)]
    if command not in {"schema", "junk"}:
        argv += draw(uri)
    return argv + draw(st.lists(JUNK, max_size=1))


def _record_keeping(
    draw: st.DrawFn, command: str, plan: str, subject: str, today: st.SearchStrategy[list[str]]
) -> list[str]:
    """decide, amend (both write the plan) and publish (writes the experiment's tags)."""
    dates = maybe(
        "--date", st.sampled_from(["2026-11-25", "9999-12-31", "0001-01-01", "bad", "2026-02-30"])
    )
    if command == "decide":
        argv = [command, plan, subject, *draw(maybe("--decision", JUNK | st.just("Ship it.")))]
        argv += draw(maybe("--rationale", JUNK)) + draw(dates)
        closes = st.sampled_from(["abandoned", "superseded", "lost", "paused", ""])
        return argv + draw(maybe("--close", closes))
    if command == "amend":
        renames = st.sampled_from(["H1b", "H2", "B1", "1x", "", "h1"])
        argv = [command, plan, subject, *draw(maybe("--reason", JUNK)), *draw(dates)]
        return [*argv, *draw(maybe("--rename", renames))]
    return [command, plan, *draw(today), *draw(option("--refresh"))]


def _named_output(argv: list[str], root: Path) -> list[Path]:
    named = []
    for flag, value in itertools.pairwise(argv):
        if flag == "-o":
            target = root / value
            named += [target, target.parent / f"{target.stem}_plots"]
            if target.parent != root:
                named.append(target.parent)  # made for the output the user named
    return named


def _total(plan: Path) -> tuple[int, set[str]]:
    """Results in the embedded store plus entries in the outbox, and the store's run ids."""
    outbox = list((plan.parent / ".mlplan" / "outbox").glob("*.json"))
    if not (plan.parent / ".mlplan" / "mlflow.db").is_file():
        return len(outbox), set()
    try:
        results = Journal(load_plan(plan), "").store.results()
    except MlplanError:
        return len(outbox), set()
    return len(results) + len(outbox), {r.run_id for r in results}


def test_fuzzed_command_lines_keep_the_contract(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path
) -> None:
    import socket

    plan = make_plan()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "plan-link.md").symlink_to(plan)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    plan_text = plan.read_bytes()

    examples: list[list[str]] = []

    @FUZZ
    @given(argv=command_lines(str(plan), dead))
    def check(argv: list[str]) -> None:
        examples.append(argv)
        skip = [tmp_path / "home", plan.parent, *_named_output(argv, tmp_path)]
        before = snapshot(tmp_path, skip)
        total, _ = _total(plan)
        code, out, err = run(capsys, argv)
        assert_clean(code, err)
        reports = out.splitlines() if argv[0] in ("log-result", "baseline") else []
        delivered = sum(line.startswith(("Logged ", "Baseline ")) for line in reports)
        if argv[0] == "run":  # `mlplan run`: one line per logged cell, or one JSON event
            delivered = out.count(" → run ") + out.count('"event": "cell_logged"')
        kept = err.count("kept in")
        after, _ = _total(plan)
        assert after - total == delivered + kept, (argv, out, err)
        assert snapshot(tmp_path, skip) == before, argv
        if argv[0] in ("decide", "amend") and plan.read_bytes() != plan_text:
            # The only commands that write the plan: only on success, and still a plan.
            assert code == 0, (argv, err)
            load_plan(plan)
            plan.write_bytes(plan_text)
        assert plan.read_bytes() == plan_text
        assert "pw@" not in out + err

    check()
    print(f"fuzzed {len(examples)} command lines")
