"""How each platform's configuration carries inventory text: the ``text`` Jinja filter.

Inventory text already passed the character policy (:mod:`hatang.inventory.text`) when
it was loaded; the filter checks it again, so a value that reached a template another
way still cannot start a new line, and then escapes what the platform gives a meaning:

- ``ios``: ASCII only (Vietnamese folded) and no ``^``, the banner's delimiter;
- ``junos``: inside ``"…"`` a ``\\`` and a ``"`` are escaped, and ``*/`` (the end of the
  header comment) is split;
- ``eos`` and ``frr``: a description or a banner line runs to the end of its line, so
  one line is all the policy needs.

On every platform ``{{``, ``{%`` and ``{#`` get a space between their two characters:
lint reads them as a template left-over, and a name has no use for them.

Templates use it as ``{{ i.description | text }}``; a platform added later (VRP…) gets
the policy check by default and its own escaping here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jinja2

from hatang.errors import HatangError
from hatang.inventory.text import refusal
from hatang.network.intent import ascii_fold


_TEMPLATE_MARK = re.compile(r"\{(?=[{%#])")


def _junos(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("*/", "* /")


def _ios(value: str) -> str:
    return ascii_fold(value).replace("^", "")


ESCAPES: dict[str, Callable[[str], str]] = {"junos": _junos, "ios": _ios}


def escape_text(platform: str, value: Any, *, device: str = "") -> str:
    """``value`` as ``platform``'s configuration may carry it; HatangError if it breaks
    the character policy."""
    value = str(value)
    reason = refusal(value)
    if reason:
        raise HatangError(f"{device or platform}: text {value!r} cannot go into a configuration: {reason}")
    return ESCAPES.get(platform, str)(_TEMPLATE_MARK.sub("{ ", value))


@jinja2.pass_context
def text_filter(context: jinja2.runtime.Context, value: Any) -> str:
    """The ``text`` filter: the platform and device come from the template's context."""
    return escape_text(context["platform"], value, device=context.get("hostname", ""))
