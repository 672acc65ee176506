"""How an mlplan result is written as an MLflow run, and read back: tags, names, filters.

One plan is one MLflow experiment, ``mlplan/<plan id>``. Each result is a run tagged with the
plan, its kind (hypothesis or baseline), its subject id, and the fingerprint of the criteria
it was judged by. Nothing here imports MLflow: these are the conventions, not the calls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplan._judge.results import Result, ResultKind
from mlplan._plan.keys import canonical
from mlplan._plan.models import Plan
from mlplan._record.outbox import Submission

__all__ = [
    "DUPLICATE_TAG",
    "OTHER_FORMS_MARKED_TAG",
    "OTHER_FORMS_TAG",
    "PLAN_DIGEST_TAG",
    "REVISION_TAG",
    "SETTLED_TAG",
    "TAG",
    "ExistingRun",
    "attached_already",
    "equal_clauses",
    "experiment_name",
    "other_forms",
    "other_forms_clause",
    "plan_digest",
    "run_name",
    "run_tags",
    "to_result",
]

TAG = "mlplan."
# Changed after every mlplan write, so a local copy of the results knows when it is stale.
REVISION_TAG = f"{TAG}revision"
PLAN_DIGEST_TAG = f"{TAG}plan_sha256"
# On a result written for a slot that another result held first: the run id of that one.
DUPLICATE_TAG = f"{TAG}duplicate_of"
# On a result whose writer settled its slot and was told it counts (evidence.slot_winner).
SETTLED_TAG = f"{TAG}settled"
# On a result with params written in another form than their canonical one (keys.canonical:
# seed "1e0", "1.0" or " 1" for 1): ",seed,". A slot's runs are found by the store's search
# for the canonical value, plus this tag: the few runs written otherwise.
OTHER_FORMS_TAG = f"{TAG}other_forms"
# On the experiment once every result written before OTHER_FORMS_TAG existed carries it.
OTHER_FORMS_MARKED_TAG = f"{TAG}other_forms_marked"
_SETTLEMENT_TAGS = frozenset({DUPLICATE_TAG, SETTLED_TAG, OTHER_FORMS_TAG})
# MLflow cuts run tag values at 8,000 characters without a word and refuses longer experiment
# descriptions than 20,000; mlplan cuts first, visibly.
RUN_TAG_LIMIT = 7_900
EXPERIMENT_NOTE_LIMIT = 19_000
RUN_NAME_LIMIT = 120  # a run name is read in a table column


@dataclass(frozen=True)
class ExistingRun:
    run_id: str
    status: str  # RUNNING, FINISHED, FAILED or KILLED
    kind: str  # the mlplan kind it is tied to, or "" for a run mlplan never tagged
    subject: str
    metrics: dict[str, float]
    # The result the run already is (mlplan's kind and subject tags), with its mlplan tags:
    # attaching it again may write nothing over them (see attached_already).
    result: Result | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)  # as its script logged them


def experiment_name(plan: Plan) -> str:
    return f"mlplan/{plan.id}"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 30] + " … (cut by mlplan)"


def run_tags(plan: Plan, submission: Submission) -> dict[str, str]:
    """The tags that tie a run to its plan, subject and criteria."""
    tags = {
        f"{TAG}plan": plan.id,
        f"{TAG}kind": submission.kind,
        f"{TAG}subject": submission.subject,
        f"{TAG}{submission.kind}": submission.subject,
        f"{TAG}reported": "true" if submission.reported else "false",
        f"{TAG}submission_id": submission.submission_id,
        f"{TAG}logged_at": submission.created_at,
    }
    optional = {
        f"{TAG}source": submission.source,
        f"{TAG}criteria_fingerprint": submission.criteria_fingerprint,
        f"{TAG}criteria": clip(submission.criteria, RUN_TAG_LIMIT),
        f"{TAG}replaces": submission.replaces,
        f"{TAG}reason": clip(submission.reason, RUN_TAG_LIMIT),
        "mlflow.note.content": clip(submission.note, RUN_TAG_LIMIT),
    }
    tags.update({key: value for key, value in optional.items() if value})
    extra = {f"{TAG}{key}": value for key, value in submission.tags.items() if value}
    # Settling a slot reads these; a submission's own tags never set them.
    tags.update({key: value for key, value in extra.items() if key not in _SETTLEMENT_TAGS})
    tags.update(other_forms(submission.params))
    return tags


def other_forms(params: Mapping[str, str], keys: Sequence[str] = ()) -> dict[str, str]:
    """The OTHER_FORMS_TAG for a run with these params: the names of those not written in
    their canonical form, or no tag when all are. Every param, not just the plan's slot keys:
    a plan edited later may make any of them a key. Past the tag's limit, only ``keys``."""
    odd = [key for key, value in params.items() if canonical(value) != value]
    if len("".join(f"{key}," for key in odd)) >= RUN_TAG_LIMIT:
        odd = [key for key in odd if key in keys]
    return {OTHER_FORMS_TAG: "," + "".join(f"{key}," for key in odd)} if odd else {}


def other_forms_clause(key: str) -> str:
    """The filter for runs whose ``key`` param is written in another form (OTHER_FORMS_TAG)."""
    return f" and tags.`{OTHER_FORMS_TAG}` LIKE '%,{key},%'"


def run_name(submission: Submission, keys: Sequence[str] = ()) -> str:
    """Say what differs between runs of one subject: ``H1 · seed=3``, not five ``H1 · hypothesis``.

    The params that name the result's slot (``keys``: the plan's pair key and conditions),
    else the note, else every param (a plan that declares no pair key), else the kind; a
    reported figure says so. Other params (a study's measured extras, settings shared by every
    run) would only bury the difference.
    """
    keyed = [(key, submission.params[key]) for key in keys if key in submission.params]
    note = " ".join(submission.note.split())
    if submission.reported:
        detail = f"reported: {submission.source}" if submission.source else "reported"
    elif keyed or not note:
        shown = keyed or sorted(submission.params.items())
        detail = ", ".join(f"{key}={value}" for key, value in shown) or submission.kind
    else:
        detail = note
    return clip(f"{submission.subject} · {detail}", RUN_NAME_LIMIT)


def plan_digest(plan_file: Path) -> str:
    """Which version of the plan a run was logged under: the SHA-256 of the file's bytes."""
    return hashlib.sha256(plan_file.read_bytes()).hexdigest()


def equal_clauses(params: Mapping[str, str], metrics: Mapping[str, float]) -> str | None:
    """`` and params.`k` = 'v' and metrics.`m` = 0.7`` for MLflow's search, or None when a value
    cannot be written in its filter syntax (it has no escape for a quote in a string)."""
    clauses = []
    for key, value in params.items():
        if "'" in value or "\\" in value or "`" in key:
            return None
        clauses.append(f" and params.`{key}` = '{value}'")
    for key, number in metrics.items():
        if not math.isfinite(number) or "`" in key:
            return None
        # repr round-trips the float exactly; MLflow's parser rejects the "+" of "1.5e+20".
        clauses.append(f" and metrics.`{key}` = {repr(float(number)).replace('e+', 'e')}")
    return "".join(clauses)


def subject_clause(kind: ResultKind | None, subject: str | None) -> str:
    """The filter that narrows a search to one subject's runs; "" for every subject."""
    if kind is None or subject is None:
        return ""
    quoted = subject.replace("'", "''")
    return f" and tags.`{TAG}kind` = '{kind}' and tags.`{TAG}subject` = '{quoted}'"


def to_result(run: Any) -> Result | None:
    """The result an MLflow run holds, or None for a run that is not one (the plan snapshot,
    or a run someone else tagged)."""
    tags: dict[str, str] = run.data.tags
    kind: ResultKind
    if tags.get(f"{TAG}kind") == "hypothesis":
        kind = "hypothesis"
    elif tags.get(f"{TAG}kind") == "baseline":
        kind = "baseline"
    else:
        return None
    return Result(
        run_id=run.info.run_id,
        kind=kind,
        subject=tags.get(f"{TAG}subject", ""),
        metrics={key: float(value) for key, value in run.data.metrics.items()},
        logged_at=_logged_at(tags, run.info.start_time),
        note=tags.get("mlflow.note.content", ""),
        reported=tags.get(f"{TAG}reported") == "true",
        source=tags.get(f"{TAG}source", ""),
        criteria_fingerprint=tags.get(f"{TAG}criteria_fingerprint", ""),
        criteria=tags.get(f"{TAG}criteria", ""),
        params=dict(run.data.params),
        replaces=tags.get(f"{TAG}replaces", ""),
        reason=tags.get(f"{TAG}reason", ""),
        replaced_by=tags.get(f"{TAG}replaced_by", ""),
        finished_ms=int(run.info.end_time or 0),
        duplicate_of=tags.get(DUPLICATE_TAG, ""),
        settled=tags.get(SETTLED_TAG) == "counted",
    )


def to_existing(run: Any) -> ExistingRun:
    """An MLflow run as the journal sees one it may attach or report as unfinished."""
    tags: dict[str, str] = run.data.tags
    return ExistingRun(
        run_id=str(run.info.run_id),
        status=str(run.info.status),
        kind=tags.get(f"{TAG}kind", ""),
        subject=tags.get(f"{TAG}subject", ""),
        metrics={key: float(value) for key, value in run.data.metrics.items()},
        result=to_result(run),
        tags={key: value for key, value in tags.items() if key.startswith(TAG)},
        params=dict(run.data.params),
    )


def attached_already(found: ExistingRun, submission: Submission) -> bool:
    """Whether attaching ``found`` for ``submission`` has nothing left to write: True when the
    run is already this very result (mlplan's tags for the same subject, the entry's values,
    params, note and provenance), False for a run mlplan never tagged (attach it). ValueError
    when the run is a result the submission would change: a result is never written again
    (an attach entry naming a counted run once restamped it with the plan as it is now, and
    added a note and a param to it)."""
    if found.result is None:
        return False
    changes = _changes(found.result, found.tags, submission)
    if not changes:
        return True
    raise ValueError(
        f"run {found.run_id} is already a result for {found.result.kind} "
        f"{found.result.subject}, and attaching it again would change its "
        f"{', '.join(changes)}; a result is never rewritten, so it was left as it is"
    )


def _changes(result: Result, tags: Mapping[str, str], submission: Submission) -> list[str]:
    """What writing ``submission`` over the run of ``result`` would change ([] for nothing).
    An empty note, source or reason writes nothing, so it changes nothing."""
    checks = {
        "subject": (result.kind, result.subject) == (submission.kind, submission.subject),
        "values": all(result.metrics.get(k) == v for k, v in submission.metrics.items()),
        "params": all(result.params.get(k) == v for k, v in submission.params.items()),
        "note": submission.note in ("", result.note),
        "provenance": result.reported == submission.reported
        and submission.source in ("", result.source),
        "replacement": submission.replaces in ("", result.replaces)
        and submission.reason in ("", result.reason),
        "tags": all(tags.get(f"{TAG}{k}") == v for k, v in submission.tags.items() if v),
    }
    return [name for name, same in checks.items() if not same]


def _logged_at(tags: dict[str, str], start_ms: int) -> dt.datetime:
    # A result delivered late from the outbox keeps the time it was logged, not delivered.
    stamp = tags.get(f"{TAG}logged_at")
    if stamp:
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(stamp)
    return dt.datetime.fromtimestamp(start_ms / 1000, tz=dt.UTC)


def redelivery(run: Any, submission: Submission) -> bool:
    """What redelivering ``submission`` may do with the run that carries its submission id:
    True to complete it (a half-made run of this very entry: RUNNING, the same kind and subject,
    and no values or the same ones), False when it is that result already delivered (FINISHED,
    the same values and params: nothing to write). ValueError for anything else: an edited
    entry carrying a counted run's id once rewrote that run's recall from 0.9 to 0.2."""
    found = to_existing(run)
    # Attaching: the run is the entry's own, its values checked as such; completing it writes
    # nothing over a result it already is (MlflowStore._complete, attached_already).
    if submission.run_id:
        if found.run_id != submission.run_id:
            raise ValueError(
                f"its submission id is run {found.run_id}'s, not run {submission.run_id}'s"
            )
        return True
    wanted = {key: float(value) for key, value in submission.metrics.items()}
    params: dict[str, str] = dict(run.data.params)
    if (found.kind, found.subject) != (submission.kind, submission.subject):
        raise ValueError(
            f"its submission id is run {found.run_id}'s, a result for "
            f"{found.kind or 'no subject'} {found.subject}".rstrip()
        )
    # A half-made run has what the interrupted write put there: nothing, or all of it.
    partly = all(submission.params.get(key) == value for key, value in params.items())
    if found.status == "RUNNING" and found.metrics in ({}, wanted) and partly:
        return True
    same = all(params.get(key) == value for key, value in submission.params.items())
    if found.status == "FINISHED" and found.metrics == wanted and same:
        return False
    raise ValueError(
        f"its submission id is run {found.run_id}'s ({found.status}, "
        f"{_values(found.metrics)}), which holds other values than the entry's "
        f"({_values(wanted)})"
    )


def _values(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in sorted(metrics.items())) or "no values"
