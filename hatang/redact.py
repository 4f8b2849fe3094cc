"""Secrets out of data before it is serialised (audit log, ``--json``, error text).

Redaction runs on the data, never on serialised text: JSON escapes a ``"`` or ``\\`` in a
secret, so the escaped text no longer contains the value and a text replacement misses
it. Every string of the data (mapping keys included) has every secret value replaced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hatang.console import to_json

MARK = "<redacted>"
MIN_SECRET_CHARS = 4  # shorter values (a port, "yes") would redact ordinary words


def secret_values(secrets: Iterable[str]) -> list[str]:
    """The values worth redacting, longest first (so a secret inside another goes too)."""
    return sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)


def _replaced(text: str, values: list[str]) -> str:
    for value in values:
        if value in text:
            text = text.replace(value, MARK)
    return text


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` (an error shown in a table, say) with every secret value replaced."""
    return _replaced(text, secret_values(secrets))


def redacted(data: Any, secrets: Iterable[str]) -> Any:
    """A plain (JSON-shaped) copy of ``data`` with every secret value replaced."""
    values = secret_values(secrets)
    plain = json.loads(to_json(data))
    if not values:
        return plain

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return _replaced(item, values)
        if isinstance(item, list):
            return [walk(x) for x in item]
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        return item

    return walk(plain)
