"""The plan schema: one Pydantic model per section of the ML engineering design template.

The models only describe shape and local rules (types, allowed values, one-of choices).
Rules that look across the plan, such as references and cycles, live in ``rules`` so that
they can report every problem at once with a location.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticKnownError

from mlplan._plan.keys import NumberError, number

__all__ = [
    "SCHEMA_VERSION",
    "TERMINAL_ACTIONS",
    "Baseline",
    "Considerations",
    "CriteriaAmendment",
    "Criterion",
    "Decision",
    "Execution",
    "ExperimentDesign",
    "ExperimentLog",
    "GoalGuardrail",
    "Goals",
    "Guardrail",
    "Hypothesis",
    "LogEntry",
    "Margin",
    "Metric",
    "MetricGoal",
    "NextStep",
    "Plan",
    "ProblemStatement",
    "RecordedVerdict",
    "Resampling",
    "Risks",
    "Sequential",
    "SoftwareDesign",
    "Timebox",
]

SCHEMA_VERSION = 1

# A next step either names another hypothesis or ends the decision graph with one of these.
TERMINAL_ACTIONS = ("ship", "stop", "collect-data", "redesign")

_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
ID_PATTERN = _ID_PATTERN
Identifier = Annotated[
    str,
    StringConstraints(pattern=_ID_PATTERN),
    Field(description="Letters, digits, '_' or '-', starting with a letter; e.g. H1, B-mean."),
]
# A single id is accepted where a list of them is expected (Criterion reads `better_than: B1`
# as [B1]); the JSON Schema must say so too, or editors flag the blank scaffold's own line.
BaselineIds = Annotated[
    list[Identifier],
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _ID_PATTERN},
                {
                    "type": "array",
                    "items": {"type": "string", "pattern": _ID_PATTERN},
                    "minItems": 1,
                },
            ]
        }
    ),
]
# MLflow accepts these characters in metric keys, up to 250 characters.
MetricKey = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.\-/ ]{1,250}$"),
    Field(description="The metric's key exactly as logged in MLflow, e.g. f1.total."),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _not_a_bool(kind: Literal["int_type", "float_type"]) -> BeforeValidator:
    # Pydantic's lax mode reads true as 1, so `days: yes` would be a one-day timebox; YAML
    # authors get true/false from yes/no/on/off without meaning a number.
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticKnownError(kind)
        return value

    return BeforeValidator(check)


def _plan_number(finite: bool) -> BeforeValidator:
    # One grammar for every number a plan holds (mlplan._plan.keys.number): a quoted "0.8" is
    # the number 0.8, while "0_7", "0x10" and b"0.7", which pydantic's lax mode would read,
    # are refused. A bound may be YAML's .inf (an open side), never a string "inf"; a .nan
    # bound is refused after, with its own message.
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticKnownError("float_type")
        if not finite and isinstance(value, float) and not math.isfinite(value):
            return value
        try:
            return number(value)
        except NumberError as problem:
            # Pydantic's own kinds, so the loader words them as for any other field.
            raise PydanticKnownError(_NUMBER_KINDS[problem.kind]) from None

    return BeforeValidator(check)


_NUMBER_KINDS: dict[str, Any] = {
    "type": "float_type",
    "parsing": "float_parsing",
    "finite": "finite_number",
}


_WHOLE = re.compile(r"^[+-]?[0-9]+$")


def _whole(value: Any) -> Any:
    # Pydantic would read "1_0" as 10 and b"10" as 10: a whole number is digits only.
    if isinstance(value, bool | bytes | bytearray):
        raise PydanticKnownError("int_type")
    if isinstance(value, str) and not _WHOLE.match(value.strip()):
        raise PydanticKnownError("int_parsing")
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole)]
# Thresholds, bounds and fractions: `.nan`, `.inf` and 1e400 are refused where they are written,
# since a NaN threshold would judge every hypothesis failed and an infinite one means nothing.
Number = Annotated[float, _plan_number(finite=True), Field(allow_inf_nan=False)]
# What mlplan itself records (a verdict's interval), which may be unbounded on one side.
RecordedNumber = Annotated[float, _not_a_bool("float_type")]


def _not_nan(value: float) -> float:
    if math.isnan(value):
        raise ValueError("a bound cannot be .nan; write .inf (or -.inf) for no bound on a side")
    return value


# A metric's range may be open on one side ([0, .inf]) but never NaN.
Bound = Annotated[float, _plan_number(finite=False), AfterValidator(_not_nan)]
EntryPoint = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"),
    Field(description="package.module:function returning a mapping of metric key to value."),
]


def _split_command(raw: Any) -> Any:
    # A command is an argv list; a string is split as a POSIX shell would split it (quotes
    # group words), but it never reaches a shell: no pipes, globs or variables.
    if isinstance(raw, str):
        import shlex

        try:
            return shlex.split(raw)
        except ValueError as error:
            raise ValueError(f"the command cannot be split into words: {error}") from None
    return raw


Command = Annotated[
    list[Annotated[str, StringConstraints(min_length=1)]],
    BeforeValidator(_split_command),
    Field(
        min_length=1,
        description="A command run once per cell as an argv list, never through a shell, "
        "e.g. 'python train.py --seed {seed} --lam {lam}': each {name} in a word is the cell's "
        "value of that run param ({result} the JSON file to write the metrics to, {python} the "
        "interpreter running mlplan; {{ and }} are literal braces). A first word `python` is "
        "that interpreter too.",
    ),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            ]
        }
    ),
]


def _one_way_to_run(entry_point: str | None, command: list[str] | None) -> None:
    """How a subject produces one result for `mlplan run`: at most one of the two."""
    if entry_point is not None and command is not None:
        raise ValueError("give entry_point or command, not both: one way to run each cell")


@dataclass(frozen=True)
class Margin:
    """An amount by which one value must beat (or may trail) another.

    ``relative`` margins are fractions of the reference value ("5%" is 0.05); absolute ones
    are in the metric's own unit.
    """

    value: float
    relative: bool

    def __str__(self) -> str:
        if self.relative:
            return f"{self.value * 100:g}%"
        return f"{self.value:g}"

    def allowance(self, reference: float) -> float:
        """The margin in the metric's unit, given the reference value it applies to."""
        return self.value * abs(reference) if self.relative else self.value


# ASCII digits only, as in keys.number's grammar: `\d` would take "５%" (full-width) too.
_PERCENT = re.compile(r"^\s*\+?([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


def _parse_margin(raw: Any) -> Margin:
    if isinstance(raw, Margin):
        return raw
    shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:57] + "..."
    if isinstance(raw, str) and (match := _PERCENT.match(raw)):
        if math.isfinite(percent := float(match.group(1))):
            return Margin(percent / 100, relative=True)
        raise ValueError(f"the percentage {shown} is past the range of numbers")
    try:
        amount = number(raw)  # 0.01 and "0.01" alike: one grammar (mlplan._plan.keys)
    except NumberError as problem:
        if problem.kind == "finite":
            written = raw if isinstance(raw, int | float) else shown
            raise ValueError(
                f"expected a finite number or a percentage such as '5%', got {written}"
            ) from None
        if isinstance(raw, bool):
            raise ValueError(
                "expected a number or a percentage such as '5%', not true/false"
            ) from None
        raise ValueError(f"expected a number or a percentage such as '5%', got {shown}") from None
    if amount < 0:
        raise ValueError("a margin cannot be negative; write the amount, e.g. 0.02 or '2%'")
    return Margin(amount, relative=False)


MarginField = Annotated[
    Margin,
    BeforeValidator(_parse_margin),
    PlainSerializer(lambda margin: str(margin) if margin.relative else margin.value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\+?[0-9]+(\.[0-9]+)?\s*%\s*$"},
            ],
            "description": "An absolute amount (0.02) or a percentage of the reference ('5%').",
        }
    ),
]


class _Section(BaseModel):
    # Unknown keys are errors: a typo such as `sucess_criteria` must not vanish silently.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ProblemStatement(_Section):
    """What problem is solved, and for whom."""

    statement: Text = Field(description="What problem is being solved.")
    audience: Text = Field(description="For whom it is solved.")
    why_now: Text = Field(description="Why it is worth solving now.")


class GoalGuardrail(_Section):
    """Metrics a goal must not hurt, and by how much at most."""

    metrics: Text = Field(description="Glob over metric keys the goal must not hurt, e.g. recall.*")
    max_drop: MarginField


class MetricGoal(_Section):
    """A metric goal, graded with the template's rubric (bad, ok, good) by ``grading``."""

    statement: Text
    metric: MetricKey | None = None
    target: MarginField | None = Field(
        default=None, description="The number: an amount ('5%' or 0.02) the metric must move by."
    )
    segment: Text | None = Field(default=None, description="The slice the goal is about.")
    guardrail: GoalGuardrail | None = None


class Goals(_Section):
    """The software to build and the metric goals it must reach."""

    software: list[Text] = Field(min_length=1, description="The system and features to build.")
    metrics: list[MetricGoal] = Field(min_length=1)
    trade_offs: list[Text] = Field(default_factory=list)


class Metric(_Section):
    """A metric the experiment measures: its key, which way is better, and its bounds."""

    key: MetricKey
    direction: Literal["higher", "lower"] = Field(description="Which way is better.")
    unit: str = ""
    description: Text
    bounds: tuple[Bound, Bound] | None = Field(
        default=None, description="The metric's range, e.g. [0, 1]: no interval leaves it."
    )
    exact: bool = Field(
        default=False,
        description="No sampling variability (MACs, an analytic error): each result is "
        "decided by its value, with no interval.",
    )
    resolution: Number | None = Field(
        default=None,
        gt=0,
        description="The smallest difference the computation guarantees, e.g. a solver's "
        "tolerance 1e-6: status and the doc show no digit below it (0 ± 1e-06), since those "
        "digits change with the numpy, scipy and BLAS build. Verdicts compare effects and "
        "thresholds rounded to it, and a spread below it decides nothing.",
    )
    step: Number | None = Field(
        default=None,
        gt=0,
        description="The grid the metric's values lie on, e.g. 0.01 for accuracy on 100 "
        "examples: effects and thresholds are compared on it, and a spread below it decides "
        "nothing (three runs at 0.81 are not an exact 0.81).",
    )

    @property
    def grain(self) -> float | None:
        """The finest difference a verdict may rest on: the value grid, else the resolution."""
        return self.step or self.resolution

    @field_validator("bounds", mode="before")
    @classmethod
    def _two_bounds(cls, value: Any) -> Any:
        # Else pydantic reports the missing second item as a missing 'bounds' key.
        if isinstance(value, list | tuple) and len(value) != 2:
            raise ValueError(f"bounds must be two numbers [low, high], got {len(value)}")
        return value

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Metric:
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError("bounds must be [low, high] with low < high")
        return self


class ReportedFigure(_Section):
    """A figure a source reports: its value and, where the source gives them, its standard
    deviation over n runs (then the comparison counts the figure's own uncertainty)."""

    value: Number
    sd: Number | None = Field(default=None, ge=0, description="Its standard deviation.")
    n: WholeNumber | None = Field(default=None, ge=2, description="Over how many runs.")

    @model_validator(mode="after")
    def _sd_with_n(self) -> ReportedFigure:
        if (self.sd is None) != (self.n is None):
            raise ValueError("give sd and n together (a spread needs its number of runs)")
        return self


class ReportedBaseline(_Section):
    """A baseline known from a source (a paper's table), not measured by the project."""

    source: Text = Field(description="Where the figures come from: paper, table, page.")
    metrics: dict[MetricKey, ReportedFigure] = Field(min_length=1)


class Baseline(_Section):
    """A reference the hypotheses are compared with: a heuristic, a published figure, a model."""

    id: Identifier
    description: Text
    entry_point: EntryPoint | None = None
    command: Command | None = None
    exact: bool = Field(
        default=False,
        description="Deterministic (a rule scored on one fixed test set): a constant, "
        "compared with every run.",
    )
    reported: ReportedBaseline | None = Field(
        default=None,
        description="Figures a source reports, judged as that source's: a constant, or with "
        "sd and n a Welch test from summary statistics. No results need to be logged.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> Baseline:
        _one_way_to_run(self.entry_point, self.command)
        return self


class Resampling(_Section):
    """Overlapping resamples of one data set: repeated train/test splits (``test_fraction``)
    or repeated k-fold cross-validation (``folds`` and ``repeats``)."""

    test_fraction: Number | None = Field(
        default=None, gt=0, lt=1, description="The test share of each repeated split, e.g. 0.3."
    )
    folds: WholeNumber | None = Field(default=None, ge=2, description="k of repeated k-fold CV.")
    repeats: WholeNumber = Field(default=1, ge=1, description="How often k-fold CV is repeated.")

    @model_validator(mode="after")
    def _one_scheme(self) -> Resampling:
        if (self.test_fraction is None) == (self.folds is None):
            raise ValueError("resampling needs exactly one of test_fraction or folds")
        return self

    @property
    def ratio(self) -> float:
        """n_test/n_train, the Nadeau–Bengio correction's second term."""
        if self.test_fraction is not None:
            return self.test_fraction / (1 - self.test_fraction)
        assert self.folds is not None
        return 1 / (self.folds - 1)

    @property
    def name(self) -> str:
        if self.test_fraction is not None:
            return f"Nadeau–Bengio corrected (test fraction {self.test_fraction:g})"
        return f"Bouckaert–Frank corrected ({self.folds}-fold × {self.repeats})"


Multiplicity = Literal["sequence", "holm", "graph", "none"]
# How a check tests its values (issue 17, item 5): Student's t (the default), the exact
# sign-flip test, or Yuen's 20%-trimmed t.
TestKind = Literal["t", "sign_flip", "trimmed"]
Transform = Literal["log"]
# A value of a pair key or condition as a plan declares it: YAML's int, float or string (a
# bool is refused: `yes` is no seed). Compared with logged params in one canonical form.
# Strict numbers: a quoted "0" here is the text a param holds, which canonical() then reads.
ParamValue = Annotated[
    Annotated[int, Strict(), _not_a_bool("int_type")]
    | Annotated[float, Strict(), Field(allow_inf_nan=False)]
    | Annotated[str, StringConstraints(min_length=1, max_length=250)],
    Field(description="A value of a run param, e.g. a seed 3, a lambda 0.1 or a fold 'a'."),
]
Horizon = Annotated[
    WholeNumber,
    Field(
        ge=1,
        description="A fixed horizon: the first N declared pair-key values (seeds, folds) decide; "
        "results beyond them do not count.",
    ),
]

PairBy = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.\-/ ]{1,250}$"),
    Field(description="The MLflow run param that pairs results, e.g. seed or split."),
]


SequentialBoundary = Literal["pocock", "obrien_fleming", "anytime"]


class Sequential(_Section):
    """Looks after every completed run (pair), declared before the first result.

    ``max_runs: N`` is a group-sequential design: a look at every n from min_runs to N, each
    held to a boundary tabulated by simulation (``pocock``: one level at every look;
    ``obrien_fleming``: strict early, close to the fixed-n level at N). ``max_runs: null`` is
    the anytime-valid t (a mixture likelihood ratio): look as often and stop whenever you like,
    at the price of nothing decided before the sixth run and less power than a fixed n."""

    max_runs: WholeNumber | None = Field(
        ge=2,
        description="The most runs (pairs) the design looks at; null for the anytime-valid t.",
    )
    boundary: SequentialBoundary | None = Field(
        default=None,
        description="pocock (the default with max_runs), obrien_fleming, or anytime (the "
        "default without; with max_runs it only caps the looks, and raising it is harmless).",
    )

    @model_validator(mode="after")
    def _bounded_needs_max(self) -> Sequential:
        if self.max_runs is None and self.boundary not in (None, "anytime"):
            raise ValueError(f"a {self.boundary} boundary needs max_runs (a number of runs)")
        return self

    @property
    def kind(self) -> SequentialBoundary:
        """The boundary in force."""
        if self.boundary is not None:
            return self.boundary
        return "anytime" if self.max_runs is None else "pocock"


class Criterion(_Section):
    """One success criterion: a metric compared with an absolute threshold or with baselines.

    Exactly one of ``at_least``, ``at_most``, ``better_than`` and ``no_worse_than`` is given.
    Both comparisons respect the metric's direction: for a lower-is-better metric, "better by
    5%" means at least 5% lower than every named baseline, and "no worse than by 5%" (a
    non-inferiority test) at most 5% higher. ``for_each`` names a declared condition: the
    criterion must then hold in every group of runs sharing its value.
    """

    metric: MetricKey
    at_least: Number | None = None
    at_most: Number | None = None
    better_than: BaselineIds | None = Field(
        default=None, description="Baseline ids; the result must beat every one of them."
    )
    no_worse_than: BaselineIds | None = Field(
        default=None,
        description="Baseline ids; the result may trail each by at most `by` (non-inferiority).",
    )
    by: MarginField | None = Field(
        default=None,
        description="With better_than or no_worse_than: the margin, '5%' or an absolute amount.",
    )
    for_each: PairBy | None = Field(
        default=None, description="A declared condition: the criterion must hold in each group."
    )
    expected: MarginField | None = Field(
        default=None,
        description="The true effect you expect beyond the threshold ('3%' or an amount): what "
        "runs_needed plans for. Planning only: it never changes a verdict.",
    )
    transform: Transform | None = Field(
        default=None,
        description="log: test the logarithm of a positive metric, a claim on the geometric "
        "mean (with a baseline: on the geometric-mean ratio). Declared before data.",
    )
    test: TestKind | None = Field(
        default=None,
        description="t (Student's t, the default; assumes roughly normal per-run values), "
        "sign_flip (exact sign-flip test of the centre of symmetry; needs 2^-n below the level), "
        "or trimmed (Yuen's 20%-trimmed mean t, robust to occasional collapsed seeds).",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_baseline_is_a_list(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name in ("better_than", "no_worse_than"):
            if isinstance(data.get(name), str):
                data = {**data, name: [data[name]]}
        return data

    @model_validator(mode="after")
    def _exactly_one_threshold(self) -> Criterion:
        names = ("at_least", "at_most", "better_than", "no_worse_than")
        given = [name for name in names if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "a criterion needs exactly one of at_least, at_most, better_than, no_worse_than"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.by is not None and self.baselines_named is None:
            raise ValueError("'by' only goes with 'better_than' or 'no_worse_than'")
        if self.baselines_named is not None and not self.baselines_named:
            raise ValueError(f"{given[0]} needs at least one baseline id")
        return self

    @property
    def baselines_named(self) -> list[str] | None:
        """The baselines compared with, by either comparison; None for absolute thresholds."""
        return self.better_than if self.better_than is not None else self.no_worse_than


class Guardrail(_Section):
    """No metric matching ``metrics`` (other than the hypothesis's targets) may fall behind
    the baseline ``against`` by more than ``max_drop``."""

    metrics: Text = Field(description="Glob over declared metric keys, e.g. recall.*")
    against: Identifier = Field(description="The baseline the guarded metrics are compared with.")
    max_drop: MarginField


class Timebox(_Section):
    """How long a hypothesis may take, from when."""

    days: WholeNumber = Field(gt=0, le=3650, description="How many days the hypothesis may take.")
    start: dt.date

    @field_validator("start")
    @classmethod
    def _deadline_is_a_date(cls, start: dt.date, info: ValidationInfo) -> dt.date:
        # The deadline is start + days; past 9999-12-31 Python has no date for it, and every
        # command that judges the plan would stop with OverflowError.
        days = info.data.get("days")
        if isinstance(days, int) and start > dt.date.max - dt.timedelta(days=days):
            raise ValueError(
                f"a timebox starting {start.isoformat()} ends {days} days later, after "
                f"{dt.date.max.isoformat()}, the last date mlplan can count to; "
                "check the start date"
            )
        return start

    @property
    def deadline(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days)


class NextStep(_Section):
    """What to do after a verdict, and the hypothesis it leads to, if any."""

    description: Text
    then: Identifier | None = Field(
        default=None,
        description=(
            "A hypothesis id to test next, or a terminal action: " + ", ".join(TERMINAL_ACTIONS)
        ),
    )


class Hypothesis(_Section):
    """A testable claim: doing A changes metric B over a baseline by C, within a timebox."""

    id: Identifier
    statement: Text = Field(description="Doing A improves metric B over the baseline by C.")
    method: Text
    metrics: list[MetricKey] = Field(min_length=1)
    baselines: list[Identifier] = Field(
        min_length=1, description="Every experiment is compared with a heuristic baseline."
    )
    success_criteria: list[Criterion] = Field(min_length=1)
    guardrails: list[Guardrail] = Field(default_factory=list)
    timebox: Timebox
    on_success: NextStep
    on_failure: NextStep
    pair_by: PairBy | None = Field(
        default=None,
        description="Overrides experiment.pair_by; null switches pairing off for this one.",
    )
    min_runs: WholeNumber | None = Field(
        default=None, ge=2, description="Overrides experiment.min_runs."
    )
    runs: Horizon | None = Field(default=None, description="Overrides experiment.runs.")
    sequential: Sequential | None = Field(
        default=None, description="Overrides experiment.sequential (a look after every run)."
    )
    resampling: Resampling | None = Field(
        default=None, description="Overrides experiment.resampling."
    )
    exploratory: bool = Field(
        default=False, description="Declared exploratory: never a confirmatory verdict."
    )
    family: Identifier | None = Field(
        default=None,
        description="With multiplicity: holm, hypotheses sharing a family form one Holm family.",
    )
    weight: Number | None = Field(
        default=None,
        gt=0,
        le=1,
        description="With multiplicity: graph, a root's share of α (weights sum to at most 1; "
        "what is left is the reserve for roots added later).",
    )
    entry_point: EntryPoint | None = Field(
        default=None,
        description="How `mlplan run` produces one result: package.module:function, called "
        "with the cell's params (seed=3, lam=0.1) and returning {metric: value}.",
    )
    command: Command | None = Field(
        default=None, description="Or a command per cell (see the baselines' command)."
    )
    condition_values: dict[PairBy, list[ParamValue | None]] | None = Field(
        default=None,
        description="This hypothesis's own planned condition values for `mlplan run`, in "
        "place of experiment.condition_values: its cells are its pair values crossed with "
        "these, e.g. {lam: [1, 10]}; {} varies no condition; a null value is one cell "
        "without that param, compared with no baseline (a check that takes no lam).",
    )

    @model_validator(mode="after")
    def _one_way(self) -> Hypothesis:
        _one_way_to_run(self.entry_point, self.command)
        return self

    @property
    def overrides_pair_by(self) -> bool:
        """True when the plan sets pair_by here, even to null."""
        return "pair_by" in self.model_fields_set


class SlurmSettings(_Section):
    """What each cell's Slurm job asks for (`mlplan run --executor slurm`); the command
    line's --partition, --time, --cpus, --gpus and --mem override these."""

    partition: str | None = Field(
        default=None,
        min_length=1,
        pattern=r"^[A-Za-z0-9_.,\-]+$",
        description="The partition (sbatch --partition); default: the cluster's.",
    )
    time: WholeNumber = Field(
        default=60, ge=1, description="Each cell's time limit in minutes (sbatch --time)."
    )
    cpus: WholeNumber = Field(default=1, ge=1, description="CPUs per cell (--cpus-per-task).")
    gpus: WholeNumber = Field(default=0, ge=0, description="GPUs per cell (--gpus-per-node).")
    mem: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]*[KMGT]?$",
        description="Memory per cell as sbatch --mem writes it, e.g. 4G or 500M.",
    )


class Execution(_Section):
    """How `mlplan run` places each cell (a cluster backend adds its own settings here)."""

    gpus: WholeNumber = Field(
        default=0,
        ge=0,
        description="GPUs each cell needs: each running cell gets its own in "
        "CUDA_VISIBLE_DEVICES, and -j is capped at the GPUs visible / gpus.",
    )
    slurm: SlurmSettings | None = Field(
        default=None, description="Each cell's Slurm job with --executor slurm."
    )


class ExperimentDesign(_Section):
    """The metrics, baselines and hypotheses, and how results are paired and judged."""

    data_motivation: Text
    pair_by: PairBy | None = Field(
        default=None, description="The MLflow run param that pairs results, e.g. seed."
    )
    min_runs: WholeNumber = Field(
        default=3, ge=2, description="Matched pairs (or runs) a check needs before it decides."
    )
    resampling: Resampling | None = Field(
        default=None, description="Overlapping resamples of one data set (corrected t)."
    )
    conditions: list[PairBy] = Field(
        default_factory=list, description="Run params that define conditions (groups)."
    )
    pair_values: list[ParamValue] | None = Field(
        default=None,
        min_length=1,
        description="The pair key's planned values in order, e.g. seeds [0, 1, 2, 3, 4]: the "
        "design's slots, and the order in which a fixed horizon takes them.",
    )
    condition_values: dict[PairBy, list[ParamValue]] | None = Field(
        default=None, description="Each condition's planned values, e.g. {lam: [0.1, 1, 10]}."
    )
    runs: Horizon | None = Field(
        default=None,
        description="A fixed horizon: the first N declared pair values decide (N ≥ min_runs).",
    )
    sequential: Sequential | None = Field(
        default=None,
        description="A sequential design: a look after every completed run (pair), e.g. "
        "{max_runs: 20} (group-sequential) or {max_runs: null} (anytime-valid). A hypothesis "
        "needs runs or sequential for a confirmatory verdict.",
    )
    multiplicity: Multiplicity = Field(
        default="sequence",
        description="sequence: fixed sequence along the decision graph; holm: Holm within "
        "each declared family; graph: roots share α by their weights and a success passes its "
        "α along on_success (Bretz et al. 2009); none: no correction across hypotheses.",
    )
    primary: Identifier | None = Field(
        default=None,
        description="With several root hypotheses: the one whose chain is confirmatory at full "
        "α; other roots are exploratory (unless in its Holm family).",
    )
    power_at: MarginField | None = Field(
        default=None, description="The margin runs_needed plans for when a criterion has none."
    )
    execution: Execution = Field(
        default_factory=Execution, description="How `mlplan run` places each cell."
    )
    baselines: list[Baseline] = Field(min_length=1)
    hypotheses: list[Hypothesis] = Field(min_length=1)


class SoftwareDesign(_Section):
    """The crawl, walk and run stages of building the system."""

    crawl: Text = Field(description="Estimate the effect before building.")
    walk: Text = Field(description="A more rigorous design of the components.")
    run: Text = Field(description="The longer-term design.")


class Risks(_Section):
    """The products and customers a failure would affect."""

    products_affected: Text
    customer_impact: Text
    monitoring: Text
    rollback: Text
    other: list[Text] = Field(default_factory=list)


class Considerations(_Section):
    """What must hold before launch, and what could go wrong."""

    launch_criteria: list[Text] = Field(min_length=1)
    what_could_go_wrong: Risks
    security: Text
    privacy: Text


class LogEntry(_Section):
    """A dated note in the experiment log."""

    date: dt.date
    text: Text
    hypothesis: Identifier | None = None


VerdictStatus = Literal[
    "pending", "blocked", "running", "succeeded", "failed", "inconclusive", "overdue"
]


class RecordedVerdict(_Section):
    """The verdict a decision was taken on, as `mlplan decide` saw it, so that a later change
    of verdict (more runs, an amendment) shows beside the decision."""

    status: VerdictStatus
    n: WholeNumber = Field(ge=0, description="How many runs the verdict rested on.")
    interval: Annotated[list[RecordedNumber], Field(min_length=2, max_length=2)] | None = Field(
        default=None, description="The deciding check's interval, [low, high]."
    )
    interval_kind: Text | None = Field(
        default=None,
        description="What the interval is, e.g. '95% CI of acc − 1.05·B1' (decisions recorded "
        "before this field held the decision bounds, not a labelled interval).",
    )
    check: Text | None = Field(default=None, description="The check that decided, in words.")


Closure = Literal["abandoned", "superseded"]


class Decision(_Section):
    """A decision on a hypothesis, with the verdict it was taken on; closes it if it says so."""

    date: dt.date
    hypothesis: Identifier
    decision: Text
    rationale: Text | None = None
    verdict: RecordedVerdict | None = None
    closes: Closure | None = Field(
        default=None,
        description=(
            "Closes the hypothesis (abandoned, or superseded by another): no more runs are "
            "planned, its verdict stays as the results say, and its deadline no longer applies."
        ),
    )


def _canonical_criteria(text: str) -> str:
    """A criteria text as stamped: the judge's one-line canonical JSON. Amendments are written
    with it indented over several lines (readable in a diff); both read back to the same."""
    try:
        document = json.loads(text)
    except ValueError:
        return text  # not JSON: a stamp cut short by MLflow's tag limit, kept as it is
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


CriteriaText = Annotated[Text, AfterValidator(_canonical_criteria)]


class CriteriaAmendment(_Section):
    """A recorded change of a hypothesis's verdict-relevant settings after results existed.

    ``criteria_before`` and ``criteria_after`` are the judge's canonical criteria texts (as
    stamped on results), so the verdict under the original criteria can be recomputed.
    """

    date: dt.date
    hypothesis: Identifier
    reason: Text
    criteria_before: CriteriaText
    criteria_after: CriteriaText
    fingerprint_before: Text
    fingerprint_after: Text
    changes: list[Text] = Field(default_factory=list, description="What changed, in words.")


class Rename(_Section):
    """A hypothesis renamed after results were logged under its old id (`mlplan amend PLAN OLD
    --rename NEW`): results logged as ``renamed_from`` count for ``hypothesis``. Results in
    MLflow keep the id they were logged under; every reader maps them."""

    date: dt.date
    hypothesis: Identifier = Field(description="The hypothesis's id now.")
    renamed_from: Identifier = Field(description="The id its earlier results were logged under.")
    reason: Text


class ExperimentLog(_Section):
    """What happened: dated entries, decisions, amendments of criteria and renames."""

    entries: list[LogEntry] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    amendments: list[CriteriaAmendment] = Field(default_factory=list)
    renames: list[Rename] = Field(default_factory=list)

    def renamed(self) -> dict[str, str]:
        """Each old id and the id its results count for now."""
        return {rename.renamed_from: rename.hypothesis for rename in self.renames}


class Plan(_Section):
    """An ML engineering design plan, in the order of the design template."""

    schema_version: Literal[1] = Field(description="The plan format's version.")
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = Field(
        description="Lowercase slug; names the MLflow experiment."
    )
    title: Text
    owners: list[Text] = Field(default_factory=list)
    problem: ProblemStatement
    goals: Goals
    metrics: list[Metric] = Field(min_length=1, description="Every metric, declared once.")
    experiment: ExperimentDesign
    software_design: SoftwareDesign
    considerations: Considerations
    experiment_log: ExperimentLog = Field(default_factory=ExperimentLog)

    # A loaded plan names only what it has (rules.find_problems), so a missing id here is a
    # bug: a KeyError that says which, never a bare StopIteration (inside a generator that
    # one silently ends it, or surfaces far from the lookup).
    def metric(self, key: str) -> Metric:
        return _named(self.metrics, "metric", key, lambda m: m.key)

    def hypothesis(self, hypothesis_id: str) -> Hypothesis:
        return _named(self.experiment.hypotheses, "hypothesis", hypothesis_id, lambda h: h.id)

    def baseline(self, baseline_id: str) -> Baseline:
        return _named(self.experiment.baselines, "baseline", baseline_id, lambda b: b.id)

    def key_params(self, kind: str, subject: str) -> list[str]:
        """The run params that name a result's slot: its pair key and the declared conditions.
        A baseline serves every hypothesis, so every pair_by in the plan counts for it."""
        design = self.experiment
        hypothesis = next((h for h in design.hypotheses if h.id == subject), None)
        if kind == "hypothesis" and hypothesis is not None:
            own = hypothesis.pair_by if hypothesis.overrides_pair_by else design.pair_by
            names = [own] if own else []
        else:
            names = [design.pair_by] if design.pair_by else []
            names += [h.pair_by for h in design.hypotheses if h.pair_by]
        return list(dict.fromkeys([*names, *design.conditions]))


_T = TypeVar("_T")


def _named(items: list[_T], what: str, wanted: str, name: Callable[[_T], str]) -> _T:
    for item in items:
        if name(item) == wanted:
            return item
    raise KeyError(f"the plan has no {what} {wanted!r}")
