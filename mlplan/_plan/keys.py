"""Run params' keys and values: the names MLflow accepts for metric, param and tag keys (checked
without importing MLflow), and the one written form of a param's value.

MLflow refuses a key only when a run is written, which used to leave an empty RUNNING run
behind and the result nowhere. The rule is MLflow's own (mlflow/utils/validation.py,
``validate_param_and_metric_name`` and ``path_not_unique``): keys may be stored as file
names, so they must be made of safe characters and must not normalise to another path.
"""

from __future__ import annotations

import math
import posixpath
import re

__all__ = [
    "CELL_WORDS",
    "MAX_KEY_LENGTH",
    "PLACEHOLDER",
    "canonical",
    "key_problem",
    "placeholder_problem",
]

MAX_KEY_LENGTH = 250
_SAFE = re.compile(r"^[/\w.\- :]*$")


def key_problem(key: str) -> str | None:
    """Why MLflow would refuse ``key``, or None when it accepts it."""
    if not key:
        return "a key cannot be empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"a key is at most {MAX_KEY_LENGTH} characters; this one has {len(key)}"
    if not _SAFE.match(key):
        return "MLflow accepts only letters, digits, '_', '-', '.', ' ', ':' and '/' in a key"
    normal = posixpath.normpath(key)
    if normal != key or normal == "." or normal.startswith(("..", "/")):
        return (
            "MLflow stores keys as file paths, and this one would resolve to "
            f"{normal!r}: no leading '/', no '..', '.' or '//' parts"
        )
    return None


def canonical(value: str) -> str:
    """One written form per value, so that a slot is the same however it was logged: the int
    0 from a plan's YAML and "0" typed on the command line, 1e-3 and "0.001", 7 and "7.0"."""
    try:
        number = float(value)
    except ValueError:
        return value.strip()
    if not math.isfinite(number):
        return value.strip()
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


# Words of a command are templates: {name} is a run param's value, {{ and }} literal braces.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
# Placeholders every cell has besides its params (see mlplan._run.spec).
CELL_WORDS = ("result", "python", "workdir")


def placeholder_problem(word: str, known: list[str]) -> str | None:
    """Why a command word cannot be filled in, or None when every {name} in it is known."""
    for match in PLACEHOLDER.finditer(word):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            return f"a lone {token!r} in {word!r}; write {token * 2} for a literal brace"
        name = match.group(1)
        if name not in known:
            return f"{{{name}}} in {word!r} is not a run param of this subject's cells " + (
                f"(known: {', '.join('{' + k + '}' for k in known)})"
            )
    return None
