"""The verdicts a plain `mlplan status` last computed, kept beside the local copy of the results
(issue 20): while nothing the judge reads has changed, status shows them again without judging,
and without importing scipy (~0.2 s of a ~0.6 s status on a small plan).

The key is everything ``judge(plan, results, today)`` reads: the plan as loaded (decisions and
log included; its values and which of them the file sets), the results, the date, the source
of mlplan itself and the versions of Python, numpy and scipy; a file whose key differs is
ignored and replaced. Only a status that judged
the local copy of the results uses it: that copy is already a file a pull request can bring,
so this cache adds no trust, and ``status --check``, the gate and publish read neither. It is
JSON, decoded field by field against the verdict's types (never a pickle, which would run
whatever a crafted file says); a file that does not decode is ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
import platform
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mlplan._files import write_atomically
from mlplan._judge.model import Verdict
from mlplan._judge.results import Result
from mlplan._plan.models import Plan

__all__ = ["VerdictCache", "decoded", "encoded"]

_FORMAT = "verdicts 1"
_PACKAGE = Path(__file__).resolve().parent.parent


class VerdictCache:
    """One file per plan and store, under the store's ``.mlplan/cache``."""

    def __init__(self, folder: Path, destination: str) -> None:
        name = hashlib.sha256(f"{_FORMAT}\n{destination}".encode()).hexdigest()[:20]
        self.path = folder / f"verdicts-{name}.json"

    def load(self, key: str) -> list[Verdict] | None:
        """The verdicts saved under ``key``; None when there are none or the file is damaged."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        try:
            return [decoded(item, Verdict) for item in data["verdicts"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def save(self, key: str, verdicts: Sequence[Verdict]) -> None:
        try:
            text = json.dumps({"key": key, "verdicts": [encoded(v) for v in verdicts]})
        except (TypeError, ValueError):
            return  # a value this format cannot hold: judge again next time
        # A read-only folder or a full disk costs speed, never the answer.
        with contextlib.suppress(OSError):
            write_atomically(self.path, text)


def verdicts_key(plan: Plan, results: Sequence[Result], today: dt.date) -> str:
    """A digest of everything the judge reads (results by their full repr: every field)."""
    digest = hashlib.sha256()
    for part in (
        _FORMAT,
        _environment(),
        today.isoformat(),
        plan.model_dump_json(),
        # What was written, not only the values: `pair_by: null` on a hypothesis differs
        # from no pair_by at all (Hypothesis.overrides_pair_by reads the fields set).
        plan.model_dump_json(exclude_unset=True),
        repr(list(results)),
    ):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def _environment() -> str:
    """mlplan's source (a development checkout changes without a new version number) and the
    versions whose numerics the verdicts depend on."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    versions = []
    for package in ("numpy", "scipy"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} ?")
    return f"{digest.hexdigest()} {platform.python_version()} {' '.join(versions)}"


def encoded(value: Any) -> Any:
    """A verdict (or any value in one) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encoded(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dt.date):  # datetime included
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [encoded(item) for item in value]
    if isinstance(value, float):
        return float(value)  # numpy's float64 too
    if value is None or isinstance(value, str | bool | int):
        return value
    if hasattr(value, "item") and not hasattr(value, "__len__"):  # numpy's bool or int
        return encoded(value.item())
    raise TypeError(f"cannot keep a {type(value).__name__} in the verdict cache")


def decoded(data: Any, hint: Any) -> Any:
    """``data`` rebuilt as the type ``hint`` names; TypeError or ValueError when it is not one."""
    origin = typing.get_origin(hint)
    if hint is Any:
        raise TypeError("no value of an unknown type is kept")
    if origin in (typing.Union, types.UnionType):
        arguments = typing.get_args(hint)
        if data is None and type(None) in arguments:
            return None
        (kind,) = [a for a in arguments if a is not type(None)]
        return decoded(data, kind)
    if origin is typing.Literal:
        if data not in typing.get_args(hint):
            raise ValueError(f"{data!r} is not one of {typing.get_args(hint)}")
        return data
    if origin is tuple:
        (item, _) = typing.get_args(hint)
        return tuple(decoded(value, item) for value in _sequence(data))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(data, dict):
            raise TypeError(f"expected an object for {hint.__name__}")
        hints = typing.get_type_hints(hint)
        return hint(**{f.name: decoded(data[f.name], hints[f.name]) for f in _fields(hint)})
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return hint.model_validate(data)
    return _scalar(data, hint)


def _sequence(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise TypeError("expected a list")
    return data


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.init)


def _scalar(data: Any, hint: Any) -> Any:
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(_typed(data, str))
    if hint is dt.date:
        return dt.date.fromisoformat(_typed(data, str))
    if hint in (float, int):
        # As it was: an int where a float is declared stays an int (it prints without ".0").
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise TypeError("expected a number")
        return data
    if hint in (str, bool):
        return _typed(data, hint)
    raise TypeError(f"cannot read a {hint!r} from the verdict cache")


def _typed(data: Any, kind: type) -> Any:
    if not isinstance(data, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(data).__name__}")
    return data
