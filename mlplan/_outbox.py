"""Results that could not be delivered yet, kept on disk beside the plan.

A submission carries a unique id that is also written to its MLflow run as a tag, so a
delivery that was interrupted after the run was created is recognised and never sent twice.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlplan._files import write_atomically
from mlplan._results import ResultKind

__all__ = ["Outbox", "Submission"]


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
    created_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Submission:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, submission: Submission) -> Path:
        path = self.folder / f"{submission.created_at[:10]}-{submission.submission_id}.json"
        write_atomically(path, submission.to_json())
        return path

    def pending(self) -> list[tuple[Path, Submission]]:
        if not self.folder.is_dir():
            return []
        return [
            (path, Submission.from_json(path.read_text(encoding="utf-8")))
            for path in sorted(self.folder.glob("*.json"))
        ]

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
