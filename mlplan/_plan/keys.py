"""Run params' keys and values: the names MLflow accepts for metric, param and tag keys (checked
without importing MLflow), the one written form of a param's value, and the one grammar of a
number (``number``) for plans, the API and the command line.

MLflow refuses a key only when a run is written, which used to leave an empty RUNNING run
behind and the result nowhere. The rule is MLflow's own (mlflow/utils/validation.py,
``validate_param_and_metric_name`` and ``path_not_unique``): keys may be stored as file
names, so they must be made of safe characters and must not normalise to another path.
"""

from __future__ import annotations

import decimal
import math
import numbers
import posixpath
import re
import sys

__all__ = [
    "CELL_WORDS",
    "MAX_KEY_LENGTH",
    "PLACEHOLDER",
    "NumberError",
    "canonical",
    "exact",
    "key_problem",
    "number",
    "placeholder_problem",
    "slot_value_problem",
    "value_problem",
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


# A plain decimal number: ASCII digits, an optional sign, point and exponent. Python's float()
# also reads "0_7" (as 7.0), "١٢", " nan " and "infinity", and pydantic reads b"0.7": none of
# them is what a person means by a number in a plan or a result.
_DECIMAL = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_SHOWN = 40  # characters of a refused value quoted in the message


class NumberError(ValueError):
    """Why a value is not a number under mlplan's one grammar (``number``). ``kind`` says
    which way: "type" (not a number at all: bytes, a list, true), "parsing" (text that is not
    a plain decimal number) or "finite" (NaN, an infinity, or too large for a float)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def number(value: object) -> float:
    """The one grammar of a number, wherever mlplan reads one (a plan's thresholds, margins
    and bounds, a result's metrics, a pair key's value): an int or a float (never a bool), or
    a string that is a plain decimal number ("0.01", "-2", "1e-3"). Refused, with the reason:
    "0_7", hex, bytes, NaN and infinities, and an int too large for a float (10**400)."""
    if isinstance(value, bool):
        raise NumberError("expected a number, got true/false", "type")
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.match(text):
            return _finite(float(text), value)
        if text.lower().lstrip("+-") in {"nan", "inf", "infinity"}:
            raise NumberError(f"{_shown(value)} is not a finite number", "finite")
        raise NumberError(
            f"expected a number such as 0.7, -2 or 1e-3 (plain decimal digits), got "
            f"{_shown(value)}",
            "parsing",
        )
    if isinstance(value, numbers.Real):
        try:
            return _finite(float(value), value)
        except OverflowError:
            raise NumberError(
                f"{_shown(value)} is not a finite number (too large for a float)", "finite"
            ) from None
    raise NumberError(f"expected a number, got {type(value).__name__} {_shown(value)}", "type")


def slot_value_problem(value: object) -> str | None:
    """Why ``value`` cannot name a result's slot (a pair key's or a condition's value), or
    None when it can: text or a finite number. Text that reads as a number must read as a
    finite one, and text must not be blank: seed=nan, seed=1e400 or seed= once each made a
    slot of its own. Other text ("0_7", "0x10") is a slot named by that text. The one rule
    for every write path and for the readers of a stored result."""
    if isinstance(value, str) and not value.strip():
        return "the value is empty"
    try:
        number(value)
    except NumberError as problem:
        if not isinstance(value, str) or problem.kind == "finite":
            return str(problem)
    return None


def _finite(result: float, value: object) -> float:
    if math.isnan(result):
        raise NumberError(f"{_shown(value)} is not a finite number", "finite")
    if math.isinf(result):
        raise NumberError(
            f"{_shown(value)} is not a finite number (too large, or infinite)", "finite"
        )
    return result


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def canonical(value: str) -> str:
    """One written form per value, so that a slot is the same however it was logged: the int
    0 from a plan's YAML and "0" typed on the command line, 1e-3 and "0.001", 7 and "7.0".
    Only a number under ``number``'s grammar is rewritten: "0_7" stays "0_7", not 7.

    A number whose text is a whole number (1, 1.0, 1e0, 1.8e18) is that integer, exactly and
    at any size: 64-bit seeds such as 1796629130391000001 are ids, and a float would merge
    them with their neighbours. Any other number is a float (0.001 is 1e-3), written as
    Python's repr; so a float beyond 2**53 written with a fraction ("9007199254740993.5") is
    the float it rounds to, never the integer beside it: only its text says it is a whole
    number, and its text says otherwise."""
    text = value.strip()
    if _INTEGER.match(text):
        return str(int(text)) if len(text) <= _INTEGER_DIGITS else text
    try:
        found = number(value)
    except NumberError:
        return text
    exact = decimal.Decimal(text)
    if exact == exact.to_integral_value() and exact.adjusted() < _INTEGER_DIGITS:
        return str(int(exact))
    if found.is_integer() and abs(found) < 2**53:
        return str(int(found))  # a value that rounds to a whole float: 1e-400 is 0
    return repr(found)


# A whole number written without point or exponent, compared as Python's int; beyond this many
# digits (Python's own limit for int(text) is 4,300) it is compared as written.
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_INTEGER_DIGITS = 4_000


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


def exact(value: float) -> str:
    """A value as it is, for a message about that value: 1.0000000000000002 outside [0, 1] once
    showed as "recall = 1" under :g."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


def value_problem(value: float, bounds: tuple[float, float] | None) -> str:
    """Why a metric's value as MLflow stores it is no result ("" when it is one): not finite,
    at ±float max (what MLflow stores for ±inf), or outside the metric's declared bounds."""
    if not math.isfinite(value) or abs(value) >= sys.float_info.max:
        return (
            "not a finite number (±1.797e308 is what MLflow stores for an infinity)"
            if math.isfinite(value)
            else "not a finite number"
        )
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        return f"outside its declared bounds [{bounds[0]:g}, {bounds[1]:g}]"
    return ""
