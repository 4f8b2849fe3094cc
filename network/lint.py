"""Structural lint of rendered configurations, per platform, before anything is pushed.

It catches what a template bug produces: leftover template syntax or ``None``,
unbalanced Junos braces, a statement missing its ``;``, an ACL referenced but never
defined, the same interface configured twice, non-ASCII text where IOS wants ASCII,
and any line no template of the platform produces (:mod:`hatang.network.structure`).
"""

from __future__ import annotations

import re
from collections import Counter

from hatang.network.structure import stray_lines

_ACL_USE = re.compile(r"(?:access-class|access-group|ipv4 access-list| access| RO| ro) ([A-Z][A-Z0-9_-]+)\b")
_ACL_DEF = re.compile(r"^ip access-list (?:standard |extended )?(\S+)$")


def _common(lines: list[str]) -> list[str]:
    problems = []
    for n, line in enumerate(lines, 1):
        if "{{" in line or "{%" in line or re.search(r"\bNone\b", line):
            problems.append(f"line {n}: template left-over: {line.strip()}")
        if line != line.rstrip():
            problems.append(f"line {n}: trailing whitespace")
        if "\t" in line:
            problems.append(f"line {n}: tab character")
    return problems


def _cisco_like(lines: list[str], *, ascii_only: bool, comment: str | None = None) -> list[str]:
    """The Cisco-like rules over the statements of ``lines``: a line starting with
    ``comment`` is skipped, but still counted, so a finding names the text's own line."""
    numbered = [(n, line) for n, line in enumerate(lines, 1) if comment is None or not line.startswith(comment)]
    problems = []
    interfaces = Counter(line for _, line in numbered if line.startswith("interface "))
    problems += [f"{name} configured {count} times" for name, count in interfaces.items() if count > 1]
    defined = {m.group(1) for _, line in numbered if (m := _ACL_DEF.match(line))}
    for n, line in numbered:
        for name in _ACL_USE.findall(line):
            if name not in defined:
                problems.append(f"line {n}: access list {name} is used but not defined")
        if ascii_only and not line.isascii():
            problems.append(f"line {n}: non-ASCII text")
    return problems


def _junos(lines: list[str]) -> list[str]:
    problems = []
    depth = 0
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("/*") or text.startswith("#"):
            continue
        depth += text.count("{") - text.count("}")
        if depth < 0:
            problems.append(f"line {n}: '}}' closes nothing")
            depth = 0
        if not text.endswith(("{", "}", ";")):
            problems.append(f"line {n}: statement without ';': {text}")
    if depth:
        problems.append(f"{depth} '{{' never closed")
    return problems


def lint(platform: str, text: str) -> list[str]:
    """Problems found in ``text`` rendered for ``platform`` (empty when clean): the
    per-line rules, then every line no template of the platform produces."""
    return rule_problems(platform, text) + stray_lines(platform, text)


def rule_problems(platform: str, text: str) -> list[str]:
    """What the per-line rules find in ``text`` (leftovers, ASCII, ACLs, Junos syntax)."""
    lines = text.splitlines()
    problems = _common(lines)
    if platform == "junos":
        problems += _junos(lines)
    elif platform in ("ios", "eos"):
        problems += _cisco_like(lines, ascii_only=platform == "ios")
    elif platform == "huawei_vrp":  # its '#' separator lines hold no statement
        problems += _cisco_like(lines, ascii_only=True)
    elif platform == "frr":
        problems += _cisco_like(lines, ascii_only=False, comment="!")
    return problems
