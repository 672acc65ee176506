"""A plan's results as CSV (`mlplan status --format csv`): one row per result, for a spreadsheet
or a notebook.

RFC 4180 through the csv module (quoted where needed, CRLF line ends). A cell a spreadsheet
would read as a formula (one starting with = + - @, or a tab or carriage return) gets a leading
apostrophe (OWASP, "CSV Injection"), so a subject, a note or a param value from a plan or a
training script cannot run in the reader's spreadsheet. Numbers are written with repr (the
shortest text that reads back as the same float), and a cell that is a plain number (a
negative metric, a param ``-5``) stays one: a spreadsheet cannot evaluate it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace

from mlplan._judge.evidence import one_per_slot, replaced_runs, slot_order
from mlplan._judge.results import Result
from mlplan._plan.keys import canonical
from mlplan._plan.models import Plan

__all__ = ["counted_state", "results_csv"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(text: str) -> str:
    """A text cell a spreadsheet shows as text, never evaluates; a plain number (``-5``, a
    param's value) stays as it is, since a spreadsheet reads it as the number it is."""
    if not text.startswith(_FORMULA_STARTS) or _is_number(text):
        return text
    return "'" + text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


def counted_state(results: Sequence[Result], plan: Plan) -> dict[str, str]:
    """Each run's standing: ``counted``, ``replaced`` (a later result took its place with
    --replace) or ``duplicate`` (another result held its slot first; not counted)."""
    named = replaced_runs(results, plan)  # the judge's rule: a hand-set tag replaces nothing
    state: dict[str, str] = {}
    live: dict[tuple[str, str], list[Result]] = {}
    for result in sorted(results, key=lambda r: (r.logged_at, r.run_id)):
        if result.run_id in named:
            state[result.run_id] = "replaced"
        else:
            live.setdefault((result.kind, result.subject), []).append(result)
    for (kind, subject), runs in live.items():
        # The judge's own rule (a tag alone does not decide: a run whose tagged twin is absent
        # counts), on params read as the judge reads them ("1.0" and "1" are one slot).
        keyed = [replace(r, params={k: canonical(v) for k, v in r.params.items()}) for r in runs]
        chosen, _ = one_per_slot(keyed, plan.key_params(kind, subject))
        kept = {r.run_id for r in chosen}
        for run in runs:
            state[run.run_id] = "counted" if run.run_id in kept else "duplicate"
    return state


def results_csv(plan: Plan, results: Sequence[Result]) -> str:
    """Columns: subject, kind, the plan's pair keys and conditions, each metric the plan
    declares (then any other logged), run_id, logged_at (ISO 8601), status."""
    keys = list(
        dict.fromkeys(
            name for kind, subject in _subjects(plan) for name in plan.key_params(kind, subject)
        )
    )
    declared = [m.key for m in plan.metrics]
    logged = {key for r in results for key in r.metrics}
    metrics = [k for k in declared if k in logged] + sorted(logged - set(declared))
    state = counted_state(results, plan)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line ends
    writer.writerow([safe(c) for c in ["subject", "kind", *keys, *metrics]] + _TAIL)
    for result in sorted(results, key=lambda r: (_rank(plan, r), *slot_order(r))):
        writer.writerow(
            [
                safe(result.subject),
                result.kind,
                *(safe(str(result.params.get(k, ""))) for k in keys),
                *(repr(result.metrics[m]) if m in result.metrics else "" for m in metrics),
                safe(result.run_id),
                result.logged_at.isoformat(),
                state.get(result.run_id, "counted"),
            ]
        )
    return buffer.getvalue()


_TAIL = ["run_id", "logged_at", "status"]


def _subjects(plan: Plan) -> list[tuple[str, str]]:
    return [("baseline", b.id) for b in plan.experiment.baselines] + [
        ("hypothesis", h.id) for h in plan.experiment.hypotheses
    ]


def _rank(plan: Plan, result: Result) -> int:
    order = {subject: i for i, subject in enumerate(_subjects(plan))}
    return order.get((result.kind, result.subject), len(order))
