"""One result per slot on a team server (issue 16): MLflow's REST API has no conditional
create, so no lock can make a write unique there. Eight writers of seed=1 at once against an
`mlflow server` backed by PostgreSQL, and by MariaDB: each writes, then settles the slot by the
readers' rule; exactly one is counted and every other writer is told it is not."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY
from slot_race import FORMS_WRITER, assert_one_counted, paired, race_for_one_slot

import mlplan

pytestmark = [pytest.mark.server, pytest.mark.chaos]
Server = Any  # tests/team/conftest.py's Server: url, backend, root


@pytest.mark.postgres
def test_eight_writers_of_one_seed_count_once_on_postgres(
    pg_server: Server, make_plan: Callable[..., Path], runs_of: Callable[[str, str], list[Any]]
) -> None:
    _eight_writers_count_once(pg_server.url, make_plan, runs_of)


@pytest.mark.mariadb
def test_eight_writers_of_one_seed_count_once_on_mariadb(
    mariadb_server: Server, make_plan: Callable[..., Path], runs_of: Callable[[str, str], list[Any]]
) -> None:
    _eight_writers_count_once(mariadb_server.url, make_plan, runs_of)


def _eight_writers_count_once(
    url: str, make_plan: Callable[..., Path], runs_of: Callable[[str, str], list[Any]]
) -> None:
    plan_id = f"one-slot-{uuid.uuid4().hex[:8]}"
    plan = paired(make_plan(plan_id=plan_id))
    mlplan.record_result(plan, baseline="B2", metrics={"recall": 0.1}, tracking_uri=url)
    outcomes = race_for_one_slot(plan, 8, url)
    assert_one_counted(plan, outcomes, url)
    # Every run written is kept (nothing is lost), all but one tagged as a duplicate of it.
    runs = [r for r in runs_of(url, plan_id) if r.data.params.get("seed") == "1"]
    tagged = {r.data.tags.get("mlplan.duplicate_of", "") for r in runs}
    counted = [r.info.run_id for r in runs if not r.data.tags.get("mlplan.duplicate_of")]
    assert len(counted) == 1 and tagged <= {"", counted[0]}


@pytest.mark.postgres
def test_eight_script_writers_of_one_seed_in_four_forms_count_once_on_postgres(
    pg_server: Server, make_plan: Callable[..., Path]
) -> None:
    # start_run writers logging seed 1 as "1", "1.0", "1e0" and " 1": one slot for the
    # readers, so one for the writers (two were once told "counted").
    plan = paired(make_plan(plan_id=f"forms-{uuid.uuid4().hex[:8]}"))
    mlplan.record_result(plan, baseline="B2", metrics={"recall": 0.1}, tracking_uri=pg_server.url)
    outcomes = race_for_one_slot(plan, 8, pg_server.url, FORMS_WRITER)
    assert_one_counted(plan, outcomes, pg_server.url)


@pytest.mark.postgres
def test_a_writer_whose_clock_runs_behind_defers_to_a_counted_result_on_postgres(
    pg_server: Server, make_plan: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A was told it counts; B's clock runs 20 s behind, so its run's times come before A's.
    import time

    import mlflow

    from mlplan.errors import NotCountedError

    url = pg_server.url
    plan = paired(make_plan(plan_id=f"skew-{uuid.uuid4().hex[:8]}"))
    counted = mlplan.record_result(
        plan, hypothesis="H2", metrics={"recall": 0.5, "latency_ms": 10}, params={"seed": 1},
        tracking_uri=url,
    ).run_id  # fmt: skip
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 20)
    with (
        pytest.raises(NotCountedError) as refused,
        mlplan.start_run(plan, hypothesis="H2", tracking_uri=url),
    ):
        mlflow.log_param("seed", 1)
        mlflow.log_metric("recall", 0.99)
        mlflow.log_metric("latency_ms", 10)
    monkeypatch.undo()
    assert refused.value.counted == counted
    report = mlplan.status(plan, tracking_uri=url, today=TODAY, refresh=True)
    row = next(r for r in report.rows if r.hypothesis == "H2")
    recall = next(c for c in row.verdict.checks if c.metric == "recall")
    assert row.verdict.runs == 1 and recall.estimate == pytest.approx(0.5)
