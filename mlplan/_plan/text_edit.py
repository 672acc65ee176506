"""Adding one entry to a plan's YAML while leaving every other byte as it was.

Round-trip YAML libraries re-wrap long lines, re-indent lists and turn CRLF into LF; a plan is
the team's record, reviewed line by line in pull requests, so mlplan writes into it as text
instead. The YAML is composed into nodes (which know where they start and end), the new entry
is emitted by PyYAML as a small, separate document, and spliced in at the place the nodes point
to, in the file's own indentation and line endings. The result is parsed again and must equal
the old data plus the entry, or nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from mlplan.errors import MlplanError

_LOG_SECTIONS = ("entries", "decisions", "amendments", "renames")

__all__ = [
    "HYPOTHESIS_REFERENCES",
    "Block",
    "BlockList",
    "PlanText",
    "append_to_list",
    "content_end",
    "rename_hypothesis",
]

_BOM = "\ufeff"


class Block(str):
    """Text to be written as a YAML literal block (``|-``), one line per line."""


class _Dumper(yaml.SafeDumper):
    pass


def _literal(dumper: yaml.SafeDumper, value: Block) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted scalar by itself when the text cannot be a block.
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


class BlockList(list[Any]):
    """A list to be written one item per line, even when its items are short."""


def _block_list(dumper: yaml.SafeDumper, value: BlockList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=False)


_Dumper.add_representer(Block, _literal)
_Dumper.add_representer(BlockList, _block_list)
_DEFAULT_INDENT = 2


@dataclass(frozen=True)
class PlanText:
    """A plan file's text with what must survive a rewrite: its BOM and its line ending."""

    text: str  # without the BOM
    bom: bool
    newline: str

    @classmethod
    def decode(cls, raw: bytes) -> PlanText:
        text = raw.decode("utf-8")
        bom = text.startswith(_BOM)
        text = text.removeprefix(_BOM)
        if "\r" in text and "\n" not in text:
            # Old Mac line endings (CR only): edited as LF, written back as CR.
            return cls(text.replace("\r", "\n"), bom, "\r")
        # The file's dominant line ending; a file without any gets LF.
        newline = "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"
        return cls(text, bom, newline)

    def encode(self) -> bytes:
        text = self.text.replace("\n", "\r") if self.newline == "\r" else self.text
        return ((_BOM if self.bom else "") + text).encode("utf-8")

    @property
    def line_break(self) -> str:
        """The line break to splice with: the file's own, or LF for a CR-only file (its text
        is held with LF until it is encoded)."""
        return "\n" if self.newline == "\r" else self.newline

    def with_text(self, text: str) -> PlanText:
        return PlanText(text, self.bom, self.newline)


def append_to_list(source: PlanText, path: tuple[str, ...], entry: dict[str, Any]) -> PlanText:
    """Append ``entry`` to the list at the mapping keys ``path``, creating missing keys.

    Raises MlplanError when the file's shape leaves no safe place to write, and when the
    spliced text would not read back as exactly the old data plus the entry.
    """
    root = yaml.compose(source.text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise MlplanError("the plan is not a YAML mapping; cannot add to it")
    splice = _Splicer(source.text, source.line_break, _indent_unit(root))
    spliced = source.with_text(splice.append(root, path, entry))
    _check(source.text, spliced.text, path, entry)
    return spliced


# Every place a plan names a hypothesis by id, as a path through its data ("*": each item of
# a list): its own id, which one is primary, the next steps that lead to it, and the experiment
# log's entries about it. Finding the ids and checking the renamed data both read this one
# table, so a place cannot be renamed in the text and forgotten in the check (or the reverse).
# ``renamed_from`` is left out on purpose: it is the id results were logged under.
HYPOTHESIS_REFERENCES: tuple[tuple[str, ...], ...] = (
    ("experiment", "primary"),
    ("experiment", "hypotheses", "*", "id"),
    ("experiment", "hypotheses", "*", "on_success", "then"),
    ("experiment", "hypotheses", "*", "on_failure", "then"),
    *(("experiment_log", section, "*", "hypothesis") for section in _LOG_SECTIONS),
)


def rename_hypothesis(source: PlanText, old: str, new: str) -> PlanText:
    """Rename hypothesis ``old`` to ``new`` everywhere the plan names it, in place.

    Only the id's own characters change (quotes, tags, comments and layout stay); the result
    must read back as the old data with exactly those values renamed, or nothing is written.
    Criteria texts recorded in amendments keep the ids they were stamped with.
    """
    root = yaml.compose(source.text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise MlplanError("the plan is not a YAML mapping; cannot rename in it")
    text = source.text
    for node in sorted(_naming(root, old), key=lambda n: n.end_mark.index, reverse=True):
        at = text.rfind(old, node.start_mark.index, node.end_mark.index)
        text = text[:at] + new + text[at + len(old) :]
    expected = _renamed_data(_unshared(yaml.safe_load(source.text)), old, new)
    if yaml.safe_load(text) != expected:
        raise MlplanError(
            f"cannot rename {old} to {new} without changing the rest of the plan; "
            "nothing was written: rename it by hand"
        )
    return source.with_text(text)


def _naming(root: yaml.MappingNode, old: str) -> Iterator[yaml.ScalarNode]:
    for path in HYPOTHESIS_REFERENCES:
        for node in _nodes_at(root, path):
            if isinstance(node, yaml.ScalarNode) and node.value == old:
                yield node


def _nodes_at(node: yaml.Node, path: tuple[str, ...]) -> Iterator[yaml.Node]:
    if not path:
        yield node
        return
    step, rest = path[0], path[1:]
    if step == "*":
        for item in node.value if isinstance(node, yaml.SequenceNode) else []:
            yield from _nodes_at(item, rest)
        return
    found = _value_of(node, step) if isinstance(node, yaml.MappingNode) else None
    if found is not None:
        yield from _nodes_at(found[1], rest)


def _renamed_data(data: Any, old: str, new: str) -> Any:
    for path in HYPOTHESIS_REFERENCES:
        for mapping in _mappings_at(data, path[:-1]):
            if mapping.get(path[-1]) == old:
                mapping[path[-1]] = new
    return data


def _mappings_at(value: Any, path: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The mappings ``path`` leads to in plain data (the parents of the named values)."""
    if not path:
        if isinstance(value, dict):
            yield value
        return
    step, rest = path[0], path[1:]
    if step == "*":
        for item in value if isinstance(value, list) else []:
            yield from _mappings_at(item, rest)
    elif isinstance(value, dict):
        yield from _mappings_at(value.get(step), rest)


class _Splicer:
    def __init__(self, text: str, newline: str, unit: int) -> None:
        self.text = text
        self.newline = newline
        self.unit = unit

    def append(self, root: yaml.MappingNode, path: tuple[str, ...], entry: dict[str, Any]) -> str:
        node: yaml.Node = root
        parent_column = -self.unit  # the root's keys sit one unit right of this
        for depth, key in enumerate(path):
            assert isinstance(node, yaml.MappingNode)
            found = _value_of(node, key)
            if found is None:
                return self._add_key(node, parent_column, path[depth:], entry)
            key_node, child = found
            parent_column = key_node.start_mark.column
            if depth == len(path) - 1:
                if not isinstance(child, yaml.SequenceNode):
                    break
                return self._add_item(child, node, parent_column, entry)
            if not isinstance(child, yaml.MappingNode):
                break
            node = child
        raise MlplanError(
            f"{'.'.join(path)} in the plan is not a list; fix it by hand, then run this again"
        )

    # -- a missing key -----------------------------------------------------------------------

    def _add_key(
        self, mapping: yaml.MappingNode, parent_column: int, keys: tuple[str, ...], entry: Any
    ) -> str:
        value: Any = [entry]
        for key in reversed(keys):
            value = {key: value}
        if mapping.flow_style:
            if not mapping.value and not self._inside_flow(mapping):
                return self._replace_empty(mapping, parent_column, keys, entry)
            return self._insert_flow(mapping, _flow(value)[1:-1])
        column = mapping.value[0][0].start_mark.column if mapping.value else parent_column
        return self._insert_block(mapping, self._keyed(keys, entry), column)

    def _keyed(self, keys: tuple[str, ...], entry: Any) -> str:
        """``keys`` as nested block mappings ending in a one-item list, indented as the file
        indents (PyYAML would write the list flush with its key)."""
        lines = [" " * (depth * self.unit) + f"{key}:" for depth, key in enumerate(keys)]
        items = _block([entry]).splitlines()
        lines += [" " * (len(keys) * self.unit) + line for line in items]
        return "\n".join(lines) + "\n"

    # -- an existing list --------------------------------------------------------------------

    def _add_item(
        self, sequence: yaml.SequenceNode, parent: yaml.MappingNode, key_column: int, entry: Any
    ) -> str:
        if not sequence.flow_style:
            return self._insert_block(sequence, _block([entry]), self._dash_column(sequence))
        if not sequence.value and not parent.flow_style:
            # `decisions: []` becomes a block list: a flow entry would be one very long line.
            return self._replace_empty(sequence, key_column, (), entry)
        return self._insert_flow(sequence, _flow([entry])[1:-1])

    # -- text operations ---------------------------------------------------------------------

    def _insert_block(self, node: yaml.Node, block: str, column: int) -> str:
        """Insert ``block`` (LF-separated lines) on the line after ``node``'s last content."""
        end = content_end(self.text, node)
        line_end = self.text.find("\n", end)
        if line_end == -1:  # the last line has no line break: give it the file's own
            head, tail = self.text + self.newline, ""
        else:
            head, tail = self.text[: line_end + 1], self.text[line_end + 1 :]
        return head + self._lines(block, column) + tail

    def _replace_empty(
        self, node: yaml.Node, key_column: int, keys: tuple[str, ...], entry: Any
    ) -> str:
        """Turn an empty ``[]`` or ``{}`` after a key into a block holding ``entry``."""
        start, stop = node.start_mark.index, node.end_mark.index
        line_end = self.text.find("\n", stop)
        before = self.text[:start].rstrip(" ")
        rest = self.text[stop:line_end] if line_end != -1 else self.text[stop:]
        lines = self._lines(self._keyed(keys, entry), key_column + self.unit)
        head = before + rest.rstrip("\r")  # keeps a trailing comment on the key's line
        tail = self.text[line_end + 1 :] if line_end != -1 else ""
        return head + self.newline + lines + tail

    def _insert_flow(self, node: yaml.Node, item: str) -> str:
        """Insert ``item`` before the closing bracket of a flow collection."""
        opened = node.start_mark.index + 1
        before = self.text[opened : node.end_mark.index - 1].rstrip(" \t\r\n")
        separator = " " if before.endswith(",") else ", " if before else ""
        at = opened + len(before)  # after the last item, before any line break and the bracket
        return self.text[:at] + separator + item + self.text[at:]

    def _dash_column(self, sequence: yaml.SequenceNode) -> int:
        """The column of the list's first ``-``. The node's own start is its anchor or tag
        when it has one (``decisions: &d``), on the key's line, not where its items are."""
        first = sequence.value[0].start_mark.index
        line_start = self.text.rfind("\n", 0, first) + 1
        dash = self.text.rfind("-", line_start, first)
        return dash - line_start if dash != -1 else sequence.start_mark.column

    def _inside_flow(self, node: yaml.Node) -> bool:
        # An empty collection is in block context when only spaces precede it after its key.
        line_start = self.text.rfind("\n", 0, node.start_mark.index) + 1
        before = self.text[line_start : node.start_mark.index]
        return any(bracket in before for bracket in "[{,")

    def _lines(self, block: str, column: int) -> str:
        pad = " " * column
        return "".join(pad + line + self.newline for line in block.splitlines())


def _value_of(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _descendants(node: yaml.Node) -> Iterator[yaml.Node]:
    yield node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _descendants(key)
            yield from _descendants(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _descendants(item)


def content_end(text: str, node: yaml.Node) -> int:
    """Where ``node``'s written content ends (before trailing blank lines and comments).

    A block collection's own end mark lies at the next token, past any comments; its scalars
    and flow collections end where their text ends.
    """
    ends = [
        n.end_mark.index
        for n in _descendants(node)
        if isinstance(n, yaml.ScalarNode) or getattr(n, "flow_style", False)
    ]
    end = max(ends, default=node.end_mark.index)
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1  # a block scalar's end mark includes the line breaks it chomped
    return end


def _indent_unit(root: yaml.MappingNode) -> int:
    """How far this file indents a nested block mapping (2 unless the file says otherwise)."""
    for key_node, value in root.value:
        if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
            step: int = value.value[0][0].start_mark.column - key_node.start_mark.column
            if step > 0:
                return step
    return _DEFAULT_INDENT


def _block(value: Any) -> str:
    # Lists of scalars and small mappings stay on one line; long text is never re-wrapped.
    return yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=2**31 - 1,
        default_flow_style=None,
    )


def _flow(value: Any) -> str:
    dumped = yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=2**31 - 1,
        default_flow_style=True,
    )
    return dumped.strip()


def _check(old: str, new: str, path: tuple[str, ...], entry: dict[str, Any]) -> None:
    # Built without shared parts: a list that is also an alias elsewhere (`&d` ... `*d`)
    # would gain the entry in both places, which the file's reader did not ask for.
    expected = _unshared(yaml.safe_load(old))
    node = expected
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node.setdefault(path[-1], []).append(yaml.safe_load(_block(entry)))
    try:
        actual = yaml.safe_load(new)
    except yaml.YAMLError as error:
        raise _splice_failed(path, f"the result is not valid YAML ({error})") from None
    if actual != expected:
        raise _splice_failed(path, "the result would read back differently")


def _unshared(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _unshared(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unshared(item) for item in value]
    return value


def _splice_failed(path: tuple[str, ...], why: str) -> MlplanError:
    return MlplanError(
        f"cannot add to {'.'.join(path)} without changing the rest of the plan: {why}. "
        "Nothing was written; add the entry by hand."
    )
