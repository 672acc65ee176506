"""One result per subject and pair key (issue 7, item 3), on a real embedded MLflow store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODAY

import mlplan
from mlplan._cli import main
from mlplan.errors import ResultError

SEEDED_BASELINE = """\
def usage_drop(seed=0):
    return {"recall": 0.6 + seed / 100, "recall.loyal": 0.9}
"""


@pytest.fixture
def paired_plan(make_plan: Callable[..., Path]) -> Path:
    plan = make_plan()
    text = plan.read_text().replace(
        "  data_motivation: Each churner costs 300 EUR a year.\n",
        "  data_motivation: Each churner costs 300 EUR a year.\n  pair_by: seed\n",
    )
    plan.write_text(text)
    (plan.parent / "churn_baselines.py").write_text(SEEDED_BASELINE)
    return plan


def test_a_second_result_for_the_same_key_is_refused(paired_plan: Path) -> None:
    first = mlplan.record_result(
        paired_plan, hypothesis="H1", metrics={"recall": 0.7}, params={"seed": 3}
    ).run_id
    with pytest.raises(ResultError, match=f"already has a result for seed=3 \\(run {first}\\)"):
        mlplan.record_result(
            paired_plan, hypothesis="H1", metrics={"recall": 0.9}, params={"seed": 3}
        )
    # Another seed is a new result, and the same values again are deduplicated.
    mlplan.record_result(paired_plan, hypothesis="H1", metrics={"recall": 0.71}, params={"seed": 4})
    again = mlplan.record_result(
        paired_plan, hypothesis="H1", metrics={"recall": 0.7}, params={"seed": 3}
    ).run_id
    assert again == first
    from mlplan._api import journal_for

    results = journal_for(paired_plan).results()
    assert sorted(r.params["seed"] for r in results) == ["3", "4"]


def test_a_replacement_needs_a_reason_and_shows(paired_plan: Path) -> None:
    first = mlplan.record_result(
        paired_plan, hypothesis="H1", metrics={"recall": 0.7}, params={"seed": 3}
    ).run_id
    with pytest.raises(ResultError, match=r"say why run \w+ is replaced") as refused:
        mlplan.record_result(
            paired_plan,
            hypothesis="H1",
            metrics={"recall": 0.9},
            params={"seed": 3},
            replace=first,
        )
    assert refused.value.arguments == ("reason",)  # the CLI names its --reason switch
    second = mlplan.record_result(
        paired_plan,
        hypothesis="H1",
        metrics={"recall": 0.9},
        params={"seed": 3},
        replace=first,
        reason="seed 3 ran on the wrong split",
    ).run_id
    (verdict, _) = mlplan.status(paired_plan, today=TODAY).verdicts
    assert verdict.runs == 1
    assert verdict.replacements == (
        f"run {second} replaced run {first}: seed 3 ran on the wrong split",
    )
    doc = mlplan.render_design_doc(paired_plan, today=TODAY)
    deviations = doc.split("### Deviations from the plan", 1)[1]
    assert f"result {second} replaced result {first}" in deviations
    assert "seed 3 ran on the wrong split" in deviations


def test_the_cli_refuses_then_replaces(
    paired_plan: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["log-result", str(paired_plan), "-H", "H1", "-p", "seed=1"]
    assert main([*args, "-m", "recall=0.7"]) == 0
    first = capsys.readouterr().out.split("run ")[1].split()[0]
    assert main([*args, "-m", "recall=0.8"]) == 1
    assert "--replace" in capsys.readouterr().err
    assert main([*args, "-m", "recall=0.8", "--replace", first, "--reason", "bad data"]) == 0


def test_baseline_run_passes_params_to_the_entry_point(
    paired_plan: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for seed in ("0", "1", "2"):
        assert main(["baseline", "run", str(paired_plan), "B1", "--param", f"seed={seed}"]) == 0
    # Running seed 0 again gives the same values: deduplicated, not a second result.
    assert main(["baseline", "run", str(paired_plan), "B1", "--param", "seed=0"]) == 0
    from mlplan._api import journal_for

    results = [r for r in journal_for(paired_plan).results() if r.subject == "B1"]
    assert sorted((r.params["seed"], r.metrics["recall"]) for r in results) == [
        ("0", 0.6),
        ("1", 0.61),
        ("2", 0.62),
    ]
    capsys.readouterr()
    assert main(["status", str(paired_plan), "--json", "--today", TODAY.isoformat()]) == 0
    report = json.loads(capsys.readouterr().out)
    row = report["hypotheses"][0]
    assert {"runs_needed", "confirmatory", "explanation"} <= set(row)
    assert all("explanation" in check for check in row["checks"])


@pytest.mark.parametrize(
    ("metrics", "params"),
    [
        # latency_ms has no bounds: doubled, every value is still a valid result.
        ({"recall": 0.4, "latency_ms": 0.9}, {}),
        ({"latency_ms": 1.5e20}, {}),  # repr gives "1.5e+20", which MLflow's parser refuses
        ({"latency_ms": 0.7}, {"note": "MLflow's filter has no escape for a quote"}),
        ({"latency_ms": -3.45e-09}, {"lr": "1e-3"}),
        ({"latency_ms": 0.1 + 0.2}, {"path": "a\\b"}),
    ],
    ids=["plain", "e+20", "quote", "negative-tiny", "backslash"],
)
def test_the_same_result_again_is_found_by_the_store_whatever_its_values(
    make_plan: Callable[..., Path], metrics: dict[str, float], params: dict[str, str]
) -> None:
    # Without a pair key, the duplicate check asks the store for runs equal in params and
    # values (or, for a value its filter cannot carry, reads the subject's results): either
    # way the same result logged twice is one run, and a different value is a new one.
    plan = make_plan()
    first = mlplan.record_result(plan, hypothesis="H1", metrics=metrics, params=params).run_id
    assert (
        mlplan.record_result(plan, hypothesis="H1", metrics=metrics, params=params).run_id == first
    )
    other = {key: value * 2 for key, value in metrics.items()}
    assert mlplan.record_result(plan, hypothesis="H1", metrics=other, params=params).run_id != first
    from mlplan._api import journal_for

    assert len(journal_for(plan).results()) == 2


def test_among_many_results_the_slot_is_found_by_the_store(
    paired_plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten results, not thirty: the spy below proves the store is asked, whatever the count
    # (each result is an MLflow run, ~70 ms).
    for seed in range(10):
        mlplan.record_result(
            paired_plan,
            hypothesis="H1",
            metrics={"recall": 0.7 + seed / 1000},
            params={"seed": seed},
        )
    # The check asks the store for seed 7's runs; it never reads H1's 10 results one by one.
    from mlplan._record.store import MlflowStore

    read_all: list[str | None] = []
    every = MlflowStore.results

    def spy(self: MlflowStore, kind: Any = None, subject: str | None = None) -> Any:
        read_all.append(subject)
        return every(self, kind, subject)

    monkeypatch.setattr(MlflowStore, "results", spy)
    with pytest.raises(ResultError, match="already has a result for seed=7"):
        mlplan.record_result(
            paired_plan, hypothesis="H1", metrics={"recall": 0.1}, params={"seed": 7}
        )
    assert "H1" not in read_all
