"""The local copy of a plan's results (mlplan._record.cache): used while nothing changed, dropped by
every mlplan write, bypassed by --refresh, and never trusted when damaged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import TODAY, cli

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal


def recalls(plan: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[float]:
    """The B1 recall values status reads, via the checks' evidence in --json."""
    journal = Journal(load_plan(plan), refresh="--refresh" in extra)
    capsys.readouterr()
    return sorted(r.metrics["recall"] for r in journal.results() if r.subject == "B1")


def edit_outside_mlplan(plan: Path, value: float) -> None:
    """Change a finished run's metric with MLflow's own client, as a script might."""
    from mlflow.tracking import MlflowClient

    journal = Journal(load_plan(plan))
    run_id = journal.results()[0].run_id
    MlflowClient(tracking_uri=journal.location.uri).log_metric(run_id, "recall", value)


def cache_files(plan: Path) -> list[Path]:
    return sorted((plan.parent / ".mlplan" / "cache").glob("results-*.json"))


def test_a_read_is_kept_and_reused_until_something_changes(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    assert cli("log-result", plan, "-B", "B1", "-m", "recall=0.5") == 0
    assert recalls(plan, capsys) == [0.5]
    assert len(cache_files(plan)) == 1

    # An edit made outside mlplan does not change the revision: the copy is still used...
    edit_outside_mlplan(plan, 0.9)
    assert recalls(plan, capsys) == [0.5]
    # ...until --refresh reads the store again (and keeps the fresh copy).
    assert recalls(plan, capsys, "--refresh") == [0.9]
    assert recalls(plan, capsys) == [0.9]


def test_every_mlplan_write_makes_the_copy_stale(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    assert cli("log-result", plan, "-B", "B1", "-m", "recall=0.5") == 0
    assert recalls(plan, capsys) == [0.5]
    assert cli("log-result", plan, "-B", "B1", "-m", "recall=0.6") == 0
    assert recalls(plan, capsys) == [0.5, 0.6]

    # A run made outside mlplan and attached with --run-id.
    from mlflow.tracking import MlflowClient

    journal = Journal(load_plan(plan))
    client = MlflowClient(tracking_uri=journal.location.uri)
    run = client.create_run(journal.store.experiment_id)
    client.log_metric(run.info.run_id, "recall", 0.7)
    client.set_terminated(run.info.run_id, "FINISHED")
    assert recalls(plan, capsys) == [0.5, 0.6]
    assert cli("log-result", plan, "-B", "B1", "--run-id", run.info.run_id) == 0
    assert recalls(plan, capsys) == [0.5, 0.6, 0.7]

    # A run opened through the Python API counts once it finishes.
    import mlflow

    import mlplan

    with mlplan.start_run(plan, baseline="B1"):
        mlflow.log_metric("recall", 0.8)
    assert recalls(plan, capsys) == [0.5, 0.6, 0.7, 0.8]


def test_a_damaged_copy_is_ignored_and_replaced(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    assert cli("log-result", plan, "-B", "B1", "-m", "recall=0.5") == 0
    assert recalls(plan, capsys) == [0.5]
    (copy,) = cache_files(plan)
    for damage in ("{not json", json.dumps({"revision": "x", "results": 3}), "[]"):
        copy.write_text(damage)
        assert recalls(plan, capsys) == [0.5]
    data = json.loads(copy.read_text())
    data["results"][0]["unknown_field"] = 1  # a copy from another version of mlplan
    copy.write_text(json.dumps(data))
    assert recalls(plan, capsys) == [0.5]


def test_status_and_render_offer_refresh(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    assert cli("log-result", plan, "-B", "B1", "-m", "recall=0.5") == 0
    edit_outside_mlplan(plan, 0.9)
    capsys.readouterr()
    assert cli("render", plan, "--today", TODAY) == 0
    assert "0.9" not in capsys.readouterr().out
    assert cli("status", plan, "--json", "--today", TODAY, "--refresh") == 0
    capsys.readouterr()
    assert cli("render", plan, "--today", TODAY) == 0
    assert "0.9" in capsys.readouterr().out
    edit_outside_mlplan(plan, 0.75)
    assert cli("render", plan, "--today", TODAY, "--refresh") == 0
    assert "0.75" in capsys.readouterr().out


def test_a_current_copy_of_an_embedded_store_is_read_without_importing_mlflow(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys

    plan = make_plan()
    assert cli("log-result", plan, "-B", "B1", "-m", "recall=0.5") == 0
    probe = (
        "import sys; from mlplan._cli import main; "
        f"code = main(['status', {str(plan)!r}, '--json', '--today', {TODAY.isoformat()!r}]); "
        "print('MLFLOW' if 'mlflow' in sys.modules else 'NO-MLFLOW', code)"
    )
    runs = [
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout.split()[-2:] == ["MLFLOW", "0"]  # the first read makes the copy
    assert runs[1].stdout.split()[-2:] == ["NO-MLFLOW", "0"]
    assert '"results": 1' in runs[1].stdout
