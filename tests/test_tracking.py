"""The judgement loop on the embedded store: a real sqlite MLflow store in tmp_path."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, cli, edited

import mlplan


def status_json(plan: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    capsys.readouterr()
    assert cli("status", plan, "--json", "--today", TODAY, *extra) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["hypothesis"]: row for row in report["hypotheses"]}


def mlflow_runs(plan: Path) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mlplan/churn")
    return list(client.search_runs([experiment.experiment_id])) if experiment else []


def test_store_lives_beside_the_plan_not_in_the_working_directory(
    make_plan: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert cli("log-result", plan, "--baseline", "B1", "-m", "recall=0.6") == 0

    assert (plan.parent / ".mlplan" / "mlflow.db").is_file()
    assert list(elsewhere.iterdir()) == []


def test_a_result_is_a_self_explaining_mlflow_run(make_plan: Callable[..., Path]) -> None:
    from mlflow.tracking import MlflowClient

    plan = make_plan()
    run_id = mlplan.record_result(
        plan,
        hypothesis="H1",
        metrics={"recall": 0.7, "recall.loyal": 0.9},
        note="seed 1",
        params={"seed": 1},
    ).run_id

    client = MlflowClient(tracking_uri=f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}")
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "mlplan/churn"
    assert "Customers leave without warning." in experiment.tags["mlflow.note.content"]
    tags = run.data.tags
    assert tags["mlplan.plan"] == "churn"
    assert tags["mlplan.kind"] == "hypothesis"
    assert tags["mlplan.subject"] == "H1"
    assert tags["mlflow.note.content"] == "seed 1"
    loaded = mlplan.load_plan(plan).plan
    assert tags["mlplan.criteria_fingerprint"] == mlplan._judge.verdicts.criteria_fingerprint(
        loaded, loaded.hypothesis("H1")
    )
    assert run.data.metrics == {"recall": 0.7, "recall.loyal": 0.9}
    assert run.data.params == {"seed": "1"}
    assert run.info.status == "FINISHED"
    artifacts = [a.path for a in client.list_artifacts(run_id, "plan")]
    assert artifacts == ["plan/plan.yaml"]
    assert Path(experiment.artifact_location.removeprefix("file://")).is_relative_to(plan.parent)


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["-H", "H9", "-m", "recall=1"], "no hypothesis 'H9'", 1),
        (["-H", "H1", "-m", "precision=1"], "unknown metric 'precision'", 1),
        (["-H", "H1", "-m", "recall=nan"], "not a finite number", 1),
        (["-H", "H1", "-m", "recall=inf"], "not a finite number", 1),
        (["-H", "H1", "-m", "recall=high"], "expected a number", 1),
        (["-H", "H1", "-m", "recall=1", "-p", "a#b=1"], "cannot be stored", 1),
        (["-H", "H1", "-m", "recall=1", "-p", "../etc=1"], "cannot be stored", 1),
        (["-H", "H1", "-m", "recall=1", "--reported"], "needs its source", 1),
        # Usage mistakes: exit 2, as for any other wrong switch.
        (["-H", "H1", "-m", "recall"], "is not KEY=VALUE", 2),
        (["-H", "H1"], "at least one metric", 2),
        (["-H", "H1", "-B", "B1", "-m", "recall=1"], "exactly one of", 2),
        (["-H", "H1", "--run-id", "abc", "-m", "recall=1"], "not both", 2),
    ],
)
def test_bad_results_log_nothing(
    make_plan: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    code: int,
) -> None:
    plan = make_plan()
    assert cli("log-result", plan, *args) == code
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (plan.parent / ".mlplan" / "mlflow.db").exists() or mlflow_runs(plan) == []


def test_verdicts_follow_the_results(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    assert cli("baseline", "run", plan, "B1") == 0  # recall 0.6, recall.loyal 0.9
    assert by_id(status_json(plan, capsys))["H1"]["status"] == "pending"

    for recall, loyal in ((0.70, 0.9), (0.71, 0.905), (0.72, 0.895)):
        assert (
            cli(
                "log-result",
                plan,
                "-H",
                "H1",
                "-m",
                f"recall={recall}",
                "-m",
                f"recall.loyal={loyal}",
            )
            == 0
        )
    report = status_json(plan, capsys)
    h1 = by_id(report)["H1"]
    assert report["results"] == 4
    assert h1["status"] == "succeeded"
    assert h1["runs"] == 3
    assert h1["next_action"] == "ship"
    recall_check = next(c for c in h1["checks"] if c["metric"] == "recall")
    assert recall_check["threshold"] == pytest.approx(0.6 * 1.05)
    assert recall_check["value"]["mean"] == pytest.approx(0.71)
    assert by_id(report)["H2"]["status"] == "pending"


def test_a_guardrail_breach_fails_the_hypothesis_and_check_asks_for_a_decision(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    mlplan.run_baselines(plan, ["B1"])
    for loyal in (0.8, 0.79, 0.81):  # far below B1's exact 0.9 less 2%
        mlplan.record_result(plan, hypothesis="H1", metrics={"recall": 0.8, "recall.loyal": loyal})

    h1 = by_id(status_json(plan, capsys))["H1"]
    assert h1["status"] == "failed"
    assert h1["next_hypothesis"] == "H2"
    capsys.readouterr()
    assert cli("status", plan, "--check", "--today", TODAY) == 1
    assert "H1 failed and no decision is recorded" in capsys.readouterr().err

    decided = plan.read_text() + (
        "experiment_log:\n  decisions:\n"
        "    - {date: 2026-11-24, hypothesis: H1, decision: Move on to H2.}\n"
    )
    plan.write_text(decided)
    assert cli("status", plan, "--check", "--today", TODAY) == 0


def test_overdue_hypotheses_fail_the_check(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    late = (TODAY + dt.timedelta(days=36)).isoformat()  # H1's deadline is 5 days after TODAY
    assert by_id(status_json(plan, capsys, "--today", late))["H1"]["status"] == "overdue"
    assert cli("status", plan, "--check", "--today", late) == 1
    assert "H1 is overdue" in capsys.readouterr().err


def test_changed_criteria_show_as_an_amendment(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    mlplan.run_baselines(plan, ["B1"])
    mlplan.record_result(plan, hypothesis="H1", metrics={"recall": 0.7, "recall.loyal": 0.9})
    assert by_id(status_json(plan, capsys))["H1"]["amendment"] is None

    plan.write_text(
        plan.read_text().replace('better_than: B1, by: "5%"', 'better_than: B1, by: "20%"')
    )
    amendment = by_id(status_json(plan, capsys))["H1"]["amendment"]
    assert amendment is not None
    assert '"5%"' in amendment["old_criteria"]
    assert '"20%"' in amendment["new_criteria"]
    assert cli("render", plan, "-o", plan.parent / "doc.md", "--today", TODAY) == 0
    doc = (plan.parent / "doc.md").read_text()
    assert "H1: criteria changed after results were logged, and no amendment is recorded" in doc
    assert "### Deviations from the plan" in doc


def test_reported_results_are_labelled_everywhere(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    assert (
        cli(
            "log-result",
            plan,
            "-B",
            "B2",
            "-m",
            "recall=0.5",
            "--reported",
            "--source",
            "Smith 2024, Table 2",
        )
        == 0
    )
    assert (
        cli(
            "log-result",
            plan,
            "-H",
            "H2",
            "-m",
            "recall=0.85",
            "-m",
            "latency_ms=40",
            "--reported",
            "--source",
            "Smith 2024, Table 3",
        )
        == 0
    )
    mlplan.run_baselines(plan, ["B1"])

    h2 = by_id(status_json(plan, capsys))["H2"]
    assert h2["status"] == "succeeded"
    assert h2["reported"] is True
    doc = mlplan.render_design_doc(plan, plan.parent / "doc.md", today=TODAY)
    assert "succeeded (on reported figures)" in doc
    assert "reported: Smith 2024, Table 3" in doc


def test_training_scripts_log_through_start_run(make_plan: Callable[..., Path]) -> None:
    import mlflow

    plan = make_plan()
    mlplan.run_baselines(plan, ["B1"])
    for seed in range(3):
        with mlplan.start_run(plan, hypothesis="H1", note=f"from a training script, seed {seed}"):
            mlflow.log_metric("recall", 0.9 + seed / 100)
            mlflow.log_metric("recall.loyal", 0.95 + seed / 200)
    with pytest.raises(ZeroDivisionError), mlplan.start_run(plan, hypothesis="H1"):
        mlflow.log_metric("recall", 0.1)
        _ = 1 / 0  # a crashed training run is never judged

    verdict = next(v for v in mlplan.status(plan, today=TODAY).verdicts if v.hypothesis == "H1")
    assert verdict.runs == 3
    assert verdict.status == "succeeded"


def test_start_run_leaves_no_tracking_uri_behind(make_plan: Callable[..., Path]) -> None:
    """mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI; left set, the next plan logged in
    the same process would send its result to the first plan's store."""
    import os

    import mlflow

    first, second = make_plan("first"), make_plan("second", plan_id="other")
    with mlplan.start_run(first, hypothesis="H1", note="seed 0"):
        mlflow.log_metric("recall", 0.9)
    assert "MLFLOW_TRACKING_URI" not in os.environ
    mlplan.record_result(second, baseline="B1", metrics={"recall": 0.5})
    assert (second.parent / ".mlplan" / "mlflow.db").is_file()
    assert [r.subject for r in mlplan.status(second).results] == ["B1"]
    assert [r.subject for r in mlplan.status(first).results] == ["H1"]


def test_an_existing_run_can_be_attached(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import mlflow

    plan = make_plan()
    mlplan.run_baselines(plan, ["B1"])
    # A run made by plain MLflow code (autolog, say) in the plan's experiment.
    experiment = mlflow.MlflowClient(
        tracking_uri=f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}"
    ).get_experiment_by_name("mlplan/churn")
    assert experiment is not None
    mlflow.set_tracking_uri(f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}")
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_metrics({"recall": 0.9, "recall.loyal": 0.95, "loss": 0.1})

    assert cli("log-result", plan, "-H", "H1", "--run-id", run.info.run_id) == 0
    h1 = by_id(status_json(plan, capsys))["H1"]
    # Attached and counted; one run cannot decide a non-exact metric.
    assert (h1["status"], h1["runs"]) == ("inconclusive", 1)
    assert "n = 1; needs ≥ 3" in h1["checks"][0]["explanation"]
    assert cli("log-result", plan, "-H", "H1", "--run-id", "0" * 32) == 1
    assert "no run" in capsys.readouterr().err


def test_baseline_entry_points_and_their_failures(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    module = plan.parent / "churn_baselines.py"
    working = module.read_text()
    # First broken: a cell already in the store is not run again (`baseline run` is `run`).
    module.write_text("def usage_drop():\n    raise KeyError('x')\n")
    assert cli("baseline", "run", plan, "B1") == 1
    assert "failed: KeyError" in capsys.readouterr().err
    module.write_text(working)

    assert cli("baseline", "run", plan) == 0
    out = capsys.readouterr().out
    assert "recall=0.6" in out
    assert "ignored undeclared metrics: unrelated" in out
    assert cli("baseline", "run", plan, "B2") == 1
    assert "declares no entry_point" in capsys.readouterr().err


def test_render_without_a_store_says_the_log_is_not_available(
    make_plan: Callable[..., Path],
) -> None:
    plan = make_plan()
    doc = mlplan.render_design_doc(plan)
    assert "The experiment log was not available: no MLflow store was found" in doc
    assert not (plan.parent / ".mlplan").exists()


def test_render_with_a_log_writes_plots_beside_the_doc(make_plan: Callable[..., Path]) -> None:
    plan = make_plan()
    mlplan.run_baselines(plan, ["B1"])
    for recall, loyal in ((0.7, 0.9), (0.71, 0.905), (0.72, 0.895)):
        mlplan.record_result(
            plan, hypothesis="H1", metrics={"recall": recall, "recall.loyal": loyal}
        )
    output = plan.parent / "docs" / "design.md"

    doc = mlplan.render_design_doc(plan, output, today=TODAY)

    assert output.read_text() == doc
    assert "![H1: results against threshold and baselines](design_plots/H1.png)" in doc
    assert (output.parent / "design_plots" / "H1.png").read_bytes().startswith(b"\x89PNG")
    assert f"judged as of {TODAY}" in doc
    assert "| **H1** | succeeded |" in doc


def test_render_keeps_the_plan_and_doc_as_artifacts_of_one_run(
    make_plan: Callable[..., Path],
) -> None:
    from mlflow.tracking import MlflowClient

    plan = make_plan()
    mlplan.run_baselines(plan, ["B1"])
    mlplan.record_result(plan, hypothesis="H1", metrics={"recall": 0.7, "recall.loyal": 0.9})
    for _ in range(2):
        mlplan.render_design_doc(plan, plan.parent / "design.md")

    client = MlflowClient(tracking_uri=f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mlplan/churn")
    assert experiment is not None
    snapshots = client.search_runs([experiment.experiment_id], "tags.`mlplan.kind` = 'plan'")
    assert len(snapshots) == 1
    artifacts = {a.path for a in client.list_artifacts(snapshots[0].info.run_id)}
    assert {"plan.yaml", "design.md", "plots"} <= artifacts
    assert len(mlplan.status(plan).results) == 2  # the snapshot is not a result


def test_autologging_lands_in_the_hypothesis_run(make_plan: Callable[..., Path]) -> None:
    import mlflow
    from sklearn.linear_model import LinearRegression

    plan = make_plan()
    mlflow.sklearn.autolog(log_models=False, log_datasets=False, silent=True)
    try:
        with mlplan.start_run(plan, hypothesis="H1") as run:
            LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
            mlflow.log_metric("recall", 0.9)
    finally:
        mlflow.sklearn.autolog(disable=True)

    # start_run put the process's tracking URI back, so the plan's store is named here.
    store = f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}"
    logged = mlflow.MlflowClient(tracking_uri=store).get_run(run.info.run_id)
    assert logged.data.params["fit_intercept"] == "True"  # written by autolog
    assert logged.data.tags["mlplan.subject"] == "H1"
    [result] = mlplan.status(plan).results
    assert result.run_id == run.info.run_id


def test_run_names_say_what_differs(make_plan: Callable[..., Path]) -> None:
    # The plan pairs by seed and groups by lam: a name shows those, not a study's extra params
    # (a measured value logged as a param, a setting every run shares) nor the note.
    plan = edited(
        make_plan(),
        "experiment:\n",
        "experiment:\n  pair_by: seed\n  conditions: [lam]\n",
    )
    metrics = ["-m", "recall=0.7", "-m", "recall.loyal=0.9"]
    shared = ["-p", "test_size=0.3"]  # a setting every run shares
    for argv in (
        ["-H", "H1", *metrics, *shared, "-p", "seed=1", "-p", "lam=0.1", "-p", "cv_mse=25.6375"],
        ["-H", "H1", *metrics, *shared, "-p", "seed=2", "-p", "lam=0.1", "--note", "a note"],
        ["-H", "H1", *metrics, *shared, "--note", "a run without a pair key"],
        ["-H", "H1", *metrics, *shared],
        ["-B", "B2", "-m", "recall=0.5", "--reported", "--source", "a paper"],
    ):
        assert cli("log-result", plan, *argv) == 0
    names = sorted(run.info.run_name for run in mlflow_runs(plan))
    assert names == [
        "B2 · reported: a paper",
        "H1 · a run without a pair key",
        "H1 · seed=1, lam=0.1",
        "H1 · seed=2, lam=0.1",
        "H1 · test_size=0.3",  # no key, no note: every param, still telling runs apart
    ]


def test_without_a_pair_key_the_note_then_the_params_name_the_run(
    make_plan: Callable[..., Path],
) -> None:
    plan = make_plan()
    metrics = ["-m", "recall=0.7", "-m", "recall.loyal=0.9"]
    assert cli("log-result", plan, "-H", "H1", *metrics, "-p", "seed=3") == 0
    assert cli("log-result", plan, "-H", "H1", *metrics, "--note", "more  trees") == 0
    assert cli("log-result", plan, "-H", "H1", *metrics) == 0
    names = sorted(run.info.run_name for run in mlflow_runs(plan))
    assert names == ["H1 · hypothesis", "H1 · more trees", "H1 · seed=3"]


def test_two_runs_in_one_second_never_share_their_cells_folders(
    make_plan: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`baseline run` twice in one process within a second once shared its run folder, so the
    second run's cell read the first's failure as its own result (found merging issue 16's
    fixes: a cell's results now add up within its folder)."""
    import datetime as dt
    import types

    from mlplan._run import driver

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Frozen:
            return cls(2026, 1, 1, tzinfo=tz)

    monkeypatch.setattr(driver, "dt", types.SimpleNamespace(datetime=Frozen, UTC=dt.UTC))
    plan = make_plan()
    module = plan.parent / "churn_baselines.py"
    working = module.read_text()
    module.write_text("def usage_drop():\n    raise KeyError('x')\n")
    assert cli("baseline", "run", plan, "B1") == 1
    module.write_text(working)
    assert cli("baseline", "run", plan, "B1") == 0, capsys.readouterr().err
    assert len(list((plan.parent / ".mlplan" / "runs").iterdir())) == 2
