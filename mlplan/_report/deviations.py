"""The plan's record as the design doc shows it: what changed in the criteria, in words, and
the rows of the Decisions and Deviations tables.

Kept apart from ``_decisions`` so that a plan-only render (no experiment log) imports neither
the judge nor numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlplan._judge.fingerprint import change_lines
from mlplan._judge.results import Result
from mlplan._plan.models import CriteriaAmendment, Plan, RecordedVerdict

if TYPE_CHECKING:
    from mlplan._judge.frozen import Deviation, FrozenReview
    from mlplan._judge.verdicts import Verdict

__all__ = [
    "decision_rows",
    "deviation_rows",
    "replacement_rows",
]


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
        kind = f"{recorded.interval_kind} " if recorded.interval_kind else ""
        text += f", {kind}[{recorded.interval[0]:g}, {recorded.interval[1]:g}]"
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


def replacement_rows(results: Sequence[Result], plan: Plan) -> list[dict[str, Any]]:
    """Results that replaced another for the same subject and key (``--replace``), with the
    reason given: a re-run is a deviation the reader must see. Only the replacements the judge
    counted: a tag set by hand in MLflow replaced nothing (the gate names it instead)."""
    if not any(result.replaces for result in results):
        return []  # and numpy stays unimported for a plan without replacements
    from mlplan._judge.evidence import replaced_runs

    gone = replaced_runs(results, plan)
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
        if result.replaces in gone
    ]


def _deviation_row(deviation: Deviation) -> dict[str, Any]:
    row = _deviation_cells(deviation)
    if deviation.original is None and deviation.unjudged:  # say why, e.g. a renamed baseline
        row["original"] = f"could not be recomputed: {deviation.unjudged}"
    return row


def _deviation_cells(deviation: Deviation) -> dict[str, Any]:
    if deviation.amendment is not None:
        row = _amendment_row(deviation.amendment, deviation.original, deviation.amended, True)
        if not deviation.verified:  # the runs' stamps contradict it (issue 16)
            row["original"] = "not shown: the amendment does not match the results' stamps"
        return row
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
