"""Helpers shared by the worked projects' tests.

Golden documents and figures are compared on what the computation guarantees, never on digits
below it: a regenerated design doc must match the committed one word for word, and number for
number up to the last digit it shows (a value on a rounding boundary may flip that digit) or,
below a project's stated noise floor (a solver's tolerance), not at all. Figures must exist,
decode and keep their size: their bytes depend on the matplotlib and FreeType builds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

# A number as the renderer and the plans write it: optional sign (ASCII or U+2212), digits,
# decimals, exponent. Digits inside words (H1, B-ols, macs_per_frame) are numbers too: they
# are equal on both sides, so they cost nothing.
NUMBER = re.compile(r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
INTEGER = re.compile(r"[-−]?\d+")


def _value(token: str) -> Decimal:
    return Decimal(token.replace("−", "-"))


def _last_digit(token: str) -> Decimal:
    """The place value of the last digit shown: 0.001 for '12.345', 1e-11 for '1.2e-08'."""
    exponent = _value(token).as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(1).scaleb(exponent)


def numbers_agree(fresh: str, committed: str, noise_floor: float) -> bool:
    """Two shown numbers agree if equal, both below ``noise_floor`` in magnitude (digits the
    computation does not guarantee), or one unit apart in the last decimal shown. Integers
    (counts, seeds, λ on a grid, dates) agree only if equal."""
    if fresh == committed:
        return True
    a, b = _value(fresh), _value(committed)
    if max(abs(a), abs(b)) <= Decimal(repr(noise_floor)):
        return True
    if INTEGER.fullmatch(fresh) or INTEGER.fullmatch(committed):
        return False
    return abs(a - b) <= max(_last_digit(fresh), _last_digit(committed))


def doc_differences(fresh: str, committed: str, *, noise_floor: float = 0.0) -> list[str]:
    """Where ``fresh`` differs from ``committed`` beyond what numbers_agree allows, line by line."""
    fresh_lines, committed_lines = fresh.splitlines(), committed.splitlines()
    if len(fresh_lines) != len(committed_lines):
        return [f"{len(fresh_lines)} lines regenerated, {len(committed_lines)} committed"]
    return [
        f"line {number}:\n  fresh:     {new}\n  committed: {old}"
        for number, (new, old) in enumerate(zip(fresh_lines, committed_lines, strict=True), 1)
        if not _lines_agree(new, old, noise_floor)
    ]


def _lines_agree(fresh: str, committed: str, noise_floor: float) -> bool:
    if fresh == committed:
        return True
    if NUMBER.split(fresh) != NUMBER.split(committed):  # the words differ
        return False
    return all(
        numbers_agree(new, old, noise_floor)
        for new, old in zip(NUMBER.findall(fresh), NUMBER.findall(committed), strict=True)
    )


def figure_differences(fresh: Path, committed: Path) -> list[str]:
    """Each committed PNG under ``committed`` is regenerated under ``fresh``, decodes, and has
    the same pixel size; no figure is missing or extra."""
    names = sorted(p.name for p in committed.glob("*.png"))
    assert names, f"no committed figures in {committed}"
    problems = []
    if sorted(p.name for p in fresh.glob("*.png")) != names:
        problems.append(f"{fresh}: {sorted(p.name for p in fresh.glob('*.png'))} != {names}")
    for name in names:
        if not (fresh / name).is_file():
            continue
        new, old = _pixels(fresh / name), _pixels(committed / name)
        if new[:2] != old[:2]:
            problems.append(f"{name}: {new[:2]} pixels regenerated, {old[:2]} committed")
    return problems


def _pixels(path: Path) -> Sequence[int]:
    """The decoded image's shape (height, width, channels); fails if it does not decode."""
    from matplotlib import image

    decoded = image.imread(path)
    assert decoded.size > 0 and not math.isnan(float(decoded.max())), path
    assert float(decoded.max()) > float(decoded.min()), f"{path} is blank"
    return tuple(int(n) for n in decoded.shape)
