"""Secrets and CI (issue 16): a password that breaks its URI is refused without showing it, a
token in a query string is never printed nor stored, and a plan's file name cannot make the
CI gate print GitHub workflow commands."""

from __future__ import annotations

import base64
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import REPO, TODAY, Capsys, MakePlan, run
from test_action import run_gate

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal
from mlplan._record.location import redact, scrub
from mlplan._record.store.client import MlflowStore
from mlplan._report.status import _verdicts

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
        # A token as the user name: with no password, or none at all, the user is the secret.
        ("http://TOK2SEC:@host:9", "http://***:***@host:9"),
        ("http://TOK2SEC@host:9/x", "http://***@host:9/x"),
        # A user name long and digit-bearing is a token, whatever follows it.
        ("https://ghp_0123456789abcdef:x-oauth-basic@host", "https://***:***@host"),
        # Every query and fragment part, whole: a quote is part of a value, a bare part masked.
        ("http://host/?tok=ab'2SEC&x", "http://host/?tok=***&***"),
        ("http://host/?2SEC", "http://host/?***"),
        ("http://host/p#2SEC", "http://host/p#***"),
        ("http://host/p;tok=2SEC/q", "http://host/p;tok=***"),
        # A server's echo of the Authorization header, lower-cased.
        ("authorization: bearer ab/c+2sec=", "authorization: bearer ***"),
        ("BASIC YWRhOjJTRUM=", "BASIC ***"),
        # A server address without its scheme: its user info masked all the same.
        ("ada:2SEC@127.0.0.1:9", "ada:***@127.0.0.1:9"),
        ("'ada:p@2SEC@host'", "'ada:***@host'"),
        ("bob@example.com", "bob@example.com"),
    ],
)
def test_redact(uri: str, shown: str) -> None:
    assert redact(uri) == shown
    assert redact(f"the server {uri} did not answer") == f"the server {shown} did not answer"


@pytest.mark.parametrize(
    "uri",
    [
        f"http://{SECRET}TOK:@{{dead}}",
        f"http://{SECRET}TOK@{{dead}}/mlflow",
        f"http://{{dead}}/?tok=ab'{SECRET}",
        f"http://{{dead}}/?{SECRET}",
        f"http://{{dead}}/#{SECRET}",
    ],
)
def test_a_token_anywhere_in_the_uri_is_never_printed_nor_stored(
    make_plan: MakePlan, capsys: Capsys, dead: str, uri: str
) -> None:
    plan = make_plan()
    uri = uri.format(dead=dead)
    code, out, err = run(
        capsys, "log-result", plan, "-H", "H1", "-m", "recall=0.5", "--tracking-uri", uri
    )
    assert code == 1
    assert "kept in" in err
    assert SECRET not in out + err
    (entry,) = (plan.parent / ".mlplan" / "outbox").glob("*.json")
    kept = json.loads(entry.read_text())
    assert "***" in kept["destination"] and "***" in kept["reason"]
    for argv in (["status", plan, "--json"], ["sync", plan], ["status", plan, "--check"]):
        code, out, err = run(capsys, *argv, "--tracking-uri", uri)
        assert code == 1
        assert SECRET not in out + err, argv
    assert SECRET not in everything_written(plan)


@pytest.mark.parametrize(
    "uri", [f"http://{{dead}}/?tok=a {SECRET}", f"http://a:b\t{SECRET}@{{dead}}"]
)
def test_a_uri_with_a_blank_is_refused_without_showing_it(
    make_plan: MakePlan, capsys: Capsys, dead: str, uri: str
) -> None:
    plan = make_plan()
    code, out, err = run(capsys, "status", plan, "--tracking-uri", uri.format(dead=dead))
    assert code == 1
    assert "blank" in err and "%20" in err
    assert SECRET not in out + err + everything_written(plan)


def test_no_cache_file_name_is_made_from_a_password(make_plan: MakePlan) -> None:
    """The local copy's and the verdicts' file names are hashes: of the URI without its user
    info, so the same store under two passwords shares them (a weak password hashed into a
    name could be guessed offline)."""
    loaded = load_plan(make_plan())
    journals = [Journal(loaded, f"http://ada:{pw}@127.0.0.1:9/") for pw in ("pw1", "pw2")]
    for journal in journals:
        _verdicts(journal, [], TODAY, from_copy=True)
    assert len(list((journals[0].location.home / "cache").iterdir())) == 1
    stores = [MlflowStore(loaded.plan, journal.location) for journal in journals]
    first, second = (store._destination("1") for store in stores)
    assert first == second
    assert "pw1" not in first and "ada" not in first


class _Echo(http.server.BaseHTTPRequestHandler):
    """A server (or proxy) whose 400 quotes the request, its Authorization header included."""

    def _answer(self) -> None:
        if self.path.rstrip("/").endswith("/health"):
            code, body = 200, "OK"
        else:
            code, body = 400, f"bad request {self.path} auth={self.headers['Authorization']}"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815 -- http.server's names

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


TOKEN = f"tok-{SECRET}-abc"
PASSWORD = f"pw-{SECRET}-xyz"


@pytest.mark.parametrize(
    ("variables", "userinfo"),
    [
        ({"MLFLOW_TRACKING_TOKEN": TOKEN}, ""),
        ({"MLFLOW_TRACKING_USERNAME": "ada", "MLFLOW_TRACKING_PASSWORD": PASSWORD}, ""),
        ({}, f"ada:{PASSWORD}@"),
    ],
    ids=["token", "password", "uri"],
)
def test_a_server_echoing_the_credentials_does_not_make_them_shown(
    make_plan: MakePlan,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
    echoing: str,
    *,
    variables: dict[str, str],
    userinfo: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    plan = make_plan()
    uri = f"http://{userinfo}{echoing}"
    basic = base64.b64encode(f"ada:{PASSWORD}".encode()).decode()
    for argv in (
        ["status", plan, "--refresh"],
        ["log-result", plan, "-H", "H1", "-m", "recall=0.5"],
    ):
        code, out, err = run(capsys, *argv, "--tracking-uri", uri)
        assert code == 1
        assert "400" in err  # the server's answer is shown, its credentials masked
        for secret in (SECRET, basic):
            assert secret not in out + err, argv
    assert SECRET not in everything_written(plan)


def test_scrub_masks_what_this_process_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ada")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    basic = base64.b64encode(f"ada:{PASSWORD}".encode()).decode()
    quoted = f'{{"Authorization": "Token {TOKEN}", "x": "{basic}", "y": "u:{PASSWORD}"}}'
    assert SECRET not in scrub(quoted)
    assert basic not in scrub(quoted)
    in_uri = base64.b64encode(b"bob:p%2Fw9").decode()
    assert scrub(f"p/w9 and {in_uri} seen", "http://bob:p%2Fw9@host") == "*** and *** seen"
    assert scrub("pw and ordinary words stay", "http://a:pw@host") == "pw and ordinary words stay"


def _latin1_basic(header: str) -> str:
    """What a server decoding the Basic credentials as Latin-1 shows of them."""
    return base64.b64decode(header.partition(" ")[2]).decode("latin-1")


# A token and a password, and how a server may echo them: percent-encoded, decoded, in another
# case, their UTF-8 bytes read as Latin-1.
ECHOES = [
    ("MLFLOW_TRACKING_TOKEN", f"ab/c+{SECRET}tok=", f"ab%2Fc%2B{SECRET}tok%3D"),
    ("MLFLOW_TRACKING_TOKEN", f"ab/c+{SECRET}tok=", f"ab/c%2B{SECRET}tok%3D"),
    ("MLFLOW_TRACKING_TOKEN", f"ab c+{SECRET}tok", f"ab+c%2B{SECRET}tok"),
    ("MLFLOW_TRACKING_TOKEN", f"ab/c+{SECRET}tok=", f"AB/C+{SECRET}TOK=".lower()),
    ("MLFLOW_TRACKING_TOKEN", f"ab%2Fc{SECRET}tok", f"ab/c{SECRET}tok"),
    ("MLFLOW_TRACKING_PASSWORD", f"pw {SECRET}/é", f"pw {SECRET}/Ã©"),
    ("MLFLOW_TRACKING_PASSWORD", f"pw {SECRET}/é", f"pw%20{SECRET}%2F%C3%A9"),
    ("MLFLOW_TRACKING_PASSWORD", f"pw {SECRET}/é", f"pw {SECRET}/\\u00e9"),
    ("MLFLOW_TRACKING_TOKEN", f"ab/c+{SECRET}tok=", f"ab%252Fc%252B{SECRET}tok%253D"),  # twice
]


@pytest.mark.parametrize(("variable", "secret", "echoed"), ECHOES)
def test_scrub_masks_a_secret_in_every_form_a_server_echoes(
    monkeypatch: pytest.MonkeyPatch, variable: str, secret: str, echoed: str
) -> None:
    monkeypatch.setenv(variable, secret)
    assert scrub(f"bad tok={echoed} here") == "bad tok=*** here"


def test_scrub_masks_the_uri_s_password_in_every_form_too() -> None:
    uri = f"http://ada:pw%20{SECRET}%2F%C3%A9@host"
    for echoed in (f"pw {SECRET}/é", f"PW {SECRET}/Ã©", f"pw%20{SECRET.lower()}%2f%c3%a9"):
        assert scrub(f"bad tok={echoed} here", uri) == "bad tok=*** here"
    basic = base64.b64encode(f"ada:pw {SECRET}/é".encode()).decode()
    assert scrub(f"bad {basic}", uri) == "bad ***"


class _ShownEcho(_Echo):
    """A server whose 400 quotes the Authorization header as ``shown`` turns it."""

    shown: Callable[[str], str] = staticmethod(str)

    def _answer(self) -> None:
        if self.path.rstrip("/").endswith("/health"):
            code, body = 200, "OK"
        else:
            code, body = 400, f"bad request: {type(self).shown(self.headers['Authorization'])}"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815 -- http.server's names


@pytest.mark.parametrize(
    ("variable", "secret", "shown"),
    [
        ("MLFLOW_TRACKING_TOKEN", f"ab/c+{SECRET}tok=", lambda h: urllib.parse.quote(h, safe="")),
        ("MLFLOW_TRACKING_TOKEN", f"ab/c+{SECRET}tok=", str.lower),
        ("MLFLOW_TRACKING_PASSWORD", f"pw {SECRET}/é", _latin1_basic),
    ],
    ids=["percent-encoded", "lower-cased", "latin-1"],
)
def test_a_server_echoing_the_credentials_in_another_form_does_not_make_them_shown(
    make_plan: MakePlan,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
    *,
    variable: str,
    secret: str,
    shown: Callable[[str], str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ada")
    monkeypatch.setenv(variable, secret)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    handler = type("Handler", (_ShownEcho,), {"shown": staticmethod(shown)})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        plan = make_plan()
        uri = f"http://127.0.0.1:{httpd.server_address[1]}"
        code, out, err = run(capsys, "status", plan, "--refresh", "--tracking-uri", uri)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 1
    assert "bad request" in err  # the server's answer is shown, its credentials masked
    assert SECRET.lower() not in (out + err).lower()


@pytest.mark.parametrize(
    "command",
    [*COMMANDS, ["render", "{plan}", "-o", "{plan}.md"], ["site", "{plan}", "-o", "{plan}.site"]],
    ids=lambda argv: " ".join(part for part in argv if "{" not in part),
)
def test_a_server_address_without_its_scheme_is_refused_without_showing_it(
    make_plan: MakePlan, capsys: Capsys, dead: str, command: list[str]
) -> None:
    """MLflow reads ``ada:pw@host`` as a folder (or "ada" as a scheme), and no URI rule sees a
    password in it: it was shown whole, and written into docs and the site."""
    plan = make_plan()
    argv = [part.format(plan=plan) for part in command]
    code, out, err = run(capsys, *argv, "--tracking-uri", f"ada:{SECRET}@{dead}")
    assert code == 1, out + err
    assert "without its scheme" in err and "http://" in err
    assert SECRET not in out + err
    written = [path for path in plan.parent.rglob("*") if path.is_file()]
    assert not [path for path in written if SECRET in path.read_text(errors="replace")]
    assert not Path(f"{plan}.md").exists()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda argv: argv[0])
def test_a_scheme_mlflow_has_no_store_for_is_refused_by_every_command(
    make_plan: MakePlan, capsys: Capsys, dead: str, command: list[str]
) -> None:
    """`sync` with nothing waiting once said "Delivered 0 waiting results to ftp://..."."""
    plan = make_plan()
    argv = [part.format(plan=plan) for part in command]
    code, out, err = run(capsys, *argv, "--tracking-uri", f"ftp://ada:{SECRET}@{dead}/x")
    assert code == 1, out + err
    assert "(ftp://...) has a scheme MLflow has no store for" in err
    assert SECRET not in out + err + everything_written(plan)


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
        "postgresql+psycopg://u:p@db/mlflow",
        "HTTPS://host",
        "databricks",
        "databricks://profile",
        "uc:databricks://profile",
        "mlruns",
        "/srv/runs@2/mlruns",
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


def test_an_old_entry_holding_a_token_is_shown_redacted(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    """An outbox entry written before a URI form was redacted (or by hand) keeps its text on
    disk; what mlplan shows of it is redacted again."""
    from mlplan._api import journal_for

    plan = make_plan()
    journal = journal_for(plan)
    submission = journal.submission(
        kind="baseline", subject="B1", metrics={"recall": 0.5, "recall.loyal": 0.9},
        params={"seed": 1},
    )  # fmt: skip
    leaky = "http://TOKSECRET9:@127.0.0.1:9"
    journal.outbox.put(journal.plan.id, submission, leaky, f"{leaky} did not answer")
    _, out, err = run(capsys, "status", plan, "--json")
    assert "TOKSECRET9" not in out + err
    assert "waits for" in err
