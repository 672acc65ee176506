"""Results that could not be delivered yet, kept on disk beside the plan.

A submission carries a unique id that is also written to its MLflow run as a tag, so a
delivery that was interrupted after the run was created is recognised and never sent twice.

Each entry remembers the store it was meant for and why it waits. It is delivered only to that
store: a result meant for the team's server must never land in the embedded store because a
later command happened to run without ``--tracking-uri``. An entry the store refused is parked
with the store's reason; it stays on disk for the user to read, and never blocks the others.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mlplan._files import write_atomically
from mlplan._judge.results import ResultKind
from mlplan.errors import TrackingError

__all__ = ["OUTBOX_FORMAT", "Outbox", "Submission", "Unreadable", "Waiting"]

# Bumped when an entry's layout changes; an entry from a newer mlplan is left alone, not guessed.
OUTBOX_FORMAT = 1


@dataclass(frozen=True)
class Submission:
    """A result on its way to the store."""

    kind: ResultKind
    subject: str
    metrics: Mapping[str, float]
    note: str = ""
    reported: bool = False
    source: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    criteria_fingerprint: str = ""
    criteria: str = ""
    run_id: str = ""  # an existing run to attach instead of creating one
    replaces: str = ""  # a run of the same subject and key this result replaces
    reason: str = ""
    submission_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # What the process that measured it adds (a Slurm job id), tagged mlplan.<key> on the run.
    tags: Mapping[str, str] = field(default_factory=dict)
    created_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Submission:
        """A submission read back from an outbox file, every field of the type mlplan writes:
        the file can be edited by anyone, and a list for ``params`` or a path for
        ``submission_id`` once crashed a sync or made a lock file outside the plan's folder.
        ValueError says which field is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("its submission is not a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fields {', '.join(unknown)}")
        if data.get("kind") not in ("hypothesis", "baseline"):
            raise ValueError(f"kind {data.get('kind')!r} is neither hypothesis nor baseline")
        for name in ("subject", "metrics"):
            if name not in data:
                raise ValueError(f"it has no {name}")
        metrics = data["metrics"]
        if not _mapping_of(metrics, lambda v: isinstance(v, int | float)):
            raise ValueError("metrics is not a mapping of metric names to numbers")
        for name in _TEXT_FIELDS:
            if name in data and not isinstance(data[name], str):
                raise ValueError(f"{name} is {_json_type(data[name])}, not text")
        if "reported" in data and not isinstance(data["reported"], bool):
            raise ValueError(f"reported is {_json_type(data['reported'])}, not true or false")
        for name in ("params", "tags"):
            if name in data and not _mapping_of(data[name], lambda v: isinstance(v, str)):
                raise ValueError(f"{name} is not a mapping of names to text")
        if "submission_id" in data and not _SUBMISSION_ID.fullmatch(data["submission_id"]):
            raise ValueError(
                f"submission_id {data['submission_id'][:40]!r} is not one mlplan writes "
                "(32 lowercase hexadecimal digits)"
            )
        return cls(**data)


# What mlplan writes as a submission id (uuid4().hex): it names a lock file, so it is never a
# path, whatever an edited entry says.
_SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")
_TEXT_FIELDS = (
    "subject",
    "note",
    "source",
    "criteria_fingerprint",
    "criteria",
    "run_id",
    "replaces",
    "reason",
    "submission_id",
    "created_at",
)


def _mapping_of(value: Any, fits: Callable[[Any], bool]) -> bool:
    """A JSON object with text keys whose values all fit."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and fits(v) and not isinstance(v, bool) for k, v in value.items()
    )


def _json_type(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", list: "a list"}
    return names.get(type(value), "an object" if isinstance(value, dict) else "null")


@dataclass(frozen=True)
class Waiting:
    """One result in the outbox: what, for which store, and why it has not arrived."""

    path: Path
    plan: str  # the plan's id: two plans in one folder share an outbox
    submission: Submission
    destination: str  # StoreLocation.destination of the store it is meant for
    reason: str = ""  # why it could not be delivered when it was logged
    refused: str = ""  # the store's reason for refusing it; a refused entry is parked

    @property
    def parked(self) -> bool:
        return bool(self.refused)

    def to_json(self) -> str:
        document = {
            "format": OUTBOX_FORMAT,
            "plan": self.plan,
            "destination": self.destination,
            "reason": self.reason,
            "refused": self.refused,
            "submission": self.submission.to_dict(),
        }
        return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True)


@dataclass(frozen=True)
class Unreadable:
    """An outbox file mlplan cannot read: damaged, or written by a newer mlplan."""

    path: Path
    problem: str


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, plan: str, submission: Submission, destination: str, reason: str = "") -> Waiting:
        """Keep ``submission`` for ``destination``; a TrackingError if it cannot be kept."""
        path = self.folder / f"{submission.created_at[:10]}-{submission.submission_id}.json"
        entry = Waiting(path, plan, submission, destination, reason)
        self._write(entry)
        return entry

    def park(self, entry: Waiting, refusal: str) -> Waiting:
        parked = replace(entry, refused=refusal)
        self._write(parked)
        return parked

    def note(self, entry: Waiting, reason: str) -> Waiting:
        noted = replace(entry, reason=reason)
        self._write(noted)
        return noted

    def still_there(self, entry: Waiting) -> bool:
        return entry.path.is_file()

    def _write(self, entry: Waiting) -> None:
        try:
            write_atomically(entry.path, entry.to_json())
        except OSError as error:
            raise TrackingError(
                f"the result could not be kept in the outbox {self.folder} either "
                f"({error.strerror or error}); nothing was saved: log it again once "
                "the folder is writable"
            ) from None

    def entries(self) -> tuple[list[Waiting], list[Unreadable]]:
        """Every entry, oldest first, and the files that could not be read."""
        if not self.folder.is_dir():
            return [], []
        waiting: list[Waiting] = []
        unreadable: list[Unreadable] = []
        for path in sorted(self.folder.glob("*.json")):
            entry = _read(path)
            if isinstance(entry, Waiting):
                waiting.append(entry)
            else:
                unreadable.append(entry)
        return waiting, unreadable

    def remove(self, entry: Waiting) -> None:
        entry.path.unlink(missing_ok=True)


def _read(path: Path) -> Waiting | Unreadable:
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return Unreadable(path, f"not a readable outbox entry ({type(error).__name__})")
    if not isinstance(document, dict):
        return Unreadable(path, "not a readable outbox entry (not a JSON object)")
    version = document.get("format")
    if isinstance(version, int) and version > OUTBOX_FORMAT:
        return Unreadable(
            path, f"written by a newer mlplan (outbox format {version}); upgrade mlplan to send it"
        )
    try:
        return Waiting(
            path,
            str(document["plan"]),
            Submission.from_dict(document["submission"]),
            str(document["destination"]),
            str(document.get("reason", "")),
            str(document.get("refused", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        return Unreadable(path, f"not a readable outbox entry ({error})")
