"""A run carries the plan its result was checked and stamped under (the digest tag
``mlplan.plan_sha256`` and the artifact ``plan/plan.yaml``): the plan as it was read, not as
the file is when the result is written. An entry point that edited plan.yaml during `mlplan
run` once changed what every later run of that `run` recorded, and one that deleted it sent
the results to the outbox blaming the database (issue 16)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers import Capsys, MakePlan, run
from run_plans import write_plan

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal
from mlplan._record.location import locate_store
from mlplan._record.store import store_errors
from mlplan.errors import StoreUnreachableError


def stamps(plan_folder: Path, plan_id: str) -> dict[str, tuple[str, bytes]]:
    """Each run's subject, its plan digest tag and its plan artifact's bytes."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{plan_folder / '.mlplan' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(f"mlplan/{plan_id}")
    assert experiment is not None
    found = {}
    for each in client.search_runs([experiment.experiment_id], "tags.`mlplan.kind` != 'plan'"):
        artifact = Path(client.download_artifacts(each.info.run_id, "plan/plan.yaml"))
        found[each.data.tags["mlplan.subject"]] = (
            each.data.tags["mlplan.plan_sha256"],
            artifact.read_bytes(),
        )
    return found


def log(journal: Journal, baseline: str) -> str:
    submission = journal.submission(kind="baseline", subject=baseline, metrics={"recall": 0.5})
    return journal.log(submission).run_id


def test_a_result_carries_the_plan_it_was_checked_under_when_the_file_changes(
    make_plan: MakePlan,
) -> None:
    plan = make_plan()
    read = plan.read_bytes()
    journal = Journal(load_plan(plan))
    log(journal, "B1")
    plan.write_bytes(read + b"# edited while the results were being logged\n")
    log(journal, "B2")
    as_read = (hashlib.sha256(read).hexdigest(), read)
    assert stamps(plan.parent, "churn") == {"B1": as_read, "B2": as_read}


def test_a_plan_file_deleted_after_it_was_read_still_stamps_the_result(
    make_plan: MakePlan,
) -> None:
    plan = make_plan()
    read = plan.read_bytes()
    journal = Journal(load_plan(plan))
    plan.unlink()
    log(journal, "B1")  # once: StoreUnreachableError, "check that the database is intact"
    assert stamps(plan.parent, "churn") == {"B1": (hashlib.sha256(read).hexdigest(), read)}
    assert list((plan.parent / ".mlplan" / "outbox").glob("*.json")) == []


def test_a_file_gone_outside_the_store_is_named_and_the_store_is_not_blamed(
    make_plan: MakePlan,
) -> None:
    plan = make_plan()
    with (
        pytest.raises(StoreUnreachableError) as raised,
        store_errors(locate_store(plan)),
    ):
        raise FileNotFoundError(2, "No such file or directory", str(plan))
    assert str(raised.value) == (
        f"{plan} is gone (deleted or moved while mlplan was running); the store itself is not "
        "at fault. Put the file back, then run `mlplan sync`."
    )


EDITS = """\
import os

def edits(seed):
    plan = os.environ["MLPLAN_PLAN"]
    with open(plan, "a") as stream:
        stream.write("# edited by a cell\\n")
    return {"acc": 0.6}

def good(seed):
    return {"acc": 0.5}

def deletes(seed):
    os.unlink(os.environ["MLPLAN_PLAN"])
    return {"acc": 0.7}
"""


@pytest.mark.chaos
def test_every_result_of_one_run_carries_the_plan_the_run_started_under(
    tmp_path: Path, capsys: Capsys
) -> None:
    reported = (
        "    - {id: B1, description: b, reported: {source: paper, metrics: {acc: {value: 0.5}}}}\n"
    )
    baselines = reported + "".join(
        f'    - {{id: B{name}, description: b, entry_point: "study:{name}"}}\n'
        for name in ("edits", "good", "deletes")
    )
    plan = write_plan(tmp_path, design="  pair_values: [0]\n", baselines=baselines, study=EDITS)
    read = plan.read_bytes()
    code, _, err = run(capsys, "run", plan, "Bedits", "Bgood", "-j", "1")
    assert code == 0, err
    code, _, err = run(capsys, "run", plan, "Bdeletes")
    assert code == 0, err
    assert not plan.exists()
    as_read = (hashlib.sha256(read).hexdigest(), read)
    edited = read + b"# edited by a cell\n"
    as_edited = (hashlib.sha256(edited).hexdigest(), edited)
    # The second run read the plan as the first left it, then its cell deleted it.
    assert stamps(tmp_path, "runs") == {"Bedits": as_read, "Bgood": as_read, "Bdeletes": as_edited}
