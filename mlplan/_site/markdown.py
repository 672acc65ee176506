"""The design doc's Markdown as HTML: markdown-it, with the doc's plain tables drawn here first.

A drawn plan's doc holds every result in its log table (200 rows for 10 hypotheses × 20 runs),
and markdown-it's table and inline rules spent ~60% of a cold `mlplan site` build's CPU on
them (issue 19). A table whose every cell is plain text (or one code span of a run id) is drawn
here exactly as markdown-it draws it; markdown-it sees an HTML comment in its place (an HTML
block, passed through as it is) and the table takes the comment's place in its output. Any
other table, and everything else, is still markdown-it's to render.
tests/test_site_markdown.py checks the two give the same HTML, byte for byte.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["markdown_html", "set_aside"]

# Text that no inline rule of markdown-it's commonmark preset touches (no escapes, code,
# emphasis, links, images, HTML, entities, strikethrough) and its renderer escapes nothing of.
_PLAIN = re.compile(r"[^\\`*_\[\]<>&!~\"'|\x00-\x1f\x7f]*")
_CODE = re.compile(r"`([0-9A-Za-z.\-]+)`")  # a run id in a code span
# Plan text never holds "<!--": the doc escapes every "<" in it (mlplan._report.doc).
_PLACEHOLDER = "<!--mlplan-table-{}"  # and "-->"
_DELIMITER = re.compile(r":?-+:?")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
# HTML blocks that a blank line does not end (CommonMark's kinds 1 to 5), with their ends.
_RAW_HTML = (
    (
        re.compile(r" {0,3}<(?:pre|script|style|textarea)(?:\s|>|$)", re.I),
        re.compile(r"</(?:pre|script|style|textarea)>", re.I),
    ),
    (re.compile(r" {0,3}<!--"), re.compile(r"-->")),
    (re.compile(r" {0,3}<\?"), re.compile(r"\?>")),
    (re.compile(r" {0,3}<![A-Za-z]"), re.compile(r">")),
    (re.compile(r" {0,3}<!\[CDATA\["), re.compile(r"\]\]>")),
)


def markdown_html(markdown: str) -> str:
    """``markdown`` as markdown-it's commonmark preset with tables renders it, raw HTML let
    through (the doc escapes every piece of plan text itself: mlplan._report.doc)."""
    text, tables = set_aside(markdown)
    html: str = _parser().render(text)
    for number, table in enumerate(tables):
        html = html.replace(_PLACEHOLDER.format(number) + "-->", table, 1)
    return html


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table")


def set_aside(markdown: str) -> tuple[str, list[str]]:
    """``markdown`` with each plain table (see the module's doc) replaced by a placeholder,
    and the tables' HTML, in order."""
    if _PLACEHOLDER.format("") in markdown:  # cannot be told from ours: nothing set aside
        return markdown, []
    lines = markdown.split("\n")
    out: list[str] = []
    tables: list[str] = []
    for start, end, kind in _blocks(lines):
        table = _table(lines[start:end]) if kind == "table" else None
        if table is None:
            out += lines[start:end]
            continue
        out.append(_PLACEHOLDER.format(len(tables)) + "-->")
        out += [] if end < len(lines) else [""]  # an HTML block's last line ends in a newline
        tables.append(table)
    return "\n".join(out), tables


def _blocks(lines: list[str]) -> Iterator[tuple[int, int, str]]:
    """Runs of lines as (start, end, kind): "table" for a candidate table (lines that start
    and end with a pipe, after a blank line and before one), "other" for the rest. Code
    fences and the HTML blocks a blank line does not end are stepped over whole."""
    index, count = 0, len(lines)
    while index < count:
        line = lines[index]
        after_blank = index == 0 or _blank(lines[index - 1])
        if after_blank and line.startswith("|") and line.endswith("|"):
            end = index
            while end < count and lines[end].startswith("|") and lines[end].endswith("|"):
                end += 1
            kind = "table" if end == count or _blank(lines[end]) else "other"
            yield index, end, kind
            index = end
            continue
        end = _block_end(lines, index)
        yield index, end, "other"
        index = end


def _blank(line: str) -> bool:
    # CommonMark's blank line: spaces and tabs only (a no-break space is text).
    return not line.strip(" \t")


def _block_end(lines: list[str], index: int) -> int:
    """The line after a code fence or a raw HTML block starting at ``index``, else index + 1."""
    line = lines[index]
    fence = _FENCE.match(line)
    if fence is not None:
        mark = fence[1]
        for end in range(index + 1, len(lines)):
            closing = lines[end].strip(" ")
            indent = len(lines[end]) - len(lines[end].lstrip(" "))
            if indent <= 3 and closing.startswith(mark) and set(closing) == {mark[0]}:
                return end + 1
        return len(lines)
    for opening, closing_pattern in _RAW_HTML:
        if opening.match(line):
            for end in range(index, len(lines)):
                if closing_pattern.search(lines[end]):
                    return end + 1
            return len(lines)
    return index + 1


def _table(lines: list[str]) -> str | None:
    """The HTML markdown-it draws for these table lines, or None if it is not a plain one."""
    if len(lines) < 3:  # no body row: left to markdown-it
        return None
    header, delimiter, *body = (_cells(line) for line in lines)
    if header is None or delimiter is None or len(header) != len(delimiter):
        return None
    if not all(_DELIMITER.fullmatch(cell) for cell in delimiter):
        return None
    aligns = [_align(cell) for cell in delimiter]
    rows: list[list[str]] = []
    for cells in [header, *body]:
        if cells is None or len(cells) != len(header):
            return None
        inline = [_inline(cell) for cell in cells]
        if any(html is None for html in inline):
            return None
        rows.append([html for html in inline if html is not None])
    parts = ["<table>", "<thead>", "<tr>"]
    parts += [f"<th{style}>{html}</th>" for html, style in zip(rows[0], aligns, strict=True)]
    parts += ["</tr>", "</thead>", "<tbody>"]
    for row in rows[1:]:
        parts.append("<tr>")
        parts += [f"<td{style}>{html}</td>" for html, style in zip(row, aligns, strict=True)]
        parts.append("</tr>")
    parts += ["</tbody>", "</table>"]
    return "\n".join(parts)


def _cells(line: str) -> list[str] | None:
    """A row's cells, trimmed; None when trimming could differ from markdown-it's."""
    cells = []
    for raw in line[1:-1].split("|"):
        cell = raw.strip(" ")
        if cell != cell.strip():  # a tab or an exotic space at an edge: left to markdown-it
            return None
        cells.append(cell)
    return cells


def _align(delimiter: str) -> str:
    if delimiter.endswith(":"):
        return (
            ' style="text-align:center"'
            if delimiter.startswith(":")
            else (' style="text-align:right"')
        )
    return ' style="text-align:left"' if delimiter.startswith(":") else ""


def _inline(cell: str) -> str | None:
    if _PLAIN.fullmatch(cell):
        return cell
    code = _CODE.fullmatch(cell)
    return f"<code>{code[1]}</code>" if code is not None else None
