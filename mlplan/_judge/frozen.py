"""Criteria that stay frozen once results exist: what changed, under which amendment, and
the verdict under the original criteria. Read-only analysis; writing an amendment into
the plan is the API's (``mlplan._api.decisions``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from mlplan._judge.fingerprint import (
    change_lines,
    rebuilt,
    setting_changes,
    with_current_ids,
)
from mlplan._judge.results import Result
from mlplan._judge.verdicts import (
    Verdict,
    criteria_fingerprint,
    criteria_text,
    fingerprint_as,  # the stamp's own fingerprint version; see criteria_now
    judge,
)
from mlplan._plan import graph
from mlplan._plan.models import (
    CriteriaAmendment,
    Decision,
    Hypothesis,
    Plan,
    RecordedVerdict,
)

__all__ = [
    "CriteriaChange",
    "DecisionDrift",
    "Deviation",
    "FrozenReview",
    "Unverified",
    "carried_over",
    "change_lines",
    "criteria_now",
    "first_stamps",
    "frozen_review",
    "judge_under",
    "setting_changes",
    "unrecorded_changes",
    "unstamped_results",
    "unverified_amendments",
    "verdict_under",
]


# ------------------------------------------------------------------------------ criteria


def criteria_now(plan: Plan, hypothesis: Hypothesis, stamp: str = "") -> tuple[str, str]:
    """The fingerprint and text the judge would stamp on a result logged now.

    With ``stamp``, under that stamp's fingerprint version: a result logged before the
    fingerprint was versioned is compared by the old version's rules, so an unchanged plan is
    not flagged merely because the fingerprint now covers more settings.
    """
    if stamp:
        return fingerprint_as(stamp, plan, hypothesis)
    return criteria_fingerprint(plan, hypothesis), criteria_text(plan, hypothesis)


def judge_under(
    plan: Plan, hypothesis_id: str, criteria: str, results: Sequence[Result], today: dt.date
) -> Verdict | None:
    """The verdict ``hypothesis_id`` gets when judged by the criteria text ``criteria``.

    None when the text cannot be read back (cut short, or from a future mlplan), or names what
    the plan no longer has (``verdict_under`` says which).
    """
    return verdict_under(plan, hypothesis_id, criteria, results, today)[0]


def verdict_under(
    plan: Plan, hypothesis_id: str, criteria: str, results: Sequence[Result], today: dt.date
) -> tuple[Verdict | None, str]:
    """``judge_under``'s verdict, or None and why it cannot be computed."""
    older, why = rebuilt(plan, hypothesis_id, with_current_ids(plan, criteria))
    if older is None:
        return None, why
    found = [v for v in judge(older, results, today) if v.hypothesis == hypothesis_id]
    return (found[0], "") if found else (None, f"the plan has no hypothesis {hypothesis_id} now")


def carried_over(plan: Plan, results: Sequence[Result]) -> list[Result]:
    """``results`` with those logged under a hypothesis's old id counted for its id now
    (``experiment_log.renames``). MLflow keeps the id a run was logged under."""
    renamed = plan.experiment_log.renamed()
    if not renamed:
        return list(results)
    return [
        dataclasses.replace(r, subject=renamed[r.subject])
        if r.kind == "hypothesis" and r.subject in renamed
        else r
        for r in results
    ]


# ------------------------------------------------------------------------------ review


@dataclass(frozen=True)
class CriteriaChange:
    """Criteria in the plan now differ from those ``hypothesis``'s results were logged under,
    and no amendment covers the difference."""

    hypothesis: str
    fingerprint_before: str
    fingerprint_after: str
    criteria_before: str
    criteria_after: str
    since: dt.datetime  # when the first result under the old criteria was logged

    @property
    def changes(self) -> list[tuple[str, str, str]]:
        return setting_changes(self.criteria_before, self.criteria_after)


@dataclass(frozen=True)
class Deviation:
    """A change of criteria after results, with the verdict under each set of criteria.

    ``amendment`` is None for a change the plan does not record (``change`` says what).
    ``original`` is None when the old criteria could not be read back.
    """

    hypothesis: str
    amendment: CriteriaAmendment | None
    change: CriteriaChange | None
    original: Verdict | None
    amended: Verdict | None
    verified: bool = True  # False: a recorded amendment its results' stamps contradict
    unjudged: str = ""  # why ``original`` is None, when it is

    @property
    def recorded(self) -> bool:
        return self.amendment is not None


@dataclass(frozen=True)
class DecisionDrift:
    """The latest decision on a hypothesis was taken on a verdict that has since changed."""

    decision: Decision
    then: RecordedVerdict
    now: Verdict


@dataclass(frozen=True)
class Unverified:
    """A recorded amendment whose old criteria are none its hypothesis's results were logged
    under, and that no earlier amendment led to: edited by hand, or recorded elsewhere."""

    index: int  # in experiment_log.amendments
    amendment: CriteriaAmendment

    @property
    def message(self) -> str:
        return (
            f"the amendment of {self.amendment.hypothesis} recorded on {self.amendment.date} "
            f"starts from criteria ({self.amendment.fingerprint_before}) that none of its "
            "results were logged under and no earlier amendment led to"
        )


@dataclass(frozen=True)
class FrozenReview:
    unrecorded: tuple[CriteriaChange, ...]
    deviations: tuple[Deviation, ...]
    drift: tuple[DecisionDrift, ...]
    unverified: tuple[Unverified, ...] = ()
    unstamped: tuple[Result, ...] = ()  # hypothesis results without their criteria stamp

    def reasons(self) -> list[str]:
        """Why a gate must fail, beyond overdue and undecided failures."""
        found = [
            f"{change.hypothesis}: criteria changed after results were logged, and no "
            f"amendment is recorded; record it with `mlplan amend PLAN {change.hypothesis} "
            "--reason TEXT` or restore the criteria"
            for change in self.unrecorded
        ]
        return found + [_unstamped_reason(h, runs) for h, runs in self._unstamped_by().items()]

    def _unstamped_by(self) -> dict[str, list[Result]]:
        by: dict[str, list[Result]] = {}
        for result in self.unstamped:
            by.setdefault(result.subject, []).append(result)
        return by

    def for_hypothesis(self, hypothesis: str) -> list[str]:
        """One line per note on ``hypothesis``, for the status table."""
        notes = [
            f"⚠ criteria changed since {c.since:%Y-%m-%d} with no amendment recorded: "
            + "; ".join(change_lines(c.criteria_before, c.criteria_after))
            for c in self.unrecorded
            if c.hypothesis == hypothesis
        ]
        notes += [
            _deviation_note(d) for d in self.deviations if d.recorded and d.hypothesis == hypothesis
        ]
        notes += [
            "⚠ " + _unstamped_reason(h, runs)
            for h, runs in self._unstamped_by().items()
            if h == hypothesis
        ]
        return notes + [_drift_note(d) for d in self.drift if d.decision.hypothesis == hypothesis]


def _unstamped_reason(hypothesis: str, runs: list[Result]) -> str:
    shown = ", ".join(r.run_id for r in runs[:5]) + (", …" if len(runs) > 5 else "")
    return (
        f"{hypothesis}: {len(runs)} result{'s' if len(runs) != 1 else ''} "
        f"carr{'y' if len(runs) != 1 else 'ies'} no criteria stamp: {shown}. mlplan stamps "
        "every hypothesis result with the criteria it was logged under (tags "
        "mlplan.criteria and mlplan.criteria_fingerprint); without them a change of "
        "criteria since cannot be seen. Restore the tags, or delete the runs and log "
        "them again"
    )


def unstamped_results(results: Sequence[Result]) -> tuple[Result, ...]:
    """Hypothesis results without the criteria stamp every one of them is logged with (any
    version: v1 stamps have a bare hash): its tags were deleted in MLflow, so the review of
    frozen criteria, which reads only stamps, would pass them by (issue 16, attacks 9, 17)."""
    return tuple(
        r
        for r in sorted(results, key=lambda r: (r.subject, r.logged_at, r.run_id))
        if r.kind == "hypothesis" and not (r.criteria_fingerprint and r.criteria)
    )


def _deviation_note(deviation: Deviation) -> str:
    amendment = deviation.amendment
    assert amendment is not None
    original = (
        deviation.original.status
        if deviation.original
        else f"could not be recomputed: {deviation.unjudged or 'the criteria do not read back'}"
    )
    if not deviation.verified:
        original = "not shown: the amendment does not match the results' stamps"
    return (
        f"criteria amended on {amendment.date} ({amendment.reason}); "
        f"under the original criteria: {original}"
    )


def _drift_note(drift: DecisionDrift) -> str:
    return (
        f"⚠ decided on {drift.decision.date} on a verdict of {drift.then.status} "
        f"(n = {drift.then.n}); the verdict is now {drift.now.status} (n = {drift.now.runs})"
    )


def frozen_review(
    plan: Plan, results: Sequence[Result], verdicts: Sequence[Verdict], today: dt.date
) -> FrozenReview:
    """What the plan's record says beside the verdicts: see the module docstring."""
    unrecorded = [
        change
        for h in plan.experiment.hypotheses
        for change in unrecorded_changes(plan, h, results)
    ]
    unverified = tuple(unverified_amendments(plan, results))
    doubtful = {id(u.amendment) for u in unverified}
    deviations = [
        _recorded_deviation(plan, amendment, results, today, id(amendment) not in doubtful)
        for amendment in plan.experiment_log.amendments
    ]
    deviations += [_unrecorded_deviation(plan, change, results, today) for change in unrecorded]
    drift = tuple(_drift(plan, verdicts))
    return FrozenReview(
        tuple(unrecorded), tuple(deviations), drift, unverified, unstamped_results(results)
    )


def unverified_amendments(plan: Plan, results: Sequence[Result]) -> Iterator[Unverified]:
    """Amendments whose old criteria neither a result's stamp nor an earlier amendment of the
    same hypothesis holds (text and fingerprint both). A hypothesis with no stamped results
    (no store here, say) cannot be checked and is passed over; ``validate`` still checks each
    amendment against its own fingerprints."""
    stamps: dict[str, set[tuple[str, str]]] = {}
    for r in results:
        if r.kind == "hypothesis" and r.criteria_fingerprint:
            stamps.setdefault(r.subject, set()).add((r.criteria_fingerprint, r.criteria))
    led_to: set[tuple[str, str, str]] = set()
    for index, amendment in enumerate(plan.experiment_log.amendments):
        h = amendment.hypothesis
        before = (amendment.fingerprint_before, amendment.criteria_before)
        if h in stamps and before not in stamps[h] and (h, *before) not in led_to:
            yield Unverified(index, amendment)
        led_to.add((h, amendment.fingerprint_after, amendment.criteria_after))


def first_stamps(hypothesis: str, results: Sequence[Result]) -> list[Result]:
    """The first result stamped with each distinct fingerprint, oldest first: everything a
    stamp decides depends on its fingerprint alone, and 10,000 results carry a handful."""
    stamped = sorted(
        (
            r
            for r in results
            if (r.kind, r.subject) == ("hypothesis", hypothesis) and r.criteria_fingerprint
        ),
        key=lambda r: r.logged_at,
    )
    first: dict[str, Result] = {}
    for result in stamped:
        first.setdefault(result.criteria_fingerprint, result)
    return list(first.values())


def _chain_end(
    plan: Plan, hypothesis: str, fingerprint: str, text: str
) -> tuple[str, str, set[str]]:
    """Follow recorded amendments from ``fingerprint``: where they lead, and all they reach."""
    reached = {fingerprint}
    moved = True
    while moved:
        moved = False
        for amendment in reversed(plan.experiment_log.amendments):
            if amendment.hypothesis == hypothesis and amendment.fingerprint_before == fingerprint:
                if amendment.fingerprint_after in reached:
                    continue
                fingerprint, text = amendment.fingerprint_after, amendment.criteria_after
                reached.add(fingerprint)
                moved = True
                break
    reached |= _reachable(plan, hypothesis, reached)
    return fingerprint, text, reached


def _reachable(plan: Plan, hypothesis: str, start: set[str]) -> set[str]:
    """Every fingerprint the hypothesis's recorded amendments lead to from ``start``."""
    after: dict[str, list[str]] = {}
    for a in plan.experiment_log.amendments:
        if a.hypothesis == hypothesis:
            after.setdefault(a.fingerprint_before, []).append(a.fingerprint_after)
    return graph.reachable(start, lambda fingerprint: after.get(fingerprint, []))


def unrecorded_changes(
    plan: Plan, hypothesis: Hypothesis, results: Sequence[Result]
) -> Iterator[CriteriaChange]:
    current, text = criteria_now(plan, hypothesis)
    seen: set[str] = set()
    for stamp in first_stamps(hypothesis.id, results):
        end, end_text, reached = _chain_end(
            plan, hypothesis.id, stamp.criteria_fingerprint, stamp.criteria
        )
        as_stamped, _ = criteria_now(plan, hypothesis, stamp.criteria_fingerprint)
        if current in reached or as_stamped in reached or end in seen:
            continue
        seen.add(end)
        yield CriteriaChange(hypothesis.id, end, current, end_text, text, stamp.logged_at)


def _recorded_deviation(
    plan: Plan,
    amendment: CriteriaAmendment,
    results: Sequence[Result],
    today: dt.date,
    verified: bool = True,
) -> Deviation:
    h = amendment.hypothesis
    # An amendment the stamps contradict is not judged under: its "original" criteria are
    # not the ones the results were logged under.
    original, why = (
        verdict_under(plan, h, amendment.criteria_before, results, today)
        if verified
        else (None, "")
    )
    return Deviation(
        hypothesis=h,
        amendment=amendment,
        change=None,
        original=original,
        amended=judge_under(plan, h, amendment.criteria_after, results, today),
        verified=verified,
        unjudged=why,
    )


def _unrecorded_deviation(
    plan: Plan, change: CriteriaChange, results: Sequence[Result], today: dt.date
) -> Deviation:
    h = change.hypothesis
    original, why = verdict_under(plan, h, change.criteria_before, results, today)
    return Deviation(
        hypothesis=h,
        amendment=None,
        change=change,
        original=original,
        amended=judge_under(plan, h, change.criteria_after, results, today),
        unjudged=why,
    )


def _drift(plan: Plan, verdicts: Sequence[Verdict]) -> Iterator[DecisionDrift]:
    latest: dict[str, Decision] = {}
    for decision in plan.experiment_log.decisions:
        latest[decision.hypothesis] = decision  # the plan's order is the record's order
    by_id = {v.hypothesis: v for v in verdicts}
    for hypothesis, decision in latest.items():
        now = by_id.get(hypothesis)
        if (
            decision.verdict is not None
            and now is not None
            and now.status != decision.verdict.status
        ):
            yield DecisionDrift(decision, decision.verdict, now)
