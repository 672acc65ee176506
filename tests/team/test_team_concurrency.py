"""Many writers at once against a database-backed server: every result lands, every process
succeeds, no run is left RUNNING. Writers are separate processes released together by a
barrier (a file each waits for), after they have paid for importing mlflow."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal

pytestmark = [pytest.mark.server, pytest.mark.slow]

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import mlflow  # before the barrier: the race is between requests, not imports
    import mlplan
    from mlplan._cli import main

    plan, uri, writer, calls, go = sys.argv[1:6]
    Path(go + f".ready{writer}").touch()
    while not Path(go).exists():
        time.sleep(0.005)
    if calls == "cli":
        sys.exit(main(["log-result", plan, "-H", "H1", "-m", "recall=0.7", "-m",
                       "recall.loyal=0.9", "-p", f"writer={writer}", "--tracking-uri", uri]))
    for call in range(int(calls)):
        mlplan.record_result(plan, baseline="B1", metrics={"recall": 0.5}, tracking_uri=uri,
                             note=f"writer {writer} call {call}")
    """
)


def release_writers(plan: Path, uri: str, count: int, calls: str, gate: Path) -> list[str]:
    """Start ``count`` writers, open the barrier once all are ready; the failures' stderr."""
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(plan), uri, str(n), calls, str(gate)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 300
    while len(list(gate.parent.glob(f"{gate.name}.ready*"))) < count:
        assert time.monotonic() < deadline, "writers never got ready"
        assert all(w.poll() is None for w in writers), "a writer died before the barrier"
        time.sleep(0.05)
    gate.touch()
    failures = []
    for writer in writers:
        _, err = writer.communicate(timeout=900)
        if writer.returncode != 0:
            failures.append(f"exit {writer.returncode}: {err.decode(errors='replace')[-1500:]}")
    return failures


@pytest.fixture(params=["pg_server", "mariadb_server"])
def server_url(request: pytest.FixtureRequest) -> str:
    marker = pytest.mark.postgres if request.param == "pg_server" else pytest.mark.mariadb
    request.applymarker(marker)
    return str(request.getfixturevalue(request.param).url)


def test_sixteen_first_writers_on_a_new_plan_all_land(
    server_url: str,
    make_plan: Callable[..., Path],
    tmp_path: Path,
    runs_of: Callable[[str, str], list[Any]],
) -> None:
    plan_id = f"first-writers-{uuid.uuid4().hex[:8]}"
    plan = make_plan(plan_id=plan_id)
    failures = release_writers(plan, server_url, 16, "cli", tmp_path / "go")
    assert failures == []
    runs = runs_of(server_url, plan_id)
    assert sorted(run.data.params["writer"] for run in runs) == sorted(str(n) for n in range(16))
    assert {run.info.status for run in runs} == {"FINISHED"}


def test_eight_writers_times_twenty_five_results(
    server_url: str,
    make_plan: Callable[..., Path],
    tmp_path: Path,
    runs_of: Callable[[str, str], list[Any]],
) -> None:
    plan_id = f"many-writers-{uuid.uuid4().hex[:8]}"
    plan = make_plan(plan_id=plan_id)
    failures = release_writers(plan, server_url, 8, "25", tmp_path / "go")
    assert failures == []

    runs = runs_of(server_url, plan_id)
    assert len(runs) == 200
    assert {run.info.status for run in runs} == {"FINISHED"}
    # Read through mlplan, twice: the second read is served by the local copy and must agree.
    expected = sorted(f"writer {n} call {c}" for n in range(8) for c in range(25))
    for _ in range(2):
        results = Journal(load_plan(plan), server_url).results()
        assert sorted(result.note for result in results) == expected
