"""The plan as the team's record: decisions, amendments, and criteria that stay frozen.

Once a hypothesis has results, its criteria are frozen: every result is stamped with the
criteria text and fingerprint in force when it was logged (see ``_judge.criteria_text``). A
later change to the criteria is fine only when the plan records it as an amendment (date,
reason, before and after), the practice of preregistered studies, where every deviation from
the registered plan is reported beside the result it affects (OSF; Nosek et al. 2018, "The
preregistration revolution", PNAS 115(11)). Here:

- ``frozen_review`` finds changes no amendment covers, recomputes each amended hypothesis's
  verdict under its original criteria, and notes decisions whose verdict has since changed;
- ``record_decision`` and ``record_amendment`` write those entries into the plan file, as text,
  leaving the rest of the file byte for byte as it was (``_edit``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlplan import _clock
from mlplan._checks import find_problems
from mlplan._deviations import change_lines as _change_lines
from mlplan._deviations import setting_changes
from mlplan._edit import PlanText, append_to_list
from mlplan._files import write_atomically
from mlplan._judge import (
    Check,
    Verdict,
    criteria_fingerprint,
    criteria_text,
    fingerprint_as,  # the stamp's own fingerprint version; see criteria_now
    judge,
)
from mlplan._load import LoadedPlan, load_plan
from mlplan._location import STORE_DIR
from mlplan._models import (
    Closure,
    CriteriaAmendment,
    Decision,
    Hypothesis,
    Plan,
    RecordedVerdict,
)
from mlplan._results import Result
from mlplan.errors import MlplanError

__all__ = [
    "CriteriaChange",
    "DecisionDrift",
    "Deviation",
    "FrozenReview",
    "criteria_now",
    "frozen_review",
    "judge_under",
    "plan_lock",
    "record_amendment",
    "record_decision",
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

    None when the text cannot be read back into criteria (cut short, or from a future mlplan).
    """
    older = _plan_with_criteria(plan, hypothesis_id, criteria)
    if older is None:
        return None
    return next(v for v in judge(older, results, today) if v.hypothesis == hypothesis_id)


def _plan_with_criteria(plan: Plan, hypothesis_id: str, criteria: str) -> Plan | None:
    try:
        document = json.loads(criteria)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    # exclude_unset keeps an explicit `pair_by: null` (pairing switched off) as written.
    data = plan.model_dump(mode="json", exclude_unset=True)
    for hypothesis in data["experiment"]["hypotheses"]:
        if hypothesis["id"] == hypothesis_id:
            hypothesis.update({k: v for k, v in document.items() if k in _HYPOTHESIS_SETTINGS})
    design = data["experiment"]
    design.update({k: v for k, v in document.items() if k in _DESIGN_SETTINGS})
    _apply_metrics(data, document.get("metrics"))
    if isinstance(document.get("exact_baselines"), list):
        for baseline in design["baselines"]:
            baseline["exact"] = baseline["id"] in document["exact_baselines"]
    try:
        return Plan.model_validate(data)
    except ValueError:
        return None


# The keys of the judge's criteria text (see _judge.criteria_text) and where each one lives in
# the plan. pair_by, min_runs and resampling are stamped as the settings in force, so they go
# back as the hypothesis's own overrides, which is what they were for this hypothesis.
_HYPOTHESIS_SETTINGS = (
    "success_criteria",
    "guardrails",
    "pair_by",
    "min_runs",
    "resampling",
    "exploratory",
    "family",
)
_DESIGN_SETTINGS = ("conditions", "multiplicity")


def _apply_metrics(data: dict[str, Any], metrics: Any) -> None:
    # "lower is better" flipped to "higher" is a change of criteria: turn it back too.
    if isinstance(metrics, Mapping):
        for metric in data["metrics"]:
            stamped = metrics.get(metric["key"])
            if isinstance(stamped, Mapping):
                metric.update({k: v for k, v in stamped.items() if k in ("direction", "bounds")})
                metric["exact"] = bool(stamped.get("exact", False))


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
class FrozenReview:
    unrecorded: tuple[CriteriaChange, ...]
    deviations: tuple[Deviation, ...]
    drift: tuple[DecisionDrift, ...]

    def reasons(self) -> list[str]:
        """Why a gate must fail, beyond overdue and undecided failures."""
        return [
            f"{change.hypothesis}: criteria changed after results were logged, and no "
            f"amendment is recorded; record it with `mlplan amend PLAN {change.hypothesis} "
            "--reason TEXT` or restore the criteria"
            for change in self.unrecorded
        ]

    def for_hypothesis(self, hypothesis: str) -> list[str]:
        """One line per note on ``hypothesis``, for the status table."""
        notes = [
            f"⚠ criteria changed since {c.since:%Y-%m-%d} with no amendment recorded: "
            + "; ".join(_change_lines(c.criteria_before, c.criteria_after))
            for c in self.unrecorded
            if c.hypothesis == hypothesis
        ]
        notes += [
            _deviation_note(d) for d in self.deviations if d.recorded and d.hypothesis == hypothesis
        ]
        return notes + [_drift_note(d) for d in self.drift if d.decision.hypothesis == hypothesis]


def _deviation_note(deviation: Deviation) -> str:
    amendment = deviation.amendment
    assert amendment is not None
    original = deviation.original.status if deviation.original else "could not be recomputed"
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
        change for h in plan.experiment.hypotheses for change in _unrecorded(plan, h, results)
    ]
    deviations = [
        _recorded_deviation(plan, amendment, results, today)
        for amendment in plan.experiment_log.amendments
    ]
    deviations += [_unrecorded_deviation(plan, change, results, today) for change in unrecorded]
    return FrozenReview(tuple(unrecorded), tuple(deviations), tuple(_drift(plan, verdicts)))


def _stamps(hypothesis: str, results: Sequence[Result]) -> list[Result]:
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
    reached = set(start)
    edges = [
        (a.fingerprint_before, a.fingerprint_after)
        for a in plan.experiment_log.amendments
        if a.hypothesis == hypothesis
    ]
    grew = True
    while grew:
        found = {after for before, after in edges if before in reached} - reached
        reached |= found
        grew = bool(found)
    return reached


def _unrecorded(
    plan: Plan, hypothesis: Hypothesis, results: Sequence[Result]
) -> Iterator[CriteriaChange]:
    current, text = criteria_now(plan, hypothesis)
    seen: set[str] = set()
    for stamp in _stamps(hypothesis.id, results):
        end, end_text, reached = _chain_end(
            plan, hypothesis.id, stamp.criteria_fingerprint, stamp.criteria
        )
        as_stamped, _ = criteria_now(plan, hypothesis, stamp.criteria_fingerprint)
        if current in reached or as_stamped in reached or end in seen:
            continue
        seen.add(end)
        yield CriteriaChange(hypothesis.id, end, current, end_text, text, stamp.logged_at)


def _recorded_deviation(
    plan: Plan, amendment: CriteriaAmendment, results: Sequence[Result], today: dt.date
) -> Deviation:
    h = amendment.hypothesis
    return Deviation(
        hypothesis=h,
        amendment=amendment,
        change=None,
        original=judge_under(plan, h, amendment.criteria_before, results, today),
        amended=judge_under(plan, h, amendment.criteria_after, results, today),
    )


def _unrecorded_deviation(
    plan: Plan, change: CriteriaChange, results: Sequence[Result], today: dt.date
) -> Deviation:
    h = change.hypothesis
    return Deviation(
        hypothesis=h,
        amendment=None,
        change=change,
        original=judge_under(plan, h, change.criteria_before, results, today),
        amended=judge_under(plan, h, change.criteria_after, results, today),
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


# ------------------------------------------------------------------------------ writing


@contextmanager
def plan_lock(target: Path) -> Iterator[None]:
    """Serialise writers of one plan file (two `mlplan decide` at once keep both entries)."""
    from filelock import FileLock

    home = target.parent / STORE_DIR
    home.mkdir(exist_ok=True)
    with FileLock(str(home / f"{target.name}.lock"), timeout=60):
        yield


def _writable_target(path: Path) -> Path:
    """The file a write lands in: a symlinked plan's target, which must be a regular file."""
    target = path.resolve()
    if not target.is_file():
        raise MlplanError(f"{path} is not a regular file; mlplan writes only to a plan file")
    return target


def _known_hypothesis(loaded: LoadedPlan, hypothesis: str) -> Hypothesis:
    known = [h.id for h in loaded.plan.experiment.hypotheses]
    if hypothesis not in known:
        raise MlplanError(
            f"{loaded.path}: no hypothesis {hypothesis!r} in plan {loaded.plan.id!r}; "
            f"known hypotheses: {', '.join(known)}"
        )
    return loaded.plan.hypothesis(hypothesis)


def _append(target: Path, section: str, entry: dict[str, Any]) -> None:
    """Splice ``entry`` into ``experiment_log.<section>``, check the plan, replace the file."""
    source = PlanText.decode(target.read_bytes())
    spliced = append_to_list(source, ("experiment_log", section), entry)
    plan = Plan.model_validate(yaml.safe_load(spliced.text))
    if problems := list(find_problems(plan)):
        raise MlplanError(f"the new entry would make the plan invalid: {problems[0][1]}")
    mode = target.stat().st_mode & 0o7777
    write_atomically(target, spliced.encode(), mode=mode)


def _read_results(loaded: LoadedPlan, tracking_uri: str | None) -> list[Result]:
    """The plan's results, or none when it has no store yet (none is created to find out)."""
    from mlplan._journal import Journal

    journal = Journal(loaded, tracking_uri)
    return journal.results() if journal.location.exists() else []


def _deciding_check(verdict: Verdict) -> Check | None:
    """The check a reader of the decision should see: the first failing one for a failure,
    else the first unclear, missing or passing one that has a value."""
    first: tuple[str, ...] = ("fail",) if verdict.status_ignoring_deadline == "failed" else ()
    order = (*first, "unclear", "missing", "pass", "fail")
    for outcome in order:
        for check in verdict.checks:
            if check.outcome == outcome and (check.estimate is not None or check.value):
                return check
    return None


def _recorded(verdict: Verdict) -> RecordedVerdict:
    """The verdict in three figures: status, runs, and the deciding check's interval (the
    bounds its test used, on the effect the check is about), with the check's explanation."""
    check = _deciding_check(verdict)
    interval = None
    if check is not None and check.low is not None and check.high is not None:
        interval = [float(f"{check.low:.4g}"), float(f"{check.high:.4g}")]
    described = (check.explanation or check.description) if check is not None else None
    return RecordedVerdict(
        status=verdict.status,
        n=verdict.runs,
        interval=interval,
        check=described or None,
    )


def record_decision(
    plan: str | Path,
    hypothesis: str,
    decision: str,
    *,
    rationale: str | None = None,
    date: dt.date | None = None,
    tracking_uri: str | None = None,
    today: dt.date | None = None,
    close: Closure | None = None,
) -> Decision:
    """Append a decision on ``hypothesis`` with the verdict it was taken on; return it.
    ``close`` also closes the hypothesis (abandoned or superseded)."""
    target = _writable_target(Path(plan))
    today = today or _clock.today()
    with plan_lock(target):
        loaded = load_plan(target)
        _known_hypothesis(loaded, hypothesis)
        results = _read_results(loaded, tracking_uri)
        verdict = next(v for v in judge(loaded.plan, results, today) if v.hypothesis == hypothesis)
        entry = Decision(
            date=date or today,
            hypothesis=hypothesis,
            decision=decision,
            rationale=rationale or None,
            verdict=_recorded(verdict),
            closes=close,
        )
        _append(target, "decisions", entry.model_dump(exclude_none=True))
    return entry


def record_amendment(
    plan: str | Path,
    hypothesis: str,
    reason: str,
    *,
    date: dt.date | None = None,
    tracking_uri: str | None = None,
) -> list[CriteriaAmendment]:
    """Record that ``hypothesis``'s criteria changed after its results; return the entries.

    One entry per set of old criteria no amendment leads from yet (usually one). Refused when
    nothing changed, or when the hypothesis has no results (its criteria are not frozen yet).
    """
    target = _writable_target(Path(plan))
    with plan_lock(target):
        loaded = load_plan(target)
        chosen = _known_hypothesis(loaded, hypothesis)
        results = _read_results(loaded, tracking_uri)
        changes = list(_unrecorded(loaded.plan, chosen, results))
        _refuse_empty_amendment(loaded, hypothesis, results, changes)
        entries = [_amendment_entry(change, reason, date) for change in changes]
        for entry in entries:
            _append(target, "amendments", entry.model_dump(exclude_none=True))
    return entries


def _refuse_empty_amendment(
    loaded: LoadedPlan, hypothesis: str, results: Sequence[Result], changes: list[CriteriaChange]
) -> None:
    if changes:
        return
    if not _stamps(hypothesis, results):
        raise MlplanError(
            f"{hypothesis} has no results yet, so its criteria are not frozen: edit them freely"
        )
    raise MlplanError(
        f"{hypothesis}'s criteria in {loaded.path} are those its results were logged under "
        "(or an amendment already records the change); there is nothing to amend"
    )


def _amendment_entry(
    change: CriteriaChange, reason: str, date: dt.date | None
) -> CriteriaAmendment:
    return CriteriaAmendment(
        date=date or _clock.today(),
        hypothesis=change.hypothesis,
        reason=reason,
        criteria_before=change.criteria_before,
        criteria_after=change.criteria_after,
        fingerprint_before=change.fingerprint_before,
        fingerprint_after=change.fingerprint_after,
        changes=_change_lines(change.criteria_before, change.criteria_after),
    )
