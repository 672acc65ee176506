"""Where the t does not hold, say so and offer what works (issue 17, item 5): every t check
states its normality assumption; a plan may declare, before data, ``transform: log``,
``test: sign_flip`` or ``test: trimmed`` (Yuen)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats
from scipy.stats import mstats
from test_verdict_statistics import hyp, plan_of, seeds, verdict

from mlplan._judge import stats as _stats
from mlplan._judge.fingerprint import criteria_text
from mlplan._plan.models import Plan
from mlplan._plan.rules import find_problems

POSITIVE = [{"key": "acc", "direction": "higher", "bounds": [0, 1]}]


def _paired(**criterion: Any) -> Plan:
    criteria = [{"metric": "acc", "better_than": "B1", **criterion}]
    return plan_of(hyp(criteria=criteria), metrics=POSITIVE, pair_by="seed")


def test_every_t_check_states_its_normality_assumption() -> None:
    found = verdict(_paired(), [*seeds("B1", [0.5, 0.6, 0.7]), *seeds("H1", [0.6, 0.65, 0.8])])
    (check,) = found.checks
    assert check.test.startswith("paired t")
    assert "the t assumes near-normal values" in check.explanation


@pytest.mark.parametrize("n", [5, 8, 13])
def test_yuen_trimmed_estimate_is_the_trimmed_mean_with_the_winsorized_se(n: int) -> None:
    x = np.random.default_rng(n).lognormal(0, 1, n)
    found = _stats.trimmed(x)
    assert float(found.value) == pytest.approx(stats.trim_mean(x, 0.2))
    g = math.floor(0.2 * n)
    kept = n - 2 * g
    winsorized = np.asarray(mstats.winsorize(x, limits=(0.2, 0.2)))
    if g == math.floor(0.2 * n) and g > 0:
        assert float(np.std(winsorized, ddof=1)) * math.sqrt(
            (n - 1) / (kept * (kept - 1))
        ) == pytest.approx(float(found.se))
    assert float(found.df) == kept - 1


def test_a_trimmed_check_is_judged_by_yuens_t() -> None:
    b = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    h = [0.6, 0.62, 0.61, 0.63, 0.6, 0.62, 0.64, 0.61, 0.6, 0.05]  # one collapsed seed
    results = [*seeds("B1", b), *seeds("H1", h)]
    plain = verdict(_paired(), results)
    robust = verdict(_paired(test="trimmed"), results)
    assert plain.status == "inconclusive"
    assert robust.status == "succeeded"
    assert robust.checks[0].test.startswith("Yuen 20%-trimmed t")
    estimate = _stats.trimmed(np.subtract(h, b))
    expected = stats.t.sf(float(estimate.value / estimate.se), float(estimate.df))
    assert robust.checks[0].p_success == pytest.approx(expected)


def _brute_sign_flip(x: list[float], limit: float) -> float:
    centred = [v - limit for v in x]
    observed = sum(centred)
    sums = [
        sum(s * v for s, v in zip(signs, centred, strict=True))
        for signs in itertools.product([1, -1], repeat=len(x))
    ]
    return sum(total >= observed - 1e-12 for total in sums) / len(sums)


def test_the_sign_flip_p_value_is_exact() -> None:
    x = [0.3, -0.1, 0.5, 0.2, 0.05, 0.4, -0.2]
    success, failure = _stats.sign_flip_p(x, 0.0, True)
    assert float(success) == pytest.approx(_brute_sign_flip(x, 0.0))
    assert float(failure) == pytest.approx(_brute_sign_flip([-v for v in x], 0.0))


def test_a_sign_flip_check_is_refused_where_two_to_the_minus_n_exceeds_alpha() -> None:
    b5, h5 = [0.5] * 5, [0.6, 0.61, 0.62, 0.63, 0.64]
    five = verdict(_paired(test="sign_flip"), [*seeds("B1", b5), *seeds("H1", h5)])
    assert five.status == "inconclusive"
    assert "2^-5" in five.checks[0].explanation
    six = verdict(_paired(test="sign_flip"), [*seeds("B1", [*b5, 0.5]), *seeds("H1", [*h5, 0.65])])
    assert six.status == "succeeded"
    assert six.checks[0].p_success == pytest.approx(1 / 64)


def test_a_log_check_is_a_t_on_the_log_ratio() -> None:
    b = [0.5, 0.6, 0.7, 0.55]
    h = [0.56, 0.69, 0.77, 0.62]
    plan = _paired(by="5%", transform="log")
    found = verdict(plan, [*seeds("B1", b), *seeds("H1", h)])
    (check,) = found.checks
    assert "on log acc" in check.test and "geometric mean ratio" in check.note
    differences = np.log(h) - np.log(b)
    expected = stats.ttest_1samp(differences, math.log(1.05), alternative="greater").pvalue
    assert check.p_success == pytest.approx(expected)


def test_a_log_check_refuses_values_that_are_not_positive() -> None:
    plan = plan_of(
        hyp(criteria=[{"metric": "acc", "at_least": 0.5, "transform": "log"}]),
    )
    found = verdict(plan, [*seeds("B1", [0.5]), *seeds("H1", [0.6, 0.0, 0.7])])
    assert "transform: log needs positive values" in found.checks[0].explanation


def test_validate_refuses_an_absolute_margin_on_the_log_scale() -> None:
    data = _paired().model_dump(mode="json", exclude_unset=True)
    criterion = data["experiment"]["hypotheses"][0]["success_criteria"][0]
    criterion.update(by=0.01, transform="log")
    messages = [f.message for f in find_problems(Plan.model_validate(data))]
    assert messages == [
        "transform: log tests the geometric-mean ratio: an absolute margin (0.01) has no "
        "meaning on it"
    ]


def test_a_declared_test_is_frozen_in_the_criteria_and_the_default_leaves_them_alone() -> None:
    plain, robust = _paired(), _paired(test="trimmed")
    assert '"test"' not in criteria_text(plain, plain.hypothesis("H1"))
    assert '"test": "trimmed"' in criteria_text(robust, robust.hypothesis("H1"))
    logged = _paired(transform="log")
    assert '"transform": "log"' in criteria_text(logged, logged.hypothesis("H1"))


def test_a_sign_flip_check_is_refused_below_the_level_a_holm_family_lowers_it_to() -> None:
    criteria = [{"metric": "acc", "better_than": "B1", "test": "sign_flip"}]
    family = plan_of(
        hyp(criteria=criteria, family="F"),
        hyp("H2", criteria=criteria, family="F"),
        hyp("H3", criteria=criteria, family="F"),
        hyp("H4", criteria=criteria, family="F"),
        metrics=POSITIVE,
        pair_by="seed",
        multiplicity="holm",
    )
    b, h = [0.5] * 6, [0.6, 0.61, 0.62, 0.63, 0.64, 0.65]
    found = verdict(family, [*seeds("B1", b), *seeds("H1", h)])
    # 2^-6 = 1/64 ≈ 0.0156 clears α = 0.025 but not Holm's first level α/4 ≈ 0.00625.
    assert found.status == "inconclusive"
    assert "above the level 0.00625: it needs n ≥ 8" in found.checks[0].explanation
