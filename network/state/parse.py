"""Bounded parsers of device output: TextFSM templates (ntc-templates), JSON, XML.

Device output is untrusted input: every parser here refuses more than
:data:`MAX_OUTPUT_CHARS` and raises :class:`ParseError` naming the command, never a
traceback from deep inside a library.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import textfsm
from lxml import etree
from ntc_templates.parse import parse_output

from hatang.errors import HatangError

#: The largest answer a parser reads: a neighbour table of a few hundred rows is far
#: below it; a runaway or hostile device is cut off here.
MAX_OUTPUT_CHARS = 2_000_000
#: Templates hatang keeps for commands ntc-templates has no template for.
OWN_TEMPLATES = Path(__file__).parent / "templates"


class ParseError(HatangError):
    """A device answered something its parser cannot read."""


def _bounded(command: str, text: str) -> str:
    if len(text) > MAX_OUTPUT_CHARS:
        raise ParseError(f"'{command}': the device answered {len(text)} characters, more than the {MAX_OUTPUT_CHARS} hatang reads")
    return text


def textfsm_rows(platform: str, command: str, text: str) -> list[dict[str, Any]]:
    """Rows of ``command``'s output parsed by ntc-templates' template for ``platform``
    (netmiko's platform names: cisco_ios, arista_eos, juniper_junos, huawei_vrp)."""
    try:
        return parse_output(platform=platform, command=command, data=_bounded(command, text))
    except ParseError:
        raise
    except Exception as exc:  # ntc-templates raises its own exception types
        raise ParseError(f"'{command}' on {platform}: {exc}") from None


def own_template_rows(template: str, command: str, text: str) -> list[dict[str, Any]]:
    """Rows of ``command``'s output parsed by one of hatang's own TextFSM templates."""
    with (OWN_TEMPLATES / template).open() as handle:
        fsm = textfsm.TextFSM(handle)
    try:
        rows = fsm.ParseText(_bounded(command, text))
    except textfsm.TextFSMError as exc:
        raise ParseError(f"'{command}': {exc}") from None
    return [dict(zip((h.lower() for h in fsm.header), row)) for row in rows]


def json_document(command: str, answer: Any) -> Any:
    """A JSON answer: drivers give it decoded (eAPI) or as text (SSH, recordings)."""
    if not isinstance(answer, str):
        return answer
    try:
        return json.loads(_bounded(command, answer))
    except json.JSONDecodeError as exc:
        raise ParseError(f"'{command}': not JSON ({exc})") from None


def xml_document(command: str, text: str) -> etree._Element:
    """An RPC reply as an element tree, namespaces dropped (Junos versions its
    namespaces, ``junos-routing`` 18.3R1 or 23.2R0). No entities, no network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)
    try:
        root = etree.fromstring(_bounded(command, text).encode(), parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"'{command}': not XML ({exc})") from None
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    return root
