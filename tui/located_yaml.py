"""YAML that remembers where each value was written, for error messages an operator can act
on: every mapping and list knows the line of each key and item (LineLoader), and a Reader
reads typed values out of them or fails with the file, the line and the key's path. A key
written twice anywhere in a file is an error naming both lines (check_duplicate_keys).
Used by the inventory (tui/inventory.py).
"""

from __future__ import annotations

from typing import Any

import yaml

from tui.durations import parse_duration
from tui.errors import ConfigError


class LineLoader(yaml.SafeLoader):
    """A SafeLoader that remembers the line of every mapping key and sequence item."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> dict:
    mapping = Located()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConfigError("a mapping key is not a plain value",
                              where=f"line {key_node.start_mark.line + 1}") from None
        line = key_node.start_mark.line + 1
        if key in mapping and key not in mapping.duplicates:
            # YAML keeps the last one silently; an operator who wrote a key twice meant one
            # of them, and we cannot tell which: parse_inventory names both lines
            mapping.duplicates[key] = (mapping.key_lines[key], line)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = value_node.start_mark.line + 1
        mapping.key_lines[key] = line
    mapping.line = node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> list:
    seq = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    seq.lines = [child.start_mark.line + 1 for child in node.value]
    seq.line = node.start_mark.line + 1
    return seq


class Located(dict):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}
        self.key_lines: dict[Any, int] = {}
        self.duplicates: dict[Any, tuple[int, int]] = {}  # key -> (first line, second line)
        self.line = 0


class LocatedList(list):
    lines: list[int]
    line = 0


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class Reader:
    """Reads typed values out of the parsed YAML, failing with file:line and key path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, line: int | None, problem: str, hint: str | None = None):
        where = f"{self.source}, line {line}" if line else self.source
        raise ConfigError(f"{path}: {problem}", where=where,
                          hint=hint or "See the inventory format in the README")

    def mapping(self, value: Any, path: str, line: int | None) -> Located:
        if not isinstance(value, dict):
            self.fail(path, line, f"expected a mapping, got {_kind(value)}")
        return value  # type: ignore[return-value]

    def get(self, m: Located, key: str, path: str, kind: type | tuple, *, required=False,
            default: Any = None) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in m or m[key] is None:
            if required:
                self.fail(full, getattr(m, "line", None), "is required but missing")
            return default
        value = m[key]
        line = m.lines.get(key) if isinstance(m, Located) else None
        if kind is float:
            try:
                return parse_duration(value)
            except ValueError as e:
                self.fail(full, line, str(e))
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else \
                " or ".join(k.__name__ for k in kind)
            self.fail(full, line, f"expected {_article(want)}, got {_kind(value)} {value!r}")
        if kind is str and not value.strip():
            self.fail(full, line, "must not be empty")
        return value

    def check_keys(self, m: Located, path: str, allowed: set[str]) -> None:
        for key in m:
            if key not in allowed:
                full = f"{path}.{key}" if path else str(key)
                self.fail(full, m.lines.get(key), "is not a known key",
                          hint="Known keys here: " + ", ".join(sorted(allowed)))


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__) \
        if not isinstance(value, (Located, LocatedList)) else \
        ("a mapping" if isinstance(value, dict) else "a list")


def _article(word: str) -> str:
    return {"str": "text", "int": "a whole number", "bool": "true or false",
            "dict": "a mapping", "list": "a list"}.get(word, word)


def check_duplicate_keys(r: Reader, value: Any, path: str = "") -> None:
    """Any key written twice in one mapping, anywhere in the file, is an error."""
    seen: set[int] = set()
    found: list[tuple[int, int, str]] = []
    todo: list[tuple[Any, str]] = [(value, path)]
    while todo:
        node, where = todo.pop()
        if id(node) in seen:  # aliases share objects: visit each once (no alias bombs)
            continue
        seen.add(id(node))
        if isinstance(node, Located):
            for key, (first, second) in node.duplicates.items():
                found.append((second, first, f"{where}.{key}" if where else str(key)))
            todo.extend((v, f"{where}.{k}" if where else str(k)) for k, v in node.items())
        elif isinstance(node, list):
            todo.extend((v, f"{where}[{i}]") for i, v in enumerate(node))
    if found:
        second, first, full = min(found)  # the first one in the file
        r.fail(full, second, f"is given twice, on lines {first} and {second}",
               hint="Keep one of them (YAML would silently use the last)")
