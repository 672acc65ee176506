"""A generated portfolio of plans with results in embedded stores, for `mlplan site`'s browser
tests and benchmarks/bench_site.py.

Writing 10,000 runs through MLflow one by one takes minutes, so one plan's store is written
through mlplan's own store and copied for the others, renamed with plain SQL (the experiment's
name and the ``mlplan.plan`` tags are the only places a plan's id is kept in the store).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

__all__ = ["XSS", "make_portfolio", "portfolio_plan"]

# Plan text that would run script if any page let it through as markup.
XSS = "<img src=x onerror=\"document.title='pwned'\">"

_HEAD = """\
schema_version: 1
id: {plan_id}
title: {title}
owners: [Team {team}]
problem:
  statement: {problem}
  audience: The team.
  why_now: A benchmark.
goals:
  software: [A model.]
  metrics:
    - statement: Reach accuracy 0.8.
      metric: acc
      target: 0.8
metrics:
  - {{key: acc, direction: higher, bounds: [0, 1], description: Accuracy.}}
experiment:
  data_motivation: Generated.
  pair_by: seed
  baselines:
    - {{id: B1, description: A constant.}}
  hypotheses:
"""
_HYPOTHESIS = """\
    - id: H{index}
      statement: {statement}
      method: Train model {index}.
      metrics: [acc]
      baselines: [B1]
      success_criteria:
        - {{metric: acc, at_least: {threshold}}}
      timebox: {{days: {days}, start: {start}}}
      on_success: {{description: Ship it., then: {success}}}
      on_failure: {{description: Try the next one., then: {failure}}}
"""
_TAIL = """\
software_design: {{crawl: Offline., walk: Batch., run: Online.}}
considerations:
  launch_criteria: [Accuracy above 0.8.]
  what_could_go_wrong:
    products_affected: None.
    customer_impact: None.
    monitoring: Weekly.
    rollback: Switch back.
  security: Internal.
  privacy: No personal data.
experiment_log:
  decisions:
    - {{date: {decided}, hypothesis: H1, decision: {decision}}}
"""


def portfolio_plan(
    number: int, hypotheses: int, today: dt.date, *, plan_id: str = "", hostile: bool = False
) -> str:
    """Plan ``number``: hypotheses H1..Hn in a chain (each failure leads to the next), with
    thresholds that make some succeed, some fail and some stay inconclusive on the results
    :func:`make_portfolio` logs; every third hypothesis is already past its deadline."""
    extra = f" {XSS}" if hostile else ""
    text = _HEAD.format(
        plan_id=plan_id or f"plan-{number:03d}",
        title=_quoted(f"Portfolio plan {number}{extra}"),
        problem=_quoted(f"Plan {number} of a generated portfolio.{extra}"),
        team=number % 4,
    )
    for index in range(1, hypotheses + 1):
        late = index % 3 == 0
        start = today - dt.timedelta(days=40 if late else 5)
        text += _HYPOTHESIS.format(
            index=index,
            threshold=(0.5, 0.8, 0.95)[index % 3],
            statement=_quoted(
                f"Model {index} reaches accuracy {(0.5, 0.8, 0.95)[index % 3]}.{extra}"
            ),
            days=30,
            start=start.isoformat(),
            success="ship",
            failure=f"H{index + 1}" if index < hypotheses else "stop",
        )
    decided = (today - dt.timedelta(days=2)).isoformat()
    return text + _TAIL.format(decided=decided, decision=_quoted(f"Keep going.{extra}"))


def _quoted(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _write_store(folder: Path, hypotheses: int, results: int) -> None:
    from mlplan._plan.load import load_plan
    from mlplan._record.journal import Journal

    journal = Journal(load_plan(folder / "plan.yaml"))
    store = journal.store
    for index in range(1, hypotheses + 1):
        for seed in range(results):
            value = 0.7 + 0.1 * ((seed * 7 + index) % 5) / 4  # 0.7 .. 0.8, mean near 0.75
            submission = journal.submission(
                kind="hypothesis",
                subject=f"H{index}",
                metrics={"acc": value},
                params={"seed": seed},
            )
            store.log(submission)


def _rename(database: Path, old: str, new: str) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE experiments SET name = ? WHERE name = ?", (f"mlplan/{new}", f"mlplan/{old}")
        )
        for table in ("experiment_tags", "tags"):
            connection.execute(
                f"UPDATE {table} SET value = ? WHERE key = 'mlplan.plan' AND value = ?",
                (new, old),
            )
    connection.close()


def make_portfolio(
    root: Path,
    plans: int,
    *,
    hypotheses: int = 10,
    results: int = 20,
    today: dt.date,
    hostile: int | None = None,
) -> list[Path]:
    """``plans`` plan folders under ``root`` with ``results`` results per hypothesis each;
    plan number ``hostile`` carries script-like text in every field the site shows."""
    template = root / "_template"
    template.mkdir(parents=True)
    (template / "plan.yaml").write_text(portfolio_plan(0, hypotheses, today, plan_id="template"))
    _write_store(template, hypotheses, results)
    shutil.rmtree(template / ".mlplan" / "cache", ignore_errors=True)
    made = []
    for number in range(plans):
        folder = root / f"plan{number:03d}"
        shutil.copytree(template / ".mlplan", folder / ".mlplan", ignore=_no_locks)
        plan_id = f"plan-{number:03d}"
        text = portfolio_plan(number, hypotheses, today, hostile=number == hostile)
        (folder / "plan.yaml").write_text(text)
        _rename(folder / ".mlplan" / "mlflow.db", "template", plan_id)
        made.append(folder / "plan.yaml")
    shutil.rmtree(template)
    return made


def _no_locks(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name.endswith(".lock") or name in ("cache", "outbox")]
