"""The lab's wiring, computed from the inventory: pure data, nothing touches the machine.

Every router is a network namespace ``ht-<device>``. Every front-panel port of a router
is one end of a veth pair whose other end sits in the ``ht-wire`` namespace, named
``r<router>p<port>``; an inventory link joins the two wire ends with tc redirects. So a
cut link (``fault link-down``) is its two wire ends going down: both routers see their
port lose carrier (ifOperStatus down) while their own configuration (ifAdminStatus) is
untouched, as with a real fibre cut. LAN ports, and ports whose peer is outside a
smaller lab, have a wire end and no redirect: up, and leading nowhere.

The IIC management network is a bridge ``ht-mgmt`` on the host holding the management
gateway address. A router managed out of band (the core) has one veth ``htm<router>``
into it (``mgmt0`` inside). Districts and communes are managed in band, as in the
province: on their loopback, through the WAN, so the host routes the WAN's prefixes via
the core's port on the bridge (``htg<router>`` on the host, the core's ``mgmt_lan_port``
inside) and a cut uplink or a dead district cuts their management too.
Host-side names number a router by its management address's offset in the management
subnet: the address plan only ever appends, so the names stay the same whatever the
lab's size and when a site is onboarded into a running lab, and they stay within
Linux's 15 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from hatang.inventory.inventory import Inventory, loopback_interface_name, mgmt_interface_name

NETNS_PREFIX = "ht-"
WIRE_NETNS = "ht-wire"
MGMT_BRIDGE = "ht-mgmt"
MGMT_VETH_PREFIX = "htm"
MGMT_LAN_VETH_PREFIX = "htg"  # the host side of the core's port on the management network
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
    mgmt: IPv4Interface  # where hatang reaches it: the loopback /32 when in band
    mgmt_ifname: str  # mgmt0 out of band, lo in band
    mgmt_veth: str | None  # host side of the management veth (none in band)
    mgmt_acl: IPv4Network  # the only network SSH and SNMP are accepted from
    ports: tuple[PortWire, ...]
    mgmt_lan: PortWire | None = None  # the core's port on the management bridge (wire: the host side)

    @property
    def in_band(self) -> bool:
        return self.mgmt_veth is None


@dataclass(frozen=True)
class Topology:
    routers: tuple[RouterWire, ...]
    links: tuple[LinkWire, ...]
    gateway: IPv4Interface
    inband_via: IPv4Address | None = None  # the core's address on the bridge: the way into the WAN
    wan_prefixes: tuple[IPv4Network, ...] = ()

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
        oob = inv.oob_mgmt(device.name)
        i = int(oob.ip) - int(oob.network.network_address)
        in_band = inv.in_band(device)
        ports = []
        mgmt_lan = None
        for port in inv.ports(device.name):
            if port.kind == "mgmt-lan":
                mgmt_lan = PortWire(device.name, port.index, port.name, f"{MGMT_LAN_VETH_PREFIX}{i}", port.kind, None)
                continue
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
                mgmt=inv.mgmt(device.name),
                mgmt_ifname=(loopback_interface_name if in_band else mgmt_interface_name)(inv.platform(device)),
                mgmt_veth=None if in_band else f"{MGMT_VETH_PREFIX}{i}",
                mgmt_acl=inv.mgmt_network(),
                ports=tuple(ports),
                mgmt_lan=mgmt_lan,
            )
        )
    gateway = IPv4Interface((inv.mgmt_gateway(), inv.mgmt_network().prefixlen))
    inband_via = None
    if any(r.in_band for r in routers):
        core, address = inv.inband_router()
        inband_via = address.ip if core in present else None
    return Topology(tuple(routers), tuple(links), gateway, inband_via, tuple(inv.wan_prefixes()))
