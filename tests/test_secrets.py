"""Secrets and CI (issue 16): a password that breaks its URI is refused without showing it, a
token in a query string is never printed nor stored, and a plan's file name cannot make the
CI gate print GitHub workflow commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO, Capsys, MakePlan, run
from test_action import run_gate

from mlplan._record.location import redact

SECRET = "2SEC"


@pytest.fixture
def dead() -> str:
    """host:port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(autouse=True)
def crash_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert not list(folder.glob("mlplan-crash-*")), "a crash log was written"


def everything_written(plan: Path) -> str:
    """The text of every file mlplan keeps beside the plan (outbox, cache, locks)."""
    home = plan.parent / ".mlplan"
    if not home.exists():
        return ""
    return "".join(path.read_text(errors="replace") for path in home.rglob("*") if path.is_file())


COMMANDS = [
    ["log-result", "{plan}", "-H", "H1", "-m", "recall=0.5"],
    ["status", "{plan}", "--check"],
    ["sync", "{plan}"],
    ["publish", "{plan}"],
    ["render", "{plan}", "--log"],
]


@pytest.mark.parametrize("raw", ["/", "#", "?"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda argv: argv[0])
def test_a_password_that_breaks_its_uri_is_refused_without_showing_it(
    make_plan: MakePlan, capsys: Capsys, dead: str, raw: str, command: list[str]
) -> None:
    plan = make_plan()
    uri = f"http://ada:Pw{raw}{SECRET}@{dead}"
    argv = [part.format(plan=plan) for part in command]
    code, out, err = run(capsys, *argv, "--tracking-uri", uri)
    assert code == 1, err
    assert SECRET not in out + err
    assert "Pw" not in out + err
    assert err.count("error:") == 1
    assert "percent-encode" in err.lower()
    assert SECRET not in everything_written(plan)


@pytest.mark.parametrize("password", [f"p@s/{SECRET}", f"p@s?{SECRET}", f"p:q#{SECRET}"])
def test_a_password_with_an_at_sign_and_a_slash_is_refused_too(
    make_plan: MakePlan, capsys: Capsys, dead: str, password: str
) -> None:
    plan = make_plan()
    uri = f"http://ada:{password}@{dead}"
    code, out, err = run(capsys, "status", plan, "--tracking-uri", uri)
    assert code == 1
    assert "percent-encode" in err.lower()
    assert SECRET not in out + err + everything_written(plan)


def test_the_same_password_from_the_environment(
    make_plan: MakePlan, capsys: Capsys, dead: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"https://ada:x/{SECRET}@{dead}/mlflow")
    code, out, err = run(capsys, "log-result", plan, "-H", "H1", "-m", "recall=0.5")
    assert code == 1
    assert SECRET not in out + err + everything_written(plan)


def test_a_percent_encoded_password_is_used_and_never_shown(
    make_plan: MakePlan, capsys: Capsys, dead: str
) -> None:
    plan = make_plan()
    uri = f"http://ada:Pw%2F{SECRET}@{dead}"
    code, out, err = run(
        capsys, "log-result", plan, "-H", "H1", "-m", "recall=0.5", "--tracking-uri", uri
    )
    assert code == 1
    assert "did not answer" in err  # it got as far as the server: the URI was accepted
    assert "kept in" in err
    assert SECRET not in out + err + everything_written(plan)


@pytest.mark.parametrize(
    "query", [f"?token={SECRET}", f"?a=1&access_token={SECRET}", f"/?token={SECRET}#frag"]
)
def test_a_token_in_the_query_string_is_never_printed_nor_stored(
    make_plan: MakePlan, capsys: Capsys, dead: str, query: str
) -> None:
    plan = make_plan()
    uri = f"http://{dead}{query}"
    code, out, err = run(
        capsys, "log-result", plan, "-H", "H1", "-m", "recall=0.5", "--tracking-uri", uri
    )
    assert code == 1
    assert "kept in" in err
    (entry,) = (plan.parent / ".mlplan" / "outbox").glob("*.json")
    kept = json.loads(entry.read_text())
    assert "***" in kept["destination"]
    assert SECRET not in json.dumps(kept)
    for argv in (["status", plan, "--json"], ["sync", plan], ["status", plan, "--check"]):
        code, out, err = run(capsys, *argv, "--tracking-uri", uri)
        assert code == 1
        assert SECRET not in out + err, argv
    assert SECRET not in everything_written(plan)


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://ada:pw@host:5000", "http://ada:***@host:5000"),
        ("http://host/?token=abc&x=1", "http://host/?token=***&x=***"),
        ("https://ada:p@ss@host/p?t=1#k=2", "https://ada:***@host/p?t=***#k=***"),
        ("postgresql://u:p@db:5432/mlflow", "postgresql://u:***@db:5432/mlflow"),
        ("sqlite:////tmp/a b/mlflow.db", "sqlite:////tmp/a b/mlflow.db"),
        ("databricks", "databricks"),
    ],
)
def test_redact(uri: str, shown: str) -> None:
    assert redact(uri) == shown
    assert redact(f"the server {uri} did not answer") == f"the server {shown} did not answer"


@pytest.mark.parametrize(
    "uri",
    [
        "http://host:5000",
        "http://host:5000/mlflow",
        "http://u:p%2Fw@host:5000/mlflow",
        "http://host:5000/?next=a@b",
        "http://host/mlflow/v@2/x",
        "sqlite:////tmp/x@y/mlflow.db",
        "file:///a@b",
        "postgresql://u:p@db/mlflow",
        "http://u:p@host:5000/mlflow",
    ],
)
def test_ordinary_uris_are_not_refused(make_plan: MakePlan, capsys: Capsys, uri: str) -> None:
    from mlplan._record.location import locate_store

    assert locate_store(make_plan(), uri).uri == uri


# -- the CI gate --------------------------------------------------------------------------------


def obeyed_commands(output: str) -> list[str]:
    """The lines GitHub would read as workflow commands: those starting with "::" (after
    leading blanks), outside ::stop-commands:: blocks."""
    obeyed, stop = [], ""
    for line in output.splitlines():
        stripped = line.strip()
        if stop:
            if stripped == f"::{stop}::":
                stop = ""
            continue
        if stripped.startswith("::stop-commands::"):
            stop = stripped.removeprefix("::stop-commands::")
            continue
        if stripped.startswith("::"):
            obeyed.append(stripped)
    return obeyed


@pytest.mark.slow  # a subprocess (the gate, or a fresh interpreter)
@pytest.mark.parametrize(
    "name",
    [
        "p\n::notice title=Gate::All plans passed\n.yaml",
        "p\r::warning::x%0A::notice::y.yaml",
        "a,b:c::notice::d.yaml",
    ],
)
def test_a_plan_file_name_cannot_make_the_gate_print_workflow_commands(
    make_plan: MakePlan, tmp_path: Path, name: str
) -> None:
    plan = make_plan()
    folder = tmp_path / "plans"
    folder.mkdir()
    odd = folder / name
    odd.write_text(plan.read_text())
    summary = tmp_path / "summary.md"
    done = run_gate(
        {"plans": f"{folder}/*.yaml {folder}/missing\n::notice::m.yaml"}, summary, tmp_path
    )
    assert done.returncode == 1  # no store: the gate fails, and says so
    assert len(obeyed_commands(done.stdout)) == 3, done.stdout  # one per plan
    for stream in (done.stdout, done.stderr):
        obeyed = obeyed_commands(stream)
        assert all(line.startswith("::error") for line in obeyed), obeyed


@pytest.mark.slow  # a subprocess (the gate)
def test_the_gate_run_by_hand_prints_its_summary_with_commands_off(
    make_plan: MakePlan, tmp_path: Path
) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "x\n::notice title=Gate::All plans passed.yaml").write_text("bad: [\n")
    done = run_gate({"plans": f"{folder}/*.yaml"}, None, tmp_path)  # GITHUB_STEP_SUMMARY unset
    assert done.returncode == 1
    assert "could not be checked" in done.stdout  # the summary is printed ...
    obeyed = obeyed_commands(done.stdout) + obeyed_commands(done.stderr)
    assert all(line.startswith("::error") for line in obeyed), obeyed  # ... but not obeyed


@pytest.mark.slow  # a subprocess (mlplan site)
def test_the_site_step_prints_mlplan_s_output_with_commands_off(tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "x\n::notice title=Site::built.yaml").write_text("bad: [\n")
    environment = {**os.environ, "MLPLAN_PLANS": f"{folder}/*.yaml"}
    environment["MLPLAN_SITE_DIR"] = str(tmp_path / "site")
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    done = subprocess.run(
        ["bash", str(REPO / "ci" / "site.sh")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "::notice title=Site::built.yaml" in done.stderr  # mlplan named the plan ...
    assert obeyed_commands(done.stdout) + obeyed_commands(done.stderr) == []  # ... inertly
