"""Tags anyone with edit rights can set or delete in MLflow's UI (issue 16's second adversarial
pass): a replacement mlplan did not write, or a result stripped of its criteria stamp, must not
make results vanish from a verdict or escape the frozen-criteria review. Real embedded stores
in tmp_path, edited with MLflow's own client as the UI would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import TODAY, Capsys, MakePlan, run
from test_frozen_record import B1, FAILING, failed, log

from mlplan._judge.results import Result
from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal

__all__ = ["failed"]  # the fixture, shared with test_frozen_record
TAG = "mlplan."


def client_and_runs(plan: Path) -> tuple[Any, list[Result]]:
    from mlflow.tracking import MlflowClient

    journal = Journal(load_plan(plan))
    return MlflowClient(journal.location.uri), journal.stored_results()


def runs_of(results: list[Result], subject: str) -> list[str]:
    return sorted(r.run_id for r in results if r.subject == subject)


def h1_row(plan: Path, capsys: Capsys) -> dict[str, Any]:
    code, out, _ = run(capsys, "status", plan, "--json", "--refresh", "--today", TODAY)
    assert code == 0
    rows: list[dict[str, Any]] = json.loads(out)["hypotheses"]
    return rows[0]


# --------------------------------------------------------------------- forged replacements


def test_a_replaced_by_tag_naming_no_run_drops_nothing_and_fails_the_gate(
    failed: Path, capsys: Capsys
) -> None:
    # Attack 7: every H1 run "replaced by" a run that does not exist.
    client, results = client_and_runs(failed)
    for run_id in runs_of(results, "H1"):
        client.set_tag(run_id, f"{TAG}replaced_by", "0" * 32)
    row = h1_row(failed, capsys)
    assert (row["status"], row["runs"]) == ("failed", 3)
    code, _, err = run(capsys, "status", failed, "--check", "--today", TODAY)
    assert code == 1
    first = runs_of(results, "H1")[0]
    assert f"H1 run {first} is tagged mlplan.replaced_by={'0' * 32}" in err
    assert "not written by mlplan" in err


def test_a_replaces_tag_on_another_subjects_run_drops_nothing_and_fails_the_gate(
    failed: Path, capsys: Capsys
) -> None:
    # Attack 8: B1 runs claim to replace H1 runs, with a reason, as --replace would tag them.
    client, results = client_and_runs(failed)
    pairs = list(zip(runs_of(results, "B1"), runs_of(results, "H1"), strict=True))
    for b1, h1 in pairs:
        client.set_tag(b1, f"{TAG}replaces", h1)
        client.set_tag(b1, f"{TAG}reason", "a bad split")
        client.set_tag(h1, f"{TAG}replaced_by", b1)
    assert h1_row(failed, capsys)["runs"] == 3
    code, _, err = run(capsys, "status", failed, "--check", "--today", TODAY)
    assert code == 1
    b1, h1 = pairs[0]
    assert f"H1 run {h1} is tagged mlplan.replaced_by={b1}" in err
    assert "is a result of baseline B1, not of H1" in err


def test_a_replacement_in_another_slot_is_not_one(make_plan: MakePlan, capsys: Capsys) -> None:
    # The same subject with a reason, but seed 2 "replacing" seed 0: not what --replace does.
    failed = make_plan()
    failed.write_text(
        failed.read_text().replace("  baselines:\n", "  pair_by: seed\n  baselines:\n", 1)
    )
    log(failed, "baseline", "B1", B1)
    log(failed, "hypothesis", "H1", FAILING)
    client, results = client_and_runs(failed)
    by_seed = {r.params["seed"]: r.run_id for r in results if r.subject == "H1"}
    client.set_tag(by_seed["2"], f"{TAG}replaces", by_seed["0"])
    client.set_tag(by_seed["2"], f"{TAG}reason", "a bad split")
    client.set_tag(by_seed["0"], f"{TAG}replaced_by", by_seed["2"])
    assert h1_row(failed, capsys)["runs"] == 3
    code, _, err = run(capsys, "status", failed, "--check", "--today", TODAY)
    assert code == 1
    assert "has another seed (2)" in err


def test_a_real_replacement_still_counts_and_passes(failed: Path, capsys: Capsys) -> None:
    _, results = client_and_runs(failed)
    seed0 = next(r.run_id for r in results if r.subject == "H1" and r.params["seed"] == "0")
    code, _, err = run(
        capsys, "log-result", failed, "-H", "H1", "-m", "recall=0.55", "-m", "recall.loyal=0.9",
        "-p", "seed=0", "--replace", seed0, "--reason", "a bad split",
    )  # fmt: skip
    assert code == 0, err
    assert h1_row(failed, capsys)["runs"] == 3
    _, _, err = run(capsys, "status", failed, "--check", "--today", TODAY)
    assert "not written by mlplan" not in err


def test_a_replacement_in_another_slot_is_refused_when_logged(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    # What the judge does not honour, --replace does not write.
    plan = make_plan()
    plan.write_text(
        plan.read_text().replace("  baselines:\n", "  pair_by: seed\n  baselines:\n", 1)
    )
    log(plan, "hypothesis", "H1", FAILING)
    _, results = client_and_runs(plan)
    seed0 = next(r.run_id for r in results if r.params["seed"] == "0")
    code, _, err = run(
        capsys, "log-result", plan, "-H", "H1", "-m", "recall=0.9", "-m", "recall.loyal=0.9",
        "-p", "seed=7", "--replace", seed0, "--reason", "a bad split",
    )  # fmt: skip
    assert code == 1
    assert "a replacement re-runs the same slot: log it with -p seed=0" in err


# ----------------------------------------------------------------------- a deleted stamp


def test_results_stripped_of_their_stamp_fail_the_gate(failed: Path, capsys: Capsys) -> None:
    # Attacks 9, 17: delete the stamp, then relax the criteria by hand: no stamp, no review.
    client, results = client_and_runs(failed)
    for run_id in runs_of(results, "H1"):
        client.delete_tag(run_id, f"{TAG}criteria")
        client.delete_tag(run_id, f"{TAG}criteria_fingerprint")
    text = failed.read_text()
    failed.write_text(text.replace('better_than: B1, by: "5%"', "at_least: 0.1", 1))
    code, _, err = run(capsys, "status", failed, "--check", "--today", TODAY)
    assert code == 1
    assert "H1: 3 results carry no criteria stamp: " in err
    assert all(run_id in err for run_id in runs_of(results, "H1"))
    assert any("no criteria stamp" in note for note in h1_row(failed, capsys)["notes"])


def test_a_stamped_record_passes(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    log(plan, "baseline", "B1", B1)  # a baseline result carries no stamp, by design
    log(plan, "hypothesis", "H2", [0.85, 0.86, 0.87])
    _, _, err = run(capsys, "status", plan, "--check", "--today", TODAY)
    assert "no criteria stamp" not in err
