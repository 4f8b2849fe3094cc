"""Inventory text in documents and charts, shown as written and never interpreted.

Names may legally hold ``$``, ``*``, ``[`` or ``<`` (the character policy of
:mod:`hatang.inventory.text` only refuses invisible and control characters). Matplotlib
reads ``$…$`` as mathtext (``$\\frac{$`` crashes a chart) and Markdown reads ``*``,
``[…](…)`` and ``<…>`` as markup; HTML output goes through :func:`html.escape`, the
terminal through :func:`hatang.console.plain`.
"""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&{}])")


def chart_label(text: object) -> str:
    """``text`` for a matplotlib title, tick or legend: ``$`` is a dollar, not mathtext."""
    return str(text).replace("$", r"\$")


def markdown(text: object) -> str:
    """``text`` for Markdown: every character Markdown could read as markup is
    backslash-escaped, and a line break becomes a space."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))
