"""Plain-language phrasing shared by status, render, the judge and the checks: criteria,
guardrails, next steps, and the hint for a name that is not known."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the CLI imports plural() before any model is built
    from mlplan._plan.models import Criterion, Guardrail, Metric, NextStep

__all__ = [
    "criterion_text",
    "did_you_mean",
    "finite_json",
    "guardrail_text",
    "next_step_text",
    "not_utf8",
    "number",
    "plural",
    "plural_noun",
]


def number(value: float, resolution: float | None = None) -> str:
    """A measured value to four significant digits, none of them below ``resolution`` (the
    metric's guaranteed precision): 0.0596561 stays 0.05966, 2.31e-06 at 1e-6 is 2e-06, and
    anything closer to 0 than the resolution is 0 ± 1e-06, whatever noise the solver left."""
    value += 0.0  # -0.0 (a difference of equal values, negated) is shown as 0, not -0
    if resolution is None or not math.isfinite(value):
        return f"{value:.4g}"
    if abs(value) < resolution:
        return f"0 ± {resolution:g}"
    digits = math.floor(math.log10(abs(value))) - math.floor(math.log10(resolution)) + 1
    return f"{value:.{min(4, max(1, digits))}g}"


def did_you_mean(name: str, options: Sequence[str], listed_as: str = "known") -> str:
    """A hint for an unknown name: the closest option, if one is close, then every option."""
    close = difflib.get_close_matches(name, options, n=1)
    suggestion = f"did you mean {close[0]!r}? " if close else ""
    return f"{suggestion}{listed_as}: {', '.join(options) if options else '(none)'}"


def criterion_text(criterion: Criterion, metric: Metric) -> str:
    """E.g. ``test_mse ≤ 20``, or ``test_mse better than OLS by ≥ 5% (lower is better)``."""
    each = f" for each {criterion.for_each}" if criterion.for_each else ""
    if criterion.at_least is not None:
        return f"{criterion.metric} ≥ {criterion.at_least:g}{each}"
    if criterion.at_most is not None:
        return f"{criterion.metric} ≤ {criterion.at_most:g}{each}"
    baselines = " and ".join(criterion.baselines_named or [])
    if criterion.no_worse_than is not None:
        margin = f" by more than {criterion.by}" if criterion.by is not None else ""
        return (
            f"{criterion.metric} no worse than {baselines}{margin}{each} "
            f"({metric.direction} is better)"
        )
    margin = f" by ≥ {criterion.by}" if criterion.by is not None else ""
    return (
        f"{criterion.metric} better than {baselines}{margin}{each} ({metric.direction} is better)"
    )


def guardrail_text(guardrail: Guardrail) -> str:
    return (
        f"no other metric matching {guardrail.metrics} worse than {guardrail.against} "
        f"by more than {guardrail.max_drop}"
    )


def next_step_text(step: NextStep) -> str:
    return f"{step.description} → {step.then}" if step.then else step.description


_IRREGULAR = {"hypothesis": "hypotheses"}


def plural_noun(noun: str) -> str:
    """``hypothesis`` → ``hypotheses``, ``baseline`` → ``baselines``."""
    return _IRREGULAR.get(noun, noun + "s")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 error``, ``2 errors``, ``1 hypothesis``, ``3 hypotheses``."""
    return f"{count} {noun if count == 1 else (nouns or plural_noun(noun))}"


def finite_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None: JSON has no such numbers,
    and strict parsers (JavaScript's, Go's) refuse Python's ``NaN`` and ``Infinity``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(item) for item in value]
    return value


def not_utf8(name: str, text: str) -> str | None:
    """Why ``text`` cannot be kept, or None when it can. Everything mlplan writes (the store,
    the outbox, the plan) is UTF-8, and a command line typed in another encoding reaches
    Python as lone surrogates (undecodable bytes, PEP 383), which no UTF-8 writer takes: the
    store once refused such a note only at delivery, and the outbox jammed behind it. The
    message names the field, never the text (printing it would fail the same way)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (
            f"{name} is not valid UTF-8 text (character {error.start + 1} is an undecodable "
            "byte, as a command line in another encoding gives); write it in UTF-8"
        )
    return None
