"""The run ``mlplan.start_run`` yields: MLflow's own ActiveRun, whose ``log_metric`` and
``log_metrics`` read a value by mlplan's one number grammar before MLflow sees it.

MLflow converts a metric with float() as it is logged: "0_7" becomes 7.0, b"12" and "١٢" become
12.0, an infinity is stored as ±1.797e308, and 10**400 raises OverflowError. Once converted,
the run's values no longer say what was given, so a script that calls ``mlflow.log_metric``
directly is checked only on what MLflow stored (non-finite and out-of-bounds values, when the
run ends). Through this run's methods, the value itself is checked first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CheckedRun"]


class CheckedRun:
    """An ActiveRun (every other attribute is the run's own) whose metrics are checked by
    ``check(key, value) -> float`` (a ResultError when refused) before they are logged."""

    def __init__(self, run: Any, check: Callable[[str, Any], float]) -> None:
        self._run = run
        self._check = check

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        import mlflow

        checked = self._check(key, value)
        mlflow.log_metric(key, checked, step=step, run_id=self._run.info.run_id)

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        import mlflow

        checked = {key: self._check(key, value) for key, value in metrics.items()}
        mlflow.log_metrics(checked, step=step, run_id=self._run.info.run_id)
