"""`mlplan site`: the pages, their escaping, and rebuilding only what changed (browser checks
are in tests/browser/)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from helpers import PLAN, TODAY, Capsys, MakePlan, edited, run

from mlplan._api import journal_for
from mlplan._site import build_site
from mlplan._site.svg import decision_graph_svg
from mlplan.errors import OutputError

XSS = '<img src=x onerror="alert(1)">'


def _log(plan: Path) -> None:
    journal = journal_for(plan)
    for seed in range(3):
        for kind, subject, recall in (("baseline", "B1", 0.6), ("hypothesis", "H1", 0.67)):
            journal.log(
                journal.submission(
                    kind=kind,  # type: ignore[arg-type]
                    subject=subject,
                    metrics={"recall": recall + seed / 100, "recall.loyal": 0.9},
                    params={"seed": seed},
                )
            )


def test_the_index_has_a_row_per_hypothesis_and_a_page_per_plan(
    make_plan: MakePlan, tmp_path: Path
) -> None:
    make_plan("a", plan_id="alpha")
    make_plan("b", plan_id="beta")
    report = build_site([tmp_path], tmp_path / "site", today=TODAY)
    assert sorted(report.rendered) == ["alpha", "beta"] and report.problems == []
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<tr data-status="', index)) == 4  # two hypotheses each
    assert 'href="plans/alpha/index.html#h-1"' in index
    assert f"as of {TODAY}" in index
    page = (tmp_path / "site" / "plans" / "beta" / "index.html").read_text(encoding="utf-8")
    assert "<h2>Design doc</h2>" in page and "<table>" in page  # Markdown became HTML
    assert '<img src="graph.svg"' in page and "language-mermaid" not in page
    assert "fetch(" not in index and "http://" not in index.replace("http://www.w3.org", "")


def test_plan_text_is_escaped_everywhere(make_plan: MakePlan, tmp_path: Path) -> None:
    text = PLAN.format(plan_id="evil").replace("Churn model", f"Churn {XSS}")
    text = text.replace("Adding support tickets reaches recall 0.8.", f"Tickets {XSS}")
    text = text.replace("Customers leave without warning.", f"Leave {XSS}")
    make_plan("evil", text=text)
    build_site([tmp_path / "evil"], tmp_path / "site", today=TODAY)
    for page in [*(tmp_path / "site").rglob("*.html"), *(tmp_path / "site").rglob("*.svg")]:
        content = page.read_text(encoding="utf-8")
        assert "<img src=x" not in content, page
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Tickets &lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in index
    graph = (tmp_path / "site" / "plans" / "evil" / "graph.svg").read_text(encoding="utf-8")
    assert "Tickets &lt;img src=x" in graph


def test_a_rebuild_redraws_only_plans_whose_file_or_results_changed(
    make_plan: MakePlan, tmp_path: Path
) -> None:
    alpha = make_plan("a", plan_id="alpha")
    make_plan("b", plan_id="beta")
    site = tmp_path / "site"
    build_site([tmp_path], site, today=TODAY)
    again = build_site([tmp_path], site, today=TODAY)
    assert again.rendered == [] and sorted(again.unchanged) == ["alpha", "beta"]
    edited(alpha, "title: Churn model", "title: Churn model, edited")
    assert build_site([tmp_path], site, today=TODAY).rendered == ["alpha"]
    tomorrow = TODAY + dt.timedelta(days=1)  # overdue and days left change with the date
    assert sorted(build_site([tmp_path], site, today=tomorrow).rendered) == ["alpha", "beta"]


@pytest.mark.slow  # MLflow writes six runs (~8 s on 2 busy cores)
def test_new_results_redraw_the_plan_with_its_evidence(make_plan: MakePlan, tmp_path: Path) -> None:
    alpha = make_plan("a", plan_id="alpha")
    make_plan("b", plan_id="beta")
    site = tmp_path / "site"
    build_site([tmp_path], site, today=TODAY)
    _log(alpha)  # results change the store's revision
    assert build_site([tmp_path], site, today=TODAY).rendered == ["alpha"]
    assert build_site([tmp_path], site, today=TODAY).rendered == []
    page = (site / "plans" / "alpha" / "index.html").read_text(encoding="utf-8")
    assert "evidence-0.svg" in page and (site / "plans" / "alpha" / "evidence-0.svg").is_file()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "3 / " in index  # H1's three runs


def test_a_plan_no_longer_found_loses_its_page(make_plan: MakePlan, tmp_path: Path) -> None:
    make_plan("a", plan_id="alpha")
    beta = make_plan("b", plan_id="beta")
    site = tmp_path / "site"
    build_site([tmp_path / "a", tmp_path / "b"], site, today=TODAY)
    beta.unlink()
    build_site([tmp_path / "a", tmp_path / "b"], site, today=TODAY)
    assert not (site / "plans" / "beta").exists() and (site / "plans" / "alpha").is_dir()
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    assert [entry["id"] for entry in manifest["plans"].values()] == ["alpha"]


def test_a_folder_mlplan_did_not_build_is_not_written_into(
    make_plan: MakePlan, tmp_path: Path
) -> None:
    make_plan()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match=r"no manifest\.json"):
        build_site([tmp_path / "project"], tmp_path / "mine", today=TODAY)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


def test_the_command_reports_an_unreadable_plan_and_exits_1(
    make_plan: MakePlan, tmp_path: Path, capsys: Capsys
) -> None:
    make_plan()
    (tmp_path / "project" / "broken.yaml").write_text("schema_version: 1\nid: [\n")
    code, _, err = run(capsys, "site", tmp_path / "project", "-o", tmp_path / "site")
    assert code == 1
    assert "1 plan page drawn" in err and "broken.yaml" in err
    assert (tmp_path / "site" / "plans" / "churn" / "index.html").is_file()
    code, _, err = run(capsys, "site", tmp_path / "nowhere", "-o", tmp_path / "site")
    assert code == 1 and "no such plan file or folder" in err


def test_the_decision_graph_is_layered_by_the_longest_path(make_plan: MakePlan) -> None:
    from mlplan._plan.load import load_plan

    plan = load_plan(make_plan()).plan  # H1 -failure-> H2; H1 -> ship; H2 -> ship, stop
    svg = decision_graph_svg(plan, {"H1": "failed"})
    rows = {
        label: float(y)
        for y, label in re.findall(r'<rect x="[\d.]+" y="([\d.]+)"[^>]*/><text[^>]*>([^<:]+)', svg)
    }
    assert rows["H1"] < rows["H2"] < rows["ship"] == rows["stop"]
    assert svg.count('class="edge"') == 4 and "H1: failed" in svg


def test_published_verdicts_lead_the_experiment_description(make_plan: MakePlan) -> None:
    from mlplan._judge.verdicts import judge
    from mlplan._plan.load import load_plan
    from mlplan._record.publish import NOTE_TAG, verdict_tags

    plan = load_plan(make_plan()).plan
    verdicts = judge(plan, [], TODAY)
    page = "https://plans.example/plans/churn/index.html"
    note = verdict_tags(plan, verdicts, "abc", TODAY, page)[NOTE_TAG]
    first, *rest = note.splitlines()
    assert first == f"**Churn model**: H1 pending, H2 pending (mlplan publish, {TODAY})"
    assert "- **H2** pending: no result yet (0 runs)" in rest
    assert f"The plan, its evidence and decisions: {page}" in rest
    assert "Customers leave without warning." in rest
    assert page not in verdict_tags(plan, verdicts, "abc", TODAY)[NOTE_TAG]


def test_the_forest_plot_draws_each_check_against_its_threshold(make_plan: MakePlan) -> None:
    from mlplan._judge.results import Result
    from mlplan._judge.verdicts import judge
    from mlplan._plan.load import load_plan
    from mlplan._site.svg import forest_svg

    plan = load_plan(make_plan()).plan
    logged = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    results = [
        Result(
            f"r{seed}",
            "hypothesis",
            "H2",
            {"recall": 0.9 + seed / 100, "latency_ms": 40.0 + seed},
            logged,
        )
        for seed in range(4)
    ]
    [verdict] = [v for v in judge(plan, results, TODAY) if v.hypothesis == "H2"]
    svg = forest_svg(verdict)
    assert svg is not None
    assert svg.count("<rect x=") == len(verdict.checks) == 2  # a marker per check
    assert "recall ≥ 0.8" in svg and "latency_ms ≤ 50" in svg and "threshold" in svg
    assert forest_svg(judge(plan, [], TODAY)[0]) is None  # no interval, no plot


@pytest.mark.slow  # a fresh mlplan process
def test_the_action_builds_the_site_only_when_asked(make_plan: MakePlan, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import yaml
    from helpers import REPO

    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert action["inputs"]["site-dir"]["default"] == ""  # off by default
    [step] = [s for s in action["runs"]["steps"] if "site.sh" in s.get("run", "")]
    assert "inputs.site-dir != ''" in step["if"]
    plan = make_plan()
    environment = {**os.environ, "MLPLAN_PLANS": str(plan), "MLPLAN_SITE_DIR": str(tmp_path / "s")}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    subprocess.run(["bash", str(REPO / "ci" / "site.sh")], env=environment, check=True, timeout=120)
    assert (tmp_path / "s" / "plans" / "churn" / "index.html").is_file()
