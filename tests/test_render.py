"""The design doc: golden files, escaping of user text, the decision graph, atomic writes.

Golden files: tests/golden/*.md hold the expected design docs byte for byte. After an
intended change to the template or the renderer, rewrite them with

    MLPLAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_render.py

and review `git diff tests/golden` before committing. In that mode the golden tests write
instead of compare, and conftest's check that tests leave the repository untouched is off for
this module (rewriting tests/golden is the point of the run).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import Capsys, MakePlan
from markdown_it import MarkdownIt

from mlplan._cli import main
from mlplan._plan.load import load_plan
from mlplan._plan.scaffold import new_plan
from mlplan._report.doc import LogView, decision_graph, render_markdown, write_markdown
from mlplan.errors import OutputError

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("MLPLAN_UPDATE_GOLDEN") == "1"

if UPDATE:

    @pytest.fixture(scope="module", autouse=True)
    def _repo_untouched() -> Iterator[None]:
        """Overrides conftest's fixture of that name: this run rewrites tests/golden on purpose."""
        yield


# A plan that uses every part of the template: three graded goals (good, ok, bad), four
# hypotheses whose next steps form a decision graph ending in ship, collect-data or redesign,
# criteria of each kind, guardrails, entry points, decisions and notes.
RICH_PLAN = """\
schema_version: 1
id: support-triage
title: Support ticket triage
owners: [Grace Hopper <grace@example.com>, Alan Turing]
problem:
  statement: |-
    Tickets wait 9 hours on average before anyone reads them.
    Urgent ones wait as long as the rest.
  audience: The support team and the customers who write in.
  why_now: Ticket volume doubled after the spring launch.
goals:
  software:
    - A classifier that tags each new ticket with a priority.
    - A queue view sorted by that priority.
  metrics:
    - statement: Raise recall on urgent tickets by 10% without losing more than 2% elsewhere.
      metric: recall.urgent
      target: "10%"
      segment: tickets the support lead marks urgent
      guardrail: {metrics: "recall.*", max_drop: "2%"}
    - statement: Cut the median time to first reply by 2 hours.
      metric: reply_hours
      target: 2
    - statement: Make triage feel faster.
  trade_offs:
    - Precision on urgent tickets may drop by up to 5%.
metrics:
  - {key: recall.urgent, direction: higher, description: Share of urgent tickets tagged urgent.}
  - {key: recall.normal, direction: higher, description: Share of normal tickets tagged normal.}
  - {key: precision.urgent, direction: higher, description: Share of urgent tags that are right.}
  - {key: reply_hours, direction: lower, unit: h, description: Median hours to first reply.}
experiment:
  data_motivation: 40% of churned customers had an urgent ticket that waited over a day.
  baselines:
    - id: B-keywords
      description: Tag a ticket urgent when it says "down", "outage" or "refund".
      entry_point: triage_baselines:keywords
    - id: B-fifo
      description: No triage; first in, first out.
  hypotheses:
    - id: H1
      statement: A fine-tuned text classifier beats the keyword rule on urgent recall by 10%.
      method: Fine-tune a small encoder on 20k labelled tickets.
      metrics: [recall.urgent, recall.normal, precision.urgent]
      baselines: [B-keywords, B-fifo]
      success_criteria:
        - {metric: recall.urgent, better_than: [B-keywords], by: "10%"}
        - {metric: precision.urgent, at_least: 0.6}
      guardrails:
        - {metrics: "recall.*", against: B-keywords, max_drop: "2%"}
      timebox: {days: 14, start: 2026-03-02}
      on_success: {description: Put it in front of agents., then: H2}
      on_failure: {description: Label more data first., then: H3}
    - id: H2
      statement: Sorting the queue by priority cuts reply time by 2 hours.
      method: Run the sorted queue for one team for two weeks.
      metrics: [reply_hours]
      baselines: [B-fifo]
      success_criteria:
        - {metric: reply_hours, better_than: B-fifo, by: 2}
      timebox: {days: 14, start: 2026-03-16}
      on_success: {description: Roll out to every team., then: ship}
      on_failure: {description: Try a model that also reads attachments., then: H4}
    - id: H3
      statement: Active learning reaches the keyword rule's recall with 5k labels.
      method: Label the tickets the model is least sure about, 500 at a time.
      metrics: [recall.urgent]
      baselines: [B-keywords]
      success_criteria:
        - {metric: recall.urgent, better_than: B-keywords}
      timebox: {days: 10, start: 2026-03-16}
      on_success: {description: Go on to the attachment model., then: H4}
      on_failure: {description: Collect a larger labelled set., then: collect-data}
    - id: H4
      statement: Reading attachments raises urgent recall to 0.85.
      method: Add OCR text of screenshots to the classifier's input.
      metrics: [recall.urgent, reply_hours]
      baselines: [B-keywords]
      success_criteria:
        - {metric: recall.urgent, at_least: 0.85}
        - {metric: reply_hours, at_most: 6.5}
      timebox: {days: 21, start: 2026-04-01}
      on_success: {description: Ship it., then: ship}
      on_failure: {description: Rethink the problem., then: redesign}
software_design:
  crawl: Score last month's tickets offline and compare with what agents did.
  walk: A service that tags tickets as they arrive, behind a feature flag.
  run: Retrain weekly on agents' corrections.
considerations:
  launch_criteria:
    - H1 succeeds and agents accept 80% of urgent tags in a week of shadow mode.
  what_could_go_wrong:
    products_affected: The support queue and its e-mail notifications.
    customer_impact: An urgent ticket tagged normal waits longer than today.
    monitoring: Daily recall on a random sample that agents label.
    rollback: Turn the feature flag off; the queue goes back to first in, first out.
    other:
      - Agents may stop reading tickets tagged normal.
  security: Tickets stay in the support system; the model runs inside it.
  privacy: Training data is stripped of names and e-mail addresses.
experiment_log:
  entries:
    - {date: 2026-03-03, text: Labelled set frozen at 20k tickets., hypothesis: H1}
    - {date: 2026-03-10, text: Agents asked for the tag to show a confidence.}
  decisions:
    - date: 2026-03-16
      hypothesis: H1
      decision: H1 succeeded; start H2.
      rationale: Urgent recall 0.81 against 0.62 for the keywords.
    - {date: 2026-03-20, hypothesis: H3, decision: Dropped; H1 succeeded.}
"""


def rendered_golden_input(name: str, tmp_path: Path) -> str:
    if name == "blank.md":
        path = new_plan("churn-model", directory=tmp_path, today=dt.date(2026, 1, 5)).plan
    else:
        path = tmp_path / "plan.yaml"
        path.write_text(RICH_PLAN, encoding="utf-8")
    return render_markdown(load_plan(path).plan)


@pytest.mark.parametrize("name", ["blank.md", "rich.md"])
def test_design_doc_matches_its_golden_file(name: str, tmp_path: Path) -> None:
    rendered = rendered_golden_input(name, tmp_path)
    golden = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_bytes(rendered.encode("utf-8"))
        return
    expected = golden.read_bytes().decode("utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            f"tests/golden/{name}",
            "rendered",
        )
    )
    assert rendered.encode("utf-8") == golden.read_bytes(), (
        f"the design doc changed; if that is intended, run MLPLAN_UPDATE_GOLDEN=1:\n{diff}"
    )


def test_render_command_prints_and_writes_the_same_doc(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(RICH_PLAN, encoding="utf-8")
    # with no MLflow store beside the plan, the doc says the log was not available
    expected = render_markdown(
        load_plan(path).plan,
        LogView(
            reason="no MLflow store was found for this plan (none configured, "
            "and no embedded store beside it)"
        ),
    )
    assert main(["render", str(path)]) == 0
    assert capsys.readouterr().out == expected
    output = tmp_path / "docs" / "design.md"
    assert main(["render", str(path), "--output", str(output)]) == 0
    captured = capsys.readouterr()
    assert output.read_bytes() == expected.encode("utf-8")
    assert captured.out == ""
    assert f"Wrote {output}" in captured.err


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    # Two interpreters with different hash seeds: set and dict orders that leak into the doc
    # differ between processes, never within one, so rendering twice here could not fail.
    path = tmp_path / "plan.yaml"
    path.write_text(RICH_PLAN, encoding="utf-8")
    docs = [
        subprocess.run(
            [sys.executable, "-m", "mlplan", "render", str(path)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert docs[0] == docs[1] and b"## 1. Problem statement" in docs[0]


def test_the_rich_doc_shows_every_section_grade_and_decision(tmp_path: Path) -> None:
    doc = rendered_golden_input("rich.md", tmp_path)
    headings = [line for line in doc.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 1. Problem statement",
        "## 2. Goals",
        "## 3. Experiment design",
        "## 4. Software design",
        "## 5. Considerations",
        "## Appendix: experiment log",
    ]
    grades = re.findall(r"\*\*(good|ok|bad)\*\*", doc)
    assert grades == ["good", "ok", "bad"]
    assert "| 2026-03-16 | H1 | H1 succeeded; start H2. |" in doc
    assert "- **2026-03-03** (H1): Labelled set frozen at 20k tickets." in doc
    assert "(deadline 2026-03-16)" in doc  # H1: 14 days from 2026-03-02


# --- escaping: user text cannot break a table or inject markup ---------------------------------

HOSTILE = (
    "a | b `code` <script>alert(1)</script> [link](javascript:x) **bold**\n"
    "# heading\n"
    "- item\n"
    "1. first\n"
    "last | line"
)
PLAIN = "plain words"


def plan_with(make_plan: MakePlan, words: str, statement: str | None = None) -> str:
    """The conftest plan with ``words`` in table cells and paragraphs (and ``statement``, by
    default the same words, as H1's statement), rendered."""
    path = make_plan()
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["owners"] = [words]
    data["problem"]["statement"] = words  # a paragraph
    data["software_design"]["crawl"] = words  # a paragraph after a bold label
    data["goals"]["metrics"][0]["statement"] = words  # the goals table
    data["goals"]["trade_offs"] = [words]  # a list item
    data["metrics"][0]["description"] = words  # the metrics table
    data["experiment"]["baselines"][0]["description"] = words  # the baselines table
    hypothesis = data["experiment"]["hypotheses"][0]
    # the hypotheses table, a heading, the mermaid graph
    hypothesis["statement"] = words if statement is None else statement
    hypothesis["method"] = words
    data["experiment_log"] = {
        "entries": [{"date": dt.date(2026, 11, 21), "text": words}],
        "decisions": [
            {"date": dt.date(2026, 11, 22), "hypothesis": "H1", "decision": words},
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return render_markdown(load_plan(path).plan)


def unescaped_pipes(row: str) -> int:
    count, escaped = 0, False
    for char in row:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            count += 1
    return count


def tables(doc: str) -> list[list[str]]:
    """Each Markdown table of the doc as its lines, outside the mermaid block."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in [*doc.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def structure(doc: str) -> Counter[str]:
    """How many of each kind of block (and table cell) the doc parses into, as GitHub would."""
    tokens = MarkdownIt("commonmark").enable("table").parse(doc)
    return Counter(token.type for token in tokens if token.type.endswith("_open"))


def test_user_text_keeps_every_table_row_at_its_column_count(make_plan: MakePlan) -> None:
    doc = plan_with(make_plan, HOSTILE)
    found = tables(doc)
    assert len(found) == len(tables(plan_with(make_plan, PLAIN))) >= 8
    for table in found:
        columns = unescaped_pipes(table[0])
        assert all(unescaped_pipes(row) == columns for row in table), "\n".join(table)
    assert "a \\| b" in doc


def test_user_text_cannot_inject_html_links_headings_or_lists(make_plan: MakePlan) -> None:
    doc = plan_with(make_plan, HOSTILE)
    assert "<script>" not in doc
    assert "</script>" not in doc
    assert "&lt;script&gt;" in doc
    assert "[link](javascript:x)" not in doc
    html = MarkdownIt("commonmark").enable("table").render(doc)
    assert "<script" not in html
    assert "javascript:" not in html.replace("(javascript:x)", "")  # only as plain text
    assert "<strong>bold</strong>" not in html
    # Same blocks, lists, headings and table cells as with harmless text. (H1's statement is
    # also a heading, where a newline is flattened: see the test below.)
    doc = plan_with(make_plan, HOSTILE, statement=" ".join(HOSTILE.splitlines()))
    assert structure(doc) == structure(plan_with(make_plan, PLAIN))


def test_a_newline_in_a_statement_stays_in_its_heading(make_plan: MakePlan) -> None:
    assert structure(plan_with(make_plan, PLAIN, statement="first\nsecond")) == structure(
        plan_with(make_plan, PLAIN)
    )


def test_a_newline_in_a_table_cell_becomes_a_line_break(make_plan: MakePlan) -> None:
    doc = plan_with(make_plan, HOSTILE)
    row = next(line for line in doc.splitlines() if line.startswith("| `recall` |"))
    assert "\\# heading<br>\\- item<br>" in row


def test_an_escaped_numbered_line_reads_as_written(make_plan: MakePlan) -> None:
    doc = plan_with(make_plan, "Intro\n1. first")
    html = MarkdownIt("commonmark").render(doc)
    assert "\\1. first" not in html
    assert "1. first" in html


@pytest.mark.parametrize("line", ["---", "===", "1) injected"])
def test_setext_underlines_and_parenthesised_numbers_are_escaped(
    make_plan: MakePlan, line: str
) -> None:
    assert structure(plan_with(make_plan, f"Intro\n{line}")) == structure(
        plan_with(make_plan, PLAIN)
    )


# --- the decision graph ------------------------------------------------------------------------


def graph_block(doc: str) -> list[str]:
    start = doc.index("```mermaid\n") + len("```mermaid\n")
    return doc[start : doc.index("```", start)].splitlines()


def test_quotes_and_brackets_in_a_statement_keep_the_node_on_one_line(
    make_plan: MakePlan,
) -> None:
    words = 'Say "stop"\n[now] {x} <b>|p|</b> ]"]'
    lines = graph_block(plan_with(make_plan, words))
    assert lines[0] == "flowchart TD"
    node = lines[1]
    assert re.fullmatch(r'    h_H1\["[^"\n]*"\]', node), node
    assert node == '    h_H1["H1: Say #quot;stop#quot; [now] {x} &lt;b&gt;|p|&lt;/b&gt; ]#quot;]"]'
    # a long statement is cut, still on one line
    long_node = graph_block(plan_with(make_plan, "word " * 40))[1]
    assert long_node.endswith(' …"]')
    assert len(long_node) < 90
    # Two boxes, four edges, and the two terminal actions they reach.
    assert len(lines) == 1 + 2 + 4 + 2
    assert "    h_H1 -- failure --> h_H2" in lines
    assert '    end_ship(["ship"])' in lines


def test_the_rich_plan_graph_has_every_edge_once(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(RICH_PLAN, encoding="utf-8")
    lines = decision_graph(load_plan(path).plan)
    edges = [line.strip() for line in lines if "-->" in line]
    assert edges == [
        "h_H1 -- success --> h_H2",
        "h_H1 -- failure --> h_H3",
        "h_H2 -- success --> end_ship",
        "h_H2 -- failure --> h_H4",
        "h_H3 -- success --> h_H4",
        "h_H3 -- failure --> end_collect_data",
        "h_H4 -- success --> end_ship",
        "h_H4 -- failure --> end_redesign",
    ]
    assert [line.strip() for line in lines if line.strip().startswith("end_")] == [
        'end_ship(["ship"])',
        'end_collect_data(["collect-data"])',
        'end_redesign(["redesign"])',
    ]


def test_distinct_hypotheses_get_distinct_graph_nodes(make_plan: MakePlan) -> None:
    path = make_plan()
    text = (
        path.read_text(encoding="utf-8").replace("id: H1", "id: H-1").replace("id: H2", "id: H_1")
    )
    path.write_text(text.replace("then: H2}", "then: H_1}"), encoding="utf-8")
    lines = decision_graph(load_plan(path).plan)
    boxes = [
        line.split("[")[0].strip()
        for line in lines[1:]
        if line.strip().startswith("h_") and "-->" not in line
    ]
    assert len(set(boxes)) == 2, boxes


# --- atomic writes -----------------------------------------------------------------------------


def test_write_markdown_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "design.md"
    target.write_text("old\n", encoding="utf-8")
    write_markdown(target, "new ✓\n")
    assert target.read_bytes() == "new ✓\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["design.md", "home"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "design.md"
    target.write_text("old\n", encoding="utf-8")
    calls: list[int] = []

    def disk_full(fd: int) -> None:
        calls.append(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    # A full disk is the user's environment: one message (exit 1 on the CLI), not a crash.
    with pytest.raises(OutputError, match="No space left on device"):
        write_markdown(target, "new\n" * 1000)
    assert calls, "the failure was not injected: write_markdown no longer calls os.fsync"
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["design.md", "home"]
