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
from slot_race import assert_one_counted, paired, race_for_one_slot

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
