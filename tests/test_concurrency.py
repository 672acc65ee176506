"""Parallel first writers on a brand-new embedded store: nothing lost, nothing corrupted."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal

PROCESSES = 8
CALLS = 25

WRITER = textwrap.dedent(
    """
    import sys
    import mlplan

    plan, writer, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for call in range(calls):
        mlplan.record_result(plan, baseline="B1", metrics={"recall": 0.5},
                             note=f"writer {writer} call {call}")
    """
)


@pytest.mark.slow
def test_parallel_writers_on_a_fresh_store_lose_nothing(make_plan: Callable[..., Path]) -> None:
    plan = make_plan()
    assert not (plan.parent / ".mlplan").exists()
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(plan), str(n), str(CALLS)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(PROCESSES)
    ]
    failures = []
    for writer in writers:
        _, err = writer.communicate(timeout=600)
        if writer.returncode != 0:
            failures.append(err.decode()[-2000:])
    assert failures == []

    results = Journal(load_plan(plan)).results()
    notes = sorted(result.note for result in results)
    expected = sorted(f"writer {n} call {c}" for n in range(PROCESSES) for c in range(CALLS))
    assert notes == expected
