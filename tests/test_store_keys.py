"""mlplan's own check of metric and param keys (mlplan/_plan/keys.py) agrees with MLflow's.

mlplan checks keys without importing MLflow, when a plan is validated and before a result is
written, so that MLflow never refuses a key half-way through a run. Here the check is compared
with MLflow's validation of the installed version (mlflow.utils.validation: the name and the
length checks of _validate_metric, _validate_param and _validate_tag) over generated keys: every
key mlplan accepts MLflow accepts, and every key MLflow accepts mlplan accepts.

One intended difference, not exercised here: MLflow on Windows also refuses ':' in a key;
mlplan follows MLflow on the other systems, where the suite runs and stores are shared.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlplan._plan.keys import MAX_KEY_LENGTH, key_problem

# What MLflow allows, the path parts it refuses, and characters it does not allow.
ALLOWED = ["a", "Z", "0", "_", "-", ".", " ", ":", "/", "..", "//", "./", "é", "ß", "٣", "ǅ", "µ"]
REFUSED = ["\n", "\t", "\r", "'", '"', "`", "?", "#", "%", "\\", "\x00", "😀", "+", "=", ",", "~"]
PIECES = st.sampled_from([*ALLOWED, *REFUSED])
KEYS = st.one_of(
    st.lists(PIECES, max_size=12).map("".join),
    st.text(max_size=16),
    st.text(alphabet="ab/. ", max_size=12),
    st.tuples(st.integers(MAX_KEY_LENGTH - 4, MAX_KEY_LENGTH + 4), PIECES).map(
        lambda pair: "k" * (pair[0] - len(pair[1])) + pair[1]
    ),
)


def mlflow_accepts(key: str) -> bool:
    from mlflow.exceptions import MlflowException
    from mlflow.utils import validation

    # Private and untyped: looked up by name, so a rename fails here with its name.
    checks: list[tuple[str, tuple[object, ...]]] = [
        ("_validate_metric", (key, 0.5, 0, 0)),
        ("_validate_param", (key, "v")),
        ("_validate_tag", (key, "v")),
    ]
    verdicts = set()
    for name, args in checks:
        try:
            getattr(validation, name)(*args)
        except MlflowException:
            verdicts.add(False)
        else:
            verdicts.add(True)
    assert len(verdicts) == 1, f"MLflow itself treats {key!r} differently as metric/param/tag"
    return verdicts.pop()


@pytest.mark.skipif(sys.platform == "win32", reason="MLflow refuses ':' on Windows only")
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(KEYS)
@example("")
@example(".")
@example("a/./b")
@example("a/")
@example("/a")
@example("a\n")  # "$" matches before a final newline, in both checks
@example("recall.loyal")
@example("k" * MAX_KEY_LENGTH)
@example("k" * (MAX_KEY_LENGTH + 1))
def test_mlplan_and_mlflow_accept_the_same_keys(key: str) -> None:
    problem = key_problem(key)
    assert (problem is None) == mlflow_accepts(key), (key, problem)
