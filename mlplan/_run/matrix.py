"""The cells a plan needs: subject × pair key × conditions, with their YAML-typed params.

A cell's identity is its slot: the subject and the canonical form of its key params
(``mlplan._plan.keys.canonical``), so a seed 0 planned as an int and a "0" logged from the
command line are one slot, and a cell whose slot already holds a result is done.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlplan._judge.results import Result, ResultKind
from mlplan._judge.rules import needed_baselines
from mlplan._judge.settings import design_of
from mlplan._plan.keys import canonical
from mlplan._plan.models import Baseline, Hypothesis, Plan
from mlplan._text import did_you_mean
from mlplan.errors import UsageError

__all__ = ["Cell", "Matrix", "cells_of", "checked", "expand", "slot_key"]


def _written(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def slot_key(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, canonical(_written(value))) for key, value in params.items()))


@dataclass(frozen=True)
class Cell:
    """One result to produce: a subject run with these params."""

    kind: ResultKind
    subject: str
    params: dict[str, Any] = field(hash=False)
    # The conditions this cell is planned outside of (a null condition value): a result that
    # carries one of them is another cell's, not this one's.
    outside: tuple[str, ...] = field(default=(), hash=False)

    @property
    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        return (self.kind, self.subject, slot_key(self.params))

    @property
    def label(self) -> str:
        """``H2 · seed=4``, as the run is named in MLflow."""
        shown = ", ".join(f"{key}={_written(value)}" for key, value in self.params.items())
        return f"{self.subject} · {shown}" if shown else self.subject

    @property
    def slug(self) -> str:
        """A file name for the cell: its subject and a digest of its slot."""
        digest = hashlib.sha256(repr(self.key).encode()).hexdigest()[:12]
        return f"{self.subject}-{digest}"

    def carries(self, params: Mapping[str, Any]) -> bool:
        """Whether the cell has each of ``params`` (any form of the same value)."""
        return all(
            key in self.params and canonical(_written(self.params[key])) == canonical(_written(v))
            for key, v in params.items()
        )

    def filled_by(self, result: Result) -> bool:
        """Whether ``result`` is this cell's: same subject, same canonical key params."""
        if (result.kind, result.subject) != (self.kind, self.subject):
            return False
        if any(name in result.params for name in self.outside):
            return False
        return all(
            key in result.params and canonical(result.params[key]) == canonical(_written(value))
            for key, value in self.params.items()
        )


@dataclass(frozen=True)
class Matrix:
    """The cells asked for, which are done, and the subjects that cannot be run."""

    cells: list[Cell]
    done: list[Cell]
    manual: list[str]  # subjects needed that declare no entry_point or command
    filled: dict[tuple[Any, ...], str] = field(default_factory=dict)  # done cell → its run id

    @property
    def missing(self) -> list[Cell]:
        done = {cell.key for cell in self.done}
        return [cell for cell in self.cells if cell.key not in done]


def _pair_by(plan: Plan, hypothesis: Hypothesis) -> str | None:
    return hypothesis.pair_by if hypothesis.overrides_pair_by else plan.experiment.pair_by


def _condition_axes(plan: Plan, hypothesis: Hypothesis | None) -> list[tuple[str, list[Any]]]:
    """The conditions a subject's cells vary, with their planned values: a hypothesis's own
    condition_values replace the experiment's ({} varies none of them)."""
    design = plan.experiment
    planned: dict[str, list[Any]] = dict(design.condition_values or {})
    if hypothesis is not None and hypothesis.condition_values is not None:
        planned = dict(hypothesis.condition_values)
    return [(name, list(planned[name])) for name in design.conditions if planned.get(name)]


def _grid(
    plan: Plan, pair_by: str | None, horizon: int | None, hypothesis: Hypothesis | None = None
) -> list[dict[str, Any]]:
    """Every combination of the pair key's planned values (the first ``horizon``) and the
    conditions' planned values, pair key first; a condition's null is a cell without it."""
    design = plan.experiment
    axes: list[tuple[str, Sequence[Any]]] = []
    if pair_by is not None and design.pair_values is not None:
        axes.append((pair_by, design.pair_values[:horizon] if horizon else design.pair_values))
    axes += _condition_axes(plan, hypothesis)
    names = [name for name, _ in axes]
    return [
        {name: value for name, value in zip(names, combo, strict=True) if value is not None}
        for combo in itertools.product(*(v for _, v in axes))
    ]


def _exact(plan: Plan, hypothesis: Hypothesis) -> bool:
    """Whether every metric of the hypothesis is exact: then every seed gives the same
    figures, and, like an exact baseline, it runs once per condition, not once per seed."""
    exact = {metric.key: metric.exact for metric in plan.metrics}
    return all(exact.get(key, False) for key in hypothesis.metrics)


def cells_of(plan: Plan, hypothesis: Hypothesis) -> list[Cell]:
    """A hypothesis's cells: its planned n of pair values (a fixed horizon's runs, a
    sequential design's max_runs; all planned values otherwise) by its conditions' values;
    a hypothesis whose metrics are all exact runs once per condition."""
    runs, sequential = design_of(plan, hypothesis)
    horizon = runs or (sequential.max_runs if sequential is not None else None)
    pair_by = None if _exact(plan, hypothesis) else _pair_by(plan, hypothesis)
    varied = [name for name, _ in _condition_axes(plan, hypothesis)]
    return [
        Cell("hypothesis", hypothesis.id, params, tuple(n for n in varied if n not in params))
        for params in _grid(plan, pair_by, horizon, hypothesis)
    ]


def _serving(cells: list[Cell]) -> list[Cell]:
    """The cells whose slots the hypothesis's baselines are run on: a cell outside one of
    its conditions (a null value) is compared with no baseline there."""
    return [cell for cell in cells if not cell.outside]


def _baseline_cells(plan: Plan, baseline: Baseline, served: Iterable[Cell]) -> list[Cell]:
    """A baseline's cells: the slots of the hypothesis cells it serves, else the design's own
    grid; a deterministic (exact) baseline drops the pair key, since every seed gives it the
    same value."""
    pair_keys = {_pair_by(plan, h) for h in plan.experiment.hypotheses} | {plan.experiment.pair_by}
    grids = [dict(cell.params) for cell in served] or _grid(plan, plan.experiment.pair_by, None)
    if baseline.exact:
        grids = [{k: v for k, v in params.items() if k not in pair_keys} for params in grids]
    unique = {slot_key(params): params for params in grids}
    return [Cell("baseline", baseline.id, params) for params in unique.values()]


def _measured(baseline: Baseline) -> bool:
    return (
        baseline.reported is None
        or baseline.entry_point is not None
        or (baseline.command is not None)
    )


def _chosen(plan: Plan, ids: Sequence[str], active: Sequence[str]) -> tuple[list[str], list[str]]:
    hypotheses = [h.id for h in plan.experiment.hypotheses]
    baselines = [b.id for b in plan.experiment.baselines]
    for subject in ids:
        if subject not in hypotheses and subject not in baselines:
            raise UsageError(
                f"no hypothesis or baseline {subject!r} in plan {plan.id!r}; "
                + did_you_mean(subject, hypotheses + baselines, "known ids")
            )
    if not ids:
        return list(active), []
    chosen = list(dict.fromkeys(ids))
    return [i for i in chosen if i in hypotheses], [i for i in chosen if i in baselines]


def expand(
    plan: Plan, ids: Sequence[str], active: Sequence[str], results: Sequence[Result]
) -> Matrix:
    """The cells for ``ids`` (default: the ``active`` hypotheses), each hypothesis with the
    baselines it is compared with, and which of them the ``results`` already fill."""
    hypothesis_ids, baseline_ids = _chosen(plan, ids, active)
    cells: list[Cell] = []
    served: dict[str, list[Cell]] = {}
    manual: list[str] = []
    for hypothesis_id in hypothesis_ids:
        hypothesis = plan.hypothesis(hypothesis_id)
        own = cells_of(plan, hypothesis)
        if hypothesis.entry_point is None and hypothesis.command is None:
            manual.append(hypothesis_id)
        else:
            cells += own
        for baseline_id in needed_baselines(hypothesis):
            served.setdefault(baseline_id, []).extend(_serving(own))
    for baseline_id in baseline_ids:
        served.setdefault(baseline_id, [])
    for baseline_id, slots in served.items():
        baseline = plan.baseline(baseline_id)
        if not _measured(baseline):
            continue  # a source's reported figures: nothing to run
        if baseline.entry_point is None and baseline.command is None:
            manual.append(baseline_id)
            continue
        cells += _baseline_cells(plan, baseline, [] if baseline_id in baseline_ids else slots)
    return checked(list({cell.key: cell for cell in cells}.values()), results, manual)


def checked(
    cells: list[Cell], results: Sequence[Result], manual: list[str] | None = None
) -> Matrix:
    """``cells`` with those the ``results`` fill marked done (with the run that fills each)."""
    filled: dict[tuple[Any, ...], str] = {}
    for cell in cells:
        run_id = next((r.run_id for r in results if cell.filled_by(r)), None)
        if run_id is not None:
            filled[cell.key] = run_id
    done = [cell for cell in cells if cell.key in filled]
    return Matrix(cells, done, manual or [], filled)
