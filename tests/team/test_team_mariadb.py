"""The team path once against a MariaDB-backed server (driver PyMySQL): log-result, baseline
run, status and render, read back with MLflow's own client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, cli

pytestmark = [pytest.mark.server, pytest.mark.mariadb]


def test_the_team_flow_on_mariadb(
    mariadb_server: Any,
    make_plan: Callable[..., Path],
    runs_of: Callable[[str, str], list[Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, plan_id = mariadb_server.url, f"maria-{uuid.uuid4().hex[:8]}"
    plan = make_plan(plan_id=plan_id)
    assert cli("baseline", "run", plan, "B1", "--tracking-uri", url) == 0
    for seed in (1, 2, 3):  # enough runs for the judge to decide
        metrics = ("-m", f"recall=0.7{seed}", "-m", f"recall.loyal=0.9{seed}")
        args = ("-H", "H1", *metrics, "-p", f"seed={seed}", "--tracking-uri", url)
        assert cli("log-result", plan, *args) == 0

    capsys.readouterr()
    assert cli("status", plan, "--json", "--today", TODAY, "--tracking-uri", url) == 0
    report = json.loads(capsys.readouterr().out)
    h1 = next(row for row in report["hypotheses"] if row["hypothesis"] == "H1")
    assert (h1["status"], h1["runs"], report["results"]) == ("succeeded", 3, 4)
    doc = plan.parent / "doc.md"
    assert cli("render", plan, "-o", doc, "--today", TODAY, "--tracking-uri", url) == 0
    assert f"Read from {url}: 4 results" in doc.read_text()

    runs = runs_of(url, plan_id)
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert {"H1 · seed=1", "H1 · seed=3"} <= {run.info.run_name for run in runs}
