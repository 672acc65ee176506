"""The golden-document comparison: what it lets through and what it catches."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # mypy_path = tests: mypy knows this folder as `examples`
    from examples._helpers import doc_differences, figure_differences, numbers_agree
else:  # pytest puts this folder on sys.path
    from _helpers import doc_differences, figure_differences, numbers_agree


@pytest.mark.parametrize(
    ("fresh", "committed"),
    [
        ("12.35", "12.35"),
        ("12.35", "12.34"),  # a value on a rounding boundary flips the last digit shown
        ("0.6605", "0.66049"),  # the shorter form: one unit of its last digit
        ("3.45e-09", "4.1e-08"),  # both below the noise floor
        ("-1.32e-14", "1.315e-14"),
        ("−0.79", "-0.79"),  # the plans' minus sign and the renderer's
    ],
)
def test_numbers_that_agree(fresh: str, committed: str) -> None:
    assert numbers_agree(fresh, committed, noise_floor=1e-6)


@pytest.mark.parametrize(
    ("fresh", "committed"),
    [
        ("12.35", "12.37"),  # two units: a real change
        ("7.000", "7.002"),
        ("2e-06", "1e-07"),  # one side above the noise floor
        ("0.24", "-0.24"),
        ("52", "53"),
    ],
)
def test_numbers_that_differ(fresh: str, committed: str) -> None:
    assert not numbers_agree(fresh, committed, noise_floor=1e-6)


def test_doc_differences_name_the_line() -> None:
    committed = "| H1 | succeeded | 5.556e-09 [-1.02e-09, 1.213e-08] |\n| H2 | failed | 0.2446 |"
    noisy = "| H1 | succeeded | 4.0e-08 [-2e-09, 8.1e-08] |\n| H2 | failed | 0.2447 |"
    assert doc_differences(noisy, committed, noise_floor=1e-6) == []
    assert doc_differences(noisy, committed) != []  # no floor: the solver digits count
    changed = noisy.replace("failed", "succeeded")
    (problem,) = doc_differences(changed, committed, noise_floor=1e-6)
    assert problem.startswith("line 2:")
    assert doc_differences(noisy + "\nmore", committed, noise_floor=1e-6) == [
        "3 lines regenerated, 2 committed"
    ]


def _png(path: Path, size: tuple[float, float], blank: bool = False) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=50)
    if not blank:
        figure.add_subplot().plot([0, 1], [1, 0])
    figure.savefig(path)


def test_figure_differences(tmp_path: Path) -> None:
    committed, fresh = tmp_path / "committed", tmp_path / "fresh"
    committed.mkdir()
    fresh.mkdir()
    _png(committed / "a.png", (4, 3))
    _png(fresh / "a.png", (4, 3))
    assert figure_differences(fresh, committed) == []
    _png(fresh / "a.png", (4, 4))
    assert figure_differences(fresh, committed) == [
        "a.png: (200, 200) pixels regenerated, (150, 200) committed"
    ]
    (fresh / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    with pytest.raises(Exception):  # noqa: B017 - whatever the decoder raises
        figure_differences(fresh, committed)
    (fresh / "a.png").unlink()
    assert figure_differences(fresh, committed) == [f"{fresh}: [] != ['a.png']"]
