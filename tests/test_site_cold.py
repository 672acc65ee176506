"""`mlplan site` reads embedded stores with plain SQL (issue 19's cold build): MLflow is neither
imported nor opened, nothing is written beside the plans, and the pages are the ones MLflow's
own path draws."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TODAY, MakePlan

from mlplan._api import journal_for
from mlplan._record.store import client as store_client
from mlplan._record.store import embedded
from mlplan._site import build_site


def _log(plan: Path, seeds: range, subjects: tuple[str, ...] = ("B1", "H1")) -> None:
    journal = journal_for(plan)
    for seed in seeds:
        for subject in subjects:
            kind = "baseline" if subject.startswith("B") else "hypothesis"
            journal.log(
                journal.submission(
                    kind=kind,  # type: ignore[arg-type]
                    subject=subject,
                    metrics={"recall": 0.6 + seed / 50 + (kind == "hypothesis") / 10},
                    params={"seed": seed},
                )
            )


def _two_plans(make_plan: MakePlan) -> list[Path]:
    """Two plans with results in their embedded stores and no local copy of them."""
    plans = [make_plan("a", plan_id="alpha"), make_plan("b", plan_id="beta")]
    _log(plans[0], range(3))
    _log(plans[1], range(2))
    for plan in plans:
        shutil.rmtree(plan.parent / ".mlplan" / "cache", ignore_errors=True)
    return plans


def _pages(site: Path) -> dict[str, bytes]:
    files = sorted(p for p in site.rglob("*") if p.is_file())
    return {str(p.relative_to(site)): p.read_bytes() for p in files}


def _h1_runs(site: Path, plan_id: str) -> int:
    """The runs the index counts for the plan's H1."""
    index = (site / "index.html").read_text(encoding="utf-8")
    row = rf'data-plan="{plan_id}">.*?>H1</a>.*?data-label="Runs" data-sort="(\d+)"'
    found = re.search(row, index, re.DOTALL)
    assert found is not None
    return int(found[1])


def _mlflow_must_stay_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    def opened(self: object) -> None:
        raise AssertionError("the site build opened MLflow's client")

    monkeypatch.setattr(store_client.MlflowStore, "client", property(opened))


def test_the_pages_are_those_mlflows_own_path_draws(
    make_plan: MakePlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_plans(make_plan)
    with monkeypatch.context() as closed:
        _mlflow_must_stay_closed(closed)
        fast = build_site([tmp_path / "a", tmp_path / "b"], tmp_path / "fast", today=TODAY)
    assert sorted(fast.rendered) == ["alpha", "beta"] and fast.problems == []
    assert not list(tmp_path.glob("*/.mlplan/cache"))  # building only reads
    # The same build with the fast path declining: through the journal, MLflow and the copy.
    monkeypatch.setattr(store_client, "read_embedded", lambda plan, location: None)
    monkeypatch.setattr("mlplan._record.store.read_embedded", lambda plan, location: None)
    slow = build_site([tmp_path / "a", tmp_path / "b"], tmp_path / "slow", today=TODAY)
    assert list(tmp_path.glob("*/.mlplan/cache"))  # that path did open MLflow
    assert _pages(tmp_path / "fast") == _pages(tmp_path / "slow")
    page = (tmp_path / "fast" / "plans" / "alpha" / "index.html").read_text(encoding="utf-8")
    assert page.count("<td>H1</td>") >= 3  # the log shows each H1 result
    assert slow.rendered == fast.rendered


def test_a_rebuild_after_a_new_result_redraws_that_plan_only(
    make_plan: MakePlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha, _ = _two_plans(make_plan)
    site = tmp_path / "site"
    build_site([tmp_path], site, today=TODAY)
    _log(alpha, range(3, 4), ("H1",))
    with monkeypatch.context() as closed:
        _mlflow_must_stay_closed(closed)
        again = build_site([tmp_path], site, today=TODAY)
    assert again.rendered == ["alpha"] and again.unchanged == ["beta"]
    assert _h1_runs(site, "alpha") == 4


def test_a_result_waiting_in_the_outbox_is_delivered_and_shown(
    make_plan: MakePlan, tmp_path: Path
) -> None:
    """As before the fast path: the build delivers what waits, then reads the store."""
    alpha, _ = _two_plans(make_plan)
    journal = journal_for(alpha)
    submission = journal.submission(
        kind="hypothesis", subject="H1", metrics={"recall": 0.7}, params={"seed": 7}
    )
    journal.outbox.put(journal.plan.id, submission, journal.location.destination, "waiting")
    report = build_site([tmp_path / "a"], tmp_path / "site", today=TODAY)
    assert report.problems == []
    assert not list((alpha.parent / ".mlplan" / "outbox").glob("*.json"))
    assert _h1_runs(tmp_path / "site", "alpha") == 4


def test_a_schema_the_fast_path_does_not_know_is_read_through_mlflow(
    make_plan: MakePlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_plans(make_plan)
    monkeypatch.setattr(embedded, "KNOWN_REVISIONS", frozenset({"not-this-one"}))
    report = build_site([tmp_path / "a"], tmp_path / "site", today=TODAY)
    assert report.rendered == ["alpha"] and report.problems == []
    assert _h1_runs(tmp_path / "site", "alpha") == 3


@pytest.mark.slow  # a fresh interpreter (scipy's import alone takes over a second)
def test_a_cold_build_imports_no_mlflow(make_plan: MakePlan, tmp_path: Path) -> None:
    _two_plans(make_plan)
    probe = (
        "import sys; from mlplan._cli import main; "
        f"code = main(['site', {str(tmp_path / 'a')!r}, {str(tmp_path / 'b')!r}, "
        f"'-o', {str(tmp_path / 'site')!r}]); "
        "print('MLFLOW' if 'mlflow' in sys.modules else 'NO-MLFLOW', code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True
    )
    assert done.stdout.split()[-2:] == ["NO-MLFLOW", "0"], done.stderr
    assert (tmp_path / "site" / "plans" / "beta" / "index.html").is_file()
    assert not list(tmp_path.glob("*/.mlplan/cache"))
