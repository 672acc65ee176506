"""The contract between the driver and a cell, shared by every backend.

A cell runs as ``[sys.executable, "-m", "mlplan._run.cell", SPEC_PATH]``. SPEC_PATH is a JSON
file the driver writes::

    {"plan": abs path, "plan_sha256": ..., "submission": id, "subject": "H2" | "B1",
     "params": {...YAML-typed...},
     "entry_point": "mod:fn" or null, "command": [argv words] or null,
     "result": abs path of the result JSON the cell must write, "workdir": abs path}

The cell writes the result file atomically, ``{"ok": true, "metrics": {...}, "params": {...},
"note": "..."}`` or ``{"ok": false, "error": "..."}``, and nothing else: the driver reads it and
logs through the journal, so it is the only writer to the store.

What an entry point returns (and what a command writes to {result}) is one of two forms:

- ``{metric: value}``: the metrics alone;
- ``{"metrics": {metric: value}, "params": {name: value}, "note": "..."}`` (``params`` and
  ``note`` optional, no other key): the params are logged on the run beside the cell's own
  (a measured extra such as the λ cross-validation chose, or a condition nested in the pair
  key such as the layout family a seed holds out); they may add to the cell's params, never
  change one; the note is the run's description (default: "measured by running ...").

Anything else is refused with one message naming the subject and what was wrong. A cell is
one slot and gives one result: what it records with ``mlplan.log_result`` and what it returns
add up to that result, and a value given twice differently fails the cell (``combined``).
A cell whose process ends without a result file failed (its exit status, the tail of its log
and the log's path say how).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlplan._files import write_atomically
from mlplan._plan.keys import NumberError, number
from mlplan._text import not_utf8

__all__ = [
    "ENV_PLAN",
    "ENV_PLAN_SHA256",
    "ENV_RESULT",
    "ENV_SUBJECT",
    "ENV_SUBMISSION",
    "ENV_WORKDIR",
    "CellOutcome",
    "CellSpec",
    "SecondResultError",
    "add_result",
    "argv",
    "combined",
    "params_of",
    "read_outcome",
    "result_of",
    "write_outcome",
]

# What a cell's process (and the command it runs) finds in its environment.
ENV_PLAN = "MLPLAN_PLAN"
ENV_PLAN_SHA256 = "MLPLAN_PLAN_SHA256"
ENV_SUBMISSION = "MLPLAN_SUBMISSION"
ENV_SUBJECT = "MLPLAN_SUBJECT"
ENV_RESULT = "MLPLAN_RESULT"
ENV_WORKDIR = "MLPLAN_WORKDIR"
# A result file larger than this is not a result (a flood written to the wrong file).
RESULT_LIMIT = 1 << 20


@dataclass(frozen=True)
class CellSpec:
    """One cell as the driver hands it to a backend."""

    plan: str
    plan_sha256: str
    submission: str
    subject: str
    params: dict[str, Any]
    entry_point: str | None
    command: list[str] | None
    result: str
    workdir: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=True, allow_nan=False)

    @classmethod
    def read(cls, path: Path) -> CellSpec:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})

    def write(self, path: Path) -> None:
        write_atomically(path, self.to_json())

    def environment(self) -> dict[str, str]:
        """The variables a cell's process gets: who it is, and where its result goes."""
        return {
            ENV_PLAN: self.plan,
            ENV_PLAN_SHA256: self.plan_sha256,
            ENV_SUBMISSION: self.submission,
            ENV_SUBJECT: self.subject,
            ENV_RESULT: self.result,
            ENV_WORKDIR: self.workdir,
        }


def argv(spec_path: Path) -> list[str]:
    """The one way every backend starts a cell."""
    return [sys.executable, "-m", "mlplan._run.cell", str(spec_path)]


@dataclass(frozen=True)
class CellOutcome:
    """What a cell reported: metrics and params, or why it produced none."""

    ok: bool
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    note: str = ""


def write_outcome(path: Path, outcome: CellOutcome) -> None:
    document: dict[str, Any] = (
        {"ok": True, "metrics": outcome.metrics, "params": outcome.params, "note": outcome.note}
        if outcome.ok
        else {"ok": False, "error": outcome.error}
    )
    write_atomically(path, json.dumps(document, ensure_ascii=True, allow_nan=False))


def read_outcome(path: Path) -> CellOutcome | None:
    """The cell's result file, or None when there is none; a damaged one is a failed cell."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size > RESULT_LIMIT:
        return CellOutcome(False, error=f"its result file {path} is {size} bytes, not a result")
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return CellOutcome(False, error=f"its result file {path} is not JSON ({error})")
    return _outcome(document, path)


def _outcome(document: Any, path: Path) -> CellOutcome:
    if not isinstance(document, dict) or not isinstance(document.get("ok"), bool):
        return CellOutcome(False, error=f"its result file {path} is not a cell result")
    if not document["ok"]:
        return CellOutcome(False, error=str(document.get("error") or "the cell reported failure"))
    metrics, params = document.get("metrics"), document.get("params", {})
    note = document.get("note", "")
    if not isinstance(metrics, dict) or not isinstance(params, dict) or not isinstance(note, str):
        return CellOutcome(False, error=f"its result file {path} has no metrics mapping")
    return CellOutcome(True, metrics=dict(metrics), params=dict(params), note=note)


def metrics_of(value: Any, what: str) -> dict[str, float]:
    """A mapping of metric key to number, as an entry point or a result file gives it."""
    if isinstance(value, Mapping) and isinstance(value.get("metrics"), Mapping):
        value = value["metrics"]
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{what} gave {type(value).__name__}; it must give a mapping of metric key to value"
        )
    metrics: dict[str, float] = {}
    for key, given in value.items():
        # The one grammar (keys.number), as record_result reads a metric: "0.9" and numpy's
        # float32 are numbers, 10**400 is refused with a reason, not an OverflowError.
        try:
            metrics[str(key)] = number(given)
        except NumberError as problem:
            finite = " finite" if problem.kind == "finite" else ""
            raise ValueError(
                f"{what} gave {key}={given!r}; a metric is a{finite} number ({problem})"
            ) from None
    return metrics


#: The keys of a result's full form; a mapping with any other key is a plain {metric: value}.
RESULT_KEYS = ("metrics", "params", "note")


def result_of(value: Any, what: str) -> CellOutcome:
    """What an entry point returned (or a command wrote), checked: its metrics, the params it
    adds and its note, in either form the module docstring gives. ValueError says what is
    wrong, naming ``what``."""
    if not isinstance(value, Mapping) or not isinstance(value.get("metrics"), Mapping):
        return CellOutcome(True, metrics=metrics_of(value, what))
    unknown = sorted(str(key) for key in value if key not in RESULT_KEYS)
    if unknown:
        raise ValueError(
            f"{what} gave {', '.join(map(repr, unknown))} beside 'metrics'; a result is "
            "{metric: value} or {'metrics': {...}, 'params': {...}, 'note': '...'}"
        )
    note = value.get("note", "")
    if not isinstance(note, str):
        raise ValueError(f"{what} gave a note of type {type(note).__name__}; a note is text")
    return _writable(
        CellOutcome(
            True,
            metrics=metrics_of(value["metrics"], what),
            params=params_of(value.get("params", {}), what),
            note=note,
        ),
        what,
    )


def _writable(outcome: CellOutcome, what: str) -> CellOutcome:
    """``outcome`` when every text in it can be stored (UTF-8); else ValueError naming the
    field. Caught here, the cell fails with that message; caught only by the store, the result
    waited in the outbox for ever, in front of every later one (issue 16)."""
    texts = {"its note": outcome.note}
    texts |= {f"param {key}": item for key, item in outcome.params.items() if isinstance(item, str)}
    for name, text in texts.items():
        problem = not_utf8(name, text)
        if problem is not None:
            raise ValueError(f"{what}: {problem}; nothing was recorded")
    return outcome


def params_of(value: Any, what: str) -> dict[str, Any]:
    """The params a result adds: a mapping of name to a number, a truth value or text."""
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{what} gave params of type {type(value).__name__}; they must be a mapping of "
            "param name to value"
        )
    params: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{what} gave a param named {key!r}; a param's name is text")
        if not isinstance(item, str | int | float) or (
            isinstance(item, float) and not math.isfinite(item)
        ):
            raise ValueError(
                f"{what} gave {key}={item!r}; a param is a finite number, a truth value or text"
            )
        params[key] = item
    return params


def in_cell(plan: Path) -> Path | None:
    """The result file to write when this process is a cell of ``plan`` (None otherwise): a
    script run by `mlplan run` that calls ``mlplan.log_result`` hands its result to the driver."""
    result, own = os.environ.get(ENV_RESULT), os.environ.get(ENV_PLAN)
    if not result or not own:
        return None
    try:
        same = Path(own).resolve() == plan.resolve()
    except OSError:
        return None
    return Path(result) if same else None


class SecondResultError(ValueError):
    """A cell gave a second result that differs from its first: the cell has failed."""


def combined(before: CellOutcome | None, after: CellOutcome, what: str) -> CellOutcome:
    """The cell's one result once ``after`` is added to what it gave ``before``. A cell is one
    slot (its subject, pair key and conditions), and a slot holds one result: further calls
    may add metrics, params and a note the first did not give, or repeat them, but a value
    that differs is a second result (a script logging fold 1, then fold 2, once had both told
    "Logged" while only the last was kept). SecondResultError says so; a cell that has failed
    that way stays failed."""
    if before is None:
        return after
    if not before.ok:
        raise SecondResultError(before.error)
    old, new = _fields(before), _fields(after)
    differ = [key for key in new if key in old and old[key] != new[key]]
    if differ:
        raise SecondResultError(
            f"{what} gave {_shown(new, differ)} after {_shown(old, differ)} in the same cell; "
            "a cell of `mlplan run` is one slot and gives one result, so the cell fails and "
            "nothing of it is logged. Give each result its own cell (a condition or a pair "
            "value in the plan), or give the slot one result (a mean over folds, say)"
        )
    return CellOutcome(
        True,
        metrics={**before.metrics, **after.metrics},
        params={**before.params, **after.params},
        note=after.note or before.note,
    )


def _fields(outcome: CellOutcome) -> dict[tuple[str, str], Any]:
    """The values a result gives, keyed by what they are, as the result file keeps them (a
    param 1 and 1.0 are one value)."""
    values: dict[tuple[str, str], Any] = {("metric", k): v for k, v in outcome.metrics.items()}
    values |= {("param", key): value for key, value in outcome.params.items()}
    if outcome.note:
        values["note", "note"] = outcome.note
    kept = json.loads(json.dumps(list(values.values()), default=str))
    return dict(zip(values, kept, strict=True))


def _shown(values: Mapping[tuple[str, str], Any], keys: list[tuple[str, str]]) -> str:
    return ", ".join(f"{key[1]}={values[key]!r}" for key in keys)


def add_result(path: Path, outcome: CellOutcome, what: str) -> None:
    """Add ``outcome`` to the cell's result file (``mlplan.log_result`` inside a cell). Text
    that cannot be stored is refused (ValueError), the file left as it was; a second result
    fails the cell (its result file says why, so the driver reports it even when the script
    catches the error) and raises SecondResultError."""
    outcome = _writable(outcome, what)
    try:
        outcome = combined(read_outcome(path), outcome, what)
    except SecondResultError as error:
        write_outcome(path, CellOutcome(False, error=str(error)))
        raise
    write_outcome(path, outcome)
