"""The lab's wiring, computed from the inventory: pure data, nothing touches the machine.

Every router is a network namespace ``ht-<device>``. Every front-panel port of a router
is one end of a veth pair whose other end sits in the ``ht-wire`` namespace, named
``r<router>p<port>``; an inventory link joins the two wire ends with tc redirects. So a
cut link (``fault link-down``) is its two wire ends going down: both routers see their
port lose carrier (ifOperStatus down) while their own configuration (ifAdminStatus) is
untouched, as with a real fibre cut. LAN ports, and ports whose peer is outside a
smaller lab, have a wire end and no redirect: up, and leading nowhere.

The management network is a bridge ``ht-mgmt`` on the host holding the management
gateway address, with one veth ``htm<router>`` into each router (``mgmt0`` inside).
Host-side names number a router by its management address's offset in the management
subnet: the address plan only ever appends, so the names stay the same whatever the
lab's size and when a site is onboarded into a running lab, and they stay within
Linux's 15 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from hatang.inventory.inventory import Inventory, mgmt_interface_name

NETNS_PREFIX = "ht-"
WIRE_NETNS = "ht-wire"
MGMT_BRIDGE = "ht-mgmt"
MGMT_VETH_PREFIX = "htm"
MGMT_TABLE = 100  # the management address's own routing table (out of band)


def netns_of(device: str) -> str:
    return NETNS_PREFIX + device


@dataclass(frozen=True)
class PortWire:
    router: str
    port: int
    ifname: str  # inside the router, e.g. eth3
    wire: str  # its other end, in ht-wire
    kind: str  # uplink, downlink or lan
    peer: str | None  # the router at the other end, when it is in this lab


@dataclass(frozen=True)
class LinkWire:
    a: PortWire
    b: PortWire

    @property
    def ends(self) -> tuple[str, str]:
        return self.a.router, self.b.router

    def joins(self, x: str, y: str) -> bool:
        return {x, y} == {self.a.router, self.b.router}


@dataclass(frozen=True)
class RouterWire:
    name: str
    index: int  # the management address's offset in its subnet: stable, unique
    netns: str
    mgmt: IPv4Interface
    mgmt_ifname: str
    mgmt_veth: str  # host side of the management veth
    ports: tuple[PortWire, ...]


@dataclass(frozen=True)
class Topology:
    routers: tuple[RouterWire, ...]
    links: tuple[LinkWire, ...]
    gateway: IPv4Interface

    def router(self, name: str) -> RouterWire:
        for router in self.routers:
            if router.name == name:
                return router
        raise KeyError(name)

    def link(self, a: str, b: str) -> LinkWire | None:
        return next((link for link in self.links if link.joins(a, b)), None)

    def links_of(self, name: str) -> list[LinkWire]:
        return [link for link in self.links if name in link.ends]


def build(inv: Inventory, size: str) -> Topology:
    """The wiring of the lab of ``size``: its routers, their ports and the links between them."""
    present = {d.name for d in inv.lab_devices(size)}
    routers: list[RouterWire] = []
    ends: dict[str, PortWire] = {}  # link id -> the first end met
    links: list[LinkWire] = []
    for device in inv.lab_devices(size):
        mgmt = inv.mgmt(device.name)
        i = int(mgmt.ip) - int(mgmt.network.network_address)
        ports = []
        for port in inv.ports(device.name):
            wire = PortWire(
                router=device.name,
                port=port.index,
                ifname=port.name,
                wire=f"r{i}p{port.index}",
                kind=port.kind,
                peer=port.peer if port.peer in present else None,
            )
            ports.append(wire)
            if wire.peer and port.link is not None:
                first = ends.pop(port.link.id, None)
                if first is None:
                    ends[port.link.id] = wire
                else:
                    links.append(LinkWire(first, wire))
        routers.append(
            RouterWire(
                name=device.name,
                index=i,
                netns=netns_of(device.name),
                mgmt=mgmt,
                mgmt_ifname=mgmt_interface_name(inv.platform(device)),
                mgmt_veth=f"{MGMT_VETH_PREFIX}{i}",
                ports=tuple(ports),
            )
        )
    gateway = IPv4Interface((inv.mgmt_gateway(), routers[0].mgmt.network.prefixlen)) if routers else IPv4Interface(IPv4Address(0))
    return Topology(tuple(routers), tuple(links), gateway)
