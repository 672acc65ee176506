"""Recorded amendments, checked against themselves: each criteria text against the
fingerprint recorded beside it, and the listed changes against the two texts (issue 16).

A hand edit of ``criteria_before`` (the criteria the results were logged under) would change
the reported "verdict under the original criteria"; the fingerprint beside it is the hash the
runs were stamped with, so the edit shows. Checking the texts against the runs' stamps needs
the results, which ``mlplan._judge.frozen`` does for `status`. The texts are the judge's
canonical JSON; comparing two of them is here (below the judge) so `validate` can check
``changes`` without importing the judge.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from mlplan._plan.models import CriteriaAmendment, Plan
from mlplan.errors import Route

__all__ = [
    "CLIPPED",
    "amendment_findings",
    "change_lines",
    "fingerprint_of",
    "setting_changes",
]

# How a stamp cut short by MLflow's tag limit ends (mlplan._record.store.runs.clip): its hash
# cannot be checked, only compared with the stamps themselves.
CLIPPED = " … (cut by mlplan)"


def fingerprint_of(text: str, like: str) -> str:
    """The fingerprint ``text`` has, in the form of the fingerprint ``like`` (versioned
    ``v3:…``, or the first version's bare hash)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    version, colon, _ = like.partition(":")
    return f"{version}:{digest}" if colon else digest


def amendment_findings(plan: Plan) -> Iterator[tuple[Route, str, str]]:
    """(route, message, hint) for each recorded amendment that contradicts itself."""
    for index, amendment in enumerate(plan.experiment_log.amendments):
        route: Route = ("experiment_log", "amendments", index)
        yield from _self_check(amendment, route)


_HINT = (
    "an amendment records what the results were logged under and what replaced it; restore "
    "it as `mlplan amend` wrote it (see the file's history), or amend again"
)


def _self_check(amendment: CriteriaAmendment, route: Route) -> Iterator[tuple[Route, str, str]]:
    for side in ("before", "after"):
        text = getattr(amendment, f"criteria_{side}")
        recorded = getattr(amendment, f"fingerprint_{side}")
        if text.endswith(CLIPPED):
            continue
        if fingerprint_of(text, recorded) != recorded:
            yield (
                (*route, f"criteria_{side}"),
                f"criteria_{side} does not match fingerprint_{side} ({recorded}): the recorded "
                "criteria were edited after they were written",
                _HINT,
            )
    expected = change_lines(amendment.criteria_before, amendment.criteria_after)
    if amendment.changes != expected:
        yield (
            (*route, "changes"),
            "changes does not list what differs between criteria_before and criteria_after"
            + (f" ({'; '.join(expected)})" if expected else " (nothing does)"),
            _HINT,
        )


def setting_changes(before: str, after: str) -> list[tuple[str, str, str]]:
    """(setting, before, after) for every setting that differs between two criteria texts.

    The texts are the judge's canonical JSON; one that does not parse (a stamp cut short by
    MLflow's tag limit, say) is compared as a whole.
    """
    try:
        old, new = json.loads(before), json.loads(after)
    except ValueError:
        return [("criteria", before, after)] if before != after else []
    return list(_differences("", old, new))


_ABSENT = object()


def _differences(where: str, old: Any, new: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            inner = f"{where}.{key}" if where else str(key)
            yield from _differences(inner, old.get(key, _ABSENT), new.get(key, _ABSENT))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from _differences(
                f"{where}[{index}]",
                old[index] if index < len(old) else _ABSENT,
                new[index] if index < len(new) else _ABSENT,
            )
    elif old != new:
        yield where, _shown(old), _shown(new)


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def change_lines(before: str, after: str) -> list[str]:
    return [f"{where}: {old} → {new}" for where, old, new in setting_changes(before, after)]
