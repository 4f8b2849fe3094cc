"""The Proxmox VE API schema as a contract: match a request to a declared method and
check its parameters the way PVE's ``PVE::JSONSchema`` does.

The schema is the official one (PVE 9.1.3, the API viewer's data), vendored gzipped
beside this module; ``$HATANG_PVE_SCHEMA`` points at another copy (plain JSON). Both
hatang's client (recorded calls, in the tests) and the lab's simulator (every request)
are checked against it, so neither can drift from what a real PVE accepts.

Checked: the path template, the method, unknown parameters (unless the method allows
additional ones), ``[n]`` keys beyond PVE's index range, missing required ones, and the
value constraints (type, enum, minimum/maximum, maxLength, ``pattern``, named
``format``s and the keys and values of property strings such as ``net0``:
:mod:`hatang.cloud.schema_formats`).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from hatang.cloud.schema_formats import check_format, check_pattern, index_problem

VENDORED = Path(__file__).with_name("pve-api-schema.json.gz")
MISSING = "property is missing and it is not optional"
UNDECLARED = "property is not defined in schema and the schema does not allow additional properties"
_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_BOOLEAN = {"0", "1", "true", "false", "yes", "no", "on", "off"}


@dataclass(frozen=True)
class Method:
    """One declared method of one path: its parameters and its permission check."""

    path: str
    verb: str
    properties: dict[str, dict[str, Any]]
    additional: bool
    permissions: dict[str, Any]
    protected: bool

    def property_for(self, name: str) -> dict[str, Any] | None:
        """The declaration of ``name``; ``net0`` is declared as ``net[n]``."""
        if name in self.properties:
            return self.properties[name]
        match = re.fullmatch(r"([a-z_-]+?)(\d+)", name)
        if match:
            return self.properties.get(f"{match.group(1)}[n]")
        return None


@dataclass
class _Node:
    literal: dict[str, "_Node"] = field(default_factory=dict)
    param: tuple[str, "_Node"] | None = None
    path: str | None = None
    methods: dict[str, Method] = field(default_factory=dict)


class RouteError(LookupError):
    """No declared path or method for a request (PVE answers 501)."""


class Schema:
    """The route tree of the API: ``match`` a concrete path, ``check`` a request."""

    def __init__(self, tree: list[dict[str, Any]]):
        self.root = _Node()
        self.methods: list[Method] = []
        for top in tree:
            self._add(top)

    def _add(self, entry: dict[str, Any]) -> None:
        node = self.root
        for segment in entry["path"].strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                if node.param is None:
                    node.param = (segment[1:-1], _Node())
                node = node.param[1]
            else:
                node = node.literal.setdefault(segment, _Node())
        node.path = entry["path"]
        for verb, info in (entry.get("info") or {}).items():
            params = info.get("parameters") or {}
            method = Method(
                path=entry["path"],
                verb=verb,
                properties=params.get("properties") or {},
                additional=bool(params.get("additionalProperties")),
                permissions=info.get("permissions") or {},
                protected=bool(info.get("protected")),
            )
            node.methods[verb] = method
            self.methods.append(method)
        for child in entry.get("children") or []:
            self._add(child)

    def match(self, verb: str, path: str) -> tuple[Method, dict[str, str]]:
        """The method declared for ``verb`` on the concrete ``path`` (``/nodes/a/qemu/100``)
        and the values of its path parameters; raises RouteError."""
        node, values = self.root, {}
        for segment in (unquote(raw) for raw in path.strip("/").split("/")):  # a volume id travels as %2F
            if segment in node.literal:
                node = node.literal[segment]
            elif node.param is not None:
                values[node.param[0]] = segment
                node = node.param[1]
            else:
                raise RouteError(f"no path {path} in the Proxmox VE API schema")
        if node.path is None:
            raise RouteError(f"no path {path} in the Proxmox VE API schema")
        if verb not in node.methods:
            raise RouteError(f"the Proxmox VE API schema declares no {verb} for {node.path}")
        return node.methods[verb], values

    def check(self, verb: str, path: str, params: dict[str, Any]) -> dict[str, str]:
        """PVE's ``errors`` map for a request (empty when valid); raises RouteError."""
        method, path_values = self.match(verb, path)
        return check_parameters(method, {**params, **path_values})


def check_parameters(method: Method, params: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, value in params.items():
        declared = method.property_for(name)
        if declared is None:
            if not method.additional:
                errors[name] = UNDECLARED
            continue
        if name not in method.properties and index_problem(name):
            errors[name] = str(index_problem(name))
            continue
        problem = check_value(declared, value)
        if problem:
            errors[name] = problem
    for name, declared in method.properties.items():
        if not declared.get("optional") and "[n]" not in name and name not in params:
            errors[name] = MISSING
    return errors


def check_value(declared: dict[str, Any], value: Any) -> str | None:
    """PVE's message for a value breaking its declaration's cheap constraints, or None."""
    if declared.get("type") == "array":  # each item against ``items``; one value is a one-item array
        items = value if isinstance(value, list) else [value]
        return next((p for p in (check_value(declared.get("items") or {}, item) for item in items) if p), None)
    if isinstance(value, list):
        return f"type check ('{declared.get('type', 'string')}') failed - got a list"
    text = str(int(value) if isinstance(value, bool) else value)
    kind = declared.get("type", "string")
    if kind == "integer" and not _INTEGER.match(text):
        return f"type check ('integer') failed - got '{text}'"
    if kind == "number" and not _NUMBER.match(text):
        return f"type check ('number') failed - got '{text}'"
    if kind == "boolean" and text.lower() not in _BOOLEAN:
        return f"type check ('boolean') failed - got '{text}'"
    if "enum" in declared and text not in declared["enum"]:
        return f"value '{text}' does not have a value in the enumeration '{', '.join(declared['enum'])}'"
    if kind in ("integer", "number"):
        number = float(text)
        if "minimum" in declared and number < float(declared["minimum"]):
            return f"value must have a minimum value of {declared['minimum']}"
        if "maximum" in declared and number > float(declared["maximum"]):
            return f"value must have a maximum value of {declared['maximum']}"
    if kind == "string" and "maxLength" in declared and len(text) > int(declared["maxLength"]):
        return f"value may only be {declared['maxLength']} characters long"
    if kind == "string":
        return check_pattern(declared, text) or check_format(declared, text, check_value)
    return None


def _read(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


@lru_cache(maxsize=1)
def load() -> Schema:
    """The schema hatang holds to (cached: it is 1.2 MB of JSON)."""
    return Schema(_read(Path(os.environ.get("HATANG_PVE_SCHEMA") or VENDORED)))
