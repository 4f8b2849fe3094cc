"""Read YAML keeping the line of every key, so errors can say where they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


@dataclass
class Problem:
    """One thing wrong with the inventory: where it is and what it is."""

    file: str
    path: KeyPath
    message: str
    line: int | None = None

    def where(self) -> str:
        location = self.file + (f":{self.line}" if self.line else "")
        return f"{location}: {format_path(self.path)}" if self.path else location

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": format_path(self.path), "message": self.message}


def format_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class Source:
    """A parsed YAML file: its data and the line (1-based) of every key path."""

    file: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path`` or of its nearest ancestor the file records."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def problem(self, path: KeyPath, message: str) -> Problem:
        return Problem(self.file, tuple(path), message, self.line_of(path))


def _build(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], loader: yaml.SafeLoader) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = (*path, key if isinstance(key, (str, int)) else str(key))
            lines[child] = key_node.start_mark.line + 1
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            result[key] = _build(value_node, child, lines, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def read(path: Path, display: str | None = None) -> Source | Problem:
    """Parse ``path``; a syntax error comes back as a Problem with its line."""
    display = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return Problem(display, (), f"cannot read: {exc.strerror}")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = _build(node, (), lines, loader) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        return Problem(display, (), f"invalid YAML: {reason}", mark.line + 1 if mark else None)
    finally:
        loader.dispose()
    return Source(display, data, lines)
