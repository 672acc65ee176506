"""`mlplan run --until decided`: a sequential design runs in waves of -j cells over its
planned pair values in order and stops at the first look that decides it (the verdict's
decided_at), or at max_runs; a fixed horizon (runs: N) runs exactly N."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import Capsys, run
from run_plans import write_plan

from mlplan._api import journal_for, verdicts

pytestmark = pytest.mark.slow

REPORTED = (
    "    - {id: B1, description: b, reported: {source: paper, metrics: {acc: {value: 0.5}}}}\n"
)
STUDY = """\
def clear(seed):  # far above the threshold, hardly varying: a look at n = 3 decides
    return {"acc": 0.9 + seed / 1000}

def close(seed):  # on the threshold: no look decides before max_runs
    return {"acc": 0.7 + (0.05 if seed % 2 else -0.05)}
"""


def until_plan(folder: Path, subjects: dict[str, str]) -> Path:
    """A plan whose hypotheses (id: "entry point; design fields") judge acc >= 0.7."""
    from helpers import TODAY

    text = ""
    for hid, spec in subjects.items():
        entry, _, design = spec.partition(";")
        text += f"""\
    - id: {hid}
      statement: s
      method: m
      metrics: [acc]
      baselines: [B1]
      success_criteria: [{{metric: acc, at_least: 0.7}}]
      timebox: {{days: 10, start: {TODAY.isoformat()}}}
      on_success: {{description: d, then: ship}}
      on_failure: {{description: d, then: stop}}
      entry_point: "study:{entry}"
      exploratory: true
{design}"""
    return write_plan(
        folder,
        design="  pair_values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n  multiplicity: none\n",
        baselines=REPORTED,
        hypotheses=text,
        study=STUDY,
    )


def _logged_order(plan: Path, subject: str) -> list[int]:
    results = journal_for(plan, refresh=True).results()
    mine = sorted((r for r in results if r.subject == subject), key=lambda r: r.logged_at)
    return [int(r.params["seed"]) for r in mine]


def _seeds(plan: Path, subject: str) -> list[int]:
    results = journal_for(plan, refresh=True).results()
    return sorted(int(r.params["seed"]) for r in results if r.subject == subject)


def test_a_sequential_design_stops_at_its_first_deciding_look_and_a_horizon_runs_n(
    tmp_path: Path, capsys: Capsys
) -> None:
    plan = until_plan(
        tmp_path,
        {
            "H1": "clear;      sequential: {max_runs: 10}\n",
            "H2": "close;      sequential: {max_runs: 6}\n",
            "H3": "clear;      runs: 4\n",
        },
    )
    code, out, err = run(
        capsys, "run", plan, "H1", "H2", "H3", "-j", "2", "--until", "decided", "--json"
    )
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    judged = {v.hypothesis: v for v in verdicts(plan)}
    # H1 is decided at its look at n = 3, seen after the wave of two that brought n to 4:
    # the wave in flight finishes, nothing after it starts. Seeds 2 and 3 run in one wave and
    # are logged as they finish; a look waits for every planned seed before the last one
    # logged (slot_gap), so if seed 3 finished first (a loaded machine: it failed CI's
    # rehearsal once) the first look with no gap is at n = 4.
    first_three = sorted(_logged_order(plan, "H1")[:3])
    expected = 3 if first_three == [0, 1, 2] else 4
    assert judged["H1"].decided_at == expected, (first_three, judged["H1"].reason)
    assert _seeds(plan, "H1") == [0, 1, 2, 3]
    assert [e["hypothesis"] for e in events if e["event"] == "decided"] == ["H1"]
    not_needed = [e["cell"] for e in events if e["event"] == "cell_not_needed"]
    assert not_needed == [f"H1 · seed={seed}" for seed in range(4, 10)]
    # H2 never decides before max_runs: exactly its 6 planned runs, none of the 4 beyond.
    assert _seeds(plan, "H2") == [0, 1, 2, 3, 4, 5]
    # H3 has a fixed horizon: exactly N, whatever a look would say.
    assert _seeds(plan, "H3") == [0, 1, 2, 3]
    # Run again, H2 and H3 have every planned cell: nothing starts.
    code, out, _ = run(capsys, "run", plan, "H2", "H3", "--until", "decided", "--json")
    assert code == 0
    assert not [e for e in map(json.loads, out.splitlines()) if e["event"] == "cell_started"]


def test_waves_of_one_look_after_every_result(tmp_path: Path, capsys: Capsys) -> None:
    plan = until_plan(tmp_path, {"H1": "clear;      sequential: {max_runs: 10}\n"})
    code, _, err = run(capsys, "run", plan, "H1", "-j", "1", "--until", "decided")
    assert code == 0, err
    assert _seeds(plan, "H1") == [0, 1, 2]  # the look at n = 3 decided; nothing ran beyond
    [verdict] = verdicts(plan)
    assert verdict.decided_at == 3 and verdict.status == "succeeded", verdict.reason


def test_until_decided_needs_a_planned_n(tmp_path: Path, capsys: Capsys) -> None:
    plan = until_plan(tmp_path, {"H1": "clear;"})
    code, _, err = run(capsys, "run", plan, "H1", "--until", "decided")
    assert code == 2
    assert "--until decided needs a planned n: give H1 a sequential design" in err
