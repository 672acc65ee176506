"""The judge: verdicts from a plan and plain results, never touching MLflow or the clock.

``verdicts`` assembles a verdict per hypothesis; ``stats`` holds the numerics (scipy.stats);
``frozen`` reviews criteria changed after results; ``results`` the values the judge reads.

``mlplan._judge`` keeps exporting what the single module of that name did (issue 14), lazily:
importing ``mlplan._judge.results`` or ``.frozen`` must not load numpy and the verdict code,
which a plan-only ``render`` never needs.
"""

import importlib
from typing import TYPE_CHECKING, Any

_NAMES = (
    "ALPHA",
    "CONFIDENCE",
    "FINGERPRINT_VERSION",
    "Aggregate",
    "Amendment",
    "Check",
    "CheckKind",
    "Outcome",
    "Status",
    "Verdict",
    "active_hypotheses",
    "aggregate",
    "baseline_values",
    "criteria_fingerprint",
    "criteria_text",
    "fingerprint_as",
    "judge",
    "subject_values",
)

__all__ = list(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'mlplan._judge' has no attribute {name!r}")
    value = getattr(importlib.import_module("mlplan._judge.verdicts"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from mlplan._judge.verdicts import (
        ALPHA as ALPHA,
    )
    from mlplan._judge.verdicts import (
        CONFIDENCE as CONFIDENCE,
    )
    from mlplan._judge.verdicts import (
        FINGERPRINT_VERSION as FINGERPRINT_VERSION,
    )
    from mlplan._judge.verdicts import (
        Aggregate as Aggregate,
    )
    from mlplan._judge.verdicts import (
        Amendment as Amendment,
    )
    from mlplan._judge.verdicts import (
        Check as Check,
    )
    from mlplan._judge.verdicts import (
        CheckKind as CheckKind,
    )
    from mlplan._judge.verdicts import (
        Outcome as Outcome,
    )
    from mlplan._judge.verdicts import (
        Status as Status,
    )
    from mlplan._judge.verdicts import (
        Verdict as Verdict,
    )
    from mlplan._judge.verdicts import (
        active_hypotheses as active_hypotheses,
    )
    from mlplan._judge.verdicts import (
        aggregate as aggregate,
    )
    from mlplan._judge.verdicts import (
        baseline_values as baseline_values,
    )
    from mlplan._judge.verdicts import (
        criteria_fingerprint as criteria_fingerprint,
    )
    from mlplan._judge.verdicts import (
        criteria_text as criteria_text,
    )
    from mlplan._judge.verdicts import (
        fingerprint_as as fingerprint_as,
    )
    from mlplan._judge.verdicts import (
        judge as judge,
    )
    from mlplan._judge.verdicts import (
        subject_values as subject_values,
    )
