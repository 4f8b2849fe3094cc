"""What a ``/snmp`` request may make the exporter do: which agents it polls, with which module.

A scrape request comes from the network, so none of it is trusted: without this, any
client could make the exporter send the IIC's SNMP credentials to any host and port, or
try to open files named after a ``module`` parameter. The rules:

- a target is an IP address (a name would need a DNS lookup per scrape, an unbounded
  wait, and could point anywhere), with an optional port 1-65535;
- by default only the inventory's devices (what ``inventory export prometheus-sd``
  lists), on the SNMP port, may be polled;
  ``--allow-target CIDR`` (repeatable) widens that to every address of those networks,
  on any port (an agent on loopback, a network being onboarded);
- a module is one of the module list's names; no path is ever made from a request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hatang.errors import HatangError
from hatang.monitoring import modules as mods

SNMP_PORT = 161
MAX_TARGET_CHARS = 64  # "[v6 address]:port" fits; anything longer is not a target
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """A request the exporter will not serve: its HTTP status and the reason, for the client."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def shown(text: str) -> str:
    """A request's text quoted in an answer: bounded, and printable only."""
    clipped = text[:MAX_TARGET_CHARS] + ("…" if len(text) > MAX_TARGET_CHARS else "")
    return repr(clipped)


def parse_target(text: str) -> tuple[IpAddress, int]:
    """``ADDRESS``, ``ADDRESS:PORT`` or ``[IPv6]:PORT`` as an address and a port (161 by default)."""
    if len(text) > MAX_TARGET_CHARS:
        raise Refused(400, f"target {shown(text)} is too long")
    host, port = text, str(SNMP_PORT)
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise Refused(400, f"target {shown(text)} is not [IPv6]:PORT")
        port = rest[1:] if rest else port
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise Refused(400, f"target {shown(text)} is not an IP address (names are not resolved)") from None
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise Refused(400, f"target {shown(text)} has no valid port (1-65535)")
    return address, int(port)


def parse_networks(cidrs: Iterable[str]) -> tuple[IpNetwork, ...]:
    """``--allow-target`` values as networks; a clear error naming a bad one."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            raise HatangError(f"--allow-target '{cidr}' is not a network in CIDR notation (e.g. 198.18.0.0/15)", exit_code=2) from None
    return tuple(networks)


@dataclass(frozen=True)
class ScrapePolicy:
    """The targets and modules a ``/snmp`` request may name."""

    addresses: frozenset[IpAddress]  # the inventory's devices, on the SNMP port
    networks: tuple[IpNetwork, ...] = ()  # --allow-target: any address of these, any port
    modules: frozenset[str] = frozenset()

    @classmethod
    def of(cls, inv: Any, allow: Iterable[str] = ()) -> ScrapePolicy:
        """The management addresses of the inventory's devices (every one Prometheus'
        file_sd targets name, routers and firewalls alike), widened by ``allow`` (CIDRs)."""
        addresses = frozenset(inv.mgmt(name).ip for name in inv.device_by_name)
        return cls(addresses, parse_networks(allow), frozenset(mods.available()))

    def target(self, text: str) -> tuple[str, int]:
        """The address and port to poll for a request's ``target``, or :class:`Refused`."""
        address, port = parse_target(text)
        if (address in self.addresses and port == SNMP_PORT) or any(address in network for network in self.networks):
            return str(address), port
        raise Refused(403, f"target {shown(text)} is not a device of the inventory (widen with --allow-target CIDR)")

    def module(self, name: str) -> mods.Module:
        """A module of the list by name; the name never becomes a path."""
        if name not in self.modules:
            raise Refused(400, f"unknown module {shown(name)} (known: {', '.join(sorted(self.modules))})")
        return mods.load(name)
