"""Many writers of one slot at once (issue 16): the race the embedded and server tests share.

Each writer is a separate process running ``mlplan log-result ... -p seed=1``, released
together by a barrier file once it has paid for importing mlflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from helpers import TODAY, edited

import mlplan

__all__ = ["FORMS_WRITER", "assert_one_counted", "paired", "race_for_one_slot"]

PAIR = "  data_motivation: Each churner costs 300 EUR a year.\n"


def paired(plan: Path) -> Path:
    return edited(plan, PAIR, PAIR + "  pair_by: seed\n")


SLOT_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import mlflow  # before the barrier: the race is between writes, not imports
    from mlplan._cli import main

    plan, writer, go, *uri = sys.argv[1:]
    Path(go + f".ready{writer}").touch()
    while not Path(go).exists():
        time.sleep(0.002)
    extra = ["--tracking-uri", uri[0]] if uri else []
    sys.exit(main(["log-result", plan, "-H", "H2", "-m", f"recall=0.9{writer}",
                   "-m", "latency_ms=10", "-p", "seed=1", *extra]))
    """
)


# A training script's writer: start_run, with seed 1 logged in one of four forms that are one
# slot (keys.canonical), so that the writers' slot searches must compare canonical values.
FORMS_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import mlflow
    import mlplan
    from mlplan.errors import NotCountedError

    plan, writer, go, *uri = sys.argv[1:]
    Path(go + f".ready{writer}").touch()
    while not Path(go).exists():
        time.sleep(0.002)
    try:
        with mlplan.start_run(plan, hypothesis="H2", tracking_uri=uri[0] if uri else None):
            mlflow.log_param("seed", ["1", "1.0", "1e0", " 1"][int(writer) % 4])
            mlflow.log_metric("recall", float(f"0.9{writer}"))
            mlflow.log_metric("latency_ms", 10)
    except NotCountedError as refused:
        print(refused)
        sys.exit(1)
    """
)


def race_for_one_slot(
    plan: Path, count: int, uri: str = "", script: str = SLOT_WRITER
) -> list[tuple[int, str]]:
    """``count`` processes log seed=1 at once (released together by a barrier file); each one's
    exit code and output."""
    gate = plan.parent / "go"
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(plan), str(n), str(gate), *([uri] * bool(uri))],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 300
    while len(list(plan.parent.glob("go.ready*"))) < count:
        assert time.monotonic() < deadline, "writers never got ready"
        time.sleep(0.02)
    gate.touch()
    outcomes = []
    for writer in writers:
        out, err = writer.communicate(timeout=600)
        outcomes.append((writer.returncode, out.decode() + err.decode()))
    return outcomes


def assert_one_counted(plan: Path, outcomes: list[tuple[int, str]], uri: str = "") -> None:
    counted = [text for code, text in outcomes if code == 0]
    assert len(counted) == 1, outcomes
    for code, text in outcomes:
        if code != 0:
            assert code == 1 and "not counted" in text and "Traceback" not in text, text
    report = mlplan.status(plan, tracking_uri=uri or None, today=TODAY, refresh=True)
    row = next(r for r in report.rows if r.hypothesis == "H2")
    assert row.verdict.runs == 1, row
    assert {check.n for check in row.verdict.checks} == {1}
