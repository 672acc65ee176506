"""The design doc: a plan (and, when available, its experiment log) as GitHub Markdown.

All user text passes through ``cell`` or ``text`` before it reaches the page, so that a ``|``,
a backtick, HTML or a newline in a plan can neither break a table nor inject markup. Output is
deterministic: the same plan and log always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplan._files import write_output
from mlplan._judge.results import Result
from mlplan._plan import graph
from mlplan._plan.grading import grade_goals
from mlplan._plan.models import TERMINAL_ACTIONS, Hypothesis, Plan
from mlplan._report.deviations import decision_rows, deviation_rows, replacement_rows
from mlplan._resources import templates_dir
from mlplan._text import criterion_text, guardrail_text, next_step_text

if TYPE_CHECKING:
    import jinja2

__all__ = ["LogView", "cell", "mermaid_label", "render_markdown", "text", "write_markdown"]


@dataclass(frozen=True)
class LogView:
    """What the experiment-log appendix shows. ``available`` is False when no store could be
    read; ``reason`` then says why, and the doc says the log was not available."""

    available: bool = False
    reason: str = "no experiment log was read"
    store: str = ""
    results: Sequence[Result] = ()
    verdicts: Sequence[Any] = ()
    plots: Mapping[str, str] = field(default_factory=dict)
    as_of: dt.date | None = None
    review: Any = None  # a _decisions.FrozenReview when the log was read


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]|~#])")
# Line starts that CommonMark reads as structure: bullets, quotes, "1." / "1)" lists, and
# "---" / "===" lines that turn the paragraph above them into a heading.
_BULLET = re.compile(r"^(\s*)([-+>])(\s)", re.MULTILINE)
_NUMBERED = re.compile(r"^(\s*\d+)([.)])(\s|$)", re.MULTILINE)
_UNDERLINE = re.compile(r"^(\s*)([-=])(?=[-=\s]*$)", re.MULTILINE)


def _escape(value: object) -> str:
    escaped = html.escape(str(value), quote=False)
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", escaped)
    # GitHub renders $...$ as maths; an entity shows the dollar and opens no formula.
    escaped = escaped.replace("$", "&#36;")
    escaped = _BULLET.sub(r"\1\\\2\3", escaped)
    escaped = _NUMBERED.sub(r"\1\\\2\3", escaped)  # only punctuation escapes: 1\. not \1.
    return _UNDERLINE.sub(r"\1\\\2", escaped)


def heading(value: object) -> str:
    """User text for a heading: one line, or the rest would fall out of the heading."""
    return _escape(" ".join(str(value).split()))


def cell(value: object) -> str:
    """User text made safe for one Markdown table cell."""
    lines = str(value).strip().splitlines() or [""]
    return "<br>".join(_escape(line) for line in lines)


def text(value: object) -> str:
    """User text made safe as a paragraph; its line breaks are kept."""
    lines = str(value).strip().splitlines() or [""]
    return "  \n".join(_escape(line) for line in lines)


def mermaid_label(value: object, limit: int = 60) -> str:
    flat = " ".join(str(value).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return html.escape(flat, quote=True).replace("&quot;", "#quot;")


@functools.cache  # one per process: Jinja compiles a template once per environment
def _environment() -> jinja2.Environment:
    # Imported here: `mlplan status` imports this module (through the API) but renders no
    # template unless asked for Markdown, and jinja2 costs ~30 ms of its start-up.
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, escaped per value by the filters below
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(cell=cell, text=text, heading=heading, mermaid=mermaid_label)
    return environment


def _hypothesis_view(plan: Plan, hypothesis: Hypothesis) -> dict[str, Any]:
    return {
        "h": hypothesis,
        "criteria": [criterion_text(c, plan.metric(c.metric)) for c in hypothesis.success_criteria],
        "guardrails": [guardrail_text(g) for g in hypothesis.guardrails],
        "on_success": next_step_text(hypothesis.on_success),
        "on_failure": next_step_text(hypothesis.on_failure),
        "deadline": hypothesis.timebox.deadline.isoformat(),
    }


def _node(name: str) -> str:
    # Mermaid reads '-' in a node id as the start of an edge; ids get a prefix per kind so a
    # hypothesis called "ship" cannot collide with the terminal action of that name.
    # Every other character is encoded reversibly, so H-1 and H_1 stay two nodes.
    if name in TERMINAL_ACTIONS:
        return "end_" + name.replace("-", "_")
    return "h_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in name)


def decision_graph(plan: Plan) -> list[str]:
    """Mermaid flowchart lines: hypotheses as boxes, terminal actions as rounded ends."""
    lines = ["flowchart TD"]
    for hypothesis in plan.experiment.hypotheses:
        label = mermaid_label(f"{hypothesis.id}: {hypothesis.statement}")
        lines.append(f'    {_node(hypothesis.id)}["{label}"]')
    steps = graph.edges(plan)
    lines += [f"    {_node(e.source)} -- {e.outcome} --> {_node(e.target)}" for e in steps]
    used = {e.target for e in steps}
    lines += [f'    {_node(a)}(["{a}"])' for a in TERMINAL_ACTIONS if a in used]
    return lines


def render_markdown(plan: Plan, log: LogView | None = None) -> str:
    log = log or LogView()
    template = _environment().get_template("design.md.j2")
    return template.render(
        plan=plan,
        grades=grade_goals(plan),
        hypotheses=[_hypothesis_view(plan, h) for h in plan.experiment.hypotheses],
        graph=decision_graph(plan),
        log=log,
        **_log_context(plan, log),
    )


def _log_context(plan: Plan, log: LogView) -> dict[str, Any]:
    record = _record_context(plan, log)
    if not log.available:
        return {"status": [], "log_rows": [], "active": [], **record}
    # Imported here: the judge is only needed when there is a log to show.
    from mlplan._judge.verdicts import active_hypotheses
    from mlplan._report.rows import log_rows, status_rows

    verdicts = list(log.verdicts)
    return {
        "status": status_rows(verdicts),
        "log_rows": log_rows(plan, list(log.results)),
        "active": active_hypotheses(plan, verdicts),
        **record,
    }


def _record_context(plan: Plan, log: LogView) -> dict[str, Any]:
    """Decisions with the verdict they were taken on, and the deviations from the plan."""
    return {
        "decisions": decision_rows(plan, log.review),
        "deviations": deviation_rows(plan, log.review) + replacement_rows(log.results, plan),
    }


def write_markdown(path: Path, markdown: str, *, protect: Sequence[Path] = ()) -> None:
    write_output(path, markdown, protect=protect)
