"""The plan's record as the design doc shows it: what changed in the criteria, in words, and
the rows of the Decisions and Deviations tables.

Kept apart from ``_decisions`` so that a plan-only render (no experiment log) imports neither
the judge nor numpy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mlplan._models import CriteriaAmendment, Plan, RecordedVerdict
from mlplan._results import Result

if TYPE_CHECKING:
    from mlplan._decisions import Deviation, FrozenReview
    from mlplan._judge import Verdict

__all__ = [
    "change_lines",
    "decision_rows",
    "deviation_rows",
    "replacement_rows",
    "setting_changes",
]


def setting_changes(before: str, after: str) -> list[tuple[str, str, str]]:
    """(setting, before, after) for every setting that differs between two criteria texts.

    The texts are the judge's canonical JSON; one that does not parse (a stamp cut short by
    MLflow's tag limit, say) is compared as a whole.
    """
    try:
        old, new = json.loads(before), json.loads(after)
    except ValueError:
        return [("criteria", before, after)] if before != after else []
    return list(_differences("", old, new))


_ABSENT = object()


def _differences(where: str, old: Any, new: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            inner = f"{where}.{key}" if where else str(key)
            yield from _differences(inner, old.get(key, _ABSENT), new.get(key, _ABSENT))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from _differences(
                f"{where}[{index}]",
                old[index] if index < len(old) else _ABSENT,
                new[index] if index < len(new) else _ABSENT,
            )
    elif old != new:
        yield where, _shown(old), _shown(new)


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def change_lines(before: str, after: str) -> list[str]:
    return [f"{where}: {old} → {new}" for where, old, new in setting_changes(before, after)]


# ------------------------------------------------------------------------------ for the doc


def _verdict_text(verdict: Verdict | None, read: bool) -> str:
    if not read:
        return "— (experiment log not read)"
    if verdict is None:
        return "could not be recomputed (the stamped criteria do not read back)"
    return f"{verdict.status} (n = {verdict.runs}; {verdict.reason})"


def _then_text(recorded: RecordedVerdict) -> str:
    text = f"{recorded.status}, n = {recorded.n}"
    if recorded.interval is not None:
        text += f", [{recorded.interval[0]:g}, {recorded.interval[1]:g}]"
    return text + (f" ({recorded.check})" if recorded.check else "")


def decision_rows(plan: Plan, review: FrozenReview | None) -> list[dict[str, Any]]:
    """Each decision, with the verdict it was taken on and, if that changed, the one now."""
    drifted = {id(d.decision): d for d in review.drift} if review is not None else {}
    rows = []
    for decision in plan.experiment_log.decisions:
        drift = drifted.get(id(decision))
        rows.append(
            {
                "decision": decision,
                "verdict": _then_text(decision.verdict) if decision.verdict else "",
                "now": f"now {drift.now.status} (n = {drift.now.runs})" if drift else "",
            }
        )
    return rows


def deviation_rows(plan: Plan, review: FrozenReview | None) -> list[dict[str, Any]]:
    """Every recorded amendment and every unrecorded change, with both verdicts."""
    if review is None:  # no log: the recorded amendments, without verdicts
        return [_amendment_row(a, None, None, read=False) for a in plan.experiment_log.amendments]
    return [_deviation_row(d) for d in review.deviations]


def replacement_rows(results: Sequence[Result]) -> list[dict[str, Any]]:
    """Results that replaced another for the same subject and key (``--replace``), with the
    reason given: a re-run is a deviation the reader must see."""
    return [
        {
            "date": f"{result.logged_at:%Y-%m-%d}",
            "hypothesis": result.subject,
            "reason": result.reason or "no reason given",
            "changes": [f"result {result.run_id} replaced result {result.replaces}"],
            "recorded": True,
            "original": "—",
            "amended": "—",
        }
        for result in sorted(results, key=lambda r: (r.logged_at, r.run_id))
        if result.replaces
    ]


def _deviation_row(deviation: Deviation) -> dict[str, Any]:
    if deviation.amendment is not None:
        return _amendment_row(deviation.amendment, deviation.original, deviation.amended, True)
    change = deviation.change
    assert change is not None  # a deviation is an amendment or an unrecorded change
    return {
        "date": f"since {change.since:%Y-%m-%d}",
        "hypothesis": deviation.hypothesis,
        "reason": "not recorded: no amendment in the plan covers this change",
        "changes": change_lines(change.criteria_before, change.criteria_after),
        "recorded": False,
        "original": _verdict_text(deviation.original, True),
        "amended": _verdict_text(deviation.amended, True),
    }


def _amendment_row(
    amendment: CriteriaAmendment, original: Verdict | None, amended: Verdict | None, read: bool
) -> dict[str, Any]:
    return {
        "date": str(amendment.date),
        "hypothesis": amendment.hypothesis,
        "reason": amendment.reason,
        "changes": amendment.changes
        or change_lines(amendment.criteria_before, amendment.criteria_after),
        "recorded": True,
        "original": _verdict_text(original, read),
        "amended": _verdict_text(amended, read),
    }
