"""Team mode against a real `mlflow server` on 127.0.0.1, and the outbox for a dead one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, cli, free_port

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal

pytestmark = pytest.mark.server


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"mlflow server at {url} did not become healthy in {seconds} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real tracking server with a sqlite backend and proxied artifacts, all in tmp."""
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "HOME": str(root)}
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{root / 'backend.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--workers",
        "1",
    ]
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen(
            command, cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_healthy(url, process, seconds=120)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def statuses(plan: Path, uri: str, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert cli("status", plan, "--json", "--today", TODAY, "--tracking-uri", uri) == 0
    report = json.loads(capsys.readouterr().out)
    return {row["hypothesis"]: row | {"results": report["results"]} for row in report["hypotheses"]}


def test_the_same_flow_works_against_a_server(
    server: str, make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(plan_id="team-flow")
    assert cli("baseline", "run", plan, "B1", "--tracking-uri", server) == 0
    for recall in (0.70, 0.71, 0.72):
        assert (
            cli(
                "log-result",
                plan,
                "-H",
                "H1",
                "-m",
                f"recall={recall}",
                "-m",
                f"recall.loyal={recall + 0.2}",  # some spread: no spread decides nothing
                "--tracking-uri",
                server,
            )
            == 0
        )

    h1 = statuses(plan, server, capsys)["H1"]
    assert (h1["status"], h1["runs"], h1["results"]) == ("succeeded", 3, 4)
    assert (
        cli(
            "render", plan, "-o", plan.parent / "doc.md", "--today", TODAY, "--tracking-uri", server
        )
        == 0
    )
    doc = (plan.parent / "doc.md").read_text()
    assert f"Read from {server}: 4 results" in doc
    assert (plan.parent / "doc_plots" / "H1.png").is_file()
    assert not (plan.parent / ".mlplan" / "mlflow.db").exists()


def test_mlflow_tracking_uri_selects_the_server(
    server: str,
    make_plan: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = make_plan(plan_id="env-flow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    assert cli("log-result", plan, "-B", "B1", "-m", "recall=0.5") == 0
    assert f"in {server}" in capsys.readouterr().out


def test_a_dead_server_fails_fast_and_the_result_waits_in_the_outbox(
    server: str, make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(plan_id="outbox-flow")
    dead = f"http://127.0.0.1:{free_port()}"

    started = time.monotonic()
    code = cli(
        "log-result",
        plan,
        "-H",
        "H1",
        "-m",
        "recall=0.7",
        "-m",
        "recall.loyal=0.9",
        "--note",
        "logged while the server was down",
        "--tracking-uri",
        dead,
    )
    elapsed = time.monotonic() - started

    assert code == 1
    assert elapsed < 10
    err = capsys.readouterr().err
    assert "did not answer" in err
    assert "mlplan sync" in err
    assert "Traceback" not in err
    assert len(list((plan.parent / ".mlplan" / "outbox").glob("*.json"))) == 1

    # It was meant for the dead server: another store never receives it, and says it waits.
    assert (
        cli(
            "log-result",
            plan,
            "-B",
            "B1",
            "-m",
            "recall=0.6",
            "-m",
            "recall.loyal=0.9",
            "--tracking-uri",
            server,
        )
        == 0
    )
    assert len(list((plan.parent / ".mlplan" / "outbox").glob("*.json"))) == 1
    assert cli("sync", plan, "--tracking-uri", server) == 0
    captured = capsys.readouterr()
    assert "Delivered 0 waiting results" in captured.out
    assert f"waits for {dead}" in captured.err
    h1 = statuses(plan, server, capsys)["H1"]
    assert (h1["runs"], h1["status"]) == (0, "pending")


def test_a_delivery_interrupted_after_the_run_was_created_is_not_duplicated(
    server: str, make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(plan_id="exactly-once")
    journal = Journal(load_plan(plan), server)
    submission = journal.submission(kind="baseline", subject="B1", metrics={"recall": 0.6})
    journal.outbox.put(journal.plan.id, submission, journal.location.destination)
    journal.store.log(submission)  # got through, but the process died before tidying up

    assert cli("sync", plan, "--tracking-uri", server) == 0
    assert "Delivered 1 waiting result " in capsys.readouterr().out
    assert [r.subject for r in Journal(load_plan(plan), server).results()] == ["B1"]


def test_render_and_status_with_a_dead_server(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(plan_id="dead-render")
    dead = f"http://127.0.0.1:{free_port()}"

    started = time.monotonic()
    assert cli("render", plan, "--tracking-uri", dead) == 0
    assert "The experiment log was not available" in capsys.readouterr().out
    assert cli("status", plan, "--tracking-uri", dead) == 1
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert "did not answer" in err
    assert "Traceback" not in err
