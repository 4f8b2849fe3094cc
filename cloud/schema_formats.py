"""The value checks of PVE's ``PVE::JSONSchema`` beyond types: ``pattern``, named
``format``s, property strings (``format`` given as a map of keys) and ``[n]`` index ranges.

Followed from pve-common src/PVE/JSONSchema.pm (``check_format``, ``parse_property_string``,
the ``pve_verify_*`` functions) and the maxima of qemu-server (``$MAX_NETS``… in
QemuServer.pm and QemuServer/Drive.pm) and pve-container (LXC/Config.pm). A pattern is
matched whole (PVE anchors it: ``m/^$pattern$/``); Perl's ``(?^i:…)`` is read as
``(?i:…)``. Named formats not listed in ``FORMATS`` are not checked (stated: the schema
names about 150; these are the ones hatang and the simulator send or store).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

MAX_VALUE_CHARS = 65536  # a bound on what is parsed (PVE's own limit on a config line is lower)

# "[n]" keys: how many PVE allows (qemu-server and pve-container, same for both kinds here
# where they agree; lxc net is 32 since pve-container 5).
INDEX_MAX = {
    "net": 32, "ipconfig": 32, "serial": 4, "ide": 4, "scsi": 31, "virtio": 16, "sata": 6, "unused": 256,
    "hostpci": 16, "usb": 14, "mp": 256, "dev": 256, "numa": 8, "parallel": 3, "link": 8, "acmedomain": 6,
}

_CONFIGID = re.compile(r"[a-z][a-z0-9_-]+", re.I)
_NODE = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
_DNS_NAME = re.compile(r"([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?")
_STORAGE_ID = re.compile(r"[a-z][a-z0-9_.-]*[a-z0-9]", re.I)
_TAG = re.compile(r"[a-z0-9_][a-z0-9_+.-]*", re.I)
_MAC = re.compile(r"[a-f0-9]{2}(:[a-f0-9]{2}){5}", re.I)
_HA_SID = re.compile(r"(vm|ct):\d+")


def _ip(text: str, version: int | None = None) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return version is None or address.version == version


def _cidr(text: str) -> bool:
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        return False
    return "/" in text


def _list(check: Callable[[str], bool], separators: str = ",; ") -> Callable[[str], bool]:
    return lambda text: all(check(item) for item in re.split(f"[{re.escape(separators)}]", text) if item)


FORMATS: dict[str, Callable[[str], bool]] = {
    "pve-configid": lambda t: bool(_CONFIGID.fullmatch(t)),
    "pve-configid-list": _list(lambda t: bool(_CONFIGID.fullmatch(t)), ",;"),
    "pve-node": lambda t: bool(_NODE.fullmatch(t)),
    "pve-node-list": _list(lambda t: bool(_NODE.fullmatch(t)), ",;"),
    "dns-name": lambda t: bool(_DNS_NAME.fullmatch(t)),
    "pve-storage-id": lambda t: bool(_STORAGE_ID.fullmatch(t)),
    "pve-bridge-id": lambda t: bool(re.fullmatch(r"[-_.\w\d]+", t)),
    "pve-tag-list": _list(lambda t: bool(_TAG.fullmatch(t))),
    "pve-vmid": lambda t: t.isdigit() and 100 <= int(t) <= 999999999,
    "pve-vmid-list": _list(lambda t: t.isdigit() and 100 <= int(t) <= 999999999, ",;"),
    "pve-ha-resource-or-vm-id": lambda t: bool(_HA_SID.fullmatch(t) or t.isdigit()),
    "pve-ha-resource-id": lambda t: bool(_HA_SID.fullmatch(t)),
    "pve-ha-resource-id-list": _list(lambda t: bool(_HA_SID.fullmatch(t)), ","),
    "mac-addr": lambda t: bool(_MAC.fullmatch(t)),
    "ip": _ip,
    "ipv4": lambda t: _ip(t, 4),
    "ipv6": lambda t: _ip(t, 6),
    "CIDR": _cidr,
    "IPorCIDR": lambda t: _ip(t) or _cidr(t),
    "address": lambda t: _ip(t) or bool(_DNS_NAME.fullmatch(t)),
}


@lru_cache(maxsize=512)
def _pattern(perl: str) -> re.Pattern[str] | None:
    """A Perl pattern as a Python one (None if Python cannot read it: then not checked)."""
    text = re.sub(r"\(\?\^([a-z]*):", lambda m: f"(?{m.group(1)}:" if m.group(1) else "(?:", perl)
    try:
        return re.compile(text)
    except re.error:
        return None


def check_pattern(declared: dict[str, Any], text: str) -> str | None:
    compiled = _pattern(declared["pattern"]) if "pattern" in declared else None
    if compiled is not None and not compiled.fullmatch(text):
        return "value does not match the regex pattern"
    return None


def check_format(declared: dict[str, Any], text: str, check_value: Callable[[dict[str, Any], Any], str | None]) -> str | None:
    """PVE's message for a value breaking its ``format``, or None."""
    fmt = declared.get("format")
    if isinstance(fmt, dict):
        return check_property_string(fmt, text, check_value)
    if isinstance(fmt, str) and fmt in FORMATS and not FORMATS[fmt](text):
        return f"value '{text}' does not look like a valid {fmt.removeprefix('pve-')}"
    return None


def parse_property_string(fmt: dict[str, Any], text: str) -> dict[str, str]:
    """``virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20`` → {model: virtio, macaddr: …, bridge, tag},
    as JSONSchema.pm's ``parse_property_string`` reads it; raises ValueError with PVE's words."""
    if len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"value longer than {MAX_VALUE_CHARS} characters")
    default_key = next((k for k, d in fmt.items() if isinstance(d, dict) and d.get("default_key")), None)
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part:
            continue
        if "=" in part:
            key, value = part.split("=", 1)
            if key in out:
                raise ValueError(f"duplicate key in comma-separated list property: {key}")
            declared = fmt.get(key)
            if isinstance(declared, dict) and declared.get("alias"):
                if declared.get("keyAlias"):
                    if declared["keyAlias"] in out:
                        raise ValueError(f"key alias '{declared['keyAlias']}' is already defined")
                    out[declared["keyAlias"]] = key
                key = declared["alias"]
            if key not in fmt:
                raise ValueError(f"invalid key in comma-separated list property: {key}")
            out[key] = value
        elif default_key is not None:
            if default_key in out:
                raise ValueError(f"duplicate key in comma-separated list property: {default_key}")
            out[default_key] = part
        else:
            raise ValueError("value without key, but schema does not define a default key")
    return out


def check_property_string(fmt: dict[str, Any], text: str, check_value: Callable[[dict[str, Any], Any], str | None]) -> str | None:
    try:
        values = parse_property_string(fmt, text)
    except ValueError as exc:
        return f"invalid format - {exc}"
    for key, declared in sorted(fmt.items()):
        if not isinstance(declared, dict) or declared.get("alias"):
            continue
        if key not in values:
            if not declared.get("optional") and not declared.get("default_key_optional"):
                return f"invalid format - {key}: property is missing and it is not optional"
            continue
        problem = check_value(declared, values[key])
        if problem:
            return f"invalid format - {key}: {problem}"
    return None


def index_problem(name: str) -> str | None:
    """``net40`` → PVE's message (``net[n]`` allows 0-31); None when in range."""
    match = re.fullmatch(r"([a-z_-]+?)(\d+)", name)
    if not match or match.group(1) not in INDEX_MAX:
        return None
    limit = INDEX_MAX[match.group(1)]
    if int(match.group(2)) >= limit:
        return UNDECLARED_INDEX.format(limit=limit - 1)
    return None


UNDECLARED_INDEX = "property is not defined in schema and the schema does not allow additional properties (index 0-{limit})"
