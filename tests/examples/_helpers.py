"""Helpers shared by the worked projects' tests.

Golden documents and figures are compared on what the computation guarantees, never on digits
below it: a regenerated design doc must match the committed one word for word, and number for
number up to the last digit it shows (a value on a rounding boundary may flip that digit) or,
below a project's stated noise floor (a solver's tolerance), not at all. Figures must exist,
decode and keep their size: their bytes depend on the matplotlib and FreeType builds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import io
import math
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

import mlplan

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


# ---------------------------------------------------------------- the worked projects' runs

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
AS_OF = re.compile(r"judged as of (\d{4}-\d{2}-\d{2})")


def load_run_module(project: str) -> ModuleType:
    """examples/<project>/run.py under a name of its own (every example has a run.py, and
    ``import run`` would return whichever was imported first), loaded once per session."""
    name = f"{project}_example_run"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / project / "run.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def committed_today(project: str) -> dt.date:
    """The date the committed design doc was judged as of."""
    found = AS_OF.search((EXAMPLES / project / "design.md").read_text("utf-8"))
    assert found, f"examples/{project}/design.md names no 'judged as of' date"
    return dt.date.fromisoformat(found.group(1))


@contextlib.contextmanager
def isolated(folder: Path) -> Iterator[None]:
    """What conftest's per-test ``isolated`` does, for session-scoped runs: work in
    ``folder`` with a private HOME and no MLflow settings from the environment."""
    home = folder / "home"
    home.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("HOME", str(home))
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        patch.setenv("DO_NOT_TRACK", "true")
        for name in list(os.environ):
            if name.startswith("MLFLOW_") and name != "MLFLOW_DISABLE_TELEMETRY":
                patch.delenv(name)
        yield


@dataclass(frozen=True)
class ProjectRun:
    """One run of a worked project: its design doc, plan and what its ``main`` printed."""

    doc: Path
    printed: str
    today: dt.date

    @property
    def plan(self) -> Path:
        return self.doc.parent / "plan.yaml"

    @property
    def folder(self) -> Path:
        return self.doc.parent


_RUNS: dict[tuple[str, bool], ProjectRun] = {}


def project_run(factory: pytest.TempPathFactory, project: str, *, quick: bool) -> ProjectRun:
    """The project's run through its command line (``main``), once per test session.

    The full run is judged as of the committed doc's date, so it can be compared with it; the
    quick run starts over a stale store, which it must replace. Fixtures in several modules
    may ask for the same run: it is cached here, not in a fixture.
    """
    key = (project, quick)
    if key not in _RUNS:
        folder = factory.mktemp(f"{project}_{'quick' if quick else 'full'}")
        out = folder / "x"
        (out / ".mlplan").mkdir(parents=True)
        (out / ".mlplan" / "stale").write_text("an earlier run's store")
        today = QUICK_TODAY if quick else committed_today(project)
        argv = ["--out", str(out), "--today", today.isoformat(), *(["--quick"] if quick else [])]
        printed = io.StringIO()
        with isolated(folder), contextlib.redirect_stdout(printed):
            assert load_run_module(project).main(argv) == 0
        _RUNS[key] = ProjectRun(out / "design.md", printed.getvalue(), today)
    return _RUNS[key]


#: The quick runs are judged as of this date.
QUICK_TODAY = dt.date(2026, 11, 27)


def quoted_text(plan: Path) -> str:
    """The plan's experiment log as one string: decisions' rationales and entries' texts."""
    log = mlplan.load_plan(plan).plan.experiment_log
    return " ".join([d.rationale or "" for d in log.decisions] + [e.text for e in log.entries])


def readme_findings(project: str) -> dict[str, list[str]]:
    """The README's 'What it found' table: hypothesis id → its cells after the first."""
    text = (EXAMPLES / project / "README.md").read_text("utf-8")
    section = text.split("## What it found", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = re.match(r"\*{0,2}(H\d+)\b", cells[0]) if line.startswith("|") else None
        if found:
            rows[found.group(1)] = cells[1:]
    return rows


def missing_quotes(text: str, quotes: Sequence[str]) -> list[str]:
    """The quotes that do not occur in ``text`` (spaces and line breaks normalised)."""
    flat = " ".join(text.split())
    return [quote for quote in quotes if " ".join(quote.split()) not in flat]
