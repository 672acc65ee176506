"""A local copy of a plan's results, so reading 10,000 runs does not page through them all.

MLflow lets a finished run take new metrics and tags, so a copy cannot be trusted by age. It
is trusted only while the experiment's ``mlplan.revision`` tag still holds the value read
*before* the copy was made: every mlplan write changes that tag *after* its run is complete.
A write the copy missed therefore always changed the tag later, and the next reader sees a
different value and reads the store again. Edits made outside mlplan (a run deleted in the
MLflow UI, a metric logged by hand) do not change the tag: ``--refresh`` reads the store
regardless.

One file per destination (store URI, experiment and plan) under ``.mlplan/cache``; a copy
that cannot be written (a read-only folder) is simply not kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from mlplan._files import write_atomically
from mlplan._judge.results import Result

__all__ = ["ResultsCache"]

# Part of every file name: a copy written by a version of mlplan whose Result had other
# fields is never read back.
_FORMAT = "1:" + ",".join(field.name for field in dataclasses.fields(Result))


class ResultsCache:
    def __init__(self, folder: Path, destination: str) -> None:
        key = hashlib.sha256(f"{_FORMAT}\n{destination}".encode()).hexdigest()[:20]
        self.path = folder / f"results-{key}.json"

    def load(self, revision: str) -> list[Result] | None:
        """The cached results if they were read at ``revision``; else None."""
        if not revision:
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("revision") != revision:
            return None
        try:
            return [_result(item) for item in data["results"]]
        except (KeyError, TypeError, ValueError):
            return None  # damaged: read the store instead

    def save(self, revision: str, results: list[Result]) -> None:
        if not revision:
            return
        data = {"revision": revision, "results": [_plain(result) for result in results]}
        # A read-only folder or a full disk costs speed, never the answer.
        with contextlib.suppress(OSError):
            write_atomically(self.path, json.dumps(data, separators=(",", ":")))


def _plain(result: Result) -> dict[str, Any]:
    data = dataclasses.asdict(result)
    data["logged_at"] = result.logged_at.isoformat()
    return data


def _result(data: dict[str, Any]) -> Result:
    data = {**data, "logged_at": dt.datetime.fromisoformat(data["logged_at"])}
    return Result(**data)
