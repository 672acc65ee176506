"""YAML reading that remembers where every value came from.

``yaml.safe_load`` loses positions and silently keeps the last of two duplicate keys. Here the
document is composed into nodes with the safe loader and converted by hand, so that each value's
line and column is known, duplicate keys are errors, and alias expansion has a budget (an alias
bomb composes into a few nodes but converts into billions of values).
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from mlplan.errors import PlanError, Problem, Route, Severity

__all__ = ["MAX_FILE_BYTES", "MAX_VALUES", "Document", "Locations", "read_document"]

MAX_FILE_BYTES = 2 * 1024 * 1024
# A generous plan has a few thousand values; a million means aliases are being abused.
MAX_VALUES = 200_000
# Past this depth a document is refused; a plan nests about eight levels deep.
MAX_DEPTH = 100
# The tags a plan may use (the YAML core schema). Others, such as !!python/object, would be
# silently dropped on a mapping or a list if the converter did not refuse them.
_PLAIN_TAGS = frozenset(tag for tag in yaml.SafeLoader.yaml_constructors if tag is not None)


@dataclass
class Locations:
    """1-based (line, column) of every value, and of every mapping key, by path."""

    values: dict[Route, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Route, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: Route) -> tuple[int, int]:
        """Where the value at ``path`` is, or its nearest ancestor if it is missing."""
        for prefix in _prefixes(path):
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)

    def of_key(self, path: Route) -> tuple[int, int]:
        """Where the key naming ``path`` is written, falling back to the value."""
        return self.keys.get(path) or self.of_value(path)

    def problem(
        self,
        file: Path,
        route: Route,
        message: str,
        hint: str = "",
        severity: Severity = "error",
        *,
        at_key: bool = False,
    ) -> Problem:
        """A problem located at the value ``route`` points to (or at its key, for a key that
        should not be there). Every problem found in a parsed document is made here."""
        line, column = self.of_key(route) if at_key else self.of_value(route)
        return Problem(str(file), line, column, message, route, hint, severity)


def _prefixes(path: Route) -> Iterator[Route]:
    for end in range(len(path), -1, -1):
        yield path[:end]


@dataclass
class Document:
    data: Any
    locations: Locations
    raw: bytes = b""  # the file's bytes as read: what a run logged under this plan carries


class _RefusalError(Exception):
    def __init__(self, message: str, mark: yaml.Mark | None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


def read_document(path: Path) -> Document:
    """Read a YAML file into plain Python values and their locations, or raise PlanError."""
    raw = _read_bytes(path)
    text = _decode(path, raw)
    try:
        document = _convert(text)
        document.raw = raw
        return document
    except _RefusalError as refusal:
        raise _error(path, refusal.message, refusal.mark, refusal.hint) from None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(path, text, exc) from None
    except yaml.reader.ReaderError as exc:  # a control character: it carries no Mark
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise _error_at(
            path,
            line,
            column,
            f"the character U+{_code_point(exc.character):04X} cannot appear in YAML",
            "delete it; plans are plain text",
        ) from None
    except RecursionError:  # a last resort: _convert refuses deep nesting with a location
        raise _error(path, _TOO_DEEP, None, "flatten the structure") from None


_TOO_DEEP = f"the document nests more than {MAX_DEPTH} levels deep; a plan cannot be this deep"


def _read_bytes(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            # A FIFO would block forever and /dev/zero never ends: look before opening.
            raise _error(
                path,
                "this is not a regular file (a pipe, a device or a socket)",
                None,
                "give the path of the plan's YAML file",
            )
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _error(
                path,
                f"the file is {size:,} bytes; plans are limited to {MAX_FILE_BYTES:,}",
                None,
                "is this the right file? A plan is a few kilobytes of YAML",
            )
        raw = _read_at_most(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise _error(path, "no such file", None, "check the path") from None
    except IsADirectoryError:
        raise _error(path, "this is a directory, not a plan file", None, "") from None
    except PermissionError:
        raise _error(path, "permission denied", None, "check the file's permissions") from None
    except OSError as error:  # a path through a file, a name too long, a symlink loop, ...
        raise _error(path, f"cannot be read: {error.strerror or error}", None, "") from None
    return raw


def _read_at_most(path: Path, limit: int) -> bytes:
    # The file may have grown, or been swapped for something else, since it was looked at.
    with path.open("rb") as stream:
        raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise _error(path, f"the file is over {limit:,} bytes; plans are not this long", None, "")
    return raw


# Checked before NUL bytes: UTF-16 text is full of them but is not binary.
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _decode(path: Path, raw: bytes) -> str:
    for bom, encoding in _WIDE_BOMS:
        if raw.startswith(bom):
            raise _error_at(
                path,
                1,
                1,
                f"the file is encoded as {encoding}, not UTF-8",
                "save the file as UTF-8",
            )
    if b"\x00" in raw:
        line, column = _position_of(raw, raw.index(b"\x00"))
        raise _error_at(
            path,
            line,
            column,
            "the file is binary (it contains NUL bytes)",
            "a plan is a UTF-8 text file",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _position_of(raw, exc.start)
        raise _error_at(
            path,
            line,
            column,
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            "save the file as UTF-8",
        ) from None
    if not text.strip():
        raise _error_at(path, 1, 1, "the file is empty", "start from `mlplan new NAME`")
    return text


def _position_of(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line_start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1


# libyaml's parser, when PyYAML was built with it, composes a 60-hypothesis plan in ~30 ms
# instead of ~300 ms: most of `mlplan validate`'s own time. Its nodes and marks are the same
# (line and column checked against the pure-Python parser on every plan in the tests), its
# error messages are not; so a document it refuses is read again by the pure-Python parser,
# whose messages and marks the rest of this module knows.
_FAST_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else None


def _compose(text: str) -> tuple[yaml.Node | None, SafeConstructor]:
    if _FAST_LOADER is not None:
        fast = _FAST_LOADER(text)
        try:
            return fast.get_single_node(), fast
        except (yaml.YAMLError, RecursionError):
            pass  # read it again below, for the pure-Python parser's message
        finally:
            fast.dispose()
    loader = yaml.SafeLoader(text)
    try:
        return loader.get_single_node(), loader
    except RecursionError:
        # The composer recurses once per level. The parser's stack of open collections says
        # where the nesting is; otherwise the error would point at line 1 whatever the line.
        marks: list[yaml.Mark] = getattr(loader, "marks", [])
        raise _RefusalError(
            _TOO_DEEP, marks[-1] if marks else None, "flatten the structure"
        ) from None
    finally:
        loader.dispose()


def _convert(text: str) -> Document:
    root, loader = _compose(text)
    if root is None:
        raise _RefusalError("the file holds no YAML document", None, "start from `mlplan new NAME`")
    _check_graph(root)
    converter = _Converter(loader)
    data = converter.convert(root, ())
    return Document(data=data, locations=converter.locations)


def _check_graph(root: yaml.Node) -> None:
    """Refuse what conversion would choke on, before converting: an alias bomb, a recursive
    alias, and tags outside YAML's core schema (which conversion would silently drop).

    Aliases make the composed document a graph that shares nodes. Sizing each distinct node
    once costs a pass over the file's own nodes, where counting while converting costs the
    whole expansion (a second or so for a bomb) and can only name the innermost anchor.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:
            raise _RefusalError(
                "this anchor's value contains an alias to itself (a recursive structure)",
                node.start_mark,
                "a plan cannot hold a recursive structure; write the values out",
            )
        if node.tag not in _PLAIN_TAGS:
            raise _RefusalError(
                f"the YAML tag {_short_tag(node.tag)!r} is not allowed in a plan",
                node.start_mark,
                "a plan holds only text, numbers, dates, lists and mappings; remove the tag",
            )
        open_nodes.add(id(node))
        total = 1
        if isinstance(node, yaml.MappingNode):
            for _, value in node.value:  # keys are not values: they are never expanded
                total += size(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item)
        if total > MAX_VALUES:  # the smallest value that expands too far: where aliases pile up
            raise _RefusalError(
                f"the document expands to more than {MAX_VALUES:,} values",
                node.start_mark,
                "this looks like an alias bomb; write the values out instead of nesting aliases",
            )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)


_STR_TAG = "tag:yaml.org,2002:str"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
# What YAML 1.1 reads as a number but a person does not write as one: 0x10 (16), 0o17, 0b101,
# 1_000, 1:30 (90), and 012, which YAML reads as octal 10. A plan's numbers are plain decimals
# (mlplan._plan.keys.number) or YAML's .inf/.nan, which the schema then accepts or refuses.
_PLAIN_NUMBER = re.compile(
    r"^[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?"
    r"|(?:0|[1-9][0-9]*)?\.[0-9]+(?:[eE][+-]?[0-9]+)?"
    r"|0[0-9]*\.[0-9]*(?:[eE][+-]?[0-9]+)?"
    r"|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _Converter:
    def __init__(self, loader: SafeConstructor) -> None:
        self.loader = loader
        self.locations = Locations()
        self.depth = 0
        # Per mapping node: how many of its pairs are written in it rather than merged in by
        # `<<:`. Kept because flatten_mapping rewrites the node, which an alias may revisit.
        self.explicit: dict[int, int] = {}

    def convert(self, node: yaml.Node, path: Route) -> Any:
        self.locations.values[path] = _mark(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if self.depth >= MAX_DEPTH:  # refused before Python's recursion limit, with a location
            raise _RefusalError(_TOO_DEEP, node.start_mark, "flatten the structure")
        self.depth += 1
        if isinstance(node, yaml.MappingNode):
            value: Any = self._mapping(node, path)
        else:
            value = [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        self.depth -= 1  # no try/finally: an error ends the whole conversion
        return value

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STR_TAG:
            # What construct_object returns for a string, without its bookkeeping: most of a
            # plan is text, and this is a third of the conversion's time on a large plan.
            return node.value
        if node.tag in _NUMBER_TAGS and not _PLAIN_NUMBER.match(node.value.strip()):
            raise _RefusalError(
                f"{node.value!r} is not a plain decimal number{self._read_as(node)}",
                node.start_mark,
                "write the number in decimals, such as 16 or 0.7, or quote it if it is text",
            )
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. a date that does not exist, such as 2026-02-30
            raise _RefusalError(
                f"{node.value!r} is not a valid value: {exc}",
                node.start_mark,
                "dates are written YYYY-MM-DD and must exist",
            ) from None
        except (AttributeError, KeyError, TypeError, OverflowError, IndexError):
            # PyYAML's constructors for an explicit tag assume their resolver matched the text:
            # `!!timestamp notadate` fails inside the regex match (AttributeError), `!!bool
            # maybe` on a dictionary lookup (KeyError). Each is a value that is not of its tag.
            raise _RefusalError(
                f"{node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}",
                node.start_mark,
                "remove the !! tag and write the value plainly (dates as YYYY-MM-DD)",
            ) from None

    def _read_as(self, node: yaml.ScalarNode) -> str:
        # What YAML makes of it (0x10 is 16), when it makes anything: !!float "0x10" is nothing.
        try:
            return f" (YAML would read it as {self.loader.construct_object(node, deep=True)!r})"
        except ValueError:
            return ""

    def _mapping(self, node: yaml.MappingNode, path: Route) -> dict[Any, Any]:
        if id(node) not in self.explicit:
            self.explicit[id(node)] = sum(
                1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge"
            )
        self.loader.flatten_mapping(node)  # resolves `<<:` merge keys the way safe_load does
        # flatten_mapping puts merged pairs first; a key written in the mapping overrides a
        # merged one (that is what merge keys are for), but two written keys are a duplicate.
        first_explicit = len(node.value) - self.explicit[id(node)]
        result: dict[Any, Any] = {}
        written: set[str] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                shown = str(key).lower() if isinstance(key, bool) else repr(key)  # YAML's words
                raise _RefusalError(
                    f"a key must be text, but YAML reads this one as {shown}",
                    key_node.start_mark,
                    "quote the key; YAML turns unquoted yes/no/on/off into true/false",
                )
            if key in written:
                first = self.locations.keys[(*path, key)]
                raise _RefusalError(
                    f"duplicate key {key!r} (first defined at line {first[0]})",
                    key_node.start_mark,
                    "YAML would silently keep only the last one; remove or rename one of them",
                )
            if index >= first_explicit:
                written.add(key)
            self.locations.keys[(*path, key)] = _mark(key_node.start_mark)
            result[key] = self.convert(value_node, (*path, key))
        return result


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


def _mark(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _code_point(character: object) -> int:
    # PyYAML gives the offending character as its code point; be lenient about older versions.
    return character if isinstance(character, int) else ord(str(character)[:1] or "\0")


def _yaml_error(path: Path, text: str, exc: yaml.MarkedYAMLError) -> PlanError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or str(exc)
    if exc.context == "expected a single document in the stream":
        return _error(
            path,
            "the file holds more than one YAML document",
            mark,
            "a plan is one document; remove this '---' or split the file",
        )
    opener = _unclosed(text, exc)
    if opener is not None and mark is not None:
        # YAML notices a missing quote or bracket only lines later; point at where it opened.
        what, start = opener
        return _error(
            path,
            f"YAML syntax error: {what} is never closed "
            f"(YAML fails at line {mark.line + 1}: {problem})",
            start,
            f"close the {what.split()[-1]} on this line",
        )
    message = f"YAML syntax error: {problem}"
    if exc.context:
        message += f" ({exc.context})"
    hint = "check the indentation and quoting around this line"
    if "'\\t'" in problem or "\\t" in problem:
        hint = "YAML does not allow tabs for indentation; indent with spaces"
    return _error(path, message, mark, hint)


def _unclosed(text: str, exc: yaml.MarkedYAMLError) -> tuple[str, yaml.Mark] | None:
    """The quote or bracket that, left open, explains ``exc``, with where it opened."""
    problem, context = exc.problem_mark, exc.context_mark
    if problem is None:
        return None
    if exc.context == "while scanning a quoted scalar" and context is not None:
        return "this quote", context  # it ran to the end of the file
    if (
        exc.context in {"while parsing a flow sequence", "while parsing a flow mapping"}
        and context is not None
        and context.line < problem.line
    ):
        bracket = "[" if exc.context.endswith("sequence") else "{"
        return f"this '{bracket}' bracket", context
    # A quote left open swallows the following lines up to the next quote character, and
    # YAML fails just after it: find a quoted value that spans lines and ends where it fails.
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= problem.index:
                break
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in {'"', "'"}
                and token.start_mark.line < token.end_mark.line == problem.line
            ):
                return "this quote", token.start_mark
    except yaml.YAMLError:
        return None
    return None


def _error(path: Path, message: str, mark: yaml.Mark | None, hint: str) -> PlanError:
    line, column = _mark(mark) if mark is not None else (1, 1)
    return _error_at(path, line, column, message, hint)


def _error_at(path: Path, line: int, column: int, message: str, hint: str) -> PlanError:
    problem = Problem(file=str(path), line=line, column=column, message=message, hint=hint)
    return PlanError(file=path, problems=[problem])
