"""What each criterion and guardrail demands, as rules on an effect h − scale·b (or on h)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from mlplan._judge.model import CheckKind
from mlplan._judge.settings import guarded_metrics
from mlplan._plan.models import (
    Criterion,
    Hypothesis,
    Margin,
    Metric,
    Plan,
)

__all__ = [
    "Rule",
    "admits",
    "effect_label",
    "needed_baselines",
    "on_grain",
    "rule_symbol",
    "rules_for",
    "with_numbers",
]


@dataclass(frozen=True)
class Rule:
    """What one check demands, on the effect h − scale·b (or on h alone without a baseline).

    ``above``: the good side is above ``offset``. ``relative`` is the signed fraction of the
    baseline that moves the limit (+δ to beat by δ, −δ to trail by at most δ); ``offset`` the
    signed absolute amount, or the threshold itself for an absolute criterion.
    """

    kind: CheckKind
    metric: Metric
    description: str
    above: bool
    offset: float
    relative: float = 0.0
    strict: bool = False
    baseline: str | None = None
    margin: Margin | None = None
    for_each: str | None = None
    superior: bool = True
    criterion: int | None = None  # which success criterion it comes from (None: a guardrail)
    expected: Margin | None = None  # the true effect beyond the limit runs_needed plans for
    transform: str | None = None  # "log": the check is on the metric's logarithm
    test: str | None = None  # "sign_flip" or "trimmed" instead of Student's t

    def scale(self, reference_mean: float) -> float:
        """The multiplier of b: 1 + s·δ·sign(b̄), mirrored for lower-is-better metrics."""
        sign = 1.0 if self.above else -1.0
        return 1.0 + sign * self.relative * (1.0 if reference_mean >= 0 else -1.0)


def rule_symbol(above: bool, strict: bool) -> str:
    return (">" if strict else "≥") if above else ("<" if strict else "≤")


def _absolute_rule(criterion: Criterion, metric: Metric) -> Rule:
    above = criterion.at_least is not None
    threshold = criterion.at_least if above else criterion.at_most
    assert threshold is not None  # the model allows exactly one threshold
    text = f"{criterion.metric} {rule_symbol(above, False)} {threshold:.5g}"
    return Rule("criterion", metric, text, above, threshold, for_each=criterion.for_each)


def _comparison_rule(
    kind: CheckKind, metric: Metric, baseline: str, margin: Margin | None, superior: bool
) -> Rule:
    """better_than (``superior``) or non-inferiority (no_worse_than, guardrails)."""
    above = metric.direction == "higher"
    amount = margin.value if margin is not None else 0.0
    toward = 1.0 if superior else -1.0  # beat by the margin, or trail by at most it
    relative = margin is not None and margin.relative
    offset = 0.0 if relative else (1.0 if above else -1.0) * toward * amount
    strict = superior and amount == 0
    sign = "+" if (above == superior) else "−"
    shown = f" {sign} {margin}" if amount else ""
    text = f"{metric.key} {rule_symbol(above, strict)} {baseline}{shown}"
    return Rule(
        kind,
        metric,
        text,
        above,
        offset,
        relative=toward * amount if relative else 0.0,
        strict=strict,
        baseline=baseline,
        margin=margin,
        superior=superior,
    )


def _criterion_rules(plan: Plan, criterion: Criterion) -> list[Rule]:
    metric = plan.metric(criterion.metric)
    if criterion.baselines_named is None:
        found = [_absolute_rule(criterion, metric)]
    else:
        superior = criterion.better_than is not None
        found = [
            replace(
                _comparison_rule("criterion", metric, b, criterion.by, superior),
                for_each=criterion.for_each,
            )
            for b in criterion.baselines_named
        ]
    test = None if criterion.test == "t" else criterion.test
    return [
        replace(rule, expected=criterion.expected, transform=criterion.transform, test=test)
        for rule in found
    ]


def rules_for(plan: Plan, hypothesis: Hypothesis) -> Iterator[Rule]:
    for index, criterion in enumerate(hypothesis.success_criteria):
        for rule in _criterion_rules(plan, criterion):
            yield replace(rule, criterion=index)
    for guardrail in hypothesis.guardrails:
        for metric in guarded_metrics(plan, hypothesis, guardrail):
            yield _comparison_rule(
                "guardrail", metric, guardrail.against, guardrail.max_drop, superior=False
            )


def admits(rule: Rule, effect: float, limit: float) -> bool:
    """Whether an exactly known effect is on the good side of the limit. Both are first
    rounded to the metric's grain (its ``step`` or ``resolution``), else to 12 significant
    digits: 0.81 − 0.80 is 0.010000000000000009 in floats, and no verdict may ride on that
    (issue 15). Written so that NaN is never admitted: a diverged run fails its check."""
    effect, limit = on_grain(effect, rule.metric.grain), on_grain(limit, rule.metric.grain)
    if rule.above:
        return effect > limit if rule.strict else effect >= limit
    return effect < limit if rule.strict else effect <= limit


def on_grain(value: float, grain: float | None) -> float:
    """``value`` rounded to multiples of ``grain``, or to 12 significant digits without one;
    NaN and ±inf as they are."""
    if not math.isfinite(value):
        return value
    if grain is None:
        return float(f"{value:.12g}")
    return round(value / grain) * grain


def needed_baselines(hypothesis: Hypothesis) -> list[str]:
    named = [*hypothesis.baselines]
    named += [b for c in hypothesis.success_criteria for b in c.baselines_named or []]
    named += [guardrail.against for guardrail in hypothesis.guardrails]
    return list(dict.fromkeys(named))


def with_numbers(rule: Rule, reference: float, threshold: float) -> str:
    """E.g. ``test_mse ≤ 19 (OLS 20 − 5%)``: the rule with the numbers it stands for."""
    shown = f"{rule.baseline} {reference:.5g}"
    symbol = rule_symbol(rule.above, rule.strict)
    amount = rule.margin.value if rule.margin is not None else 0.0
    if rule.kind == "guardrail":
        worse = "drop" if rule.above else "rise"
        explanation = f"{shown}, {rule.margin} {worse} allowed"
    elif not amount:
        explanation = f"{'better than' if rule.strict else 'no worse than'} {shown}"
    else:
        sign = "+" if rule.above == rule.superior else "−"
        explanation = f"{shown} {sign} {rule.margin}"
    return f"{rule.metric.key} {symbol} {threshold:.5g} ({explanation})"


def effect_label(metric: str, baseline: str, scale: float) -> str:
    factor = "" if scale == 1 else f"{scale:.4g}·"
    return f"{metric} − {factor}{baseline}"
