"""Extreme but finite metric values, non-finite thresholds and strict JSON (issue 8).

A value near the top of the float range (1e154 squared overflows) must never crash ``status``
or ``render``: the verdict is computed, or honestly inconclusive with its reason. ``status
--json`` must parse with a strict JSON parser whatever the data (a single run, zero spread).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers import PLAN, Capsys, MakePlan, run

from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal


def _strict(text: str) -> object:
    """json.loads that refuses NaN and Infinity, as strict parsers (JavaScript, Go) do."""

    def refuse(constant: str) -> object:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


# recall without its bounds [0, 1]: these tests are about values far past any bounds, which
# log-result refuses for a bounded metric (issue 16).
UNBOUNDED = PLAN.format(plan_id="churn").replace(", bounds: [0, 1]", "")


def _log(capsys: Capsys, plan: Path, subject: tuple[str, str], values: dict[str, float]) -> None:
    metrics = [part for key, value in values.items() for part in ("-m", f"{key}={value!r}")]
    code, _, err = run(capsys, "log-result", str(plan), *subject, *metrics)
    assert code == 0, err


EXTREMES = [
    pytest.param([1e154, 2e154], [1e154, 3e154], id="1e154"),
    pytest.param([1e300, 1e300], [1e300, 1.5e300], id="1e300"),
    pytest.param([-1e300, 1e300], [-1e300, 1e300], id="both-signs"),
    pytest.param([0.5, 1e300], [0.6, 0.61], id="mixed-with-small"),
    pytest.param([1e308, 1.7e308], [-1.7e308, 1e308], id="near-max"),
]


@pytest.mark.parametrize(("subject_values", "baseline_values"), EXTREMES)
def test_huge_finite_values_never_crash_status_or_render(
    make_plan: MakePlan,
    capsys: Capsys,
    tmp_path: Path,
    subject_values: list[float],
    baseline_values: list[float],
) -> None:
    plan = make_plan(text=UNBOUNDED)
    for value in baseline_values:
        _log(capsys, plan, ("-B", "B1"), {"recall": value, "recall.loyal": value})
    for value in subject_values:
        _log(capsys, plan, ("-H", "H1"), {"recall": value, "recall.loyal": value})
        _log(capsys, plan, ("-H", "H2"), {"recall": value, "latency_ms": value})

    code, out, err = run(capsys, "status", str(plan))
    assert code in (0, 1), err
    assert "Traceback" not in out + err
    assert "H1" in out

    code, out, err = run(capsys, "status", str(plan), "--json")
    assert code in (0, 1), err
    report = _strict(out)
    assert isinstance(report, dict)
    if max(map(abs, subject_values + baseline_values)) > 1e150:
        # Not tested, and said why: the t statistics would overflow.
        assert "log the metric in larger units" in out, out
    statuses = {row["hypothesis"]: row["status"] for row in report["hypotheses"]}
    assert statuses["H1"] in {"succeeded", "failed", "inconclusive"}
    for verdict in report["hypotheses"]:
        if verdict["status"] == "inconclusive":
            assert verdict["reason"]

    output = tmp_path / "out" / "plan.md"
    code, out, err = run(capsys, "render", str(plan), "-o", str(output))
    assert code in (0, 1), err
    assert "Traceback" not in out + err
    assert output.exists()


def test_huge_values_against_a_measured_baseline_are_inconclusive(
    make_plan: MakePlan, capsys: Capsys, tmp_path: Path
) -> None:
    # B1 measured (not exact): the comparison would be a Welch t-test on both groups.
    plan = make_plan(text=UNBOUNDED.replace("      exact: true\n", "", 1))
    for value in (0.5, 1e300):
        _log(capsys, plan, ("-B", "B1"), {"recall": value, "recall.loyal": value})
    for value in (-1e300, 0.7):
        _log(capsys, plan, ("-H", "H1"), {"recall": value, "recall.loyal": value})
    code, out, err = run(capsys, "status", str(plan), "--json")
    assert code in (0, 1), err
    report = _strict(out)
    assert isinstance(report, dict)
    row = next(row for row in report["hypotheses"] if row["hypothesis"] == "H1")
    assert row["status"] == "inconclusive"
    assert all("larger units" in check["explanation"] for check in row["checks"])
    code, out, err = run(capsys, "render", str(plan), "-o", str(tmp_path / "doc.md"))
    assert code in (0, 1), err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("values", "reference"),
    [
        pytest.param([0.7], 0.6, id="single-run"),
        pytest.param([0.7, 0.7, 0.7], 0.6, id="zero-spread"),
        # B1 is exact: 5% above its 1.75e308 is past the float range, an infinite threshold.
        pytest.param([1.75e308, 1.75e308], 1.75e308, id="threshold-overflows"),
    ],
)
def test_status_json_is_strict_json(
    make_plan: MakePlan, capsys: Capsys, values: list[float], reference: float
) -> None:
    plan = make_plan(text=UNBOUNDED)
    _log(capsys, plan, ("-B", "B1"), {"recall": reference, "recall.loyal": reference})
    for value in values:
        _log(capsys, plan, ("-H", "H1"), {"recall": value, "recall.loyal": value})
        _log(capsys, plan, ("-H", "H2"), {"recall": value, "latency_ms": value})
    code, out, err = run(capsys, "status", str(plan), "--json")
    assert code in (0, 1), err
    report = _strict(out)
    assert isinstance(report, dict)
    assert {row["hypothesis"] for row in report["hypotheses"]} >= {"H1", "H2"}


@pytest.mark.parametrize("diverged", [math.inf, -math.inf])
def test_a_diverged_run_is_refused_and_status_json_stays_strict(
    make_plan: MakePlan, capsys: Capsys, diverged: float
) -> None:
    # A run made outside mlplan (a training loop that diverged): MLflow stores the infinity as
    # ±float max, which attaching refuses as the non-finite value it stands for.
    from mlflow.tracking import MlflowClient

    plan = make_plan(text=UNBOUNDED)
    _log(capsys, plan, ("-B", "B1"), {"recall": 0.6, "recall.loyal": 0.9})
    _log(capsys, plan, ("-H", "H1"), {"recall": 0.7, "recall.loyal": 0.9})
    journal = Journal(load_plan(plan))
    client = MlflowClient(tracking_uri=journal.location.uri)
    made = client.create_run(journal.store.experiment_id)
    client.log_metric(made.info.run_id, "recall", diverged)
    client.log_metric(made.info.run_id, "recall.loyal", diverged)
    client.set_terminated(made.info.run_id, "FINISHED")
    code, _, err = run(capsys, "log-result", str(plan), "-H", "H1", "--run-id", made.info.run_id)
    assert code == 1, err
    assert "is not a finite number" in err and "Traceback" not in err

    code, out, err = run(capsys, "status", str(plan), "--json")
    assert code in (0, 1), err
    report = _strict(out)
    assert isinstance(report, dict)
    row = next(row for row in report["hypotheses"] if row["hypothesis"] == "H1")
    assert row["runs"] == 1
