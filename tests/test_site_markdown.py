"""The site's own drawing of plain tables gives markdown-it's HTML byte for byte, and leaves to
markdown-it every table it does not draw exactly (mlplan._site.markdown)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO
from markdown_it import MarkdownIt

from mlplan._site.markdown import markdown_html, set_aside

PLAIN = """\
Some text.

| Date | Run | Subject | Δ vs baselines |
| --- | --- | --- | --- |
| 2026-12-07 | `db7d36815870494586ebbe127bcd056a` | H1 | +0.8% (seed=0) |
| 2026-12-08 | `1b9ba840` | B1 | — |

After.
"""

CASES = {
    "plain": PLAIN,
    "aligned": "| a | b | c |\n| :-- | --: | :-: |\n| 1 | 2 | 3 |\n",
    "at the end, no newline": "| a | b |\n| --- | --- |\n| 1 | 2 |",
    "escaped pipe": "| a | b |\n| --- | --- |\n| x \\| y | 2 |\n",
    "short row": "| a | b |\n| --- | --- |\n| 1 |\n",
    "long row": "| a | b |\n| --- | --- |\n| 1 | 2 | 3 |\n",
    "header only": "| a | b |\n| --- | --- |\n",
    "mismatched delimiter": "| a | b |\n| --- |\n| 1 | 2 |\n",
    "not a delimiter": "| a | b |\n| x | y |\n| 1 | 2 |\n",
    "markup in a cell": "| a | b |\n| --- | --- |\n| **1** | <br> |\n| a_b | &amp; |\n",
    "code with more": "| a | b |\n| --- | --- |\n| `x` y | `a_b` |\n",
    "tab at an edge": "| a | b |\n| --- | --- |\n|\t1 | 2 |\n",
    "no-break space at an edge": "| a | b |\n| --- | --- |\n| \u00a01 | 2 |\n",
    "quotes": '| a | b |\n| --- | --- |\n| "x" | it\'s |\n',
    "after a paragraph": "Text\n| a | b |\n| --- | --- |\n| 1 | 2 |\n",
    "before a paragraph": "| a | b |\n| --- | --- |\n| 1 | 2 |\nText\n",
    "indented": "  | a | b |\n  | --- | --- |\n  | 1 | 2 |\n",
    "in a list": "- item\n\n  | a | b |\n  | --- | --- |\n  | 1 | 2 |\n",
    "in a fence": "```\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n```\n\nAfter\n",
    "in a fence, an indented fence inside": (
        "```\n    ```\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n```\n"
    ),
    "before a no-break space line": "| a | b |\n| --- | --- |\n| 1 | 2 |\n\u00a0\n\nText\n",
    "after a no-break space line": "Text\n\u00a0\n| a | b |\n| --- | --- |\n| 1 | 2 |\n",
    "in a tilde fence": "~~~~ md\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n~~~\n~~~~\n",
    "in a comment": "<!-- a\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n-->\n",
    "in a pre": "<pre>\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n</pre>\n",
    "two tables": f"{PLAIN}\n{PLAIN}",
    "in a quote": "> | a | b |\n> | --- | --- |\n> | 1 | 2 |\n",
}


def _markdown_it(markdown: str) -> str:
    html: str = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    return html


@pytest.mark.parametrize("markdown", CASES.values(), ids=CASES.keys())
def test_the_html_is_markdown_its(markdown: str) -> None:
    assert markdown_html(markdown) == _markdown_it(markdown)


def test_a_plain_table_is_drawn_here() -> None:
    """Not vacuous: the plain table is set aside, and the others reach markdown-it as they were."""
    text, tables = set_aside(PLAIN)
    assert len(tables) == 1 and "<td>2026-12-08</td>" in tables[0] and "| 2026" not in text
    assert len(set_aside(CASES["two tables"])[1]) == 2
    declined = ("in a fence", "in a fence, an indented fence inside", "markup in a cell")
    for name in (*declined, "escaped pipe", "short row", "indented", "in a quote"):
        assert set_aside(CASES[name]) == (CASES[name], []), name


def test_markdown_holding_the_placeholder_is_left_to_markdown_it() -> None:
    markdown = f"<!--mlplan-table-0-->\n\n{PLAIN}"
    assert set_aside(markdown) == (markdown, [])
    assert markdown_html(markdown) == _markdown_it(markdown)


DOCS = sorted(REPO.glob("examples/*/design.md"))


@pytest.mark.parametrize("doc", DOCS, ids=[d.parent.name for d in DOCS])
def test_a_worked_examples_design_doc_renders_as_markdown_it_renders_it(doc: Path) -> None:
    markdown = doc.read_text(encoding="utf-8")
    assert set_aside(markdown)[1]  # its plain tables were drawn here
    assert markdown_html(markdown) == _markdown_it(markdown)
