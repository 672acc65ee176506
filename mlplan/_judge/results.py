"""Results as the core sees them: plain values, with no trace of where they were stored.

The tracking module turns MLflow runs into these; the judge and the renderer read only these,
so neither needs MLflow to be imported or reachable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Result", "ResultKind"]

ResultKind = Literal["hypothesis", "baseline"]


@dataclass(frozen=True)
class Result:
    """One logged result: a run that tests a hypothesis or measures a baseline.

    ``reported`` results were not measured by this project (a paper's table, say); ``source``
    says where they come from, and they are labelled as reported wherever they appear.
    ``criteria_fingerprint`` and ``criteria`` record the success criteria in force when the
    result was logged, so that later changes to the criteria show as amendments.
    ``replaces`` names the run this one replaced and ``reason`` says why; ``replaced_by`` is
    set on a run that a later one replaced, which the judge then no longer counts.
    ``duplicate_of`` is set on a run written for a slot another result held first;
    ``settled`` on one whose writer was told it counts.
    """

    run_id: str
    kind: ResultKind
    subject: str
    metrics: Mapping[str, float]
    logged_at: dt.datetime
    note: str = ""
    reported: bool = False
    source: str = ""
    criteria_fingerprint: str = ""
    criteria: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    replaces: str = ""
    reason: str = ""
    replaced_by: str = ""
    # When the run finished (ms since the epoch, MLflow's end_time; 0 when unknown) and
    # the run whose slot it found taken: together they decide which result of a slot counts
    # (mlplan._judge.evidence.slot_winner).
    finished_ms: int = 0
    duplicate_of: str = ""
    # Whether its writer settled the slot and was told the result counts: then it keeps the
    # slot against any run that reaches it later (slot_winner).
    settled: bool = False
