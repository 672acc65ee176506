"""Plans for the tests of `mlplan run`: a small design whose subjects say how they run."""

from __future__ import annotations

from pathlib import Path

from helpers import TODAY

__all__ = ["write_plan"]

HEAD = """\
schema_version: 1
id: {plan_id}
title: Runs
problem: {{statement: s, audience: a, why_now: w}}
goals:
  software: [x]
  metrics: [{{statement: s, metric: acc, target: 0.05}}]
metrics:
  - {{key: acc, direction: higher, description: d, bounds: [0, 1]}}
experiment:
  data_motivation: d
  pair_by: seed
"""
TAIL = """\
software_design: {crawl: c, walk: w, run: r}
considerations:
  launch_criteria: [x]
  what_could_go_wrong: {products_affected: p, customer_impact: c, monitoring: m, rollback: r}
  security: s
  privacy: p
"""


def hypothesis(hid: str, how: str, baselines: str = "[B1]") -> str:
    return f"""\
    - id: {hid}
      statement: s
      method: m
      metrics: [acc]
      baselines: {baselines}
      success_criteria: [{{metric: acc, better_than: B1}}]
      timebox: {{days: 10, start: {TODAY.isoformat()}}}
      on_success: {{description: d, then: ship}}
      on_failure: {{description: d, then: stop}}
      {how}
"""


def write_plan(
    folder: Path,
    *,
    design: str = "  pair_values: [0, 1, 2]\n",
    baselines: str = '    - {id: B1, description: b, entry_point: "study:baseline"}\n',
    hypotheses: str = "",
    study: str = "",
    plan_id: str = "runs",
) -> Path:
    """A plan in ``folder`` with ``study.py`` beside it; ``hypotheses`` default to one H1
    whose entry point is study:model."""
    folder.mkdir(parents=True, exist_ok=True)
    hypotheses = hypotheses or hypothesis("H1", 'entry_point: "study:model"')
    text = HEAD.format(plan_id=plan_id) + design
    text += "  baselines:\n" + baselines + "  hypotheses:\n" + hypotheses + TAIL
    plan = folder / "plan.yaml"
    plan.write_text(text, encoding="utf-8")
    (folder / "study.py").write_text(
        study
        or "def baseline(seed):\n    return {'acc': 0.5 + seed / 100, 'other': 1}\n\n"
        "def model(seed):\n    return {'acc': 0.8 + seed / 100}\n",
        encoding="utf-8",
    )
    return plan
