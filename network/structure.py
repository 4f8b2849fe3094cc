"""The structural check of rendered configurations: every line must be one the
platform's templates can produce.

Each template line becomes a *shape*: its literal text, with every ``{{ … }}`` a
placeholder and every inline ``{% if %}``/``{% for %}`` an optional or repeated group.
A rendered line that matches no shape of its platform is a stray statement, whatever
put it there (a value that carried a newline past the character policy, a template
bug). Placeholders are tight where a value could escape: inside a Junos quoted string
a placeholder matches only a well-escaped string, outside it never ``"``, ``;``, ``{``
or ``}``. A template line that is nothing but a placeholder (a banner's text) opens a
free-text block between the literal lines around it (``banner login ^C`` … ``^C``): a
delimiter (IOS's ``^C``) ends the block anywhere in a line, so no line of the block may
contain it; a word (EOS's ``EOF``) ends it only as a whole line. A placeholder never
spans lines: a template writes several lines from a loop, not from one expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_TOKEN = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})")
#: Placeholders: anything on line-oriented platforms; Junos keeps values inside their
#: quotes or their statement.
_ANY = ".*"
_JUNOS_QUOTED = r'(?:[^"\\]|\\.)*'
_JUNOS_BARE = r'[^";{}]*'


@dataclass
class Shapes:
    """A platform's line shapes, bucketed by their first word for speed."""

    by_word: dict[str, re.Pattern[str]]
    anywhere: re.Pattern[str] | None
    blocks: dict[str, str] = field(default_factory=dict)  # opening line -> closing line

    def matches(self, line: str) -> bool:
        pattern = self.by_word.get(_first_word(line))
        if pattern is not None and pattern.fullmatch(line):
            return True
        return self.anywhere is not None and self.anywhere.fullmatch(line) is not None


def _first_word(line: str) -> str:
    stripped = line.lstrip(" ")
    return line[: len(line) - len(stripped)] + stripped.split(" ", 1)[0]


def _shape(line: str, platform: str) -> tuple[str, str | None] | None:
    """(regex, first word or None when it starts with a placeholder) of a template
    line; None for a line of block tags only."""
    parts = [p for p in _TOKEN.split(line) if p]
    if all(p.startswith("{%") or not p.strip() for p in parts):
        return None
    regex, literal, quotes = "", "", 0
    for part in parts:
        if part.startswith("{{"):
            inside = quotes % 2 == 1
            regex += (_JUNOS_QUOTED if inside else _JUNOS_BARE) if platform == "junos" else _ANY
            literal += "\0"
        elif part.startswith("{%"):
            word = part.strip("{%-+ }").split(" ", 1)[0]
            regex += {"if": "(?:", "for": "(?:", "else": "|", "elif": "|", "endif": ")?", "endfor": ")*"}.get(word, "")
            literal += "\0"
        else:
            regex += re.escape(part)
            literal += part
            quotes += part.count('"')
    first = _first_word(literal)
    return regex, None if "\0" in first else first


@lru_cache(maxsize=None)
def shapes(platform: str) -> Shapes:
    """Every line shape of ``templates/<platform>/*.j2``."""
    by_word: dict[str, list[str]] = {}
    anywhere: list[str] = []
    blocks: dict[str, str] = {}
    for path in sorted((TEMPLATES / platform).glob("*.j2")):
        lines = _COMMENT.sub("", path.read_text(encoding="utf-8")).splitlines()
        shaped = [(line, _shape(line, platform)) for line in lines]
        shaped = [(line, s) for line, s in shaped if s is not None]
        for i, (line, (regex, first)) in enumerate(shaped):
            if _TOKEN.sub("", line).strip() == "":
                if 0 < i < len(shaped) - 1:
                    blocks[shaped[i - 1][0]] = shaped[i + 1][0]
                continue
            (by_word.setdefault(first, []) if first is not None else anywhere).append(regex)
    join = lambda regexes: re.compile("|".join(f"(?:{r})" for r in sorted(set(regexes))))  # noqa: E731
    return Shapes({w: join(r) for w, r in by_word.items()}, join(anywhere) if anywhere else None, blocks)


def stray_lines(platform: str, text: str) -> list[str]:
    """Lines of ``text`` that no template of ``platform`` produces (empty when none)."""
    known = shapes(platform)
    if not known.by_word and known.anywhere is None:
        return []
    problems: list[str] = []
    closing: str | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if closing is not None:
            if line == closing:
                closing = None
            elif not closing.strip().isalnum() and closing.strip() in line:
                problems.append(f"line {n}: free text contains its block's end {closing.strip()!r}")
            continue
        if line in known.blocks:
            closing = known.blocks[line]
            continue
        if line.strip() and not known.matches(line):
            problems.append(f"line {n}: no {platform} template produces this line: {line.strip()[:80]}")
    return problems
