"""A throwaway MLflow run for a training script that runs as a cell of `mlplan run`.

Inside a cell, ``mlplan.start_run`` must not write the plan's store (the driver is its only
writer): the script logs into a scratch store in the cell's own folder, autolog included, and
what the run holds when it finishes becomes the cell's result.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ScratchRun", "scratch_run"]


@dataclass
class ScratchRun:
    run: Any = None  # the mlflow ActiveRun, for the script
    metrics: dict[str, float] = field(default_factory=dict)  # filled once the run finished
    params: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def scratch_run(database: Path) -> Iterator[ScratchRun]:
    import mlflow

    scratch = ScratchRun()
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(f"sqlite:///{database}")
    try:
        with mlflow.start_run() as run:
            scratch.run = run
            yield scratch
        data = mlflow.MlflowClient().get_run(run.info.run_id).data
        scratch.metrics, scratch.params = dict(data.metrics), dict(data.params)
    finally:
        # None unsets the variable and the global (as in MlflowStore.active_run).
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]
