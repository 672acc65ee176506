"""Helpers shared by the worked projects' tests.

- Golden documents and figures are compared on what the computation guarantees, never on
  digits below it: a regenerated design doc must match the committed one word for word, and
  number for number up to the last digit it shows (a value on a rounding boundary may flip
  that digit) or, below a project's stated noise floor (a solver's tolerance), not at all.
  Figures must exist, decode and keep their size: their bytes depend on the matplotlib and
  FreeType builds.
- Each project's full and quick run happens once per test session (``project_run``).
- An independent judge (``t_test``, ``holm``, ``outcomes``, ``intervals``) writes out the
  statistics the plans ask for with scipy.stats, so the tests check mlplan's verdicts against
  a second implementation rather than against mlplan itself.
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


# ---------------------------------------------------------------- an independent judge

#: Each side of a check is a one-sided test at 2.5% (the two sides of a 95% interval).
ALPHA = 0.025


@dataclass(frozen=True)
class TTest:
    """One check written out: the mean difference, its standard error and degrees of freedom,
    which side is good, and the one-sided p-values of passing and of failing."""

    mean: float
    se: float
    df: int
    above: bool
    p_pass: float
    p_fail: float

    def interval(self) -> tuple[float, float]:
        """The two-sided 95% Student t interval of the mean (scipy.stats.t.interval), as the
        judge shows it beside its p-values."""
        from scipy import stats

        if self.se == 0 or math.isnan(self.se):
            return self.mean, self.mean
        low, high = stats.t.interval(1 - 2 * ALPHA, self.df, loc=self.mean, scale=self.se)
        return float(low), float(high)


#: The plans' default: a statistical check needs this many runs (or pairs) to decide.
MIN_RUNS = 3


def t_test(
    differences: Sequence[float], limit: float, *, above: bool, strict: bool, ratio: float = 0.0
) -> TTest:
    """Student's one-sample t of the differences against ``limit`` (scipy.stats.t), with the
    Nadeau–Bengio variance factor 1/n + ``ratio`` for overlapping resamples. No spread (beyond
    float rounding) and fewer than MIN_RUNS values decide nothing."""
    from scipy import stats

    values = [float(v) for v in differences]
    n, mean = len(values), math.fsum(values) / len(values)
    if n < MIN_RUNS:
        return TTest(mean, math.nan, n - 1, above, 1.0, 1.0)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    if sd <= 1e-12 * max(abs(v) for v in values):
        return TTest(mean, math.nan, n - 1, above, 1.0, 1.0)  # no spread decides nothing
    se = sd * math.sqrt(1 / n + ratio)
    statistic = (mean - limit) / se
    high_side, low_side = float(stats.t.sf(statistic, n - 1)), float(stats.t.cdf(statistic, n - 1))
    p_pass, p_fail = (high_side, low_side) if above else (low_side, high_side)
    return TTest(mean, se, n - 1, above, p_pass, p_fail)


def holm(p_values: Sequence[float]) -> tuple[list[bool], list[float]]:
    """Holm's step-down (Holm 1979, Scand. J. Statist. 6:65–70) at ALPHA: which p-values are
    rejected, and the level each was held to (ALPHA/(m − rank) up to the first that is not
    rejected; that one's level for the rest)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    rejected, levels = [False] * m, [ALPHA] * m
    stopped = False
    for rank, i in enumerate(order):
        level = ALPHA / (m - rank)
        if not stopped and p_values[i] <= level:
            rejected[i], levels[i] = True, level
            continue
        if not stopped:
            stopped, stop_level = True, level
        levels[i] = stop_level
    return rejected, levels


def outcomes(tests: Sequence[TTest]) -> list[str]:
    """Pass at ALPHA (success needs every check: an intersection–union test, no adjustment);
    fail when Holm's procedure over the checks' failure tests rejects; else unclear."""
    failed, _ = holm([t.p_fail for t in tests])
    return [
        "pass" if t.p_pass <= ALPHA else "fail" if failed[i] else "unclear"
        for i, t in enumerate(tests)
    ]


def intervals(tests: Sequence[TTest]) -> list[tuple[float, float, float]]:
    """(mean, low, high) of each check as the judge reports it."""
    return [(t.mean, *t.interval()) for t in tests]


def status(checks: Sequence[str], short_of_horizon: bool = False) -> str:
    """What the checks' outcomes make of a hypothesis; an unresolved one short of its fixed
    horizon (runs: N) is still running (issue 17)."""
    if "fail" in checks:
        return "failed"
    if set(checks) == {"pass"}:
        return "succeeded"
    return "running" if short_of_horizon else "inconclusive"
