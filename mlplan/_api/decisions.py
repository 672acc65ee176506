"""Decisions and amendments written into the plan file as text, leaving the rest of the
file byte for byte as it was (``_plan.text_edit``), with the verdict they were taken on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pydantic
import yaml

from mlplan import _clock
from mlplan._files import ConcurrentEditError, check_rewritable, rewrite_keeping_edits
from mlplan._judge.frozen import (
    CriteriaChange,
    carried_over,
    first_stamps,
    unrecorded_changes,
)
from mlplan._judge.frozen import change_lines as _change_lines
from mlplan._judge.results import Result
from mlplan._judge.verdicts import (
    Check,
    Verdict,
    judge,
)
from mlplan._plan.load import LoadedPlan, load_plan
from mlplan._plan.located_yaml import MAX_FILE_BYTES
from mlplan._plan.models import (
    ID_PATTERN,
    Closure,
    CriteriaAmendment,
    Decision,
    Hypothesis,
    Plan,
    RecordedVerdict,
    Rename,
)
from mlplan._plan.rules import find_problems
from mlplan._plan.text_edit import Block, BlockList, PlanText, append_to_list, rename_hypothesis
from mlplan._record.locks import plan_lock
from mlplan._text import not_utf8

__all__ = ["record_amendment", "record_decision", "record_rename"]
from mlplan.errors import MlplanError, UsageError


def _writable_target(path: Path) -> Path:
    """The file a write lands in: a symlinked plan's target, which must be a regular file
    holding a plan. It is read before anything is written beside it: a lock once appeared in
    /etc/.mlplan when `decide` was pointed at /etc/shadow (issue 16)."""
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        raise MlplanError(f"{path}: no such file; give the path of a plan file") from None
    except (OSError, RuntimeError) as error:  # a symlink loop: RuntimeError before 3.13
        raise MlplanError(
            f"{path} cannot be followed to a file ({error}); give the path of a plan file"
        ) from None
    if not target.is_file():
        raise MlplanError(f"{path} is not a regular file; mlplan writes only to a plan file")
    load_plan(target)  # a plan, or its problems (PlanError), before any lock is made
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
    """Splice ``entry`` into ``experiment_log.<section>``, check the plan, replace the file
    (again, if another program wrote to it meanwhile: ``rewrite_keeping_edits``)."""
    _rewrite(target, lambda text: append_to_list(text, ("experiment_log", section), entry))


def _rewrite(target: Path, edit: Callable[[PlanText], PlanText]) -> None:
    check_rewritable(target)

    def change(raw: bytes) -> bytes:
        spliced = edit(PlanText.decode(raw))
        try:
            plan = Plan.model_validate(yaml.safe_load(spliced.text))
        except (yaml.YAMLError, pydantic.ValidationError) as error:
            # The text as it stands now (another program may have changed it meanwhile) is
            # no plan with the entry in it: one message, the file as it was.
            first = str(error).splitlines()[0]
            raise MlplanError(
                f"{target} would not be a valid plan with the new entry ({first}); nothing "
                "was written: check the plan (mlplan validate), then run this again"
            ) from None
        if problems := list(find_problems(plan)):
            raise MlplanError(f"the new entry would make the plan invalid: {problems[0][1]}")
        encoded = spliced.encode()
        if len(encoded) > MAX_FILE_BYTES:
            raise MlplanError(
                f"{target} would grow to {len(encoded):,} bytes, past the {MAX_FILE_BYTES:,} "
                "every mlplan command reads; nothing was written. Move old experiment_log "
                "entries into another file (link it from the plan) and run this again"
            )
        return encoded

    try:
        rewrite_keeping_edits(target, change)
    except ConcurrentEditError as error:
        raise MlplanError(
            f"{error}; check that the entry is there (and nothing else was lost) before "
            "running this again"
        ) from None
    except OSError as error:  # a full disk, a folder or sticky bit that forbids the rename
        where = os.fsdecode(error.filename) if error.filename else target.parent
        raise MlplanError(
            f"could not write {target}: {where}: {error.strerror or error}; the plan was left as "
            "it was and nothing was written. Free the disk or make its folder writable, then "
            "run this again"
        ) from None


def _read_results(loaded: LoadedPlan, tracking_uri: str | None) -> list[Result]:
    """The plan's results, or none when it has no store yet (none is created to find out)."""
    from mlplan._record.journal import Journal

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
    """The verdict in three figures: status, runs, and the deciding check's interval, labelled
    (its kind and the effect it is about), with the check's explanation."""
    check = _deciding_check(verdict)
    interval, kind = None, None
    if check is not None and check.low is not None and check.high is not None:
        interval = [float(f"{check.low:.4g}"), float(f"{check.high:.4g}")]
        kind = f"{check.interval} of {check.effect_label or check.metric}"
    described = (check.explanation or check.description) if check is not None else None
    return RecordedVerdict(
        status=verdict.status,
        n=verdict.runs,
        interval=interval,
        interval_kind=kind,
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
    decision = _text("decision", decision)
    rationale = _text("rationale", rationale, required=False)
    if close and not (rationale or "").strip():
        what = " and what supersedes it" if close == "superseded" else ""
        raise UsageError(
            f"closing {hypothesis} as {close} needs a rationale: say why{what}",
            arguments=("rationale",),
        )
    target = _writable_target(Path(plan))
    today = today or _clock.today()
    with plan_lock(target):
        loaded = load_plan(target)
        _known_hypothesis(loaded, hypothesis)
        results = _read_results(loaded, tracking_uri)
        _check_decision_date(hypothesis, date, today, results)
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


def _not_after_today(date: dt.date | None, today: dt.date | None = None) -> None:
    """A decision, an amendment or a rename is recorded once made: a later date was accepted
    by `amend` while the gate then failed on it (the re-check of issue 16)."""
    today = today or _clock.today()
    if date is not None and date > today:
        raise UsageError(
            f"date {date.isoformat()} is after today ({today.isoformat()}): a record is "
            "written once the decision or change is made",
            arguments=("date",),
        )


def _check_decision_date(
    hypothesis: str, date: dt.date | None, today: dt.date, results: Sequence[Result]
) -> None:
    """A decision is dated between the hypothesis's first result and today: it was taken on
    the verdict it records, which did not exist before its first result nor after today."""
    if date is None:
        return
    _not_after_today(date, today)
    mine = [r for r in results if r.kind == "hypothesis" and r.subject == hypothesis]
    first = min((r.logged_at.astimezone(dt.UTC).date() for r in mine), default=None)
    # Results are stamped by the wall clock; a today pinned before them (MLPLAN_TODAY, a
    # simulation) gives no frame to place a date in, so only the upper bound applies then.
    if first is not None and first <= today and date < first:
        raise UsageError(
            f"--date {date.isoformat()} is before {hypothesis}'s first result "
            f"({first.isoformat()}): a decision is taken on the verdict it records",
            arguments=("date",),
        )


def _text(name: str, value: str | None, required: bool = True) -> str:
    """A text argument as the plan will keep it: stripped, not blank when required, and
    writable as UTF-8 (a non-UTF-8 command line arrives as lone surrogates)."""
    text = (value or "").strip()
    if required and not text:
        raise UsageError(f"{name} is empty: say it in words", arguments=(name,))
    problem = not_utf8(name, text)
    if problem is not None:
        raise UsageError(problem, arguments=(name,))
    return text


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
    reason = _text("reason", reason)
    _not_after_today(date)
    target = _writable_target(Path(plan))
    with plan_lock(target):
        loaded = load_plan(target)
        chosen = _known_hypothesis(loaded, hypothesis)
        results = _read_results(loaded, tracking_uri)
        changes = list(unrecorded_changes(loaded.plan, chosen, results))
        _refuse_empty_amendment(loaded, hypothesis, results, changes)
        entries = [_amendment_entry(change, reason, date) for change in changes]
        for entry in entries:
            _append(target, "amendments", _written(entry))
    return entries


def _refuse_empty_amendment(
    loaded: LoadedPlan, hypothesis: str, results: Sequence[Result], changes: list[CriteriaChange]
) -> None:
    if changes:
        return
    if not first_stamps(hypothesis, results):
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


def record_rename(
    plan: str | Path,
    hypothesis: str,
    new_id: str,
    reason: str,
    *,
    date: dt.date | None = None,
    tracking_uri: str | None = None,
) -> list[CriteriaAmendment]:
    """Rename ``hypothesis`` to ``new_id`` everywhere the plan names it and record the rename,
    so that its results count for the new id; return the criteria amendments it needed.

    The stamps name a hypothesis's family members and decision-graph neighbours by id, so a
    rename changes the criteria of every hypothesis that names it; for each that has results,
    the change is recorded as an amendment in the same write. Refused while any hypothesis has
    an unrecorded change of criteria: the rename must not record that one too.
    """
    reason = _text("reason", reason)
    _not_after_today(date)
    target = _writable_target(Path(plan))
    date = date or _clock.today()
    with plan_lock(target):
        loaded = load_plan(target)
        _known_hypothesis(loaded, hypothesis)
        _check_new_id(loaded, hypothesis, new_id)
        results = _read_results(loaded, tracking_uri)
        _refuse_pending_changes(loaded, results)
        record = Rename(date=date, hypothesis=new_id, renamed_from=hypothesis, reason=reason)
        renamed = _renamed_plan(target, hypothesis, new_id, record)
        carried = carried_over(renamed, results)
        why = f"{hypothesis} renamed to {new_id}: {reason}"
        entries = [
            _amendment_entry(change, why, date)
            for h in renamed.experiment.hypotheses
            for change in unrecorded_changes(renamed, h, carried)
        ]

        def edit(text: PlanText) -> PlanText:
            text = rename_hypothesis(text, hypothesis, new_id)
            text = append_to_list(
                text, ("experiment_log", "renames"), record.model_dump(exclude_none=True)
            )
            for entry in entries:
                text = append_to_list(text, ("experiment_log", "amendments"), _written(entry))
            return text

        _rewrite(target, edit)
    return entries


def _check_new_id(loaded: LoadedPlan, old: str, new_id: str) -> None:
    taken = {h.id for h in loaded.plan.experiment.hypotheses}
    taken |= {b.id for b in loaded.plan.experiment.baselines}
    used = set(loaded.plan.experiment_log.renamed())
    if new_id in taken or new_id in used:
        raise MlplanError(
            f"{loaded.path}: {new_id!r} is already "
            + ("an id in the plan" if new_id in taken else "an id results were logged under")
            + f"; rename {old} to an id never used before"
        )
    if not re.fullmatch(ID_PATTERN, new_id):
        raise MlplanError(
            f"{new_id!r} is not a hypothesis id: letters, digits, '_' or '-', starting with a "
            "letter (up to 64)"
        )


def _refuse_pending_changes(loaded: LoadedPlan, results: Sequence[Result]) -> None:
    for h in loaded.plan.experiment.hypotheses:
        for change in unrecorded_changes(loaded.plan, h, results):
            raise MlplanError(
                f"{change.hypothesis}'s criteria changed after its results and no amendment "
                f"records it: record it first (amend {change.hypothesis} in {loaded.path} with "
                "a reason and no new name), then rename",
                arguments=("reason",),
            )


def _renamed_plan(target: Path, old: str, new_id: str, record: Rename) -> Plan:
    """The plan as it will be once renamed, to work out which criteria the rename changes."""
    text = rename_hypothesis(PlanText.decode(target.read_bytes()), old, new_id)
    text = append_to_list(text, ("experiment_log", "renames"), record.model_dump())
    return Plan.model_validate(yaml.safe_load(text.text))


def _written(amendment: CriteriaAmendment) -> dict[str, Any]:
    """The amendment as it goes into the file: its criteria texts as indented JSON in block
    scalars (readable, and a later change shows as a line in a diff) instead of one line of
    hundreds of characters. The plan reads them back to the canonical one-line text."""
    entry = amendment.model_dump(exclude_none=True)
    for key in ("criteria_before", "criteria_after"):
        entry[key] = _readable(entry[key])
    entry["changes"] = BlockList(entry.get("changes", []))
    return entry


def _readable(criteria: str) -> str:
    try:
        document = json.loads(criteria)
    except ValueError:
        return criteria  # cut short by MLflow's tag limit: kept as it was stamped
    return Block(_pretty(document, ""))


def _pretty(value: Any, pad: str) -> str:
    """JSON with one key per line and lists of plain values on one line: short lines, and
    about as many as the criteria have settings."""
    inner = pad + "  "
    if isinstance(value, dict) and value:
        items = [
            f"{inner}{json.dumps(key, ensure_ascii=False)}: {_pretty(item, inner)}"
            for key, item in sorted(value.items())
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        items = [inner + _pretty(item, inner) for item in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)
