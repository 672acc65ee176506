"""Chaos: kill, corrupt, race and starve the store, the outbox and a real `mlflow server`.

The invariant every test checks is the README's contract: each result is in its store exactly
once, or in the outbox for the store it was meant for with the reason it waits, or was refused
with a message saying so; never in two places, never nowhere, never RUNNING unexplained.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, Capsys, MakePlan, free_port, run

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal

pytestmark = pytest.mark.chaos

ENVIRONMENT = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}

WRITER = textwrap.dedent(
    """
    import sys
    import mlplan
    from mlplan.errors import StoreUnreachableError

    plan, uri, writer, calls = sys.argv[1], sys.argv[2] or None, sys.argv[3], int(sys.argv[4])
    for call in range(calls):
        try:
            mlplan.record_result(plan, baseline="B1", metrics={"recall": 0.5},
                                 note=f"writer {writer} call {call}", tracking_uri=uri)
            print("logged", flush=True)
        except StoreUnreachableError:
            print("kept", flush=True)
    """
)


def writers(plan: Path, uri: str, count: int, calls: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(plan), uri, str(n), str(calls)],
            env=ENVIRONMENT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(count)
    ]


def runs(uri: str, plan_id: str) -> list[Any]:
    """Every run of the plan in the store, whatever its status."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(f"mlplan/{plan_id}")
    if experiment is None:
        return []
    return list(
        client.search_runs(
            [experiment.experiment_id], run_view_type=ViewType.ALL, max_results=10_000
        )
    )


def submission_ids(found: list[Any]) -> list[str]:
    return [run.data.tags["mlplan.submission_id"] for run in found]


def outbox(plan: Path) -> list[dict[str, Any]]:
    folder = plan.parent / ".mlplan" / "outbox"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


# -- a real tracking server, killed and restarted -------------------------------------------


class Server:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.root / 'backend.db'}",
            "--artifacts-destination",
            str(self.root / "artifacts"),
        ]
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env={**ENVIRONMENT, "HOME": str(self.root)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("mlflow server did not become healthy")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the server and workers
            self.process.wait(timeout=30)


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("server"))
    running.start()
    try:
        yield running
    finally:
        running.kill()


@pytest.mark.server
def test_a_server_killed_mid_stream_loses_and_duplicates_nothing(
    server: Server, make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan(plan_id="killed-server")
    count, calls = 4, 5
    # The experiment is made first: racing to create it is the team-mode issue's test.
    assert (
        run(
            capsys, "log-result", plan, "-B", "B2", "-m", "recall=0.1", "--tracking-uri", server.url
        )[0]
        == 0
    )
    started = writers(plan, server.url, count, calls)
    assert started[0].stdout is not None
    first = started[0].stdout.readline()  # results are flowing
    time.sleep(1.0)
    server.kill()
    outputs = [writer.communicate(timeout=600) for writer in started]
    outputs[0] = (first + outputs[0][0], outputs[0][1])
    for (_, err), writer in zip(outputs, started, strict=True):
        assert writer.returncode == 0, err.decode()
        assert b"Traceback" not in err
    lines = b"".join(out for out, _ in outputs).decode().split()
    assert len(lines) == count * calls
    kept = outbox(plan)
    assert len(kept) == lines.count("kept")
    assert {entry["destination"] for entry in kept} <= {server.url}

    # Back up on the same port: three syncs at once deliver everything exactly once.
    server.start()
    syncs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlplan", "sync", str(plan), "--tracking-uri", server.url],
            env=ENVIRONMENT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for sync in syncs:
        _, err = sync.communicate(timeout=600)
        assert sync.returncode == 0, err.decode()
    found = runs(server.url, "killed-server")
    assert outbox(plan) == []
    assert len(found) == count * calls + 1
    assert len(set(submission_ids(found))) == count * calls + 1
    assert {run.info.status for run in found} == {"FINISHED"}


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    mode = "stall"

    def _answer(self) -> None:
        if self.path.rstrip("/").endswith("/health"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"OK")
            return
        if self.mode == "stall":
            time.sleep(8)
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b"<html>upstream error</html>")

    do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815 -- http.server's names

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.mark.parametrize("mode", ["stall", "error"])
def test_a_server_healthy_on_the_outside_but_failing_keeps_the_result(
    make_plan: MakePlan, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    handler = type("Handler", (_Misbehaving,), {"mode": mode})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    plan = make_plan(plan_id=f"sick-{mode}")
    try:
        started = time.monotonic()
        code, _, err = run(
            capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.5", "--tracking-uri", url
        )
        elapsed = time.monotonic() - started
    finally:
        httpd.shutdown()
    assert code == 1
    assert "kept in" in err
    assert "Traceback" not in err
    assert elapsed < 60
    [entry] = outbox(plan)
    assert entry["destination"] == url
    assert entry["reason"]


# -- kill -9 in the middle of logging to the embedded store ---------------------------------


@pytest.mark.parametrize("delay", [1.5, 3.0, 4.5])
def test_kill_9_mid_log_leaves_nothing_lost_duplicated_or_running(
    make_plan: MakePlan, capsys: Capsys, delay: float
) -> None:
    plan = make_plan()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(plan), "", "0", "200"],
        env=ENVIRONMENT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    out, _ = writer.communicate(timeout=60)
    confirmed = out.decode().split().count("logged")
    database = plan.parent / ".mlplan" / "mlflow.db"
    uri = f"sqlite:///{database}"
    before = runs(uri, "churn") if database.exists() else []
    waiting = outbox(plan)
    ids_before = {run.data.tags["mlplan.submission_id"] for run in before}
    promised = ids_before | {entry["submission"]["submission_id"] for entry in waiting}

    code, _, err = run(capsys, "status", plan, "--today", TODAY)
    assert code == 0, err
    after = runs(uri, "churn") if database.exists() else []
    assert outbox(plan) == []
    assert sorted(submission_ids(after)) == sorted(promised)  # each once, none lost
    assert len(after) >= confirmed
    assert {run.info.status for run in after} <= {"FINISHED"}
    assert "RUNNING" not in err


# -- races: writers and syncs at once on one embedded store ---------------------------------


def test_writers_and_syncs_racing_over_a_full_outbox_deliver_each_result_once(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    journal = Journal(load_plan(plan))
    for n in range(12):
        submission = journal.submission(
            kind="baseline", subject="B2", metrics={"recall": n / 100}, note=f"waiting {n}"
        )
        journal.outbox.put(journal.plan.id, submission, journal.location.destination, "test")
    started = writers(plan, "", 3, 3)
    started += [
        subprocess.Popen(
            [sys.executable, "-m", "mlplan", "sync", str(plan)],
            env=ENVIRONMENT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for process in started:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()
    found = runs(f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}", "churn")
    assert outbox(plan) == []
    assert len(found) == 12 + 9
    assert len(set(submission_ids(found))) == 12 + 9
    assert {run.info.status for run in found} == {"FINISHED"}


# -- starved: nowhere to write ----------------------------------------------------------------


def test_with_neither_store_nor_outbox_writable_the_result_is_refused_aloud(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    home = plan.parent / ".mlplan"
    home.mkdir()
    (home / "mlflow.db").mkdir()  # sqlite cannot open a folder
    (home / "outbox").write_text("a file where the outbox folder should be\n")
    code, _, err = run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6")
    assert code == 1
    assert "could not be kept in the outbox" in err
    assert "nothing was saved" in err
    assert "Traceback" not in err and "bug in mlplan" not in err


def test_a_store_truncated_while_writers_run_keeps_every_result_somewhere(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    assert run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.6")[0] == 0
    database = plan.parent / ".mlplan" / "mlflow.db"
    started = writers(plan, "", 2, 4)
    time.sleep(2.5)
    database.write_bytes(database.read_bytes()[:4096])  # the disk lied, or someone did this
    outputs = [process.communicate(timeout=600) for process in started]
    for _, err in outputs:
        assert b"Traceback" not in err
    lines = b"".join(out for out, _ in outputs).decode().split()
    assert len(lines) == 8  # every call either logged or kept: none vanished without a word
    assert len(outbox(plan)) >= lines.count("kept")
