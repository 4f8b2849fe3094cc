"""The one character policy for inventory text that reaches a device, a file or a program.

Names, titles, descriptions, models, roles, tags and anti-affinity groups end up in
router configurations, generated Python and YAML, shell-facing tools and terminals.
Whatever the platform, a value must stay one harmless line, so the policy refuses:

- control characters (``\\n``, ``\\r``, NUL, DEL, C1 controls…): they start a new
  configuration line or end a string early;
- format characters (Unicode category Cf): bidirectional overrides and isolates and
  zero-width characters make text read differently from what it is;
- line and paragraph separators, surrogates, private-use and unassigned code points;
- more than :data:`MAX_LENGTH` characters.

Quotes, ``^``, ``$``, ``[`` and the like stay legal in names; each output escapes them
where they mean something (:mod:`hatang.network.escape` for router configurations,
``repr`` for Python, ``!unsafe`` for Ansible, Rich's ``escape`` for the terminal).
Everything that writes inventory text (the loader's records, ``site add``) checks it
here, so there is one definition.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

MAX_LENGTH = 200
#: Unicode categories refused anywhere in inventory text.
REFUSED_CATEGORIES = {
    "Cc": "control character",
    "Cf": "invisible format character (bidi or zero-width)",
    "Zl": "line separator",
    "Zp": "paragraph separator",
    "Cs": "surrogate",
    "Co": "private-use character",
    "Cn": "unassigned code point",
}


def refusal(value: str) -> str | None:
    """Why ``value`` breaks the policy, or None when it is acceptable."""
    if len(value) > MAX_LENGTH:
        return f"longer than {MAX_LENGTH} characters"
    for index, char in enumerate(value):
        what = REFUSED_CATEGORIES.get(unicodedata.category(char))
        if what:
            return f"{what} U+{ord(char):04X} at position {index + 1} is not allowed"
    return None


def checked(value: str) -> str:
    """``value`` itself, or ValueError saying why the policy refuses it (pydantic turns
    this into a Problem at the key's file, line and path)."""
    reason = refusal(value)
    if reason:
        raise ValueError(reason)
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


#: Free text (names, titles, descriptions, models) under the policy, not blank when given.
Text = Annotated[str, AfterValidator(checked), AfterValidator(_not_blank)]
#: A name that also becomes a group, tag or identifier in exports (roles, anti-affinity
#: groups): lower-case letters and digits joined by single ``-`` or ``_``.
Tag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([-_][a-z0-9]+)*$", max_length=40)]
