"""A run is named by its slot (``H1 · seed=4``) whichever way its result arrives: logged from
the command line (with a note), from a training script's `mlplan.start_run` (whose note named
it while it was open), or by `mlplan run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import Capsys, run
from run_plans import write_plan

import mlplan

pytestmark = pytest.mark.slow  # `mlplan run` starts a process per cell


def _names(plan: Path) -> dict[str, str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{plan.parent / '.mlplan' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mlplan/runs")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], "tags.`mlplan.subject` = 'H1'")
    return {r.data.params["seed"]: r.info.run_name or "" for r in runs}


def test_a_run_is_named_by_its_slot_however_its_result_arrives(
    tmp_path: Path, capsys: Capsys
) -> None:
    import mlflow

    plan = write_plan(tmp_path, design="  pair_values: [4, 5, 6]\n")
    note = ["--note", "tuned by hand"]
    code, _, err = run(
        capsys, "log-result", plan, "-H", "H1", "--metric", "acc=0.9", "-p", "seed=4", *note
    )
    assert code == 0, err
    with mlplan.start_run(plan, hypothesis="H1", note="a training script") as active:
        assert active.info.run_name == "H1 · a training script"  # all it knows while open
        mlflow.log_param("seed", 5)
        mlflow.log_metric("acc", 0.91)
    code, _, err = run(capsys, "run", plan, "H1")
    assert code == 0, err
    assert _names(plan) == {"4": "H1 · seed=4", "5": "H1 · seed=5", "6": "H1 · seed=6"}
