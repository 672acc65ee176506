"""The team path end to end against `mlflow server` backed by PostgreSQL: log-result, baseline
run, status, render, sync and publish, as a team would use them, read back with MLflow's own
client."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, cli

import mlplan

pytestmark = [pytest.mark.server, pytest.mark.postgres]
Server = Any  # tests/team/conftest.py's Server: url, backend, root


def new_plan_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def experiment(uri: str, plan_id: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri).get_experiment_by_name(f"mlplan/{plan_id}")


def log(plan: Path, uri: str, *args: str) -> None:
    assert cli("log-result", plan, *args, "--tracking-uri", uri) == 0


def test_the_team_flow_on_postgres(
    pg_server: Server,
    make_plan: Callable[..., Path],
    status_json: Callable[..., dict[str, Any]],
    runs_of: Callable[[str, str], list[Any]],
) -> None:
    url, plan_id = pg_server.url, new_plan_id("team-flow")
    plan = make_plan(plan_id=plan_id)
    assert cli("baseline", "run", plan, "B1", "--tracking-uri", url) == 0
    for seed, recall in ((1, 0.70), (2, 0.71), (3, 0.72)):
        log(plan, url, "-H", "H1", "-m", f"recall={recall}", "-m", f"recall.loyal=0.9{seed}",
            "-p", f"seed={seed}")  # fmt: skip

    report = status_json(plan, url)
    h1 = next(row for row in report["hypotheses"] if row["hypothesis"] == "H1")
    assert (h1["status"], h1["runs"], report["results"]) == ("succeeded", 3, 4)

    doc = plan.parent / "doc.md"
    assert cli("render", plan, "-o", doc, "--today", TODAY, "--tracking-uri", url) == 0
    assert f"Read from {url}: 4 results" in doc.read_text()

    runs = runs_of(url, plan_id)
    names = sorted(run.info.run_name for run in runs)
    assert names == [
        "B1 · measured by running churn_baselines:usage_drop",
        "H1 · seed=1",
        "H1 · seed=2",
        "H1 · seed=3",
        "plan · design doc",
    ]
    assert {run.info.status for run in runs} == {"FINISHED"}
    # The experiment opens on the classic model-training view, not the GenAI overview.
    assert experiment(url, plan_id).tags["mlflow.experimentKind"] == "custom_model_development"


def test_cli_and_api_runs_carry_the_same_plan_snapshot(
    pg_server: Server, make_plan: Callable[..., Path], runs_of: Callable[[str, str], list[Any]]
) -> None:
    from mlflow.tracking import MlflowClient

    url, plan_id = pg_server.url, new_plan_id("snapshot")
    plan = make_plan(plan_id=plan_id)
    log(plan, url, "-H", "H1", "-m", "recall=0.7", "--note", "from the CLI")
    with mlplan.start_run(plan, hypothesis="H1", note="from the API", tracking_uri=url) as run:
        import mlflow

        mlflow.log_metric("recall", 0.8)
    assert run.info.run_id

    client = MlflowClient(tracking_uri=url)
    runs = {run.info.run_name: run for run in runs_of(url, plan_id)}
    assert set(runs) == {"H1 · from the CLI", "H1 · from the API"}
    digests = {run.data.tags["mlplan.plan_sha256"] for run in runs.values()}
    assert len(digests) == 1
    for each in runs.values():
        assert [a.path for a in client.list_artifacts(each.info.run_id, "plan")] == [
            "plan/plan.yaml"
        ]
    results = mlplan.status(plan, tracking_uri=url).results
    assert sorted(result.note for result in results) == ["from the API", "from the CLI"]


def test_publish_writes_verdicts_and_status_never_does(
    pg_server: Server, make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow.tracking import MlflowClient

    url, plan_id = pg_server.url, new_plan_id("publish")
    plan = make_plan(plan_id=plan_id)
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=plan.parent, check=True)
    subprocess.run([*git, "add", "plan.yaml"], cwd=plan.parent, check=True)
    subprocess.run([*git, "commit", "-qm", "plan"], cwd=plan.parent, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=plan.parent, capture_output=True, text=True, check=True
    ).stdout.strip()
    log(plan, url, "-B", "B1", "-m", "recall=0.6", "-m", "recall.loyal=0.9")
    for recall in (0.70, 0.71, 0.72):  # enough runs, with some spread, for the judge to decide
        log(plan, url, "-H", "H1", "-m", f"recall={recall}", "-m", f"recall.loyal={recall + 0.2}")

    assert cli("status", plan, "--tracking-uri", url, "--today", TODAY) == 0
    assert not any(key.startswith("mlplan.verdict.") for key in experiment(url, plan_id).tags)

    capsys.readouterr()
    assert cli("publish", plan, "--tracking-uri", url, "--today", TODAY) == 0
    assert "Published 2 verdicts: H1 succeeded, H2 pending" in capsys.readouterr().out
    tags = experiment(url, plan_id).tags
    assert (tags["mlplan.verdict.H1"], tags["mlplan.verdict.H2"]) == ("succeeded", "pending")
    assert tags["mlplan.published.commit"] == commit
    assert tags["mlplan.evidence.H1"].endswith("(3 runs)")
    fingerprint = tags["mlplan.criteria.H1"]
    found = MlflowClient(tracking_uri=url).search_experiments(
        filter_string="tags.`mlplan.verdict.H1` = 'succeeded'"
    )
    assert f"mlplan/{plan_id}" in {each.name for each in found}

    # A teammate's uncommitted edit (a higher bar for H1), run through status: nothing changes
    # for everyone else until it is published; and a change of criteria after results is
    # published only once it is recorded (issue 16: publish refuses what the gate refuses).
    plan.write_text(plan.read_text().replace('by: "5%"', 'by: "50%"'))
    assert cli("status", plan, "--tracking-uri", url, "--today", TODAY) == 0
    assert experiment(url, plan_id).tags["mlplan.verdict.H1"] == "succeeded"
    capsys.readouterr()
    assert cli("publish", plan, "--tracking-uri", url, "--today", TODAY) == 1
    assert "the record does not hold" in capsys.readouterr().err
    assert experiment(url, plan_id).tags["mlplan.verdict.H1"] == "succeeded"
    assert cli("amend", plan, "H1", "--reason", "A higher bar.", "--tracking-uri", url) == 0
    assert cli("publish", plan, "--tracking-uri", url, "--today", TODAY) == 0
    tags = experiment(url, plan_id).tags
    assert tags["mlplan.verdict.H1"] != "succeeded"
    assert tags["mlplan.criteria.H1"] != fingerprint
    assert tags["mlplan.published.commit"] == f"{commit} (plan file modified)"


def test_a_result_kept_for_a_dead_server_is_synced_to_it_when_it_is_back(  # noqa: PLR0917
    pg_server: Server,
    make_plan: Callable[..., Path],
    runs_of: Callable[[str, str], list[Any]],
    start_server: Callable[..., Any],
    unused_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan_id = new_plan_id("sync")
    plan = make_plan(plan_id=plan_id)
    port = unused_port
    later = f"http://127.0.0.1:{port}"
    assert cli("log-result", plan, "-H", "H1", "-m", "recall=0.7", "--tracking-uri", later) == 1
    assert "did not answer" in capsys.readouterr().err
    assert runs_of(pg_server.url, plan_id) == []

    # The server comes back (a second process on the same database, at the same address).
    with start_server(plan.parent.parent / "again", pg_server.backend, port=port, workers=1):
        assert cli("sync", plan, "--tracking-uri", later) == 0
    assert "Delivered 1 waiting result " in capsys.readouterr().out
    runs = runs_of(pg_server.url, plan_id)
    assert [(run.data.metrics, run.info.status) for run in runs] == [({"recall": 0.7}, "FINISHED")]


def test_the_local_copy_follows_every_mlplan_write_and_refresh_sees_outside_edits(
    pg_server: Server,
    make_plan: Callable[..., Path],
    status_json: Callable[..., dict[str, Any]],
    runs_of: Callable[[str, str], list[Any]],
) -> None:
    from mlflow.tracking import MlflowClient

    url, plan_id = pg_server.url, new_plan_id("cache")
    plan = make_plan(plan_id=plan_id)
    log(plan, url, "-B", "B1", "-m", "recall=0.6")
    assert status_json(plan, url)["results"] == 1
    assert list((plan.parent / ".mlplan" / "cache").glob("results-*.json"))

    # Another machine (another folder, so another local copy) logs; this reader sees it.
    elsewhere = make_plan(folder="teammate", plan_id=plan_id)
    log(elsewhere, url, "-B", "B1", "-m", "recall=0.62")
    assert status_json(plan, url)["results"] == 2

    # A run made outside mlplan, then attached with --run-id: counted at once.
    client = MlflowClient(tracking_uri=url)
    outside = client.create_run(experiment(url, plan_id).experiment_id)
    client.log_metric(outside.info.run_id, "recall", 0.9)
    client.set_terminated(outside.info.run_id, "FINISHED")
    assert status_json(plan, url)["results"] == 2
    log(elsewhere, url, "-H", "H1", "--run-id", outside.info.run_id)
    assert status_json(plan, url)["results"] == 3

    # A run deleted in the MLflow UI changes nothing mlplan can see: --refresh reads it anew.
    client.delete_run(outside.info.run_id)
    assert status_json(plan, url)["results"] == 3
    assert status_json(plan, url, "--refresh")["results"] == 2
    assert len(runs_of(url, plan_id)) == 3
