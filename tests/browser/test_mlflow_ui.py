"""MLflow's own UI, in a real browser, against a real `mlflow server` with a published plan:
what a teammate who opens the experiment sees (issue 19, "checked and not assumed").

Found in MLflow 3.17.2: an experiment's plain URL opens the GenAI overview (traces, none), even
with ``mlflow.experimentKind = custom_model_development``; ``?workflowType=machine_learning``
opens the runs table. Experiment tags (``mlplan.verdict.*``) appear on no page, but the
description (``mlflow.note.content``) is shown folded above the runs, its first line visible:
`mlplan publish` puts the verdicts there. The site links the experiment with that parameter.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY, cli
from test_server import server

from mlplan._site import build_site

pytestmark = [pytest.mark.browser, pytest.mark.server]
__all__ = ["server"]  # the fixture, shared with tests/test_server.py

# The UI behaviour below was checked on these MLflow versions; others may differ.
CHECKED = ((3, 17), (3, 18))


def _mlflow_in_range() -> None:
    import mlflow

    version = tuple(int(part) for part in mlflow.__version__.split(".")[:2])
    if not CHECKED[0] <= version < CHECKED[1]:
        pytest.skip(f"MLflow UI checked on 3.17.x only; this is {mlflow.__version__}")


def _wait_for(driver: Any, text: str, seconds: float = 90) -> str:
    """The page's text once it holds ``text`` (MLflow's UI renders after its API calls)."""
    deadline = time.monotonic() + seconds
    body = ""
    while time.monotonic() < deadline:
        body = str(driver.execute_script("return document.body.innerText"))
        if text in body:
            return body
        time.sleep(0.5)
    raise AssertionError(f"{text!r} never appeared; the page says: {body[:2000]}")


def _settled_url(driver: Any, seconds: float = 90) -> str:
    """The URL once MLflow's UI has chosen its view (it redirects after loading)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        url = str(driver.current_url)
        if "workflowType=" in url:
            return url
        time.sleep(0.5)
    raise AssertionError(f"the UI never chose a view; it is at {driver.current_url}")


@pytest.fixture
def published(server: str, make_plan: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    _mlflow_in_range()
    plan = make_plan(plan_id="ui-check")
    for seed, (base, ours) in enumerate([(0.59, 0.66), (0.60, 0.665), (0.61, 0.67)]):
        for switch, subject, recall in (("-B", "B1", base), ("-H", "H1", ours)):
            arguments = ["-m", f"recall={recall}", "-m", f"recall.loyal={0.9 + seed / 1000}"]
            arguments += ["-p", f"seed={seed}", "--tracking-uri", server]
            assert cli("log-result", plan, switch, subject, *arguments) == 0
    monkeypatch.setenv("MLPLAN_SITE_URL", "https://plans.example/team")
    assert cli("publish", plan, "--tracking-uri", server, "--today", TODAY) == 0
    return plan


def _experiment_id(server: str) -> str:
    import mlflow

    client = mlflow.MlflowClient(server)
    experiment = client.get_experiment_by_name("mlplan/ui-check")
    assert experiment is not None
    return str(experiment.experiment_id)


def test_the_experiment_page_shows_the_runs_and_the_verdicts(
    chromium: Any, server: str, published: Path, tmp_path: Path
) -> None:
    experiment = _experiment_id(server)
    chromium.get(f"{server}/#/experiments/{experiment}")
    # Why every link mlplan makes carries the parameter: the plain URL opens the GenAI view.
    assert "workflowType=genai" in _settled_url(chromium)
    _wait_for(chromium, "Traces")

    site = tmp_path / "site"
    build_site([published], site, tracking_uri=server, today=TODAY)
    chromium.get((site / "plans" / "ui-check" / "index.html").as_uri())
    link = chromium.find_element("id", "experiment-link").get_attribute("href")
    assert urllib.parse.urlsplit(link).netloc == urllib.parse.urlsplit(server).netloc
    chromium.get(link)
    _wait_for(chromium, "6 matching runs")
    body = _wait_for(chromium, "B1 · seed=0")  # the oldest run: the table has every row
    assert "/runs" in chromium.current_url
    names = [f"{subject} · seed={seed}" for subject in ("H1", "B1") for seed in range(3)]
    assert [name for name in names if name not in body] == [], body[:3000]
    # The description's first line, shown folded above the runs: the verdicts.
    assert "Churn model: H1 succeeded, H2 pending (mlplan publish" in body
    chromium.save_screenshot(str(tmp_path / "mlflow-runs.png"))

    # A run linked from the site opens on that run.
    chromium.get((site / "plans" / "ui-check" / "index.html").as_uri())
    runs = [a.get_attribute("href") for a in chromium.find_elements("css selector", "a")]
    run_links = [href for href in runs if "/runs/" in href]
    assert len(run_links) == 3
    chromium.get(run_links[0])
    _wait_for(chromium, "H1 · seed=")


def test_the_description_links_the_plans_page_on_the_site(
    chromium: Any, server: str, published: Path
) -> None:
    import mlflow

    experiment = mlflow.MlflowClient(server).get_experiment(_experiment_id(server))
    note = experiment.tags["mlflow.note.content"]
    assert "https://plans.example/team/plans/ui-check/index.html" in note
    assert "- **H1** succeeded:" in note
    chromium.get(f"{server}/#/experiments/{experiment.experiment_id}?workflowType=machine_learning")
    _wait_for(chromium, "matching runs")
    first_line = "H1 succeeded, H2 pending"
    chromium.find_element(  # the innermost element holding the folded first line
        "xpath", f"//*[contains(., '{first_line}')][not(*[contains(., '{first_line}')])]"
    ).click()
    _wait_for(chromium, "https://plans.example/team/plans/ui-check/index.html", seconds=30)
