"""Read YAML keeping the line of every key, so errors can say where they are.

Reading is bounded, because an inventory may come from anyone: a file larger than
:data:`MAX_BYTES`, nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_NODES`
values once aliases are expanded (a "billion laughs" bomb stops there, in milliseconds),
a key that is not a plain value, or bytes that are not UTF-8 come back as a
:class:`Problem` with the line, never as a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]

#: Bounds of one file: size, nesting depth, values after alias expansion.
MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 300_000
#: The only tags a list or a mapping may carry (``!!set``, ``!!omap``, ``!!python/…`` are refused).
PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
MERGE_TAG = "tag:yaml.org,2002:merge"


class Refused(yaml.YAMLError):
    """Valid YAML that hatang refuses: past a bound above, a key that is not a plain
    value, a duplicate key, a tag. ``path`` is where, when the data is being built."""

    def __init__(self, problem: str, mark: yaml.Mark | None, path: KeyPath = ()):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark
        self.path = path


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
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)

    def problem(self, path: KeyPath, message: str) -> Problem:
        return Problem(self.file, tuple(path), message, self.line_of(path))


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting past :data:`MAX_DEPTH` while composing
    (its composer recurses, so ten thousand ``[`` would otherwise overflow the stack)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:
                raise Refused(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Builder:
    """Builds plain data from a composed node graph, counting values and depth so that
    shared (aliased) nodes cannot blow up and cycles cannot recurse forever."""

    def __init__(self, loader: _BoundedLoader, lines: dict[KeyPath, int]):
        self.loader = loader
        self.lines = lines
        self.count = 0
        self.open: set[int] = set()  # the collections being built, to catch an alias to itself

    def build(self, node: yaml.Node, path: KeyPath, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise Refused(f"more than {MAX_NODES} values (aliases expanded)", node.start_mark, path)
        if depth > MAX_DEPTH:
            raise Refused(f"nested deeper than {MAX_DEPTH} levels", node.start_mark, path)
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in PLAIN_TAGS:
            raise Refused(f"the tag {node.tag} is not allowed here (plain lists and mappings only)", node.start_mark, path)
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.open:
            raise Refused("a recursive alias (a value that contains itself)", node.start_mark, path)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, depth)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict[Any, Any]:
        """A mapping; merged keys (``<<: *anchor``) come first and the mapping's own keys
        override them, as in PyYAML. Only an own key written twice is a duplicate."""
        own = sum(1 for key_node, _ in node.value if key_node.tag != MERGE_TAG)
        self.loader.flatten_mapping(node)
        merged = len(node.value) - own
        result: dict[Any, Any] = {}
        seen: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                raise Refused("a key must be a plain value, not a list or a mapping", key_node.start_mark, path)
            key = self.loader.construct_object(key_node, deep=True)
            child = (*path, key if isinstance(key, (str, int)) else str(key))
            self.lines[child] = key_node.start_mark.line + 1
            if index >= merged:
                if key in seen:
                    raise Refused(f"duplicate key {key!r}", key_node.start_mark, child)
                seen.add(key)
            result[key] = self.build(value_node, child, depth + 1)
        return result


def _decode(raw: bytes) -> str | tuple[int, str]:
    """The text of ``raw``, or (line, reason) where it stops being UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return raw.count(b"\n", 0, exc.start) + 1, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"


def read(path: Path, display: str | None = None) -> Source | Problem:
    """Parse ``path``; a syntax error or a bound exceeded comes back as a Problem with its line."""
    display = display or str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return Problem(display, (), f"cannot read: {exc.strerror}")
    if len(raw) > MAX_BYTES:
        return Problem(display, (), f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
    text = _decode(raw)
    if isinstance(text, tuple):
        return _not_utf8(display, raw, *text)
    return _parse(display, text)


def _not_utf8(display: str, raw: bytes, line: int, reason: str) -> Problem:
    """The encoding problem, at the key of its line when the rest of the file parses."""
    parsed = _parse(display, raw.decode("utf-8", errors="replace"))
    at = [path for path, n in parsed.lines.items() if n == line] if isinstance(parsed, Source) else []
    return Problem(display, max(at, key=len) if at else (), reason, line)


def _parse(display: str, text: str) -> Source | Problem:
    try:
        loader = _BoundedLoader(text)  # its reader refuses control characters at once
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        return Problem(display, (), f"invalid YAML: character U+{exc.character:04X} is not allowed", line)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = _Builder(loader, lines).build(node, ()) if node is not None else None
        lines.setdefault((), 1)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        return Problem(display, getattr(exc, "path", ()), f"invalid YAML: {reason}", mark.line + 1 if mark else None)
    finally:
        loader.dispose()
    return Source(display, data, lines)
