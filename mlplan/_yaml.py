"""YAML reading that remembers where every value came from.

``yaml.safe_load`` loses positions and silently keeps the last of two duplicate keys. Here the
document is composed into nodes with the safe loader and converted by hand, so that each value's
line and column is known, duplicate keys are errors, and alias expansion has a budget (an alias
bomb composes into a few nodes but converts into billions of values).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlplan.errors import PlanError, Problem

__all__ = ["MAX_FILE_BYTES", "MAX_VALUES", "Document", "Locations", "read_document"]

MAX_FILE_BYTES = 2 * 1024 * 1024
# A generous plan has a few thousand values; a million means aliases are being abused.
MAX_VALUES = 200_000

Path_ = tuple[str | int, ...]


@dataclass
class Locations:
    """1-based (line, column) of every value, and of every mapping key, by path."""

    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: Path_) -> tuple[int, int]:
        """Where the value at ``path`` is, or its nearest ancestor if it is missing."""
        for prefix in _prefixes(path):
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)

    def of_key(self, path: Path_) -> tuple[int, int]:
        """Where the key naming ``path`` is written, falling back to the value."""
        return self.keys.get(path) or self.of_value(path)


def _prefixes(path: Path_) -> Iterator[Path_]:
    for end in range(len(path), -1, -1):
        yield path[:end]


@dataclass
class Document:
    data: Any
    locations: Locations


class _RefusalError(Exception):
    def __init__(self, message: str, mark: yaml.Mark | None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


def read_document(path: Path) -> Document:
    """Read a YAML file into plain Python values and their locations, or raise PlanError."""
    text = _read_text(path)
    try:
        return _convert(text)
    except _RefusalError as refusal:
        raise _error(path, refusal.message, refusal.mark, refusal.hint) from None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(path, exc) from None
    except RecursionError:
        raise _error(
            path, "the document nests too deeply to be a plan", None, "flatten the structure"
        ) from None


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _error(
                path,
                f"the file is {size:,} bytes; plans are limited to {MAX_FILE_BYTES:,}",
                None,
                "is this the right file? A plan is a few kilobytes of YAML",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _error(path, "no such file", None, "check the path") from None
    except IsADirectoryError:
        raise _error(path, "this is a directory, not a plan file", None, "") from None
    except PermissionError:
        raise _error(path, "permission denied", None, "check the file's permissions") from None
    return _decode(path, raw)


def _decode(path: Path, raw: bytes) -> str:
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


def _convert(text: str) -> Document:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if root is None:
        raise _RefusalError("the file holds no YAML document", None, "start from `mlplan new NAME`")
    converter = _Converter(loader)
    data = converter.convert(root, ())
    return Document(data=data, locations=converter.locations)


class _Converter:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.locations = Locations()
        self.budget = MAX_VALUES

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self._spend(node)
        self.locations.values[path] = _mark(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. a date that does not exist, such as 2026-02-30
            raise _RefusalError(
                f"{node.value!r} is not a valid value: {exc}",
                node.start_mark,
                "dates are written YYYY-MM-DD and must exist",
            ) from None

    def _spend(self, node: yaml.Node) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise _RefusalError(
                f"the document expands to more than {MAX_VALUES:,} values",
                node.start_mark,
                "this looks like an alias bomb; write the values out instead of nesting aliases",
            )

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<:` merge keys the way safe_load does
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise _RefusalError(
                    f"a key must be text, but YAML reads this one as {key!r}",
                    key_node.start_mark,
                    "quote the key; YAML turns unquoted yes/no/on/off into true/false",
                )
            if key in result:
                first = self.locations.keys[(*path, key)]
                raise _RefusalError(
                    f"duplicate key {key!r} (first defined at line {first[0]})",
                    key_node.start_mark,
                    "YAML would silently keep only the last one; remove or rename one of them",
                )
            self.locations.keys[(*path, key)] = _mark(key_node.start_mark)
            result[key] = self.convert(value_node, (*path, key))
        return result


def _mark(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _yaml_error(path: Path, exc: yaml.MarkedYAMLError) -> PlanError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or str(exc)
    message = f"YAML syntax error: {problem}"
    if exc.context:
        message += f" ({exc.context})"
    hint = "check the indentation and quoting around this line"
    if "'\\t'" in problem or "\\t" in problem:
        hint = "YAML does not allow tabs for indentation; indent with spaces"
    return _error(path, message, mark, hint)


def _error(path: Path, message: str, mark: yaml.Mark | None, hint: str) -> PlanError:
    line, column = _mark(mark) if mark is not None else (1, 1)
    return _error_at(path, line, column, message, hint)


def _error_at(path: Path, line: int, column: int, message: str, hint: str) -> PlanError:
    problem = Problem(file=str(path), line=line, column=column, message=message, hint=hint)
    return PlanError(file=path, problems=[problem])
